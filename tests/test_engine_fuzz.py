"""Ill-typed records through the whole check (loaders, every record rule, token counts, keys,
signatures, dataset rules) for every target: the run never raises and every input line is
accounted for in the fact table.

Records are generated per input shape with each field either a plausible value or anything
JSON can hold (lists, objects, numbers, nulls, nested), so that the rules meet roles that are
lists, tool-call ids that are objects, weights that are strings and tools that are numbers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ftprep.config import Config
from ftprep.targets import TARGETS
from ftprep.validate.check import run_check

TOY = Path(__file__).resolve().parents[1] / "fixtures" / "realdata" / "toy_chat_fine_tuning.jsonl"
ROLES = ("system", "developer", "user", "assistant", "tool", "function", "model", "human", "gpt")
KEYS = ("role", "content", "type", "text", "id", "function", "name", "arguments", "parts")

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", " ", "x", "\x00", "{{a}}", "<s>", *ROLES]),
    st.text(max_size=8),
)
anything = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=3),
    ),
    max_leaves=6,
)


def either(plausible: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a plausible value, sometimes anything at all."""
    return st.one_of(plausible, plausible, anything)


text_parts = st.lists(
    st.one_of(
        st.fixed_dictionaries({"type": either(st.just("text")), "text": either(st.text())}),
        st.fixed_dictionaries(
            {"type": st.just("image_url"), "image_url": either(st.just({"url": "data:x"}))}
        ),
    ),
    max_size=2,
)
contents = either(st.one_of(st.text(max_size=20), text_parts, st.none()))
tool_calls = either(
    st.lists(
        st.fixed_dictionaries(
            {
                "id": either(st.sampled_from(["c1", "c2"])),
                "type": either(st.just("function")),
                "function": either(
                    st.fixed_dictionaries(
                        {
                            "name": either(st.sampled_from(["f", "g"])),
                            "arguments": either(st.sampled_from(['{"a": 1}', "[1]", "nope"])),
                        }
                    )
                ),
            }
        ),
        max_size=2,
    )
)
OPTIONAL = {
    "name": either(st.sampled_from(["bob", "f"])),
    "tool_calls": tool_calls,
    "tool_call_id": either(st.sampled_from(["c1", "c2"])),
    "function_call": either(st.fixed_dictionaries({"name": st.just("f")})),
    "weight": either(st.sampled_from([0, 1])),
    "refusal": anything,
}
message = st.fixed_dictionaries(
    {"role": either(st.sampled_from(ROLES)), "content": contents}, optional=OPTIONAL
)
messages = either(st.lists(either(message), max_size=5))
tools = either(
    st.lists(
        st.fixed_dictionaries(
            {
                "type": either(st.just("function")),
                "function": either(
                    st.fixed_dictionaries({"name": either(st.just("f")), "parameters": anything})
                ),
            }
        ),
        max_size=2,
    )
)
turn = st.fixed_dictionaries(
    {
        "from": either(st.sampled_from(["human", "gpt", "system", "function_call", "observation"])),
        "value": either(st.text(max_size=10)),
    }
)
gemini_part = st.fixed_dictionaries(
    {},
    optional={
        "text": either(st.text(max_size=10)),
        "functionCall": either(st.fixed_dictionaries({"name": st.just("f"), "args": anything})),
        "functionResponse": either(st.fixed_dictionaries({"name": anything, "response": anything})),
    },
)
gemini_turn = st.fixed_dictionaries(
    {
        "role": either(st.sampled_from(["user", "model", "function"])),
        "parts": either(st.lists(gemini_part, max_size=2)),
    }
)
SHAPES: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "messages": st.fixed_dictionaries(
        {"messages": messages},
        optional={"tools": tools, "parallel_tool_calls": anything, "functions": anything},
    ),
    "openai_dpo": st.fixed_dictionaries(
        {
            "input": either(
                st.fixed_dictionaries({"messages": messages}, optional={"tools": tools})
            ),
            "preferred_output": messages,
            "non_preferred_output": messages,
        }
    ),
    "preference": st.fixed_dictionaries(
        {"chosen": either(messages), "rejected": either(messages)}, optional={"prompt": anything}
    ),
    "prompt_completion": st.fixed_dictionaries({"prompt": anything, "completion": anything}),
    "sharegpt": st.fixed_dictionaries(
        {"conversations": either(st.lists(either(turn), max_size=4))},
        optional={"tools": anything, "system": anything},
    ),
    "alpaca": st.fixed_dictionaries(
        {"instruction": anything, "output": anything},
        optional={"input": anything, "history": anything, "system": anything},
    ),
    "gemini": st.fixed_dictionaries(
        {"contents": either(st.lists(either(gemini_turn), max_size=4))},
        optional={"systemInstruction": anything, "tools": anything},
    ),
    "bedrock": st.fixed_dictionaries(
        {"schemaVersion": anything, "messages": anything}, optional={"system": anything}
    ),
    "text": st.fixed_dictionaries({"text": anything}),
    "raw_pairs": st.fixed_dictionaries({"input": anything, "ideal_output": anything}),
}
files = st.sampled_from(sorted(SHAPES)).flatmap(
    lambda shape: st.lists(
        st.one_of(SHAPES[shape], SHAPES[shape], anything), min_size=1, max_size=6
    )
)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(records=files)
def test_ill_typed_records_never_crash_a_check(
    records: list[Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "data.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    for target in TARGETS:
        result = run_check([str(path)], Config(target=target, workers=1, select=["ALL"]))
        assert len(result.facts) == len(records), target
        assert result.records == len(records)


def test_a_list_as_role_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    """The review's reproduction: a role that is a list."""
    path = tmp_path / "data.jsonl"
    path.write_bytes(b'{"messages":[{"role": ["user"], "content":"x"}]}\n')
    result = run_check([str(path)], Config(workers=1))
    assert result.records == 1
    assert "S005" in {f.code for f in result.findings}


def test_a_rule_that_raises_becomes_a_finding_on_that_record(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The engine's safety net: one rule crashing on one record is an error of that rule on
    that record; the other records and rules still run. ``FTPREP_DEBUG=1`` re-raises."""
    from ftprep.model import Example
    from ftprep.rules.content import EmptyContent

    def check(self: EmptyContent, example: Example, ctx: object) -> list[object]:
        if example.source is not None and example.source.line == 3:
            raise TypeError("unhashable type: 'list'")
        return []

    monkeypatch.setattr(EmptyContent, "relevant", lambda self, traits, ctx: True)
    monkeypatch.setattr(EmptyContent, "check", check)
    monkeypatch.delenv("FTPREP_DEBUG", raising=False)
    result = run_check([TOY], Config(workers=1))
    assert result.records == 5
    (crash,) = [f for f in result.findings if f.code == "C001"]
    assert crash.line == 3 and crash.severity.value == "error"
    assert crash.message == (
        "empty-content could not check this record (TypeError: unhashable type: 'list')"
    )
    assert crash.fingerprint is not None
    assert result.facts.rejected.tolist() == [False, False, True, False, False]
    monkeypatch.setenv("FTPREP_DEBUG", "1")
    with pytest.raises(TypeError, match="unhashable"):
        run_check([TOY], Config(workers=1))
