"""R rules beyond their case files: real provider data stays clean, real defects are found
where they are, target-dependent severities, and the shared per-example shape."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ftprep.config import Config
from ftprep.findings import Finding, Severity
from ftprep.model import Example, Source
from ftprep.rules.context import RecordContext
from ftprep.rules.roles import RULES, InvalidToolArguments, UnansweredToolCall
from ftprep.targets import get_target
from ftprep.validate.check import run_check

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
COOKBOOK = REALDATA / "openai_cookbook"


def _records(name: str) -> list[dict[str, Any]]:
    with (COOKBOOK / name).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def _check(records: list[dict[str, Any]], tmp_path: Path, **config: Any) -> list[Finding]:
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return run_check([path], Config.model_validate({"select": ["R"], **config})).findings


@pytest.mark.parametrize(
    "path",
    [
        COOKBOOK / "drone_training.jsonl",
        COOKBOOK / "toy_chat_fine_tuning.jsonl",
        REALDATA / "llamafactory" / "glaive_toolcall_en_demo.json",
    ],
    ids=lambda p: p.name,
)
def test_real_data_has_no_role_or_tool_call_errors(path: Path) -> None:
    result = run_check([path], Config(select=["R"]))
    assert result.loaded == result.records > 0
    assert [f for f in result.findings if f.severity is Severity.ERROR] == []


def test_double_encoded_arguments_of_the_drone_data_are_found(tmp_path: Path) -> None:
    records = _records("drone_training.jsonl")
    lines = [i for i, r in enumerate(records, 1) if "land_drone" in json.dumps(r["messages"])]
    assert lines, "the drone data lands the drone somewhere"
    line = lines[0]
    function = records[line - 1]["messages"][2]["tool_calls"][0]["function"]
    # What a later upstream version of the file holds: the arguments string encoded again.
    function["arguments"] = json.dumps(function["arguments"])
    findings = [f for f in _check(records, tmp_path) if f.code == "R007"]
    assert [f.line for f in findings] == [line]
    assert findings[0].location.pointer == "/messages/2/tool_calls/0/function/arguments"
    assert "JSON-encoded twice" in findings[0].message


def test_drone_data_ids_do_not_suit_mistral_until_remapped(tmp_path: Path) -> None:
    records = _records("drone_training.jsonl")
    findings = [f for f in _check(records, tmp_path, target="mistral") if f.code == "R010"]
    # Each record's one call has the id "call_id": one run over every line of the file.
    assert [line for f in findings for line in f.lines] == list(range(1, len(records) + 1))
    assert {f.location.pointer for f in findings} == {"/messages/2/tool_calls/0/id"}
    for record in records:
        for call in record["messages"][2]["tool_calls"]:
            call["id"] = "D681PevKs"
    assert [f for f in _check(records, tmp_path, target="mistral") if f.code == "R010"] == []


TRAILING_QUESTION = {
    "messages": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "What can you do?"},
    ]
}


@pytest.mark.parametrize(
    ("target", "severity"),
    [
        ("openai", Severity.WARNING),
        ("together", Severity.WARNING),
        ("self-hosted", Severity.WARNING),
        ("mistral", Severity.ERROR),
        ("bedrock", Severity.ERROR),
    ],
)
def test_trailing_turn_severity_follows_the_target(
    target: str, severity: Severity, tmp_path: Path
) -> None:
    findings = [f for f in _check([TRAILING_QUESTION], tmp_path, target=target) if f.code == "R004"]
    assert [f.severity for f in findings] == [severity]


def test_alternation_is_strict_only_where_the_target_demands_it(tmp_path: Path) -> None:
    toy = _records("toy_chat_fine_tuning.jsonl")
    # Line 4 of the cookbook's toy data is a system prompt followed by the assistant.
    for target, code in (("together", "R002"), ("bedrock", "R002"), ("openai", None)):
        findings = [f for f in _check(toy, tmp_path, target=target) if f.code in {"R002", "R003"}]
        if code is None:
            assert findings == []
        else:
            assert [(f.code, f.line, f.location.message) for f in findings] == [(code, 4, 1)]


def _example(messages: list[dict[str, Any]]) -> Example:
    return Example.model_validate(
        {"messages": messages, "source": Source(path="m", line=1, index=0)}
    )


def test_rules_see_each_example_not_the_previous_ones_shape() -> None:
    calling = _example(
        [
            {"role": "user", "content": "Weather?"},
            {
                "role": "assistant",
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "w", "arguments": "[]"}}
                ],
            },
            {"role": "user", "content": "Hello?"},
        ]
    )
    plain = _example([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hey"}])
    config = Config()
    target = get_target("openai")
    ctx = RecordContext(target, target.model_spec(), config)
    arguments, unanswered = InvalidToolArguments(), UnansweredToolCall()
    for example, expected in ((calling, 1), (plain, 0), (calling, 1), (plain, 0)):
        assert len(list(arguments.check(example, ctx))) == expected
        assert len(list(unanswered.check(example, ctx))) == expected


def test_family_codes_are_r_and_in_order() -> None:
    codes = [rule.code for rule in RULES]
    assert codes == [f"R{n:03d}" for n in range(1, len(codes) + 1)]
