"""The workflow ftprep exists for, on in-memory data: a list of ``{"input", "ideal_output"}``
pairs and one system prompt turned into OpenAI-ready train/holdout files, the examples that
workflow's own validation refuses left out and explained (the README's script, run as
written, on real Alpaca records plus the bad cases)."""

from __future__ import annotations

import json
import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest

import ftprep
from ftprep.config import Config, RejectPolicy
from ftprep.findings import Severity
from ftprep.load.memory import peek_records
from ftprep.rules.registry import default_rejects

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
ALPACA = REALDATA / "stanford_alpaca_pr152" / "alpaca_5000.json"
README = Path(__file__).resolve().parents[1] / "README.md"
SYSTEM = "You are a helpful assistant."

BAD = [
    {"input": "Is the sky blue?", "ideal_output": "Yes."},
    {"input": "Write an essay about rivers.", "ideal_output": "Rivers carry water. " * 120},
    {"input": "Name a colour.", "ideal_output": ""},
    {"input": "Summarise the report.", "ideal_output": "<nooutput>"},
    {
        "input": "What is the weather in Paris today?",
        "ideal_output": "As an AI language model, I do not have access to real-time weather data.",
    },
]


def alpaca_pairs(count: int) -> list[dict[str, Any]]:
    """Real Alpaca records as raw input/ideal-output pairs."""
    records = json.loads(ALPACA.read_bytes())[:count]
    return [
        {
            "input": r["instruction"] + (f"\n\n{r['input']}" if r["input"] else ""),
            "ideal_output": r["output"],
        }
        for r in records
    ]


def refused(answer: str) -> bool:
    """The workflow's own validation, written independently of ftprep's rules."""
    text = answer.strip()
    return (
        len(text) < 10
        or len(answer) > 2000
        or text.lower() in {"<nooutput>", "n/a", "todo"}
        or text.lower().startswith("as an ai language model")
    )


def readme_script() -> str:
    text = README.read_text()
    block = text.split("<!-- in-memory-workflow -->", 1)[1]
    return re.search(r"```python\n(.*?)```", block, re.S).group(1)  # type: ignore[union-attr]


def lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_readme_script_on_real_pairs_and_bad_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    records = alpaca_pairs(400) + BAD
    (tmp_path / "pairs.json").write_bytes(orjson.dumps(records))
    monkeypatch.chdir(tmp_path)
    script = readme_script()
    assert len(script.strip().splitlines()) <= 10
    namespace: dict[str, Any] = {}
    exec(compile(script, "README.md", "exec"), namespace)
    result = namespace["result"]
    printed = capsys.readouterr().out
    counts = result.counts
    assert str(counts) in printed and "holdout:" in printed
    assert counts["input"] == len(records)
    assert counts["train"] + counts["holdout"] + counts["rejected"] == len(records)

    written = counts["train"] + counts["holdout"]
    assert abs(counts["holdout"] - 0.15 * written) <= 1
    assert result.manifest["split"]["achieved"] == counts["holdout"]

    rejected = {r["source"]["record"]: r for r in lines(tmp_path / "out" / "rejected.jsonl")}
    assert len(rejected) == counts["rejected"]
    for index, record in enumerate(records):
        if refused(record["ideal_output"]):
            assert index in rejected, (index, record)
            assert rejected[index]["reasons"], index
            assert orjson.loads(rejected[index]["raw"]) == record
    policy, defaults = RejectPolicy(), default_rejects()
    for entry in rejected.values():
        # No clean record is left out: each has a reason the policy refuses, or is a copy.
        assert any(
            r.get("fix") == "drop-duplicate"
            or policy.rejects(r["code"], r["severity"], "raw_pairs", defaults)
            for r in entry["reasons"]
        ), entry
    reasons = {r["code"] for i in range(400, 405) for r in rejected[i]["reasons"]}
    assert {"C001", "C002", "C003", "Q001", "Q005"} <= reasons

    train = lines(tmp_path / "out" / "train.jsonl")
    assert all(r["messages"][0] == {"role": "system", "content": SYSTEM} for r in train)
    kept = result.manifest["kept_with_findings"]
    assert 0 < kept["records"] <= sum(kept["by_code"].values())
    assert "examples(code=" in kept["see"]


@pytest.mark.parametrize("seed", range(6))
def test_holdout_is_within_one_record_for_every_seed(tmp_path: Path, seed: int) -> None:
    """The issue's case: 15% of 53 kept records gave 7.7% to 25% over seeds 0 to 5."""
    records = alpaca_pairs(53)
    result = ftprep.prepare(
        records, out_dir=tmp_path, system_prompt=SYSTEM, holdout=0.15, seed=seed
    )
    written = result.counts["train"] + result.counts["holdout"]
    assert abs(result.counts["holdout"] - 0.15 * written) <= 1
    split = result.manifest["split"]
    assert (
        split["asked"] == round(0.15 * written + 1e-9)
        and split["achieved"] == result.counts["holdout"]
    )


def test_same_seed_same_split(tmp_path: Path) -> None:
    records = alpaca_pairs(120)
    one = ftprep.prepare(records, out_dir=tmp_path / "a", system_prompt=SYSTEM, seed=3)
    two = ftprep.prepare(records, out_dir=tmp_path / "b", system_prompt=SYSTEM, seed=3)
    for name in ("train.jsonl", "holdout.jsonl", "rejected.jsonl"):
        assert (one.out_dir / name).read_bytes() == (two.out_dir / name).read_bytes()


def test_check_takes_a_dataframe_and_points_at_its_rows() -> None:
    frame = pd.DataFrame(alpaca_pairs(30) + BAD)
    result = ftprep.check(frame, system_prompt=SYSTEM)
    assert result.paths == ["<DataFrame>"] and result.records == 35
    flagged = {f.location.record for f in result.findings if f.code in ("C002", "C003", "Q001")}
    assert {30, 31, 34} <= flagged
    assert str(next(f for f in result.findings if f.location.record == 34).location) == (
        "<DataFrame>[34]"
    )


def test_check_convert_and_stats_take_lists_generators_and_datasets(tmp_path: Path) -> None:
    pairs = alpaca_pairs(25)
    from_list = ftprep.check(pairs, system_prompt=SYSTEM)
    from_generator = ftprep.check((dict(p) for p in pairs), system_prompt=SYSTEM)
    assert from_list.records == from_generator.records == 25
    assert [f.to_dict() for f in from_list.findings] == [
        f.to_dict() for f in from_generator.findings
    ]
    renamed = [{"question": p["input"], "answer": p["ideal_output"]} for p in pairs]
    custom = ftprep.check(renamed, input_field="question", output_field="answer")
    assert custom.loaded == 25
    converted = ftprep.convert(
        [*renamed, "not a record"],
        to="openai",
        out=tmp_path / "chat.jsonl",
        input_field="question",
        output_field="answer",
        system_prompt=SYSTEM,
    )
    assert (converted.written, converted.rejected) == (25, 1)
    reject = lines(tmp_path / "chat.rejected.jsonl")[0]
    assert reject["source"] == {"path": "<memory>", "line": 26, "record": 25}
    stats = ftprep.stats(pairs, system_prompt=SYSTEM)
    assert stats.tokens.records == 25


def test_a_dataframe_is_not_read_as_paths() -> None:
    frame = pd.DataFrame({"input": ["a"], "ideal_output": ["b"]})
    inputs, in_memory = peek_records(frame)
    assert in_memory and inputs is frame


def test_reject_policy_selectors(tmp_path: Path) -> None:
    records = alpaca_pairs(60) + BAD
    lenient = Config.model_validate(
        {"prepare": {"reject": {"by_dialect": {"raw_pairs": []}, "ignore": ["C001"]}}}
    )
    result = ftprep.prepare(records, out_dir=tmp_path, system_prompt=SYSTEM, config=lenient)
    rejected = {r["source"]["record"] for r in lines(tmp_path / "rejected.jsonl")}
    assert {60, 61, 62, 64}.isdisjoint(rejected)  # short, long, empty, boilerplate kept
    assert 63 in rejected  # the placeholder answer is still an error (Q005)
    kept = result.manifest["kept_with_findings"]
    assert {"C001", "C002", "C003", "Q001"} <= set(kept["by_code"])
    assert kept["records"] >= 4 and "examples(code=" in kept["see"]
    page = (tmp_path / "report.html").read_text()
    assert f"{kept['records']:,} kept examples still carry findings" in page
    assert f"C003 {kept['by_code']['C003']:,}" in page
    policy = RejectPolicy(severity="warning", ignore=["Q"], select=["Q001"])
    assert policy.rejects("Q001", "info", "alpaca")
    assert not policy.rejects("Q006", "warning", "alpaca")
    assert policy.rejects("X001", "warning", "alpaca")
    assert not policy.rejects("D002", "info", "alpaca")
    assert default_rejects() == {"raw_pairs": ["C002", "C003", "Q001", "Q002"]}


def test_check_result_in_a_notebook() -> None:
    records = alpaca_pairs(30) + BAD
    result = ftprep.check(records, system_prompt=SYSTEM)
    assert repr(result) == (
        f"<CheckResult 1 file, 35 records (35 loaded): {result.count(Severity.ERROR)} errors, "
        f"{result.count(Severity.WARNING)} warnings, {result.count(Severity.INFO)} infos>"
    )
    assert result.failed  # C001 (empty answer) and Q005 (placeholder) are errors
    assert result.failed(Severity.WARNING)
    clean = ftprep.check(
        alpaca_pairs(12)[2:4] * 6, system_prompt=SYSTEM, config=Config(ignore=["X"])
    )
    assert not clean.failed and repr(clean.failed) == "False"
    page = result._repr_html_()
    assert "<table>" in page and "<code>C002</code>" in page and "examples(code=" in page

    short = result.examples(code="C002")
    assert [(e.path, e.record) for e in short][-1] == ("<memory>", 30)
    assert short[-1].raw == BAD[0]
    assert short[-1].text == f"system: {SYSTEM}\nuser: Is the sky blue?\nassistant: Yes."
    assert all(any(f.code == "C002" for f in e.findings) for e in short)
    everything = result.examples(limit=None)
    assert result.examples(start=1, limit=2) == everything[1:3]
    assert "Yes." in repr(short[-1]) and "<pre" in short[-1]._repr_html_()

    frame = result.to_pandas()
    assert len(frame) == len(result.findings)
    row = frame[(frame.code == "Q001")].iloc[0]
    assert row.record == 34 and "As an AI language model" in row.text


def test_examples_of_a_file_are_read_back_from_it(tmp_path: Path) -> None:
    data = tmp_path / "pairs.jsonl"
    data.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in alpaca_pairs(20) + BAD))
    result = ftprep.check(data, system_prompt=SYSTEM)
    [boilerplate] = result.examples(code="Q001")
    assert boilerplate.raw == BAD[4] and boilerplate.record == 24


def test_prepared_examples_as_list_frame_and_dataset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = ftprep.prepare(alpaca_pairs(40), out_dir=tmp_path, system_prompt=SYSTEM)
    assert not result.failed and result.failed() is False  # reads right either way
    train = result.examples("train")
    assert len(train) == result.counts["train"]
    assert train[0]["messages"][0] == {"role": "system", "content": SYSTEM}
    frame = result.examples("holdout", as_="pandas")
    assert list(frame.columns) == ["messages"] and len(frame) == result.counts["holdout"]

    class FakeDataset:  # stands in for datasets.Dataset, which is not installed here
        @staticmethod
        def from_list(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return rows

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(Dataset=FakeDataset))
    assert result.examples("train", as_="dataset") == train
    with pytest.raises(ValueError, match="as_ must be"):
        result.examples("train", as_="arrow")


def test_check_takes_a_dataset_like_object() -> None:
    """What a Hugging Face ``datasets.Dataset`` offers: rows as dicts, column_names, len."""

    class DatasetLike:
        def __init__(self, rows: list[dict[str, Any]]):
            self.rows = rows
            self.column_names = ["input", "ideal_output"]

        def __len__(self) -> int:
            return len(self.rows)

        def __iter__(self) -> Iterator[dict[str, Any]]:
            return iter(self.rows)

    result = ftprep.check(DatasetLike(alpaca_pairs(20) + BAD[:1]), system_prompt=SYSTEM)
    assert result.paths == ["<Dataset>"] and result.loaded == 21
    [short] = [f for f in result.findings if f.code == "C002" and f.location.record == 20]
    assert str(short.location) == "<Dataset>[20]"


def test_reject_policy_from_a_configuration_file(tmp_path: Path) -> None:
    from ftprep.config import load_config_file

    file = tmp_path / "ftprep.toml"
    file.write_text(
        "[prepare]\nstable-split = true\n[prepare.reject]\nseverity = 'warning'\n"
        "ignore = ['x001']\nby-dialect = { raw_pairs = [] }\n"
    )
    config = load_config_file(file)
    assert config.prepare.stable_split
    policy = config.prepare.reject
    assert (policy.severity, policy.ignore, policy.by_dialect) == (
        "warning",
        ["X001"],
        {"raw_pairs": []},
    )
    assert not policy.rejects("C002", "info", "raw_pairs", default_rejects())
