"""The near-duplicate accuracy benchmark, at its default size (a few seconds), meets the bar the
issue sets: recall of pairs with true Jaccard >= 0.85 and precision (true Jaccard >= the
threshold) both at least 0.95 (on the normalised text's word shingles), every format-only copy
(case, punctuation, spacing) found, at most 5% of partial-overlap decoys reported."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "dedup_accuracy.py"


def test_accuracy_bench_meets_the_bar(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("dedup_accuracy", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["dedup_accuracy"] = module
    spec.loader.exec_module(module)
    results = module.main([])
    out = capsys.readouterr().out
    assert "default (0.8)" in out and "per true-Jaccard bin" in out
    default = results[0]
    assert (default.bands, default.rows) == (16, 8)
    assert default.reported > 100
    assert default.recall_85 >= 0.95
    assert default.precision >= 0.95
    assert default.format_found == 1.0
    assert default.decoys_reported <= 0.05
