"""Baselines: keyed by path, code and record content, so they survive moved lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftprep import cli
from ftprep.baseline import Baseline, BaselineError
from ftprep.config import Config
from ftprep.validate.check import run_check

ROOT = Path(__file__).resolve().parents[1]
BAD = ROOT / "fixtures" / "cli" / "bad.jsonl"
GOOD = (
    b'{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}'
)
NOT_OBJECT = b"[1, 2]"


def _main(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ftprep.toml").write_text('select = ["L"]\n')
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.jsonl").write_bytes(BAD.read_bytes())
    return tmp_path


def test_write_then_check_reports_nothing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _main(capsys, "baseline", "write", "data")
    assert code == 0 and "4 findings accepted" in err
    document = json.loads((project / ".ftprep-baseline.json").read_text())
    assert document["version"] == 1
    assert sorted(document["findings"]["data/train.jsonl"]) == ["L001", "L003", "L005", "L006"]
    code, out, _ = _main(capsys, "check", "data", "--baseline", ".ftprep-baseline.json")
    assert code == 0
    assert out.strip() == (
        "All checks passed! 5 records (1 file). 4 findings in the baseline not shown."
    )


def test_inserted_lines_do_not_disturb_it_new_findings_show(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _main(capsys, "baseline", "write", "data/train.jsonl")
    train = project / "data" / "train.jsonl"
    body = train.read_bytes().removeprefix(b"\xef\xbb\xbf")
    # Three records inserted on top move every old finding down (the BOM goes too).
    train.write_bytes(GOOD + b"\n" + NOT_OBJECT[:-1] + b"\n" + GOOD + b"\n" + body)
    code, out, _ = _main(capsys, "check", "data", "--baseline", ".ftprep-baseline.json")
    assert code == 1
    findings = [line for line in out.splitlines() if line.startswith("data/")]
    assert len(findings) == 1
    assert findings[0].startswith("data/train.jsonl:2:6: L001 invalid JSON")
    assert "3 findings in the baseline not shown" in out


def test_same_problem_twice_is_counted(project: Path) -> None:
    train = project / "data" / "train.jsonl"
    train.write_bytes(NOT_OBJECT + b"\n" + GOOD + b"\n")
    config = Config(select=["L"])
    baseline = Baseline.from_findings(run_check([train], config).findings, project)
    train.write_bytes(NOT_OBJECT + b"\n" + GOOD + b"\n" + NOT_OBJECT + b"\n")
    new, suppressed = baseline.filter(run_check([train], config).findings)
    assert suppressed == 1
    assert [(f.code, f.line) for f in new] == [("L006", 3)]


def test_prune_drops_what_no_longer_occurs(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _main(capsys, "baseline", "write", "data")
    train = project / "data" / "train.jsonl"
    train.write_bytes(train.read_bytes().replace(b"[1, 2]\n", b""))
    code, out, _ = _main(capsys, "baseline", "prune")
    assert code == 0 and "1 entries dropped, 3 kept" in out
    document = json.loads((project / ".ftprep-baseline.json").read_text())
    assert "L006" not in document["findings"]["data/train.jsonl"]
    # Restoring the line makes its finding new again.
    train.write_bytes(BAD.read_bytes())
    code, out, _ = _main(capsys, "check", "data", "--baseline", ".ftprep-baseline.json")
    assert code == 1 and " L006 " in out


def test_paths_are_relative_to_the_baseline_file(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _main(capsys, "baseline", "write", "data")
    monkeypatch.chdir(project / "data")
    code, _, _ = _main(capsys, "check", "train.jsonl", "--baseline", "../.ftprep-baseline.json")
    assert code == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "baseline file not found"),
        ("{not json", "is not valid JSON"),
        ('{"version": 7, "findings": {}}', "is not an ftprep baseline"),
        ('["a"]', "is not an ftprep baseline"),
        ('{"version": 1, "findings": {"a": {"L001": {"x": "many"}}}}', "malformed"),
    ],
)
def test_bad_baseline_files_exit_two(
    project: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    if content is not None:
        (project / "b.json").write_text(content)
    with pytest.raises(BaselineError, match=message):
        Baseline.read(project / "b.json")
    code, out, err = _main(capsys, "check", "data", "--baseline", "b.json")
    assert code == 2 and out == "" and message in err
