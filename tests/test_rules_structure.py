"""S rules beyond their case files: real provider data stays clean, damaged real records are
reported at the right place, and the rules read lenient values without raising."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftprep.config import Config
from ftprep.findings import Finding, Severity
from ftprep.model import Example, Source
from ftprep.rules.context import RecordContext
from ftprep.rules.registry import record_rules
from ftprep.rules.structure import RULES
from ftprep.targets import TARGETS, get_target
from ftprep.validate.check import run_check

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
COOKBOOK = REALDATA / "openai_cookbook"


def _codes(findings: list[Finding], family: str) -> list[str]:
    return [f.code for f in findings if f.code.startswith(family)]


@pytest.mark.parametrize("name", ["drone_training.jsonl", "toy_chat_fine_tuning.jsonl"])
def test_openai_cookbook_data_has_no_structure_errors(name: str) -> None:
    result = run_check([COOKBOOK / name], Config(select=["S"]))
    assert result.loaded == result.records > 0
    assert [f for f in result.findings if f.severity is Severity.ERROR] == []


def _first_drone_record() -> dict[str, object]:
    with (COOKBOOK / "drone_training.jsonl").open(encoding="utf-8") as handle:
        record: dict[str, object] = json.loads(handle.readline())
    return record


def _check(record: dict[str, object], tmp_path: Path, **config: object) -> list[Finding]:
    path = tmp_path / "data.jsonl"
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    return run_check([path], Config.model_validate({"select": ["S", "R"], **config})).findings


def test_damaged_drone_record_is_reported_where_it_was_damaged(tmp_path: Path) -> None:
    record = _first_drone_record()
    messages = record["messages"]
    assert isinstance(messages, list)
    messages[1]["weight"] = 1  # on the user turn
    messages[2]["tool_calls"][0]["function"].pop("name")  # call loses its function name
    record["tools"][3]["type"] = "tool"  # type: ignore[index]
    findings = _check(record, tmp_path)
    where = {(f.code, f.location.pointer) for f in findings}
    assert ("S013", "/messages/1/weight") in where
    assert ("S015", "/messages/2/tool_calls/0/function") in where
    assert ("S014", "/tools/3/type") in where
    assert all(f.line == 1 for f in findings)


def test_drone_data_on_bedrock_reports_what_bedrock_cannot_take(tmp_path: Path) -> None:
    findings = _check(_first_drone_record(), tmp_path, target="bedrock")
    codes = set(_codes(findings, "S"))
    # Bedrock takes no tool definitions, no parallel_tool_calls and no tool_calls key.
    assert {"S010", "S011"} <= codes
    pointers = {f.location.pointer for f in findings if f.code == "S011"}
    assert pointers == {"/tools", "/parallel_tool_calls"}


def test_preference_messages_are_checked_under_their_own_pointer(tmp_path: Path) -> None:
    record = {
        "prompt": [{"role": "user", "content": "Hi"}],
        "chosen": [{"role": "assistant", "content": 7, "extra": 1}],
        "rejected": [{"role": "assistant", "content": "No."}],
    }
    findings = _check(record, tmp_path)
    by_code = {f.code: f for f in findings if f.code.startswith("S")}
    assert by_code["S007"].location.pointer == "/chosen/0/content"
    assert by_code["S010"].location.pointer == "/chosen/0/extra"
    # Only conversation messages carry a message index; the pointer names the pair side.
    assert by_code["S007"].location.message is None


@pytest.mark.parametrize(
    "record",
    [
        {"messages": 5},
        {"messages": [None, [], {"role": ["user"], "content": {"a": 1}}]},
        {"messages": [{"role": "assistant", "tool_calls": [None, 3, {"function": "x"}]}]},
        {"messages": [{"role": "user", "content": [1, None, {"type": 5}]}], "tools": [None]},
        {"messages": [], "chosen": "yes", "rejected": [None]},
        {"messages": [{"role": "assistant", "weight": [1], "function_call": "f"}]},
    ],
)
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_rules_never_raise_on_lenient_values(record: dict[str, object], target: str) -> None:
    config = Config(target=target, select=["S", "R"])
    ctx = RecordContext(get_target(target), get_target(target).model_spec(), config)
    example = Example.model_validate({**record, "source": Source(path="m", line=1, index=0)})
    findings = [f for rule in record_rules(config) for f in rule.check(example, ctx)]
    assert findings, "every one of these records is malformed"
    assert all(f.code[0] in "SR" and f.line == 1 for f in findings)


def test_family_codes_are_s_and_in_order() -> None:
    codes = [rule.code for rule in RULES]
    assert codes == [f"S{n:03d}" for n in range(1, len(codes) + 1)]


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        ("hi", "text"),
        ([{"type": "text", "text": "a"}], "parts"),
        ([{"type": "text", "text": "a"}, "b"], "raw"),
        ([1, 2], "raw"),
        (5, "raw"),
        (None, "raw"),
        (True, "raw"),
        ({"text": "a"}, "raw"),
        (b"hello", "raw"),  # in-memory records: bytes are not text,
        (({"type": "text", "text": "a"},), "raw"),  # nor a tuple a list
    ],
)
def test_lenient_unions_take_the_model_where_it_fits(content: object, kind: str) -> None:
    """A union field takes text or a list of parts when the value is exactly that, and keeps
    any other value as it was, for the structure rules to point at."""
    loaded = Example.model_validate({"messages": [{"role": "user", "content": content}]})
    got = loaded.messages[0].content
    if kind == "parts":
        assert [type(p).__name__ for p in got] == ["ContentPart"]
    else:
        assert got == content and type(got) is type(content)


def test_a_role_given_as_a_str_enum_is_a_role() -> None:
    """Records built in Python may give roles as a ``str`` enum: they are roles, for the shape
    the rules read and for token counting alike."""
    from enum import StrEnum

    from ftprep.tokens.chat import TiktokenChatCounter
    from ftprep.view import ExampleView

    class Role(StrEnum):
        USER = "user"
        ASSISTANT = "assistant"

    messages = [{"role": Role.USER, "content": "Hi"}, {"role": Role.ASSISTANT, "content": "Hello"}]
    example = Example.model_validate({"messages": messages})
    shape = ExampleView.of(example)
    assert not shape.traits.odd_roles
    assert shape.role_names == ["user", "assistant"]
    plain = Example.model_validate(
        {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}
    )
    counter = TiktokenChatCounter()
    assert counter.count(example).trained == counter.count(plain).trained > 0
