"""``ftprep prepare`` and ``ftprep convert`` on the command line: summaries and exit codes."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from ftprep.cli import main
from ftprep.write import verify_output

ROOT = Path(__file__).resolve().parents[1]
DRONE_DIR = ROOT / "fixtures" / "drone"
CORRUPT = ROOT / "fixtures" / "prepare" / "corrupt.jsonl"


def test_readme_first_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["prepare", str(DRONE_DIR), "--out", str(out)]) == 0
    assert capsys.readouterr().out == (
        f"103 records: 91 train, 12 holdout, 0 rejected -> {out} (manifest.json)\n"
    )
    assert verify_output(out) == []


def test_prepare_options_reach_the_job(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    args = ["prepare", str(CORRUPT), "--out", str(out), "--holdout-count", "3", "--seed", "5"]
    assert main([*args, "--eval", "--max-file-bytes", "1000"]) == 0
    manifest = orjson.loads((out / "manifest.json").read_bytes())
    assert manifest["seed"] == 5
    assert manifest["split"] == {"count": 3, "stratify": None}
    assert manifest["counts"]["holdout"] == 3
    assert (out / "holdout.eval.jsonl").exists()
    assert (out / "train-00002.jsonl").exists()
    assert "3 holdout, 6 rejected" in capsys.readouterr().out


def test_prepare_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prepare", "-", "--out", str(tmp_path)]) == 2
    assert "save stdin to a file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["prepare", str(CORRUPT), "--out", str(tmp_path), "--holdout", "0.1",
              "--holdout-count", "2"])  # fmt: skip
    assert exc.value.code == 2
    assert main(["prepare", str(CORRUPT), "--out", str(tmp_path), "--target", "nope"]) == 2


def test_convert_reports_rejects_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "corrupt.jsonl"
    assert main(["convert", str(CORRUPT), "--to", "openai", "--out", str(out)]) == 1
    rejects = tmp_path / "corrupt.rejected.jsonl"
    assert capsys.readouterr().out == f"16 records written to {out}, 4 rejected ({rejects})\n"
    sharegpt = tmp_path / "drone.sharegpt.jsonl"
    assert main(["convert", str(DRONE_DIR), "--to", "sharegpt", "--out", str(sharegpt)]) == 0
    assert len(sharegpt.read_bytes().splitlines()) == 103
