"""Atomic replacement of single files (``write_atomic``): fixed inputs, baselines, reports."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ftprep.config import Config
from ftprep.report.report import Report
from ftprep.validate.check import run_check
from ftprep.write.files import write_atomic

TOY = Path(__file__).resolve().parents[1] / "fixtures" / "realdata" / "toy_chat_fine_tuning.jsonl"


def test_replaces_the_file_and_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_bytes(b"old\n")
    path.chmod(0o640)
    write_atomic(path, b"new\n")
    assert path.read_bytes() == b"new\n"
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["data.jsonl"]


def test_creates_a_missing_file(tmp_path: Path) -> None:
    write_atomic(tmp_path / "new.json", b"{}\n")
    assert (tmp_path / "new.json").read_bytes() == b"{}\n"


def test_a_failed_write_keeps_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "baseline.json"
    path.write_bytes(b"complete\n")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        write_atomic(path, b"half")
    assert path.read_bytes() == b"complete\n"
    assert [p.name for p in tmp_path.iterdir()] == ["baseline.json"]


def test_a_report_that_fails_to_write_keeps_the_old_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = Report.from_check(run_check([TOY], Config()))
    path = report.write_html(tmp_path / "report.html")
    page = path.read_bytes()
    assert page == report.to_html().encode("utf-8")

    def fail(src: object, dst: object) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="Input/output"):
        report.write_html(path)
    assert path.read_bytes() == page
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
