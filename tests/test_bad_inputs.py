"""Bad inputs are input errors: a missing input stops prepare and convert before anything is
written; check reports a missing file once (no "0 examples" beside it); a binary file is one
finding, not one per "line"."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

import ftprep
from ftprep.cli import main

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
DRONE = REALDATA / "openai_cookbook" / "drone_training.jsonl"


def test_check_of_a_missing_file_reports_only_that(tmp_path: Path) -> None:
    result = ftprep.check(tmp_path / "missing.jsonl")
    assert [f.code for f in result.findings] == ["L010"]


def test_check_of_a_missing_file_beside_a_real_one_still_counts_examples(tmp_path: Path) -> None:
    result = ftprep.check([DRONE, tmp_path / "missing.jsonl"])
    assert "L010" in {f.code for f in result.findings}
    assert result.loaded == 103


def test_a_binary_file_is_one_finding(tmp_path: Path) -> None:
    binary = tmp_path / "weights.jsonl"
    binary.write_bytes(bytes(range(256)) * 200 + b"\n" * 50)
    result = ftprep.check(binary)
    assert [(f.code, f.line) for f in result.findings] == [("L010", None)]
    assert "not a text file" in result.findings[0].message


def test_utf16_text_is_one_finding(tmp_path: Path) -> None:
    data = tmp_path / "utf16.jsonl"
    data.write_bytes(DRONE.read_text(encoding="utf-8").encode("utf-16"))
    assert [f.code for f in ftprep.check(data).findings] == ["L010"]


@pytest.mark.parametrize("command", ["prepare", "convert"])
def test_a_missing_input_exits_2_before_writing(
    tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / ("out" if command == "prepare" else "out.jsonl")
    extra = ["--to", "openai"] if command == "convert" else []
    args = [command, str(DRONE), str(tmp_path / "missing.jsonl"), "--out", str(out), *extra]
    assert main(args) == 2
    assert "cannot read input" in (err := capsys.readouterr().err)
    assert "missing.jsonl: it does not exist" in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_the_python_api_raises_input_error(tmp_path: Path) -> None:
    with pytest.raises(ftprep.InputError, match="does not exist"):
        ftprep.prepare(tmp_path / "missing.jsonl", out_dir=tmp_path / "out")
    with pytest.raises(ftprep.InputError, match="does not exist"):
        ftprep.convert(tmp_path / "missing.jsonl", to="openai", out=tmp_path / "o.jsonl")
    assert list(tmp_path.iterdir()) == []


def test_a_binary_input_to_prepare_exits_2_before_writing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = tmp_path / "in" / "weights.jsonl.gz"
    binary.parent.mkdir()
    binary.write_bytes(gzip.compress(bytes(range(256)) * 64, mtime=0))
    out = tmp_path / "out"
    assert main(["prepare", str(binary), "--out", str(out)]) == 2
    assert "is not a text file" in capsys.readouterr().err
    assert not out.exists()
