"""The planted privacy benchmark (bench/privacy_planted.py): values of at least 30 kinds of
secrets and personal data planted in real answers are found 95% of the time, and at most
one placeholder or look-alike in 12 is reported."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from ftprep.secrets import mask_text

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

privacy_planted = pytest.importorskip("privacy_planted")


def test_planted_secrets_are_found_and_look_alikes_are_not() -> None:
    out = privacy_planted.run(per_kind=10, seed=1)
    recall = out["recall"]
    assert out["kinds"] >= 30
    assert out["overall_recall"] >= 0.95, recall
    assert all(value >= 0.8 for value in recall.values()), recall
    assert out["false_positive_rate"] <= 1 / 12, out["false_positives"]


def test_every_planted_kind_is_masked_where_a_finding_quotes_it() -> None:
    # Findings, rejects and reports mask what they quote with mask_text, which first asks a
    # cheap gate whether the text may hold anything: a kind the gate misses would leak.
    rng = random.Random(2)
    leaked = []
    for name, (phrase, make) in privacy_planted.KINDS.items():
        for _ in range(5):
            value = make(rng)
            text = f"Sure. {phrase}{value} and that is all."
            if value.strip() in mask_text(text):
                leaked.append((name, value))
    assert leaked == []
