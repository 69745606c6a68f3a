"""Reading honours the line limit before allocating: a line far over ``max-line-bytes`` is
skipped a chunk at a time, also while planning shards (an unbounded ``readline`` there held
the whole line, twice, before anything else ran). Measured as the peak resident memory of a
``check`` in a child process, against the same check of a small file."""

from __future__ import annotations

import resource
import sys
from pathlib import Path

import pytest
from peak_memory import peak_mb

LINE_MB = 128


def _chat(answer: bytes) -> bytes:
    return (
        b'{"messages": [{"role": "user", "content": "hi"}, '
        b'{"role": "assistant", "content": "' + answer + b'"}]}\n'
    )


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in KB on Linux")
def test_a_huge_line_is_skipped_without_being_held(tmp_path: Path) -> None:
    assert resource.RUSAGE_CHILDREN is not None
    (tmp_path / "ftprep.toml").write_text("max-line-bytes = 1048576\n")
    small = tmp_path / "small.jsonl"
    small.write_bytes(_chat(b"yo") * 20)
    huge = tmp_path / "huge.jsonl"
    with huge.open("wb") as handle:
        handle.write(_chat(b"yo") * 10)
        handle.write(_chat(b"a" * (LINE_MB << 20)))
        handle.write(_chat(b"yo") * 10)
    baseline = peak_mb("check", small, "--workers", "1", cwd=tmp_path)
    peak = peak_mb("check", huge, "--workers", "1", cwd=tmp_path)
    assert peak < baseline + LINE_MB / 2, (peak, baseline)
