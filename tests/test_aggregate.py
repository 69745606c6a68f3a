"""Repeated findings fold into one with a count (issue 18 §2, issue 21 "gzip bomb"): a run of
the same finding on consecutive lines, and a file-wide condition of a ``per_file_summary``
rule; every output format shows the count, baselines and ``--fix`` keep working, and a
million blank lines are checked in bounded memory."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ftprep.api import lint_files
from ftprep.baseline import Baseline
from ftprep.config import parse_config
from ftprep.findings import Finding, Location, Severity
from ftprep.report.formats import FORMATS, render
from ftprep.rules.registry import ALL_RULES
from ftprep.validate import engine
from ftprep.validate.aggregate import SUMMARY_AFTER, aggregate
from ftprep.validate.check import run_check

CHAT = (
    '{"messages": [{"role": "user", "content": "hi %d"}, {"role": "assistant", "content": "%s"}]}'
)


def _chat(n: int, answer: str = "hello") -> str:
    return CHAT % (n, answer)


def _finding(line: int, message: str = "blank line", code: str = "L005") -> Finding:
    return Finding(
        code, Severity.WARNING, message, Location("a.jsonl", line), fingerprint=f"{line:016x}"
    )


def test_a_run_on_consecutive_lines_is_one_finding_with_its_range() -> None:
    found = list(aggregate([_finding(n) for n in (3, 4, 5, 6, 9)], file_wide=()))
    assert [(f.line, f.last_line, f.count) for f in found] == [(3, 6, 4), (9, None, 1)]
    run = found[0]
    assert run.message == "blank line (4 times, on lines 3-6)"
    assert list(run.lines) == [3, 4, 5, 6]
    assert run.to_dict()["count"] == 4 and run.to_dict()["last_line"] == 6
    assert run.fingerprint == f"{3 + 4 + 5 + 6:016x}"  # the members' fingerprints, summed


def test_a_run_of_alike_messages_says_so_and_other_findings_break_nothing() -> None:
    found = list(
        aggregate(
            [
                _finding(1, "calls 'a', but the example declares no tools", "R008x"),
                _finding(2, "calls 'b', but the example declares no tools", "R008x"),
                _finding(2, "blank line"),
                _finding(3, "something else entirely", "R008x"),
            ],
            file_wide=(),
        )
    )
    by_line = sorted((f.line, f.code, f.message) for f in found)
    assert by_line == [
        (
            1,
            "R008x",
            "calls 'a', but the example declares no tools (and 1 more like it, on lines 1-2)",
        ),
        (2, "L005", "blank line"),
        (3, "R008x", "something else entirely"),
    ]


def test_a_file_wide_condition_is_one_finding_beyond_a_few() -> None:
    few = [_finding(n, "content has 'x'", "C9") for n in range(1, SUMMARY_AFTER + 1)]
    assert list(aggregate(few, file_wide={"C9"})) == few
    many = [_finding(n, "content has 'x'", "C9") for n in range(1, 40, 3)]
    (summary,) = aggregate(many, file_wide={"C9"})
    assert summary.count == len(many) and summary.line == 1
    assert summary.message == (
        "content has 'x' (13 findings the same in this file; first on lines 1, 4, 7, 10, 13)"
    )
    assert [r.line for r in summary.related] == [4, 7, 10, 13]


@pytest.mark.parametrize("cut", [1, 3, 7, 20, 29])
def test_folding_pieces_then_the_whole_equals_folding_the_whole(cut: int) -> None:
    stream = [_finding(n) for n in range(1, 31) if n % 11] + [
        _finding(n, "x 'y'", "C9") for n in range(2, 31, 2)
    ]
    stream.sort(key=lambda f: f.line or 0)
    whole = sorted(aggregate(stream, {"C9"}), key=Finding.sort_key)
    head = [f for f in stream if (f.line or 0) <= cut]
    tail = [f for f in stream if (f.line or 0) > cut]
    pieces = [*aggregate(head, {"C9"}), *aggregate(tail, {"C9"})]
    pieces.sort(key=lambda f: f.line or 0)
    assert sorted(aggregate(pieces, {"C9"}), key=Finding.sort_key) == whole


def test_rules_declare_file_wide_conditions() -> None:
    wide = {r.code for r in ALL_RULES if r.per_file_summary}
    # Raw template tokens, undeclared tools, keys a target refuses: how the file was made.
    assert {"C004", "R008", "S010", "S011"} <= wide


def _tokens_file(tmp_path: Path, records: int = 12) -> Path:
    path = tmp_path / "tokens.jsonl"
    lines = [_chat(n, "hello<|im_end|>") for n in range(records)]
    lines[3:3] = ["", "", ""]  # a run of blank lines at lines 4-6
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_check_folds_runs_and_file_wide_conditions(tmp_path: Path) -> None:
    path = _tokens_file(tmp_path)
    found = run_check([str(path)], parse_config({})).findings
    blank = [f for f in found if f.code == "L005"]
    tokens = [f for f in found if f.code == "C004"]
    assert [(f.line, f.last_line, f.count) for f in blank] == [(4, 6, 3)]
    assert len(tokens) == 1 and tokens[0].count == 12
    assert "12 findings the same in this file; first on lines 1, 2, 3, 7, 8" in tokens[0].message
    # prepare keeps each finding, to give every record it rejects its own reasons.
    each = run_check([str(path)], parse_config({}), aggregate=False).findings
    assert sum(f.code == "C004" for f in each) == 12 and sum(f.code == "L005" for f in each) == 3


def test_a_run_across_shards_is_one_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.jsonl"
    lines = [_chat(n) for n in range(300)] + [""] * 2000 + [_chat(n) for n in range(300, 600)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = parse_config({})
    whole = run_check([str(path)], config).findings
    monkeypatch.setattr(engine, "SHARD_BYTES", 4096)
    assert len(engine.plan_units([str(path)], config)) > 4
    sharded = run_check([str(path)], config).findings
    assert [f.to_dict() for f in sharded] == [f.to_dict() for f in whole]
    (run,) = [f for f in sharded if f.code == "L005"]
    assert (run.line, run.last_line, run.count) == (301, 2300, 2000)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_shows_the_count(tmp_path: Path, fmt: str) -> None:
    path = _tokens_file(tmp_path)
    found = run_check([str(path)], parse_config({})).findings
    text = render(fmt, found, {"errors": 0}, rules=ALL_RULES, version="0")
    assert "3 times, on lines 4-6" in text
    assert "12 findings the same in this file" in text
    if fmt in ("json", "jsonl"):
        rows = [json.loads(line) for line in text.splitlines()] if fmt == "jsonl" else None
        items = rows if rows is not None else json.loads(text)["diagnostics"]
        counts = {item["code"]: (item.get("count"), item.get("last_line")) for item in items}
        assert counts["L005"] == (3, 6) and counts["C004"] == (12, None)


def test_the_html_report_counts_every_occurrence(tmp_path: Path) -> None:
    from ftprep.report.report import Report

    path = _tokens_file(tmp_path)
    report = Report.from_check(run_check([str(path)], parse_config({})))
    codes = {c.code: c for c in report.codes}
    assert (codes["L005"].findings, codes["C004"].findings, codes["C004"].records) == (3, 12, 12)
    assert "12 findings the same in this file" in report.to_html()


def test_baselines_and_fixes_work_on_folded_findings(tmp_path: Path) -> None:
    path = _tokens_file(tmp_path)
    config = parse_config({})
    first = lint_files([str(path)], config)
    baseline = Baseline.from_findings(first.findings, tmp_path)
    assert baseline.filter(first.findings) == ([], len(first.findings))
    assert first.fixable() == (3, 0)  # each blank line of the run
    fixed = lint_files([str(path)], config, fix=True)
    assert fixed.fixes[0].fixed["blank"] == 3
    assert not any(f.code == "L005" for f in fixed.findings)
    # The file-wide finding stays accepted while its records stay as they were ...
    assert [f.code for f in baseline.filter(fixed.findings)[0]] == []
    # ... and editing a record it stands for makes it new.
    text = path.read_text(encoding="utf-8").replace("hi 5", "hi five")
    path.write_text(text, encoding="utf-8")
    again = check_codes = baseline.filter(run_check([str(path)], config).findings)[0]
    assert [f.code for f in check_codes] == ["C004"] and again[0].count == 12


BOMB_CHECK = """
import sys
from ftprep import check
result = check([sys.argv[1]], progress=False)
# VmHWM, not ru_maxrss: Linux carries the forking parent's peak into ru_maxrss across exec.
with open("/proc/self/status") as status:
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(len(result.findings), result.records, peak)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_a_million_blank_lines_check_in_bounded_memory(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.jsonl.gz"
    with gzip.open(bomb, "wb") as handle:
        handle.write(b"\n" * 1_000_000)
    assert bomb.stat().st_size < 4096
    # A clean environment: settings other tests leave in os.environ must not change the run.
    done = subprocess.run(
        [sys.executable, "-c", BOMB_CHECK, str(bomb)],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)},
        cwd=tmp_path,
    )
    findings, records, peak_kib = map(int, done.stdout.split())
    assert records == 1_000_000
    assert findings <= 2  # the run of blank lines, and "too few examples"
    assert peak_kib < 300 * 1024, f"peak RSS {peak_kib / 1024:.0f} MB"
