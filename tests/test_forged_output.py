"""Output that cannot be forged: a file name, record key or excerpt holding a newline, a
carriage return, an ANSI escape or another control character is shown escaped in every text
output (findings as text, GitHub annotations, GitLab descriptions, status and error lines),
so it can neither print a finding line of its own nor drive the terminal."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ftprep import cli
from ftprep.findings import printable

FORGED = "a\nb.jsonl:1:1: X001 all clean\x1b[2J\rc\x07\u202e.jsonl"
"""A file name that would print a finding line of its own, clear the screen, return the
cursor, ring the bell and reverse the text after it."""

RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""Control characters a terminal acts on (the tab and the line break apart)."""
STRUCTURED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""What a structured format (JSON, XML) must escape; it keeps bidirectional marks as data."""
OWN_COLOURS = re.compile(r"\x1b\[(0|1|2|31|32|33|36)m")
"""The colours ftprep paints with (the forged names use others)."""


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GITHUB_ACTIONS", "FTPREP_DEBUG", "NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)


def _forged_file(folder: Path) -> Path:
    """A file with a forged name holding a blank line and a record with a forged key."""
    path = folder / FORGED
    record = {
        "messages": [
            {"role": "user", "content": "Hello\x1b]0;pwned\x07 there"},
            {"role": "assistant", "content": "Hi."},
        ],
        "x\n/tmp/y.jsonl:3:1: S001 forged\x1b[5m": 1,
    }
    path.write_text(json.dumps(record) + "\n\n" + json.dumps(record) + "\n")
    return path


def test_printable_escapes_controls_and_keeps_everything_else() -> None:
    assert printable("plain ünïcode 日本 \t tab") == "plain ünïcode 日本 \t tab"
    assert printable("a\nb\r\x1b[0m\x00\x7f\x9b\u202e") == "a\\nb\\r\\x1b[0m\\x00\\x7f\\x9b\\u202e"
    assert printable("a\nb\x1b", newlines=True) == "a\nb\\x1b"


@pytest.mark.parametrize("fmt", ["text", "github", "gitlab", "junit"])
def test_forged_names_and_keys_are_escaped_in_every_format(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _forged_file(tmp_path)
    code = cli.main(
        ["check", str(tmp_path), "--select", "ALL", "--format", fmt, "--color", "always"]
    )
    out, err = capsys.readouterr()
    assert code == 1 and "internal error" not in err
    text = OWN_COLOURS.sub("", out)
    assert not (RAW if fmt in ("text", "github") else STRUCTURED).search(text), fmt
    assert not RAW.search(OWN_COLOURS.sub("", err))
    if fmt == "text":
        lines = out.splitlines()
        findings = [line for line in lines if not line.startswith(" ") and "L00" in line]
        assert findings and all(str(tmp_path) in line for line in findings)
        assert not any(line.lstrip("\x1b[1m").startswith("b.jsonl") for line in lines)
        assert not any(line.startswith("/tmp/y.jsonl") for line in lines)
    if fmt == "github":
        assert all(line.startswith("::") for line in out.splitlines())
    assert path.exists()


def test_status_and_error_lines_escape_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _forged_file(tmp_path)
    assert cli.main(["check", str(path), "--fix", "--select", "L"]) == 1
    cli.main(["check", str(tmp_path / "gone\x1b[2J.jsonl")])
    out = tmp_path / "out\x1b[2J\r.jsonl"
    cli.main(["convert", str(path), "--to", "sharegpt", "--out", str(out)])
    stdout, err = capsys.readouterr()
    assert "internal error" not in err
    assert "gone\\x1b[2J.jsonl" in stdout
    assert not RAW.search(err) and not RAW.search(stdout)


def test_the_text_report_escapes_names(tmp_path: Path) -> None:
    import ftprep
    from ftprep.report.report import Report

    path = _forged_file(tmp_path)
    text = Report.from_check(ftprep.check([str(path)])).to_text()
    assert "\\x1b[2J" in text and not RAW.search(text)
