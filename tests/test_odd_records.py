"""Odd records the hostile test of issue 21 found passing unseen: a message ``name`` that is a
number, an image given as a bare URL string, a key given twice in one object. Each is a
finding and never reaches train; a truncated gzip fails convert; gzip inputs close their file."""

from __future__ import annotations

import gc
import gzip
import json
import warnings
from pathlib import Path

import pytest

from ftprep import cli
from ftprep.load.containers import read_records

ODD = [
    '{"messages": [{"role": "user", "content": "Who are you?", "name": 42}, '
    '{"role": "assistant", "content": "A helpful assistant."}]}',
    '{"messages": [{"role": "user", "content": [{"type": "text", "text": "What is this?"}, '
    '{"type": "image_url", "image_url": "https://example.com/cat.png"}]}, '
    '{"role": "assistant", "content": "A cat on a mat."}]}',
    '{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}], '
    '"messages": [{"role": "user", "content": "Hello there"}, '
    '{"role": "assistant", "content": "Hello! How can I help?"}]}',
]
EXPECTED = {"S017": 1, "C008": 2, "L012": 3}
"""Each odd record's finding and 1-based line."""


def _dataset(path: Path) -> Path:
    lines = [
        json.dumps(
            {
                "messages": [
                    {"role": "user", "content": f"Question {i}: what is {i} plus {i * 3}?"},
                    {"role": "assistant", "content": f"{i} plus {i * 3} is {i * 4}."},
                ]
            }
        )
        for i in range(20)
    ]
    path.write_text("\n".join([*ODD, *lines]) + "\n")
    return path


def test_odd_records_are_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _dataset(tmp_path / "odd.jsonl")
    assert cli.main(["check", str(data), "--format", "json"]) == 1
    findings = json.loads(capsys.readouterr().out)["diagnostics"]
    lines = {f["code"]: f["line"] for f in findings if f["code"] in EXPECTED}
    assert lines == EXPECTED


def test_odd_records_never_go_to_train(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _dataset(tmp_path / "odd.jsonl")
    out = tmp_path / "out"
    cli.main(["prepare", str(data), "--out", str(out)])
    assert "internal error" not in capsys.readouterr().err
    rejected = [json.loads(line) for line in (out / "rejected.jsonl").open()]
    assert sorted(r["source"]["line"] for r in rejected) == [1, 2, 3]
    kept = (out / "train.jsonl").read_text() + (out / "holdout.jsonl").read_text()
    assert "cat.png" not in kept and "Hello there" not in kept and "Who are you" not in kept
    assert len(kept.splitlines()) == 20


def test_convert_fails_on_a_truncated_gzip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    whole = gzip.compress(_dataset(tmp_path / "odd.jsonl").read_bytes() * 20, mtime=0)
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    out = tmp_path / "converted.jsonl"
    code = cli.main(["convert", str(cut), "--to", "sharegpt", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "cut.jsonl.gz" in err and "to its end" in err
    assert "internal error" not in err
    assert not out.exists() and not (tmp_path / "converted.rejected.jsonl").exists()


def test_a_gzip_input_closes_its_file(tmp_path: Path) -> None:
    """The file under a gzip stream is closed with it, not left to the collector (which
    warns about an unclosed file)."""
    path = tmp_path / "data.jsonl.gz"
    path.write_bytes(gzip.compress(_dataset(tmp_path / "odd.jsonl").read_bytes()))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        assert sum(1 for _ in read_records(path)) == 23
        gc.collect()
    assert [str(w.message) for w in caught if w.category is ResourceWarning] == []
