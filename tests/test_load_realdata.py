"""Every real dataset in ``../shared/realdata/`` loads through auto-detection with its record
count and no load finding, and survives a round trip through its own dialect's writer."""

from __future__ import annotations

from pathlib import Path

import needs
import pytest
from problems import as_findings

from ftprep.dialects import get_dialect
from ftprep.load import load_path, load_records
from ftprep.model import Example

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"

#: path -> (records, dialect)
FILES = {
    "stanford_alpaca_pr152/alpaca_5000.json": (5_000, "alpaca"),
    "alpaca_cleaned_extensions/gsm_8k/gsm_8k_train.json": (7_473, "alpaca"),
    "alpaca_cleaned_extensions/GPTeacher/Roleplay/roleplay-simple-deduped-roleplay-dataset.json": (
        3_146,
        "alpaca",
    ),
    "alpaca_cleaned_extensions/GPTeacher/Toolformer/toolformer-dedupe-only-dataset.json": (
        7_673,
        "alpaca",
    ),
    "llamafactory/alpaca_en_demo.json": (999, "alpaca"),
    "llamafactory/identity.json": (91, "alpaca"),
    "llamafactory/glaive_toolcall_en_demo.json": (300, "sharegpt"),
    "llamafactory/dpo_en_demo.json": (300, "sharegpt"),
    "llamafactory/kto_en_demo.json": (300, "openai"),
    "llamafactory/v1_sft_demo.jsonl": (500, "llamafactory_v1"),
    "fastchat/dummy_conversation.json": (500, "sharegpt"),
    "mlx_examples/lora_data_train.jsonl": (1_000, "text"),
    "mlx_examples/lora_data_test.jsonl": (100, "text"),
    "mlx_examples/lora_data_valid.jsonl": (100, "text"),
    "mlx_examples/wwdc25_data_train.jsonl": (1_800, "prompt_completion"),
    "mlx_examples/wwdc25_data_valid.jsonl": (144, "prompt_completion"),
    "openai_cookbook/toy_chat_fine_tuning.jsonl": (5, "openai"),
    "openai_cookbook/drone_training.jsonl": (103, "openai"),
}

pytestmark = needs.path_mark(REALDATA, "../shared/realdata not present")


def _canonical(example: Example | None) -> object:
    assert example is not None
    return example.model_dump(exclude={"source", "dialect"})


def test_every_data_file_is_listed() -> None:
    found = {
        str(p.relative_to(REALDATA))
        for p in REALDATA.rglob("*.json*")
        if p.name != "dataset_info.json"
    }
    assert found == set(FILES)


@pytest.mark.parametrize("name", sorted(FILES))
def test_loads_with_its_count_and_no_finding(name: str) -> None:
    count, dialect = FILES[name]
    items = list(load_path(REALDATA / name))
    assert [p for item in items for p in item.problems] == []
    assert len(items) == count
    assert {item.example.dialect for item in items if item.example} == {dialect}
    sources = [item.example.source for item in items if item.example and item.example.source]
    assert [s.index for s in sources] == list(range(count))
    lines = [s.line for s in sources]
    assert lines == sorted(lines)


def test_the_llamafactory_registry_is_one_explained_finding() -> None:
    items = list(load_path(REALDATA / "llamafactory" / "dataset_info.json"))
    assert len(items) == 1 and not items[0].ok
    [finding] = as_findings(items[0].problems)
    assert (finding.code, finding.line) == ("L007", 1)
    assert "LLaMA-Factory dataset registry (dataset_info.json), not training data" in (
        finding.message
    )


@pytest.mark.parametrize("name", sorted(FILES))
def test_round_trip_through_its_own_dialect(name: str) -> None:
    _count, dialect_name = FILES[name]
    examples = [item.example for item in load_path(REALDATA / name)]
    dialect = get_dialect(dialect_name)
    written = [dialect.write(e) for e in examples if e is not None]
    assert [p for w in written for p in w.problems] == []
    again = list(load_records([w.record for w in written], dialect=dialect_name))
    assert [p for item in again for p in item.problems] == []
    assert [_canonical(item.example) for item in again] == [_canonical(e) for e in examples]


def test_known_mappings_on_real_records() -> None:
    alpaca = next(
        item.example for item in load_path(REALDATA / "stanford_alpaca_pr152" / "alpaca_5000.json")
    )
    assert alpaca is not None
    assert [m.role for m in alpaca.conversation()] == ["user", "assistant"]
    assert alpaca.conversation()[0].content == (
        "Are the two sentences below grammatically correct? Output yes or no.\n\n"
        "Sentence 1: I am going to the store.\nSentence 2: I goes to the store."
    )
    glaive = next(
        item.example
        for item in load_path(REALDATA / "llamafactory" / "glaive_toolcall_en_demo.json")
    )
    assert glaive is not None
    call_turn, result = glaive.conversation()[3:5]
    assert call_turn.role == "assistant" and call_turn.tool_calls[0].id == "call_0"
    assert call_turn.tool_calls[0].function.name == "search_recipes"
    assert call_turn.tool_calls[0].function.arguments == (
        '{"ingredients": ["chicken", "bell peppers", "rice"]}'
    )
    assert (result.role, result.tool_call_id) == ("tool", "call_0")
    assert glaive.tools[0]["type"] == "function"
    assert glaive.tools[0]["function"]["name"] == "search_recipes"
    fastchat = next(
        item.example for item in load_path(REALDATA / "fastchat" / "dummy_conversation.json")
    )
    assert fastchat is not None and fastchat.metadata == {"id": "identity_0"}
    dpo = next(item.example for item in load_path(REALDATA / "llamafactory" / "dpo_en_demo.json"))
    assert dpo is not None and dpo.is_preference
    assert [m.role for m in dpo.chosen] == ["assistant"]
    v1 = next(item.example for item in load_path(REALDATA / "llamafactory" / "v1_sft_demo.jsonl"))
    assert v1 is not None
    first, answer = v1.conversation()
    assert (first.role, first.content, first.weight) == ("user", "hi", None)
    assert (answer.role, answer.weight) == ("assistant", None)
    text = next(
        item.example for item in load_path(REALDATA / "mlx_examples" / "lora_data_test.jsonl")
    )
    assert text is not None and [m.role for m in text.conversation()] == ["assistant"]
