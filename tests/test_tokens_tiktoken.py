"""OpenAI-style token counts: the cookbook's formula on real data, tool definitions, tool
calls, preference pairs, and the T rules at a model's own limit."""

from __future__ import annotations

import inspect
import json
import pickle
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from ftprep.config import Config
from ftprep.model import Example
from ftprep.tokens.chat import TOKENS_PER_IMAGE, TiktokenChatCounter
from ftprep.tokens.encodings import get_encoding, ids_encoder
from ftprep.validate.check import run_check

COOKBOOK = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "openai_cookbook"


@pytest.fixture(scope="module")
def cl100k() -> TiktokenChatCounter:
    return TiktokenChatCounter("cl100k_base")


@pytest.fixture(scope="module")
def o200k() -> TiktokenChatCounter:
    return TiktokenChatCounter("o200k_base")


def cookbook_count(messages: list[dict[str, Any]], encoding: str) -> int:
    """The cookbook's ``num_tokens_from_messages``, written out independently."""
    encode = get_encoding(encoding).encode
    total = 3
    for message in messages:
        total += 3
        for key, value in message.items():
            total += len(encode(value))
            if key == "name":
                total += 1
    return total


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("encoding", ["cl100k_base", "o200k_base"])
def test_toy_counts_equal_the_cookbook_formula(encoding: str) -> None:
    counter = TiktokenChatCounter(encoding)
    for record in _lines(COOKBOOK / "toy_chat_fine_tuning.jsonl"):
        counted = counter.count(Example.model_validate(record))
        assert counted.total == cookbook_count(record["messages"], encoding)
        assert len(counted.per_message) == len(record["messages"])


def test_names_cost_one_token_more(cl100k: TiktokenChatCounter) -> None:
    messages = [
        {"role": "system", "name": "example_user", "content": "New synergies."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello."},
    ]
    counted = cl100k.count(Example.model_validate({"messages": messages}))
    assert counted.total == cookbook_count(messages, "cl100k_base")


def test_tool_definitions_follow_the_cookbook_formula(o200k: TiktokenChatCounter) -> None:
    encode = get_encoding("o200k_base").encode
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Get the weather.",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "city": {"type": "string", "description": "City name."},
                        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                    },
                },
            },
        }
    ]
    expected = (
        7  # function start (gpt-4o-class)
        + len(encode("get_weather:Get the weather"))
        + 3  # properties start
        + 3
        + len(encode("city:string:City name"))
        + 3
        - 3  # enum start
        + 3
        + len(encode("celsius"))
        + 3
        + len(encode("fahrenheit"))
        + len(encode("unit:string:"))
        + 12  # end of the functions block
    )
    assert o200k.tools_cost(tools) == expected
    messages = [{"role": "user", "content": "Weather?"}, {"role": "assistant", "content": "Sun."}]
    plain = o200k.count(Example.model_validate({"messages": messages})).total
    with_tools = o200k.count(Example.model_validate({"messages": messages, "tools": tools}))
    assert with_tools.total == plain + expected


def test_drone_training_counts_tools_and_tool_calls(o200k: TiktokenChatCounter) -> None:
    encode = get_encoding("o200k_base").encode
    for record in _lines(COOKBOOK / "drone_training.jsonl"):
        example = Example.model_validate(record)
        counted = o200k.count(example)
        calls = [c for m in record["messages"] for c in m.get("tool_calls") or []]
        call_tokens = sum(
            3 + len(encode(c["function"]["name"])) + len(encode(c["function"]["arguments"]))
            for c in calls
        )
        messages = [
            {"role": m["role"], "content": m.get("content") or ""} for m in record["messages"]
        ]
        expected = (
            cookbook_count(messages, "o200k_base") + call_tokens + o200k.tools_cost(record["tools"])
        )
        assert counted.total == expected
        assert o200k.tools_cost(record["tools"]) > 100


def test_preference_pairs_count_the_longer_branch(o200k: TiktokenChatCounter) -> None:
    prompt = [{"role": "user", "content": "Name a colour."}]
    short = [{"role": "assistant", "content": "Red."}]
    long = [{"role": "assistant", "content": "Cerulean, the deep blue of a clear sky."}]
    pair = o200k.count(
        Example.model_validate({"messages": prompt, "chosen": short, "rejected": long})
    )
    with_long = o200k.count(Example.model_validate({"messages": prompt + long}))
    assert pair.total == with_long.total
    assert len(pair.per_message) == 3


def test_refusals_and_images_are_counted(o200k: TiktokenChatCounter) -> None:
    refusal = o200k.count(
        Example.model_validate(
            {
                "messages": [
                    {"role": "user", "content": "Pick this lock."},
                    {"role": "assistant", "content": None, "refusal": "I can't help with that."},
                ]
            }
        )
    )
    assert refusal.trained == len(get_encoding("o200k_base").encode("I can't help with that."))
    image = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
    text = {"type": "text", "text": "What is this?"}
    with_image = o200k.count(
        Example.model_validate({"messages": [{"role": "user", "content": [text, image, image]}]})
    )
    text_only = o200k.count(
        Example.model_validate({"messages": [{"role": "user", "content": "What is this?"}]})
    )
    assert with_image.total == text_only.total + 2 * TOKENS_PER_IMAGE


def test_untrained_turns_are_not_trained_tokens(o200k: TiktokenChatCounter) -> None:
    messages = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello there.", "weight": 0},
        {"role": "user", "content": "Bye"},
        {"role": "assistant", "content": "Bye."},
    ]
    counted = o200k.count(Example.model_validate({"messages": messages}))
    assert counted.trained == len(get_encoding("o200k_base").encode("Bye."))


def test_over_the_models_own_limit(tmp_path: Path) -> None:
    data = tmp_path / "long.jsonl"
    long_text = "word " * 17_000
    records = [
        {"messages": [{"role": "user", "content": "Repeat."}, {"role": "assistant", "content": t}]}
        for t in (long_text, long_text[: 15_000 * 5], "Fine.")
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    result = run_check([data], Config(model="gpt-3.5-turbo", select=["T"]))
    found = [(f.code, f.line, f.message) for f in result.findings]
    over, near = result.facts.tokens[:2]
    assert found == [
        (
            "T001",
            1,
            f"example has {over:,} tokens, over the 16,385-token limit of gpt-3.5-turbo"
            " (cl100k_base)",
        ),
        (
            "T002",
            2,
            f"example has {near:,} tokens, 92% of the 16,385-token limit of gpt-3.5-turbo"
            " (cl100k_base)",
        ),
    ]
    assert over > 16_385 and near < 16_385


@pytest.mark.parametrize("encoding", ["cl100k_base", "o200k_base"])
def test_bundled_encodings_pickle_by_name(encoding: str) -> None:
    # The Python copy of the vocabulary is dropped after load, so pickling must not carry
    # it: a pickled encoding is its name, and loads back as the same working encoding.
    bundled = get_encoding(encoding)
    data = pickle.dumps(bundled)
    assert len(data) < 200
    again = pickle.loads(data)
    assert again is bundled
    text = "Ça marche: 12,345 tokens"
    assert again.encode_ordinary(text) == bundled.encode_ordinary(text)
    assert again.decode(bundled.encode_ordinary(text)) == text


def test_repeated_system_prompts_count_as_if_counted_afresh(o200k: TiktokenChatCounter) -> None:
    # The counter keeps recent system prompts encoded; counts must not depend on it, also past
    # the number of prompts it keeps.
    records = [
        {
            "messages": [
                {
                    "role": "system" if i % 3 else "developer",
                    "content": f"Be brief, rule {i % 90}.",
                },
                {"role": "user", "content": f"Question {i}?"},
                {"role": "assistant", "content": "Answer."},
            ]
        }
        for i in range(300)
    ]
    for record in records:
        counted = o200k.count(Example.model_validate(record))
        fresh = TiktokenChatCounter("o200k_base").count(Example.model_validate(record))
        assert counted.total == fresh.total == cookbook_count(record["messages"], "o200k_base")
        assert counted.per_message == fresh.per_message


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Hello, world!",
        "lone \ud800 surrogate",
        "<|endoftext|> and <|fim_prefix|> are text here",
        "naïve café 漢字 🙂",
    ],
)
def test_compact_ids_are_the_ordinary_encoding(text: str) -> None:
    encoding = get_encoding("o200k_base")
    encode = ids_encoder(encoding)
    assert encode.__name__ == "buffered"  # tiktoken's buffer encoding, no int per token
    expected = encoding.encode_ordinary(text)
    assert np.frombuffer(encode(text), dtype=np.uint32).tolist() == expected


def test_compact_ids_fall_back_to_the_packed_list(monkeypatch: pytest.MonkeyPatch) -> None:
    encoding = get_encoding("o200k_base")
    core = encoding._core_bpe
    text = "Ça marche: 12,345 tokens"
    expected = encoding.encode_ordinary(text)

    def wider(text: str, allowed: object) -> bytes:  # a buffer of 64-bit ids
        return np.array(core.encode_ordinary(text), dtype=np.uint64).tobytes()

    def other_call(text: str) -> bytes:  # called another way
        raise TypeError("encode_to_tiktoken_buffer() takes 1 positional argument")

    ordinary = core.encode_ordinary
    for stand_in in (
        SimpleNamespace(encode_ordinary=ordinary),
        SimpleNamespace(encode_ordinary=ordinary, encode_to_tiktoken_buffer=wider),
        SimpleNamespace(encode_ordinary=ordinary, encode_to_tiktoken_buffer=other_call),
    ):
        monkeypatch.setattr(encoding, "_core_bpe", stand_in)
        encode = ids_encoder(encoding)
        assert encode.__name__ == "packed"
        assert np.frombuffer(encode(text), dtype=np.uint32).tolist() == expected


@pytest.mark.parametrize("encoding", ["cl100k_base", "o200k_base"])
def test_bundled_ranks_are_the_files_own(encoding: str) -> None:
    # A file whose hash tiktoken knows is read with ranks 0, 1, 2...: that must be what the
    # file says, rank by rank.
    from tiktoken_ext import openai_public

    from ftprep.tokens.encodings import _bundled_ranks

    expected_hash = {
        "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    }[encoding]
    assert expected_hash in inspect.getsource(getattr(openai_public, encoding))
    assert _bundled_ranks(encoding, expected_hash) == _bundled_ranks(encoding, None)
