"""Quality rules (Q) on real fine-tuning data: the defects known to be there are found,
exactly where they are, and legitimate data stays quiet."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ftprep.config import Config
from ftprep.findings import Finding, Severity
from ftprep.model import Example
from ftprep.rules.context import RecordContext
from ftprep.rules.quality import (
    PlaceholderAnswer,
    TruncatedAnswer,
    duplicate_ngram_fraction,
    repeated_line_fraction,
)
from ftprep.rules.texts import code_spans
from ftprep.targets import get_target
from ftprep.validate.check import run_check

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
IDENTITY = REALDATA / "llamafactory" / "identity.json"
ALPACA_5000 = REALDATA / "stanford_alpaca_pr152" / "alpaca_5000.json"
ALPACA_EN_DEMO = REALDATA / "llamafactory" / "alpaca_en_demo.json"
TOY_CHAT = REALDATA / "openai_cookbook" / "toy_chat_fine_tuning.jsonl"


def _records(path: Path) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def realdata() -> list[Finding]:
    """Q and P findings on every file of ../shared/realdata (one check, shared by the tests)."""
    paths = sorted(
        p
        for p in REALDATA.rglob("*")
        if p.suffix in (".json", ".jsonl") and p.name != "dataset_info.json"
    )
    return run_check(paths, Config(select=["Q", "P"])).findings


def _findings(findings: list[Finding], path: Path, code: str) -> list[Finding]:
    return [f for f in findings if f.code == code and Path(f.path) == path]


def test_identity_slots_found_exactly_where_they_are(realdata: list[Finding]) -> None:
    expected = {
        i
        for i, r in enumerate(_records(IDENTITY))
        if "{{name}}" in r["output"] or "{{author}}" in r["output"]
    }
    found = _findings(realdata, IDENTITY, "Q003")
    assert len(expected) == 85
    assert {f.location.record for f in found} == expected
    assert len(found) == 85
    assert all(f.severity is Severity.ERROR and f.location.message == 1 for f in found)
    assert all(f.location.pointer == "/messages/1/content" for f in found)


def test_alpaca_placeholder_answers(realdata: list[Finding]) -> None:
    records = _records(ALPACA_5000)
    found = _findings(realdata, ALPACA_5000, "Q005")
    by_record = {f.location.record: f for f in found if f.location.record is not None}
    nooutput = {i for i, r in enumerate(records) if r["output"].strip() == "<nooutput>"}
    assert len(nooutput) == 2
    assert nooutput <= set(by_record)
    # The other three are "<noinput>" (twice) and "No Output" given as the answer.
    others = sorted(records[i]["output"] for i in set(by_record) - nooutput)
    assert others == ["<noinput>", "<noinput>", "No Output"]


def test_alpaca_answers_identical_to_the_input(realdata: list[Finding]) -> None:
    records = _records(ALPACA_5000)
    expected = {
        i
        for i, r in enumerate(records)
        if r["input"].strip() and r["output"].strip() == r["input"].strip()
    }
    assert len(expected) == 6
    found = _findings(realdata, ALPACA_5000, "Q010")
    assert {f.location.record for f in found} == expected


def test_alpaca_en_demo_ai_language_model_answers(realdata: list[Finding]) -> None:
    records = _records(ALPACA_EN_DEMO)
    expected = {
        i for i, r in enumerate(records) if "as an ai language model" in r["output"].lower()
    }
    assert len(expected) == 3
    found = {f.location.record for f in _findings(realdata, ALPACA_EN_DEMO, "Q001")}
    assert expected <= found


def test_cookbook_degenerate_answer_is_repetitive(realdata: list[Finding]) -> None:
    found = _findings(realdata, TOY_CHAT, "Q007")
    assert [f.line for f in found] == [5]
    assert found[0].data["fraction"] > 0.99


def test_duplicate_ngram_fraction() -> None:
    assert duplicate_ngram_fraction(["a", "b", "c", "d"], 2) == 0.0
    assert duplicate_ngram_fraction(["x", "y", "x", "y"], 2) == 1.0
    # "one two" occurs twice; "three" and "four" do not: 12 of 21 characters.
    words = ["one", "two", "three", "one", "two", "four"]
    assert duplicate_ngram_fraction(words, 2) == pytest.approx(12 / 21)
    assert duplicate_ngram_fraction(["a"], 3) == 0.0


def test_repeated_line_fraction() -> None:
    assert repeated_line_fraction("a\nb\na\nb") == 0.0  # repeated, but never twice in a row
    assert repeated_line_fraction("ab\nab\n\n  ab\ncd") == pytest.approx(4 / 8)
    assert repeated_line_fraction("") == 0.0


def test_code_spans_cover_fences_and_inline_code() -> None:
    text = "see `x {{a}}` then\n```js\nlet s = `${b}`;\n```\nafter {{c}}"
    spans = code_spans(text)
    covered = "".join(text[a:b] for a, b in spans)
    assert "{{a}}" in covered and "${b}" in covered and "{{c}}" not in covered
    unclosed = "intro\n```python\nprint({{x}})"
    assert code_spans(unclosed)[-1][1] == len(unclosed)


def _check(rule: Any, messages: list[dict[str, Any]]) -> list[Finding]:
    target = get_target("openai")
    ctx = RecordContext(target, target.model_spec(None), Config())
    return list(rule.check(Example.model_validate({"messages": messages}), ctx))


@pytest.mark.parametrize(
    "answer",
    ["Positive", "1", "Jane Austen", "SELECT MAX 2nd FROM 1-10021158-3", "x = 8", "..." + "a"],
)
def test_short_answers_are_not_truncated_or_placeholders(answer: str) -> None:
    messages = [{"role": "user", "content": "q"}, {"role": "assistant", "content": answer}]
    assert _check(TruncatedAnswer(), messages) == []
    assert _check(PlaceholderAnswer(), messages) == []


@pytest.fixture(scope="module")
def realdata_counts(realdata: list[Finding]) -> dict[str, Counter[tuple[str, str]]]:
    """The real-data findings per file, as (code, severity) counts (a folded run counts each
    of its lines)."""
    counts: dict[str, Counter[tuple[str, str]]] = {}
    for f in realdata:
        name = str(Path(f.path).relative_to(REALDATA))
        counts.setdefault(name, Counter())[(f.code, f.severity.value)] += f.count
    return counts


def test_realdata_errors_are_the_known_defects(
    realdata_counts: dict[str, Counter[tuple[str, str]]],
) -> None:
    errors = {
        name: {code: n for (code, severity), n in counts.items() if severity == "error"}
        for name, counts in realdata_counts.items()
    }
    assert {name: e for name, e in errors.items() if e} == {
        "llamafactory/identity.json": {"Q003": 85},
        "llamafactory/v1_sft_demo.jsonl": {"Q003": 50},
        "stanford_alpaca_pr152/alpaca_5000.json": {"Q005": 5},
    }


def test_realdata_quiet_files(realdata_counts: dict[str, Counter[tuple[str, str]]]) -> None:
    # GSM8K arithmetic, WikiSQL one-liners, the WWDC answers and the drone tool calls are
    # clean: nothing in them may fire.
    for name in (
        "alpaca_cleaned_extensions/gsm_8k/gsm_8k_train.json",
        "mlx_examples/lora_data_train.jsonl",
        "mlx_examples/wwdc25_data_train.jsonl",
        "openai_cookbook/drone_training.jsonl",
        "fastchat/dummy_conversation.json",
    ):
        assert realdata_counts.get(name, Counter()) == Counter(), name
