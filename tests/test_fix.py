"""``check --fix``: safe fixes only, minimal diffs, atomic writes, pre-commit exit codes."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from ftprep import cli
from ftprep.config import Config
from ftprep.fix import fix_file
from ftprep.rules.duplicates import ExactDuplicate
from ftprep.validate.check import run_check

ROOT = Path(__file__).resolve().parents[1]
BAD = ROOT / "fixtures" / "cli" / "bad.jsonl"
DRONE = ROOT.parent / "shared" / "realdata" / "openai_cookbook" / "drone_training.jsonl"

CHAT = b'{"messages": [{"role": "user", "content": "%s"}, {"role": "assistant", "content": "%s"}]}'


def _check_and_fix(path: Path, select: str = "L", *, unsafe: bool = False) -> tuple[str, bytes]:
    config = Config(select=[select])
    result = run_check([path], config)
    fixed = fix_file(str(path), result.findings, unsafe=unsafe)
    return fixed.describe(), path.read_bytes()


def test_bom_and_blank_lines_removed_other_lines_byte_identical(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    original = BAD.read_bytes()
    path.write_bytes(original)
    message, fixed = _check_and_fix(path)
    assert message == (
        f"Fixed 2 issues in {path} (1 blank line removed, 1 byte order mark removed)"
    )
    expected = original.removeprefix(b"\xef\xbb\xbf").split(b"\n")
    del expected[1]  # the blank line
    assert fixed == b"\n".join(expected)
    assert not list(tmp_path.glob(".*.tmp")), "temporary file left behind"


def test_crlf_is_kept_and_only_changed_lines_rewritten(tmp_path: Path) -> None:
    lines = [
        CHAT % (b"  Where is Paris?\\n", b"France."),
        CHAT % (b"Spell cafe\\u0301", b"caf\\u00e9"),
        CHAT % (b"ok", b"fine"),
        b"",
        CHAT % (b"x", b"    indented code\\n    more\\n"),
    ]
    path = tmp_path / "data.jsonl"
    path.write_bytes(b"\r\n".join(lines) + b"\r\n")
    message, fixed = _check_and_fix(path)
    assert "1 blank line removed" in message
    assert "text normalised to NFC" in message and "texts trimmed" in message
    out = fixed.split(b"\r\n")
    assert out[-1] == b"" and b"\n" not in fixed.replace(b"\r\n", b"")
    # The first user message lost its stray whitespace, nothing else on the line moved.
    assert out[0] == CHAT % (b"Where is Paris?", b"France.")
    # NFC in the file's own escaping style: e + combining acute becomes the composed \u00e9.
    assert out[1] == CHAT % (b"Spell caf\\u00e9", b"caf\\u00e9")
    assert out[2] == lines[2]
    # Code keeps its indentation; only the trailing newline goes.
    assert out[3] == CHAT % (b"x", b"    indented code\\n    more")


def test_clean_file_is_not_touched(tmp_path: Path) -> None:
    path = tmp_path / "drone.jsonl"
    path.write_bytes(DRONE.read_bytes())
    before = path.stat().st_mtime_ns
    message, fixed = _check_and_fix(path)
    assert fixed == DRONE.read_bytes()
    assert path.stat().st_mtime_ns == before
    assert message.startswith("Fixed 0 issues")


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("data.json", b'[\n{"messages": []}\n\n]', "JSON array files are not fixed in place"),
        ("data.jsonl.gz", gzip.compress(b"\xef\xbb\xbf{}\n\n{}\n"), "gzip files are not fixed"),
    ],
)
def test_other_containers_are_skipped(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    message, after = _check_and_fix(path)
    assert message.startswith(f"Not fixed: {path}: {reason}")
    assert after == content


def test_cli_fix_exits_one_when_files_change_then_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "data.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + DRONE.read_bytes() + b"\n\n")
    assert cli.main(["check", str(path), "--fix", "--select", "L"]) == 1
    out, err = capsys.readouterr()
    assert f"Fixed 3 issues in {path}" in err
    assert out.strip() == "All checks passed! 103 records (1 file)."
    assert path.read_bytes() == DRONE.read_bytes()
    assert cli.main(["check", str(path), "--fix", "--select", "L"]) == 0
    assert "Fixed" not in capsys.readouterr().err


def test_cli_fix_reports_what_cannot_be_fixed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "data.json"
    path.write_bytes(b'\xef\xbb\xbf[{"messages": [{"role": "user", "content": "a"}]}]')
    cli.main(["check", str(path), "--fix", "--select", "L"])
    err = capsys.readouterr().err
    assert "Not fixed" in err and "JSON array" in err


def test_later_exact_duplicates_are_dropped(tmp_path: Path) -> None:
    code = ExactDuplicate.code
    lines = [CHAT % (b"a", b"b"), CHAT % (b"c", b"d"), CHAT % (b"a", b"b")]
    path = tmp_path / "data.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    message, fixed = _check_and_fix(path, select=code, unsafe=True)
    assert "1 duplicate record removed" in message
    assert fixed == b"\n".join(lines[:2]) + b"\n"


def test_records_differing_only_in_case_are_not_removed(tmp_path: Path) -> None:
    lines = [
        CHAT % (b"Spell it.", b"AI"),
        CHAT % (b"Spell it.", b"ai"),
        CHAT % (b"Spell it.", b"AI"),
    ]
    path = tmp_path / "data.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    message, fixed = _check_and_fix(path, select="X001", unsafe=True)
    assert message.endswith("(1 duplicate record removed)")
    assert fixed == b"\n".join(lines[:2]) + b"\n"


def test_the_valid_copy_of_a_duplicate_is_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A weight on a user message is an error (S013) that the duplicate key rightly ignores:
    # user turns are not trained on. The invalid first copy goes, the valid copy stays.
    invalid = (
        b'{"messages": [{"role": "user", "content": "a", "weight": 0}, '
        b'{"role": "assistant", "content": "b"}]}'
    )
    valid = CHAT % (b"a", b"b")
    path = tmp_path / "data.jsonl"
    path.write_bytes(invalid + b"\n" + CHAT % (b"c", b"d") + b"\n" + valid + b"\n")
    cli.main(["check", str(path), "--fix", "--unsafe-fixes"])
    assert "1 duplicate record removed" in capsys.readouterr().err
    assert path.read_bytes() == CHAT % (b"c", b"d") + b"\n" + valid + b"\n"


def test_content_fixes_need_the_default_selection(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    untrimmed = CHAT % (b"  Where is Paris?  ", b"France.")
    path = tmp_path / "data.jsonl"
    path.write_bytes(untrimmed + b"\n\n")
    assert cli.main(["check", str(path), "--fix", "--select", "L005"]) == 1
    assert "1 blank line removed" in capsys.readouterr().err
    assert path.read_bytes() == untrimmed + b"\n"
    cli.main(["check", str(path), "--fix", "--select", "ALL"])
    assert "1 text trimmed" in capsys.readouterr().err
    assert path.read_bytes() == CHAT % (b"Where is Paris?", b"France.") + b"\n"
    path.write_bytes(untrimmed + b"\n")
    cli.main(["check", str(path), "--fix"])
    assert "1 text trimmed" in capsys.readouterr().err


def test_a_symlink_is_fixed_through_to_its_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "real.jsonl"
    target.write_bytes(DRONE.read_bytes() + b"\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    cli.main(["check", str(link), "--fix", "--select", "L"])
    assert "1 blank line removed" in capsys.readouterr().err
    assert link.is_symlink()
    assert target.read_bytes() == DRONE.read_bytes()


def test_a_read_only_file_is_not_rewritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "data.jsonl"
    path.write_bytes(DRONE.read_bytes() + b"\n\n")
    path.chmod(0o444)
    cli.main(["check", str(path), "--fix", "--select", "L"])
    err = capsys.readouterr().err
    assert f"Not fixed: {path}: the file is read-only" in err
    assert path.read_bytes() == DRONE.read_bytes() + b"\n\n"
