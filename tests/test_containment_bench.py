"""The containment benchmark (bench/containment.py), at its default size, meets the bar the
issue sets: at least 0.95 of the real evaluation items embedded in longer prompts and answers
are found, at most 1% of the clean real examples are flagged."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import needs
import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "containment.py"
pytestmark = needs.path_mark(needs.REALDATA, "needs ../shared/realdata")


def test_containment_bench_meets_the_bar(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("containment_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["containment_bench"] = module
    spec.loader.exec_module(module)
    result = module.main([])
    assert "found" in capsys.readouterr().out
    assert result.planted == 400
    assert result.found >= 0.95
    assert result.clean_flagged <= 0.01
    assert "400 of 4400 training examples (9.09%)" in result.rate_message
