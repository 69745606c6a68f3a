"""C rules on real data and on inputs too large for rule-case files."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ftprep.config import Config, parse_config
from ftprep.model import Example
from ftprep.rules.content import (
    InvalidImage,
    LongContent,
    ShortContent,
    SpecialTokens,
    special_tokens_in,
)
from ftprep.rules.context import RecordContext
from ftprep.targets import OPENAI
from ftprep.validate.check import run_check

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
ALPACA = REALDATA / "stanford_alpaca_pr152" / "alpaca_5000.json"
CONTEXT = RecordContext(OPENAI, OPENAI.model_spec(None), Config())


def _alpaca() -> list[dict[str, str]]:
    records: list[dict[str, str]] = json.loads(ALPACA.read_text(encoding="utf-8"))
    return records


def test_alpaca_empty_outputs_are_found_where_they_are() -> None:
    result = run_check([ALPACA], parse_config({"select": ["C001"]}))
    found = [(f.line, f.location.record, f.location.pointer, f.message) for f in result.findings]
    # The file is one JSON array on one line: records 2335 and 4658 have empty outputs.
    assert found == [
        (1, 2335, "/messages/1/content", "assistant content is empty"),
        (1, 4658, "/messages/1/content", "assistant content is empty"),
    ]
    assert [i for i, r in enumerate(_alpaca()) if not r["output"].strip()] == [2335, 4658]
    assert result.facts.rejected.sum() == 2


def test_alpaca_short_outputs_are_not_reported_by_default() -> None:
    result = run_check([ALPACA], parse_config({"select": ["C002", "C003"]}))
    assert result.findings == []


def test_short_outputs_when_extended_to_every_dialect() -> None:
    config = parse_config({"select": ["C002"], "rules": {"C002": {"dialects": ["*"]}}})
    result = run_check([ALPACA], config)
    expected = [i for i, r in enumerate(_alpaca()) if 0 < len(r["output"].strip()) < 10]
    # One line holds every record, so compare the set of records, not the finding order.
    assert sorted(f.location.record or 0 for f in result.findings) == expected
    # The provenance notes 182 outputs under 10 characters; two of them are empty (C001).
    assert len(expected) == 180
    assert all(f.severity.value == "info" for f in result.findings)


def _as_raw_pairs(tmp_path: Path) -> Path:
    path = tmp_path / "pairs.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for record in _alpaca():
            prompt = "\n\n".join(filter(None, (record["instruction"], record["input"])))
            handle.write(json.dumps({"input": prompt, "ideal_output": record["output"]}) + "\n")
    return path


def test_raw_pairs_length_bounds_on_real_answers(tmp_path: Path) -> None:
    pairs = _as_raw_pairs(tmp_path)
    result = run_check([pairs], parse_config({"select": ["C001", "C002", "C003"]}))
    by_code: dict[str, list[int]] = {}
    for finding in result.findings:
        assert finding.line is not None
        by_code.setdefault(finding.code, []).extend(line - 1 for line in finding.lines)
    outputs = [r["output"] for r in _alpaca()]
    assert by_code["C001"] == [2335, 4658]
    assert by_code["C002"] == [i for i, o in enumerate(outputs) if 0 < len(o.strip()) < 10]
    assert by_code["C003"] == [i for i, o in enumerate(outputs) if len(o) > 2000]


def _real_examples() -> Iterator[Example]:
    for path in (
        REALDATA / "openai_cookbook" / "drone_training.jsonl",
        REALDATA / "openai_cookbook" / "toy_chat_fine_tuning.jsonl",
    ):
        for line in path.read_text(encoding="utf-8").splitlines():
            yield Example.model_validate_json(line)
    for record in _alpaca():
        prompt = "\n\n".join(filter(None, (record["instruction"], record["input"])))
        yield Example.model_validate(
            {
                "messages": [
                    {"role": "user", "content": prompt},
                    {"role": "assistant", "content": record["output"]},
                ]
            }
        )
    conversations = json.loads((REALDATA / "fastchat" / "dummy_conversation.json").read_text())
    for conversation in conversations:
        turns = conversation["conversations"]
        yield Example.model_validate(
            {
                "messages": [
                    {"role": "user" if t["from"] == "human" else "assistant", "content": t["value"]}
                    for t in turns
                ]
            }
        )


def test_no_special_token_false_positives_on_real_data() -> None:
    rule = SpecialTokens()
    examples = list(_real_examples())
    assert len(examples) > 5_500
    assert [f for e in examples for f in rule.check(e, CONTEXT)] == []


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Done.<|im_end|>", ["<|im_end|>"]),
        ("<|begin_of_text|><|start_header_id|>user", ["<|begin_of_text|>", "<|start_header_id|>"]),
        ("[INST] hi [/INST] hello</s>", ["[INST]", "[/INST]", "</s>"]),
        ("<s>Hello", ["<s>"]),
        ("[TOOL_CALLS] [AVAILABLE_TOOLS]", ["[TOOL_CALLS]", "[AVAILABLE_TOOLS]"]),
        ("a <s>b</s> c", []),
        ("The norm <|v|> and a <|| b", []),
        ("array[INSTANCE] and [INSTRUCTIONS]", []),
    ],
)
def test_special_tokens_in(text: str, tokens: list[str]) -> None:
    assert special_tokens_in(text) == tokens


def _image_example(url: str, role: str = "user") -> Example:
    part = {"type": "image_url", "image_url": {"url": url}}
    return Example.model_validate(
        {"messages": [{"role": role, "content": [part]}, {"role": "assistant", "content": "A."}]}
    )


def test_image_over_the_size_limit() -> None:
    payload = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(11 * 1024 * 1024)).decode()
    rule = InvalidImage()
    findings = list(rule.check(_image_example(f"data:image/png;base64,{payload}"), CONTEXT))
    assert [f.message for f in findings] == ["image is 11.0 MB, over the 10.0 MB limit of openai"]
    small = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(1024)).decode()
    assert list(rule.check(_image_example(f"data:image/png;base64,{small}"), CONTEXT)) == []


def test_length_rules_apply_to_configured_dialects_only() -> None:
    example = Example.model_validate(
        {
            "messages": [
                {"role": "user", "content": "Sentiment?"},
                {"role": "assistant", "content": "No"},
            ],
            "dialect": "alpaca",
        }
    )
    assert list(ShortContent().check(example, CONTEXT)) == []
    only_alpaca = ShortContent(ShortContent.Options(dialects=["alpaca"]))
    assert [f.location.pointer for f in only_alpaca.check(example, CONTEXT)] == [
        "/messages/1/content"
    ]
    assert list(LongContent(LongContent.Options(dialects=["*"])).check(example, CONTEXT)) == []
