"""Command-line conventions users know from ruff: selectors, configuration discovery and
anchoring, statistics, output formats, fixes (safe, unsafe, shown, diffed), quiet and
verbose runs, logging. Every test runs the command line on real fixture files."""

from __future__ import annotations

import argparse
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest

import ftprep
from ftprep import cli
from ftprep.config import Config
from ftprep.fix import UNSAFE_FIX_CODES
from ftprep.rules.registry import ALL_RULES

ROOT = Path(__file__).resolve().parents[1]
BAD = ROOT / "fixtures" / "cli" / "bad.jsonl"
TOY = ROOT / "fixtures" / "realdata" / "toy_chat_fine_tuning.jsonl"
DRONE = ROOT / "fixtures" / "drone" / "drone_training.jsonl"


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GITHUB_ACTIONS", "FTPREP_DEBUG", "NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def codes_of(text_output: str) -> set[str]:
    """The codes of ``path:line:col: CODE message`` lines."""
    lines = [line for line in text_output.splitlines() if ": " in line and line[0] != " "]
    return {line.split(": ")[1].split()[0] for line in lines}


def with_duplicate(folder: Path) -> Path:
    """The toy file with its first record repeated at the end (an exact duplicate)."""
    lines = TOY.read_bytes().splitlines(keepends=True)
    path = folder / "dup.jsonl"
    path.write_bytes(b"".join([*lines, lines[0]]))
    return path


# --- selection ------------------------------------------------------------------------------


def test_all_is_the_least_specific_selector(capsys: pytest.CaptureFixture[str]) -> None:
    _, everything, _ = run(capsys, "check", TOY, "--select", "ALL")
    assert "Q007" in codes_of(everything)
    _, out, _ = run(capsys, "check", TOY, "--select", "ALL", "--ignore", "Q")
    assert codes_of(out) == codes_of(everything) - {"Q007"} and codes_of(out)
    _, out, _ = run(capsys, "check", TOY, "--select", "Q", "--ignore", "ALL")
    assert codes_of(out) == {"Q007"}
    config = Config(select=["ALL"], ignore=["Q"], extend_select=["Q007"])
    assert config.is_enabled("S001") and config.is_enabled("Q007")
    assert not config.is_enabled("Q001")


def test_unknown_selectors_are_errors_naming_the_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "check", TOY, "--ignore", "Q,Q999")
    assert code == 2
    assert err == "ftprep: error: unknown rule selector 'Q999' in --ignore (see `ftprep rules`)\n"
    data = tmp_path / "toy.jsonl"
    data.write_bytes(TOY.read_bytes())
    config = tmp_path / "ftprep.toml"
    config.write_text('select = ["S", "L"]\n[per-file-ignores]\n"*.jsonl" = ["C201"]\n')
    code, _, err = run(capsys, "check", data)
    assert code == 2
    assert err == (
        f"ftprep: error: unknown rule selector 'C201' in per-file-ignores '*.jsonl' in "
        f"{config} (see `ftprep rules`)\n"
    )
    config.write_text('extend-select = ["X9"]\n')
    with pytest.raises(ftprep.ConfigError, match="unknown rule selector 'X9' in extend-select"):
        ftprep.check(data, progress=False)


# --- configuration --------------------------------------------------------------------------


def test_per_file_ignores_are_anchored_at_the_configuration_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    (project / "other").mkdir()
    for folder in ("data", "other"):
        (project / folder / "bad.jsonl").write_bytes(BAD.read_bytes())
    (project / "ftprep.toml").write_text('[per-file-ignores]\n"data/*.jsonl" = ["L005"]\n')
    results = []
    for cwd, data, other in (
        (project, "data/bad.jsonl", "other/bad.jsonl"),
        (project / "data", "bad.jsonl", "../other/bad.jsonl"),
        (tmp_path, "project/data/bad.jsonl", "project/other/bad.jsonl"),
    ):
        monkeypatch.chdir(cwd)
        _, out, _ = run(capsys, "check", data, "--select", "L")
        _, out_other, _ = run(capsys, "check", other, "--select", "L")
        results.append((codes_of(out), codes_of(out_other)))
    assert results[0] == ({"L001", "L003", "L006"}, {"L001", "L003", "L005", "L006"})
    assert results[1] == results[0] and results[2] == results[0]


def test_dot_ftprep_toml_is_found_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_bytes(BAD.read_bytes())
    (tmp_path / ".ftprep.toml").write_text('select = ["L005"]\n')
    _, out, _ = run(capsys, "check", data)
    assert codes_of(out) == {"L005"}
    (tmp_path / "ftprep.toml").write_text('select = ["L001"]\n')
    _, out, _ = run(capsys, "check", data)
    assert codes_of(out) == {"L005"}  # .ftprep.toml before ftprep.toml, as ruff's order
    (tmp_path / ".ftprep.toml").unlink()
    _, out, _ = run(capsys, "check", data)
    assert codes_of(out) == {"L001"}


def test_the_baseline_path_can_be_configured(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    data = project / "data" / "bad.jsonl"
    data.write_bytes(BAD.read_bytes())
    (project / "ftprep.toml").write_text('baseline = "ci/accepted.json"\n')
    (project / "ci").mkdir()
    monkeypatch.chdir(project / "data")
    assert run(capsys, "check", "bad.jsonl")[0] == 2  # the configured baseline is missing
    assert run(capsys, "baseline", "write", "bad.jsonl")[0] == 0
    assert (project / "ci" / "accepted.json").is_file()
    assert not (project / "data" / ".ftprep-baseline.json").exists()
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "check", "project/data/bad.jsonl")
    assert code == 0 and codes_of(out) == set()
    assert "5 findings in the baseline not shown" in out
    # --baseline still wins over the configuration
    assert run(capsys, "check", data, "--baseline", project / "none.json")[0] == 2


# --- output ---------------------------------------------------------------------------------


def test_statistics_count_per_code_as_ruff_prints_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "check", BAD, "--statistics")
    assert code == 1
    lines = out.splitlines()
    assert lines[:5] == [
        "1\tD001\t    too-few-examples",
        "1\tL001\t    invalid-json",
        "1\tL003\t[*] utf8-bom",
        "1\tL005\t[*] blank-line",
        "1\tL006\t    not-an-object",
    ]
    assert lines[5].startswith("Found 3 errors, 2 warnings")
    _, out, err = run(capsys, "check", BAD, "--statistics", "--output-format", "json")
    stats = json.loads(out)
    assert [(s["code"], s["count"], s["fix"]) for s in stats][2] == ("L003", 1, "safe")
    assert stats[0]["name"] == "too-few-examples" and stats[0]["fixable"] is False
    assert err.startswith("Found 3 errors")


def test_output_format_is_the_ruff_spelling_of_format(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, jsonl, _ = run(capsys, "check", BAD, "--format", "jsonl")
    _, json_lines, _ = run(capsys, "check", BAD, "--output-format", "json-lines")
    assert jsonl == json_lines and len(jsonl.splitlines()) == 5
    _, text, _ = run(capsys, "check", BAD, "--output-format", "text")
    assert codes_of(text) == {json.loads(line)["code"] for line in jsonl.splitlines()}


def test_junit_has_a_suite_per_file_and_a_failure_per_finding(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "check", BAD, TOY, "--output-format", "junit")
    assert code == 1
    suites = ElementTree.fromstring(out)
    assert suites.tag == "testsuites"
    names = [suite.get("name") for suite in suites]
    assert names == [str(BAD), str(TOY)]
    cases = [case for suite in suites for case in suite]
    assert suites.get("tests") == str(len(cases)) == suites.get("failures")
    blank = next(c for c in cases if c.get("name") == "ftprep.L005")
    assert (blank.get("line"), blank.get("column"), blank.get("classname")) == ("2", "1", str(BAD))
    failure = blank.find("failure")
    assert failure is not None and failure.text == "line 2, col 1, blank line"


def test_gitlab_code_quality_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = with_duplicate(tmp_path)
    data.write_bytes(data.read_bytes() + TOY.read_bytes().splitlines(keepends=True)[0])
    code, out, _ = run(capsys, "check", data, "--output-format", "gitlab")
    assert code == 1
    issues = json.loads(out)
    duplicates = [i for i in issues if i["check_name"] == "X001"]
    assert len(duplicates) == 2
    assert len({i["fingerprint"] for i in issues}) == len(issues)  # GitLab requires unique
    for issue in issues:
        assert issue["type"] == "issue"
        assert issue["severity"] in {"info", "minor", "major", "critical", "blocker"}
        assert issue["location"]["path"] == str(data)
        assert issue["location"]["lines"]["begin"] >= 1
    # Fingerprints follow the record, not the line: a record inserted above keeps them.
    data.write_bytes(DRONE.read_bytes().splitlines(keepends=True)[0] + data.read_bytes())
    _, moved, _ = run(capsys, "check", data, "--output-format", "gitlab")
    before = {i["fingerprint"] for i in issues if i["check_name"] == "Q007"}
    assert before and before <= {i["fingerprint"] for i in json.loads(moved)}


def test_rules_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rules", "--format", "json")
    rules = json.loads(out)
    assert code == 0 and [r["code"] for r in rules] == [r.code for r in ALL_RULES]
    by_code = {r["code"]: r for r in rules}
    assert by_code["L005"]["fix"] == "safe" and by_code["X001"]["fix"] == "unsafe"
    assert by_code["S001"]["fix"] is None and by_code["S001"]["scope"] == "record"
    assert by_code["X001"]["scope"] == "dataset" and by_code["X001"]["documentation"]
    assert by_code["X001"]["source"].startswith("ftprep/rules/duplicates.py:")
    _, one, _ = run(capsys, "rules", "blank-line", "--output-format", "json")
    assert json.loads(one) == by_code["L005"]


def test_quiet_prints_findings_and_nothing_else(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "check", BAD, "-q")
    assert code == 1 and err == ""
    assert len(out.splitlines()) > 5 and "Found" not in out
    code, out, err = run(capsys, "-q", "check", DRONE)
    assert code == 0 and err == "" and codes_of(out) == {"D002"} and len(out.splitlines()) == 1
    code, out, err = run(capsys, "prepare", DRONE, "--out", tmp_path / "out", "--quiet")
    assert (code, out, err) == (0, "", "")
    assert (tmp_path / "out" / "manifest.json").is_file()


# --- fixes ----------------------------------------------------------------------------------


def test_the_rules_say_which_fixes_are_unsafe() -> None:
    unsafe = {rule.code for rule in ALL_RULES if rule.fix_safety() == "unsafe"}
    safe = {rule.code for rule in ALL_RULES if rule.fix_safety() == "safe"}
    redacting = {rule.code for rule in ALL_RULES if rule.redactable}
    assert unsafe == UNSAFE_FIX_CODES == {"X001"} | redacting
    assert redacting == {f"P0{n:02d}" for n in range(1, 11)}
    assert safe == {"L003", "L005"}


def test_dropping_duplicates_is_an_unsafe_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = with_duplicate(tmp_path)
    original = data.read_bytes()
    code, out, err = run(capsys, "check", data, "--select", "X001", "--fix")
    assert code == 0 and data.read_bytes() == original and "Fixed" not in err
    assert "1 fixable with --fix --unsafe-fixes (drops records)." in out
    code, out, err = run(capsys, "check", data, "--select", "X001", "--fix", "--unsafe-fixes")
    assert code == 1 and f"Fixed 1 issue in {data} (1 duplicate record removed)" in err
    assert data.read_bytes() == TOY.read_bytes()
    assert out.strip() == "All checks passed! 5 records (1 file)."


def test_safe_fixes_stay_safe_beside_an_unsafe_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = with_duplicate(tmp_path)
    data.write_bytes(b"\xef\xbb\xbf" + data.read_bytes() + b"\n")
    code, out, err = run(capsys, "check", data, "--select", "L,X001", "--fix")
    assert code == 1
    assert f"Fixed 2 issues in {data} (1 blank line removed, 1 byte order mark removed)" in err
    assert data.read_bytes() == TOY.read_bytes() + TOY.read_bytes().splitlines(True)[0]
    assert "1 fixable with --fix --unsafe-fixes" in out


def test_diff_shows_the_fixes_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_bytes(BAD.read_bytes())
    code, out, _ = run(capsys, "check", data, "--diff")
    assert code == 1 and data.read_bytes() == BAD.read_bytes()
    lines = out.splitlines()
    assert lines[:2] == [f"--- a/{data}", f"+++ b/{data}"]
    first = BAD.read_bytes().splitlines()[0].decode("utf-8")
    assert f"-{first}" in lines and f"+{first.removeprefix(chr(0xFEFF))}" in lines
    assert "-" in lines  # the blank line goes
    assert run(capsys, "check", DRONE, "--diff") == (0, "", "")


def test_show_fixes_lists_each_fix_by_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_bytes(BAD.read_bytes())
    code, _, err = run(capsys, "check", data, "--fix", "--show-fixes")
    assert code == 1
    assert f"{data}:1: byte order mark removed\n{data}:2: blank line removed\n" in err


# --- logging --------------------------------------------------------------------------------


def test_verbose_logs_each_stage_time(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "-v", "check", DRONE)
    assert code == 0
    stages = [line for line in err.splitlines() if line.startswith("ftprep: debug: ")]
    names = [line.removeprefix("ftprep: debug: ").rsplit(": ", 1)[0] for line in stages]
    for stage in ("plan", "record pass", "dataset rule X001", "sort findings", "output"):
        assert stage in names
    assert all(line.endswith(" s") for line in stages if "record pass:" not in line[:30])
    _, _, quiet_err = run(capsys, "check", DRONE)
    assert "debug" not in quiet_err
    _, _, sub_err = run(capsys, "check", DRONE, "--verbose")
    assert "ftprep: debug: record pass" in sub_err


def test_the_library_logs_through_the_ftprep_logger(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="ftprep"):
        ftprep.check(DRONE, progress=False)
    messages = [r.getMessage() for r in caplog.records if r.name == "ftprep"]
    assert any(m.startswith("record pass: ") and m.endswith(" s") for m in messages)
    assert any(m.startswith("dataset rule D002: ") for m in messages)


# --- documentation --------------------------------------------------------------------------

CODE_LIKE = re.compile(r"\b[A-Z]{1,3}\d{3}\b")
"""What reads as a rule code: one to three capitals and three digits (``Q001``, ``FT201``)."""


def _help_texts(parser: argparse.ArgumentParser) -> Iterator[str]:
    yield parser.format_help()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _help_texts(sub)


def _documents() -> Iterator[tuple[str, str]]:
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*"))]:
        if path.suffix in (".md", ".ipynb"):
            yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")
    yield "ftprep --help", "\n".join(_help_texts(cli.build_parser()))
    yield "ftprep/config.py", (ROOT / "ftprep" / "config.py").read_text(encoding="utf-8")
    for rule in ALL_RULES:
        yield f"ftprep rules {rule.code}", rule.documentation()


def test_docs_and_help_name_only_codes_that_exist() -> None:
    known = {rule.code for rule in ALL_RULES}
    stale = {
        (where, code)
        for where, text in _documents()
        for code in CODE_LIKE.findall(text)
        if code not in known
    }
    assert stale == set()


def test_the_docs_scan_sees_codes() -> None:
    """The scan above reads what it should: each source names real codes."""
    found = {where: set(CODE_LIKE.findall(text)) for where, text in _documents()}
    assert {"L008", "X001"} <= found["README.md"]
    assert "R002" in found["ftprep --help"] and "Q006" in found["ftprep/config.py"]
