"""Dialects: detection, reading edge cases, and writing OpenAI chat data (with tools, from
``../shared/realdata/openai_cookbook``) into other shapes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import needs
import pytest
from problems import as_findings

from ftprep.dialects import DialectOptions, dialect_names, get_dialect
from ftprep.load import DialectDetector, load_path, load_records
from ftprep.model import Example

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
DRONE = REALDATA / "openai_cookbook" / "drone_training.jsonl"
TOY = REALDATA / "openai_cookbook" / "toy_chat_fine_tuning.jsonl"
needs_realdata = needs.path_mark(REALDATA, "../shared/realdata missing")

CHAT = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]


def one(record: dict[str, Any], **options: Any) -> Example:
    """Load one in-memory record (auto-detected) that must load without findings."""
    [item] = list(load_records([record], options=DialectOptions(**options)))
    assert item.problems == [] and item.example is not None
    return item.example


def roles(example: Example) -> list[Any]:
    return [m.role for m in example.conversation()]


@pytest.mark.parametrize(
    ("record", "dialect"),
    [
        ({"schemaVersion": "bedrock-conversation-2024", "messages": []}, "bedrock"),
        ({"contents": []}, "gemini"),
        (
            {"input": {"messages": CHAT[:1]}, "preferred_output": [], "non_preferred_output": []},
            "openai_dpo",
        ),
        ({"input": {"messages": []}, "preferred_completion": []}, "openai_dpo"),
        (
            {"messages": [{"role": "user", "content": [{"type": "text", "value": "hi"}]}]},
            "llamafactory_v1",
        ),
        ({"conversations": []}, "sharegpt"),
        ({"instruction": "a", "input": "", "output": "b"}, "alpaca"),
        ({"instruction": "a", "chosen": "b", "rejected": "c"}, "alpaca"),
        ({"prompt": "a", "chosen": "b", "rejected": "c"}, "preference"),
        ({"prompt": "a", "completion": "b", "label": True}, "prompt_completion"),
        ({"messages": CHAT}, "openai"),
        ({"text": "a"}, "text"),
        ({"input": "a", "ideal_output": "b"}, "raw_pairs"),
    ],
)
def test_detection(record: dict[str, Any], dialect: str) -> None:
    shape = DialectDetector().detect(record)
    assert shape is not None and shape.name == dialect


def test_configured_field_names_are_detected_first() -> None:
    options = DialectOptions(input_field="text", output_field="label")
    shape = DialectDetector(options=options).detect({"text": "a", "label": "b"})
    assert shape is not None and shape.name == "raw_pairs"
    example = one(
        {"question": "2+2?", "answer": "4"}, input_field="question", output_field="answer"
    )
    assert [m.content for m in example.conversation()] == ["2+2?", "4"]


def test_mistral_only_when_named() -> None:
    assert "mistral" in dialect_names()
    shape = DialectDetector().detect({"messages": CHAT})
    assert shape is not None and shape.name == "openai"
    [item] = list(load_records([{"messages": CHAT}], dialect="mistral"))
    assert item.example is not None and item.example.dialect == "mistral"


def test_system_prompt_option_fills_shapes_without_one() -> None:
    example = one({"input": "a", "ideal_output": "b"}, system_prompt="Be brief.")
    assert roles(example) == ["system", "user", "assistant"]
    written = get_dialect("raw_pairs", DialectOptions(system_prompt="Be brief.")).write(example)
    assert written.problems == [] and written.record == {"input": "a", "ideal_output": "b"}
    # Without the option the system message has no place in raw pairs.
    codes = [f.code for f in as_findings(get_dialect("raw_pairs").write(example).problems)]
    assert codes == ["O001"]


def test_alpaca_joins_instruction_and_input_with_a_blank_line() -> None:
    example = one(
        {
            "instruction": "Translate.",
            "input": "Bonjour",
            "output": "Hello",
            "system": "You translate.",
            "history": [["Hi", "Hello!"]],
        }
    )
    assert [(m.role, m.content) for m in example.conversation()] == [
        ("system", "You translate."),
        ("user", "Hi"),
        ("assistant", "Hello!"),
        ("user", "Translate.\n\nBonjour"),
        ("assistant", "Hello"),
    ]
    written = get_dialect("alpaca").write(example)
    assert written.record == {
        "instruction": "Translate.\n\nBonjour",
        "input": "",
        "output": "Hello",
        "system": "You translate.",
        "history": [["Hi", "Hello!"]],
    }


def test_alpaca_keeps_wrong_types_for_rules() -> None:
    example = one({"instruction": 3, "input": None, "output": ["x"]})
    assert [m.content for m in example.conversation()] == [3, ["x"]]


def test_alpaca_with_chosen_and_rejected_is_a_pair_whatever_else_it_has() -> None:
    record = {
        "instruction": "Edit for grammar.",
        "input": "He go to the park.",
        "output": "He goes to the park.",
        "rejected": "He goes to the stupid park.",
        "chosen": "He goes to the park.",
    }
    example = one(record)
    assert [(m.role, m.content) for m in example.conversation()] == [
        ("user", "Edit for grammar.\n\nHe go to the park.")
    ]
    assert [m.content for m in example.chosen] == ["He goes to the park."]
    assert [m.content for m in example.rejected] == ["He goes to the stupid park."]
    assert example.model_extra == {"output": "He goes to the park."}
    written = get_dialect("alpaca").write(example)
    assert written.problems == [] and written.record == {
        "instruction": "Edit for grammar.\n\nHe go to the park.",
        "input": "",
        "chosen": "He goes to the park.",
        "rejected": "He goes to the stupid park.",
        "output": "He goes to the park.",
    }


def test_trl_implicit_prompt_is_the_shared_beginning() -> None:
    example = one({"chosen": "The sky is blue.", "rejected": "The sky is green."})
    assert [m.content for m in example.conversation()] == ["The sky is"]
    assert [m.content for m in example.chosen] == [" blue."]
    assert [m.content for m in example.rejected] == [" green."]
    conversational = one(
        {
            "chosen": [
                {"role": "user", "content": "Sky?"},
                {"role": "assistant", "content": "Blue."},
            ],
            "rejected": [
                {"role": "user", "content": "Sky?"},
                {"role": "assistant", "content": "Green."},
            ],
        }
    )
    assert roles(conversational) == ["user"]
    assert get_dialect("preference").write(conversational).record == {
        "prompt": "Sky?",
        "chosen": "Blue.",
        "rejected": "Green.",
    }


@pytest.mark.parametrize(
    ("chosen", "rejected"),
    [
        ("Sure, here it is.", "Sorry, no."),  # shared "S": TRL would cut inside the word
        ("You are welcome.  Come again.", "You are welcome."),  # one answer starts the other
        ("I am happy to help.", "I am sorry, I cannot."),  # shared words
    ],
)
def test_transcript_pairs_split_at_the_shared_assistant_marker(chosen: str, rejected: str) -> None:
    prompt = "\n\nHuman: Hi\n\nAssistant: Hello.\n\nHuman: Can you help?\n\nAssistant:"
    example = one({"chosen": f"{prompt} {chosen}", "rejected": f"{prompt} {rejected}"})
    assert [m.content for m in example.conversation()] == [prompt]
    assert [m.content for m in example.chosen] == [f" {chosen}"]
    assert [m.content for m in example.rejected] == [f" {rejected}"]


def test_prompt_completion_conversational_and_kto() -> None:
    record = {
        "prompt": [{"role": "system", "content": "S"}, {"role": "user", "content": "Q"}],
        "completion": [{"role": "assistant", "content": "A"}],
        "label": False,
    }
    example = one(record)
    assert roles(example) == ["system", "user", "assistant"] and example.label is False
    assert get_dialect("prompt_completion").write(example).record == record


def test_a_label_that_is_not_a_boolean_is_a_column_not_a_kto_label() -> None:
    record = {"prompt": "Q", "completion": "A", "label": "a class name"}
    example = one(record)
    # Kept where it was (the prompt/completion shape writes it back as it came) ...
    assert get_dialect("prompt_completion").write(example).record == record
    # ... but OpenAI chat keeps only a KTO label: this one is reported as left out.
    written = get_dialect("openai").write(example)
    assert written.record is not None and "label" not in written.record
    assert [(f.code, f.location.pointer) for f in as_findings(written.problems)] == [
        ("O002", "/label")
    ]
    kto = one({"prompt": "Q", "completion": "A", "label": True})
    assert get_dialect("openai").write(kto).record == {
        "messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}],
        "label": True,
    }
    sharegpt = one({"conversations": [{"from": "human", "value": "Q"}], "kto_tag": "yes"})
    assert sharegpt.label is None and sharegpt.model_extra == {"kto_tag": "yes"}


def test_sharegpt_parallel_calls_and_unreadable_calls() -> None:
    example = one(
        {
            "conversations": [
                {"from": "human", "value": "Weather in Paris and Rome?"},
                {
                    "from": "function_call",
                    "value": '[{"name": "w", "arguments": {"city": "Paris"}}, '
                    '{"name": "w", "arguments": {"city": "Rome"}}]',
                },
                {"from": "observation", "value": "sunny"},
                {"from": "observation", "value": "rainy"},
                {"from": "function_call", "value": "not json"},
                {"from": "gpt", "value": "Sunny in Paris, rainy in Rome."},
            ],
            "tools": "not json either",
        }
    )
    messages = example.conversation()
    assert [c.id for c in messages[1].tool_calls] == ["call_0", "call_1"]
    assert [m.tool_call_id for m in messages[2:4]] == ["call_0", "call_1"]
    assert messages[4].tool_calls[0].function.arguments == "not json"
    assert example.tools == "not json either"
    back = one(get_dialect("sharegpt").write(example).record)
    assert back.model_dump(exclude={"source", "dialect"}) == example.model_dump(
        exclude={"source", "dialect"}
    )


def test_gemini_reads_calls_and_responses() -> None:
    record = {
        "systemInstruction": {"role": "system", "parts": [{"text": "Be brief."}]},
        "contents": [
            {"role": "user", "parts": [{"text": "Weather?"}]},
            {
                "role": "model",
                "parts": [{"functionCall": {"name": "w", "args": {"city": "Paris"}}}],
            },
            {"role": "user", "parts": [{"functionResponse": {"name": "w", "response": {"t": 20}}}]},
            {"role": "model", "parts": [{"text": "20 degrees."}]},
        ],
        "tools": [{"functionDeclarations": [{"name": "w", "parameters": {"type": "object"}}]}],
    }
    example = one(record)
    assert roles(example) == ["system", "user", "assistant", "tool", "assistant"]
    tool = example.conversation()[3]
    assert (tool.tool_call_id, tool.name, tool.content) == ("call_0", "w", '{"t": 20}')
    assert example.tools == [
        {"type": "function", "function": {"name": "w", "parameters": {"type": "object"}}}
    ]
    written = get_dialect("gemini").write(example)
    assert written.problems == []
    assert written.record == {k: v for k, v in record.items() if k != "systemInstruction"} | {
        "systemInstruction": {"parts": [{"text": "Be brief."}]}
    }


def test_bedrock_round_trip() -> None:
    record = {
        "schemaVersion": "bedrock-conversation-2024",
        "system": [{"text": "Be brief."}],
        "messages": [
            {"role": "user", "content": [{"text": "Hi"}, {"image": {"format": "png"}}]},
            {"role": "assistant", "content": [{"text": "Hello"}]},
        ],
    }
    example = one(record)
    assert roles(example) == ["system", "user", "assistant"]
    assert get_dialect("bedrock").write(example).record == record


def test_openai_dpo_reads_both_spellings() -> None:
    given = {"messages": CHAT[:1], "tools": []}
    a = one({"input": given, "preferred_output": CHAT[1:], "non_preferred_output": CHAT[1:]})
    b = one(
        {"input": given, "preferred_completion": CHAT[1:], "non_preferred_completion": CHAT[1:]}
    )
    assert a.model_dump(exclude={"source"}) == b.model_dump(exclude={"source"})
    record = get_dialect("openai_dpo").write(b).record
    assert record == {
        "input": given,
        "preferred_output": CHAT[1:],
        "non_preferred_output": CHAT[1:],
    }


def test_llamafactory_v1_weights() -> None:
    record = {
        "messages": [
            {"role": "user", "content": [{"type": "text", "value": "a"}], "loss_weight": 0.0},
            {"role": "assistant", "content": [{"type": "text", "value": "b"}], "loss_weight": 0.0},
            {
                "role": "user",
                "content": [{"type": "text", "value": "c"}, {"type": "text", "value": "d"}],
                "loss_weight": 0.0,
            },
            {"role": "assistant", "content": [{"type": "text", "value": "e"}], "loss_weight": 1.0},
        ]
    }
    example = one(record)
    assert [m.weight for m in example.conversation()] == [None, 0, None, None]
    assert get_dialect("llamafactory_v1").write(example).record == record
    openai = get_dialect("openai").write(example).record
    assert openai is not None and openai["messages"][1] == {
        "role": "assistant",
        "content": "b",
        "weight": 0,
    }


def test_llamafactory_v1_reasoning_tool_calls_and_tools() -> None:
    call = '{"name": "weather", "arguments": {"city": "Paris"}}'
    tools = [{"type": "function", "function": {"name": "weather", "parameters": {}}}]
    record = {
        "messages": [
            {"role": "user", "content": [{"type": "text", "value": "Rain?"}], "loss_weight": 0.0},
            {
                "role": "assistant",
                "content": [
                    {"type": "reasoning", "value": "Call weather."},
                    {"type": "tool_call", "value": call},
                ],
                "loss_weight": 1.0,
            },
            {"role": "tool", "content": [{"type": "text", "value": "sunny"}], "loss_weight": 0.0},
            {
                "role": "assistant",
                "content": [
                    {"type": "reasoning", "value": "It is sunny."},
                    {"type": "text", "value": "Sunny."},
                ],
                "loss_weight": 1.0,
            },
        ],
        "tools": json.dumps(tools),
    }
    example = one(record)
    messages = example.conversation()
    assert example.tools == tools
    assert messages[1].content is None and messages[1].model_extra == {
        "reasoning_content": "Call weather."
    }
    [tool_call] = messages[1].tool_calls
    assert (tool_call.id, tool_call.function.name, tool_call.function.arguments) == (
        "call_0",
        "weather",
        '{"city": "Paris"}',
    )
    assert messages[2].tool_call_id == "call_0"
    assert (messages[3].content, messages[3].model_extra) == (
        "Sunny.",
        {"reasoning_content": "It is sunny."},
    )
    written = get_dialect("llamafactory_v1").write(example)
    assert written.problems == [] and written.record == record


def test_text_is_one_assistant_message() -> None:
    example = one({"text": "The sky is blue."})
    assert [(m.role, m.content) for m in example.conversation()] == [
        ("assistant", "The sky is blue.")
    ]
    assert get_dialect("text").write(example).record == {"text": "The sky is blue."}


@needs_realdata
def test_mistral_ids_are_nine_alphanumerics_and_consistent() -> None:
    examples = [
        item.example
        for item in load_path(REALDATA / "llamafactory" / "glaive_toolcall_en_demo.json")
    ]
    mistral = get_dialect("mistral")
    for example in examples:
        assert example is not None
        written = mistral.write(example)
        assert written.problems == []
        assert written.record is not None
        calls = [c["id"] for m in written.record["messages"] for c in m.get("tool_calls", [])]
        answers = [m["tool_call_id"] for m in written.record["messages"] if m["role"] == "tool"]
        assert all(re.fullmatch(r"[A-Za-z0-9]{9}", i) for i in calls + answers)
        assert answers == calls[: len(answers)]
        assert len(set(calls)) == len(calls)
    # Deterministic: the same example gives the same ids.
    assert examples[0] is not None
    assert mistral.write(examples[0]).record == mistral.write(examples[0]).record


@needs_realdata
@pytest.mark.parametrize(
    ("dialect", "expected"),
    [
        ("gemini", {"O002": 103}),
        ("mistral", {"O002": 103}),
        ("sharegpt", {"O002": 103}),
        ("bedrock", {"O001": 206, "O002": 103}),
        ("alpaca", {"O001": 206, "O002": 103}),
    ],
)
def test_writing_drone_training_elsewhere(dialect: str, expected: dict[str, int]) -> None:
    """drone_training has tools, tool calls and parallel_tool_calls: what each target keeps
    and what it reports."""
    examples = [item.example for item in load_path(DRONE)]
    writer = get_dialect(dialect)
    written = [writer.write(e) for e in examples if e is not None]
    counts: dict[str, int] = {}
    for w in written:
        for f in as_findings(w.problems):
            counts[f.code] = counts.get(f.code, 0) + 1
    assert counts == expected
    assert all(w.record is not None for w in written)
    if dialect in ("gemini", "mistral", "sharegpt"):
        # Tools and tool calls survive: reading the output back finds every call again.
        back = [item.example for item in load_records([w.record for w in written], dialect=dialect)]
        for before, after in zip(examples, back, strict=True):
            assert before is not None and after is not None
            names = [[c.function.name for c in m.tool_calls or []] for m in before.conversation()]
            assert names == [
                [c.function.name for c in m.tool_calls or []] for m in after.conversation()
            ]
            assert len(after.tools) == len(before.tools)


@needs_realdata
@pytest.mark.parametrize("dialect", ["gemini", "bedrock", "mistral", "sharegpt", "alpaca"])
def test_plain_chat_converts_without_loss(dialect: str) -> None:
    examples = [item.example for item in load_path(TOY)]
    writer = get_dialect(dialect)
    for example in examples:
        assert example is not None
        written = writer.write(example)
        if written.record is None:
            # Alpaca holds pairs only: the cookbook's example without a user turn.
            assert dialect == "alpaca" and [f.code for f in as_findings(written.problems)] == [
                "O001"
            ]
            continue
        assert written.problems == []
        [back] = [item.example for item in load_records([written.record], dialect=dialect)]
        assert back is not None
        assert [(m.role, m.content) for m in back.conversation()] == [
            (m.role, m.content) for m in example.conversation()
        ]
