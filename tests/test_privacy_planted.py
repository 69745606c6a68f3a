"""The planted privacy benchmark (bench/privacy_planted.py): values of at least 30 kinds of
secrets and personal data planted in real answers are found 95% of the time, and at most
one placeholder or look-alike in 12 is reported."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ftprep.secrets import mask_text, redact_text

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

privacy_planted = pytest.importorskip("privacy_planted")


def test_planted_secrets_are_found_and_look_alikes_are_not() -> None:
    out = privacy_planted.run(per_kind=10, seed=1)
    recall = out["recall"]
    assert out["kinds"] >= 30
    assert out["overall_recall"] >= 0.95, recall
    assert all(value >= 0.8 for value in recall.values()), recall
    assert out["false_positive_rate"] <= 1 / 12, out["false_positives"]


def test_every_reported_planted_value_is_masked_and_redacted() -> None:
    rng = privacy_planted.random.Random(2)
    texts, values = [], []
    for phrase, make in privacy_planted.KINDS.values():
        for _ in range(3):
            values.append(make(rng))
            texts.append(f"As you asked. {phrase}{values[-1]} and that is all.")
    reported = privacy_planted._reported_lines([privacy_planted._record("q", t) for t in texts])
    assert len(reported) >= 0.95 * len(texts)
    for line in sorted(reported):
        text, value = texts[line - 1], values[line - 1]
        redacted, counts = redact_text(text)
        assert value not in mask_text(text), text
        assert value not in redacted and sum(counts.values()) >= 1, text
