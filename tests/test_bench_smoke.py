"""The performance benchmark keeps working: a smoke run on a tiny corpus built from the real
data (timings are printed, never asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import needs
import pytest

REPO = Path(__file__).resolve().parent.parent
REALDATA = REPO.parent / "shared" / "realdata"

pytestmark = needs.path_mark(REALDATA, "needs ../shared/realdata")


def test_perf_smoke(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "perf.py"), "--smoke", "--keep", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    (line,) = done.stdout.splitlines()
    row = json.loads(line)
    corpus = tmp_path / "corpus-1x-smoke.jsonl"
    lines = corpus.read_bytes().splitlines()
    assert row["examples"] == len(lines) == 300
    # Every example of the converted corpus loads, with the first copy's system prompt.
    assert row["loaded"] == 300
    assert json.loads(lines[0])["messages"][0] == {
        "role": "system",
        "content": "You are a helpful assistant.",
    }
    assert row["floor_s"] > 0 and row["check_s"] > 0
    # Rounded to 0.01 s each, so the ratio of the printed times is off by up to ~2 %.
    assert row["ratio"] == pytest.approx(row["check_s"] / row["floor_s"], rel=0.03)
    # Memory was sampled from /proc: the floor is at least its interpreter and vocabulary.
    assert row["floor_mb"] > 20 and row["check_rss_mb"] > 20 and row["check_pss_mb"] > 0
