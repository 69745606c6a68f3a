"""``check --fix`` never removes a record that is not equal, in everything the model is trained
on, to one it keeps: a property over records that differ in tool calls and their arguments,
declared tools, images, weights, case, prose spacing and code indentation."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ftprep import cli

# A small space, so that records equal or alike in what is trained are drawn often.
WORDS = st.sampled_from([("the", "weather"), ("The", "weather"), ("in", "Paris")])
SPACES = st.sampled_from([" ", "  ", "\n", "\t "])
CODE = st.sampled_from([None, ("if x:", "    return 1"), ("if x:", "  return 1")])


@st.composite
def texts(draw: st.DrawFn) -> tuple[str, tuple[str, tuple[str, ...] | None]]:
    """A text, and what of it is trained on: its prose words (spacing is layout there) and
    its code lines verbatim (indentation is meaning there)."""
    words = draw(WORDS)
    prose = words[0] + draw(SPACES) + words[1]
    code = draw(CODE)
    if code is None:
        return prose, (" ".join(words), None)
    return prose + "\n```\n" + "\n".join(code) + "\n```", (" ".join(words), code)


@st.composite
def records(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """A chat record, and a canonical form of everything a model is trained on in it."""
    question, trained_question = draw(texts())
    answer, trained_answer = draw(texts())
    user: dict[str, Any] = {"role": "user", "content": question}
    image = draw(st.sampled_from([None, "https://example.com/1.png", "https://example.com/2.png"]))
    if image is not None:
        user["content"] = [
            {"type": "text", "text": question},
            {"type": "image_url", "image_url": {"url": image}},
        ]
    assistant: dict[str, Any] = {"role": "assistant", "content": answer}
    city = draw(st.sampled_from([None, "Paris", "Oslo"]))
    if city is not None:
        arguments = json.dumps({"city": city})
        call = {"id": "c1", "type": "function", "function": {"name": "w", "arguments": arguments}}
        assistant["tool_calls"] = [call]
    weight = draw(st.sampled_from([None, 0]))
    if weight is not None:
        assistant["weight"] = weight
    record: dict[str, Any] = {"messages": [user, assistant]}
    tool = draw(st.sampled_from([None, "w", "v"]))
    if tool is not None:
        record["tools"] = [{"type": "function", "function": {"name": tool, "parameters": {}}}]
    trained = [trained_question, image, trained_answer, city, weight, tool]
    return record, json.dumps(trained)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(records(), min_size=2, max_size=12))
def test_fix_removes_only_records_equal_in_what_is_trained(
    data: list[tuple[dict[str, Any], str]],
) -> None:
    # Copies of drawn records, so that duplicates are common.
    rows = data + data[: len(data) // 2]
    lines = [json.dumps(record) for record, _trained in rows]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        cli.main(["check", str(path), "--select", "X001", "--fix", "--unsafe-fixes", "-q"])
        kept = path.read_text(encoding="utf-8").splitlines()
    trained_of = {line: trained for line, (_record, trained) in zip(lines, rows, strict=True)}
    assert set(kept) <= set(lines)
    kept_trained = {trained_of[line] for line in kept}
    for line in lines:
        assert trained_of[line] in kept_trained  # removed only for an equal record kept
    # And nothing that differs from every kept record in what is trained was merged away.
    assert len(kept_trained) == len(set(trained_of.values()))
