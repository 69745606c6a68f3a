"""The report: counts, totals, distributions, clusters, advice and rendering, on real files."""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import replace
from pathlib import Path

import needs
import numpy as np
import pytest

from ftprep.config import Config
from ftprep.findings import Finding, Location, Severity
from ftprep.report.report import MAX_LOCATIONS, RECORD_COLUMNS, Report
from ftprep.report.svg import LIMIT
from ftprep.validate.check import CheckResult, run_check

ROOT = Path(__file__).resolve().parents[1]
TOY = ROOT / "fixtures" / "realdata" / "toy_chat_fine_tuning.jsonl"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "realdata"
DRONE = SHARED / "openai_cookbook" / "drone_training.jsonl"
ALPACA = SHARED / "stanford_alpaca_pr152" / "alpaca_5000.json"

needs_shared = needs.path_mark(ALPACA, "../shared/realdata not present")


@pytest.fixture(scope="module")
def toy() -> CheckResult:
    return run_check([TOY], Config())


@pytest.fixture(scope="module")
def large() -> CheckResult:
    return run_check([DRONE, ALPACA], Config())


def svgs(html: str) -> list[str]:
    return re.findall(r"<svg\b.*?</svg>", html, flags=re.S)


def test_counts_match_the_check(toy: CheckResult) -> None:
    report = Report.from_check(toy)
    assert report.summary["records"] == 5
    assert report.summary["loaded"] == 5
    by_code = Counter(f.code for f in toy.findings)
    assert {c.code: c.findings for c in report.codes} == dict(by_code)
    assert sum(c.findings for c in report.codes) == len(toy.findings)
    ranks = [c.severity.rank for c in report.codes]
    assert ranks == sorted(ranks, reverse=True), "errors come first"
    assert report.summary["usable"] == int(np.count_nonzero(toy.facts.loaded & ~toy.facts.rejected))


def test_cookbook_facts_on_its_toy_data() -> None:
    """The OpenAI cookbook's check on this file: longest example 8,032 tokens (cl100k_base)
    and 20 default epochs."""
    report = Report.from_check(run_check([TOY], Config(model="gpt-3.5-turbo")))
    whole = next(d for d in report.lengths if d.name == "tokens")
    assert whole.count == 5
    assert whole.max == 8_032
    assert report.estimate is not None
    assert report.estimate.epochs == 20
    assert report.limit == 16_385
    assert report.totals[0].over_limit == 0


def test_role_distributions_count_only_examples_with_the_role(toy: CheckResult) -> None:
    report = Report.from_check(toy)
    lengths = {d.name: d for d in report.lengths}
    facts = toy.facts
    assert lengths["system"].count == int(np.count_nonzero(facts.has_system))
    assert lengths["system"].count == 4, "the cookbook's toy data has one example without system"
    for d in report.lengths:
        assert d.min <= d.p25 <= d.p50 <= d.p75 <= d.p90 <= d.max


def test_histogram_bins_every_loaded_example(toy: CheckResult) -> None:
    hist = Report.from_check(toy).histogram
    tokens = toy.facts.tokens[toy.facts.loaded]
    assert sum(hist.counts) == len(tokens)
    assert len(hist.edges) == len(hist.counts) + 1
    assert list(hist.edges) == sorted(set(hist.edges))
    assert hist.edges[0] <= tokens.min() and hist.edges[-1] > tokens.max()


def test_too_few_examples_is_the_first_advice(toy: CheckResult) -> None:
    report = Report.from_check(toy)
    assert [g.met for g in report.goals] == [False, False, False]
    assert report.goals[0].needed == 10
    assert report.advice[0].severity is Severity.ERROR
    assert report.advice[0].title.startswith("Not enough data")


def test_splits_switch_totals_and_count_readiness_on_train(toy: CheckResult) -> None:
    facts = toy.facts
    splits = {"train": facts.select(np.arange(4)), "holdout": facts.select(np.arange(4, 5))}
    report = Report.from_check(toy, splits=splits)
    assert report.split_totals
    assert [(t.name, t.records) for t in report.totals] == [("train", 4), ("holdout", 1)]
    assert sum(t.tokens for t in report.totals) == int(facts.tokens.sum())
    assert report.estimate is not None and report.estimate.examples == 4
    assert "4 usable examples" in report.advice[0].title
    assert "holdout" in report.to_html()


def test_duplicate_clusters_group_by_first_occurrence(toy: CheckResult) -> None:
    first = Location(str(TOY), line=1, record=0)
    copies = [Location(str(TOY), line=n, record=n - 1) for n in (2, 4)]
    findings = [
        *toy.findings,
        *(Finding("X001", Severity.WARNING, "duplicate", loc, related=(first,)) for loc in copies),
    ]
    report = Report.from_check(replace(toy, findings=findings))
    assert len(report.clusters) == 1
    cluster = report.clusters[0]
    assert (cluster.first, cluster.copies, cluster.size) == (first, tuple(copies), 3)
    advice = [a.title for a in report.advice]
    assert any(t.startswith("Review X001") and "(2 records)" in t for t in advice), advice
    assert not any("duplicate cluster" in t for t in advice), "X001 is advised on already"
    quiet = [replace(f, severity=Severity.INFO) if f.code == "X001" else f for f in findings]
    advice = [a.title for a in Report.from_check(replace(toy, findings=quiet)).advice]
    assert "1 duplicate cluster with 2 extra copies" in advice
    assert "Duplicate clusters" in report.to_html()


@needs_shared
def test_thousands_of_records_keep_the_html_small(large: CheckResult) -> None:
    report = Report.from_check(large, max_locations=1)
    assert report.summary["records"] == 103 + 5_000
    assert len(report.to_records()) == len(large.findings)
    html = report.to_html()
    assert len(html.encode()) < 150_000
    many = [c for c in report.codes if c.findings > 1]
    assert many, "5,103 real records give some code more than one finding"
    for code in report.codes:
        assert len(code.first) == 1
    for code in many:
        assert f"and {code.findings - 1:,} more" in html
    default = Report.from_check(large)
    assert all(len(c.first) == min(c.findings, MAX_LOCATIONS) for c in default.codes)
    assert [t.records for t in default.totals] == [103, 5_000]


@needs_shared
def test_every_chart_is_well_formed_svg(large: CheckResult) -> None:
    html = Report.from_check(large).to_html()
    charts = svgs(html)
    assert len(charts) == 3
    for chart in charts:
        root = ET.fromstring(chart)
        assert root.get("role") == "img"
        assert root.find("{http://www.w3.org/2000/svg}title") is not None
    histogram = ET.fromstring(charts[1])
    assert len(histogram.findall(".//{http://www.w3.org/2000/svg}rect")) >= 1


def test_html_is_standalone_deterministic_and_escaped(toy: CheckResult) -> None:
    nasty = Finding(
        "C999",
        Severity.ERROR,
        "<script>alert(1)</script>",
        Location("<img src=x onerror=alert(1)>", line=1, record=0),
        hint="a & b",
    )
    report = Report.from_check(replace(toy, findings=[*toy.findings, nasty]))
    html = report.to_html()
    assert html == Report.from_check(replace(toy, findings=[*toy.findings, nasty])).to_html()
    assert html.startswith("<!DOCTYPE html>")
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "a &amp; b" in html
    assert not re.search(r"""<[^>]*\s(src|href)\s*=|url\(|@import""", html), "no external asset"
    fragment = report._repr_html_()
    assert fragment.startswith('<div class="ftprep-report fragment"><style>')
    assert len(svgs(fragment)) == 3


def test_write_html(toy: CheckResult, tmp_path: Path) -> None:
    report = Report.from_check(toy)
    out = report.write_html(tmp_path / "report.html")
    assert out.read_text(encoding="utf-8") == report.to_html()


def test_text_rendering(toy: CheckResult) -> None:
    report = Report.from_check(toy)
    text = repr(report)
    assert text == str(report) == report.to_text()
    assert text.startswith("ftprep report\n  1 file, 5 records, 5 loaded")
    for code in report.codes:
        assert code.code in text
    assert "Readiness:" in text and "Not enough data" in text

    class Printer:
        def __init__(self) -> None:
            self.out = ""

        def text(self, value: str) -> None:
            self.out += value

    printer = Printer()
    report._repr_pretty_(printer, cycle=False)
    assert printer.out == text


def test_records_and_pandas(toy: CheckResult) -> None:
    report = Report.from_check(toy)
    records = report.to_records()
    assert len(records) == len(toy.findings)
    assert all(list(r) == list(RECORD_COLUMNS) for r in records)
    assert {r["name"] for r in records} == {c.name for c in report.codes}
    frame = report.to_pandas()
    assert list(frame.columns) == list(RECORD_COLUMNS)
    assert len(frame) == len(records)
    assert list(frame["code"]) == [f.code for f in toy.findings]


def test_pandas_missing_says_what_to_install(
    toy: CheckResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"pip install 'ftprep\[notebook\]'"):
        Report.from_check(toy).to_pandas()


def test_limit_is_marked_and_longer_examples_stand_out() -> None:
    """With a 4,000-token sequence length the toy data's 8,032-token example is over it."""
    config = Config(model="gpt-3.5-turbo", max_tokens=4_000)
    report = Report.from_check(run_check([TOY], config))
    assert report.limit == 4_000
    histogram = svgs(report.to_html())[1]
    assert "model limit 4,000" in histogram
    over = re.findall(rf'<rect [^>]*fill="{LIMIT}"', histogram)
    assert len(over) == 1, "one bin holds the example beyond the limit"
    assert (
        "model limit 65,536 tokens is beyond"
        in svgs(Report.from_check(run_check([TOY], Config())).to_html())[1]
    )
