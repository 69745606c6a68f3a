"""LLaMA-Factory v1 SFT data: ``messages`` whose ``content`` is a list of
``{"type": "text", "value": ...}`` parts, with a ``loss_weight`` per message.

Documentation: https://github.com/hiyouga/LLaMA-Factory (``data/v1_sft_demo.jsonl`` and the v1
data converter); see ``../shared/realdata/llamafactory/v1_sft_demo.jsonl``.

Canonical mapping: a content of one text part is its text; several parts become text content
parts (other part types keep their ``value``). ``loss_weight`` becomes the message ``weight``
only when it differs from the default (0 for prompt turns, 1 for assistant turns), so an
ordinary example carries no weights; writing puts the defaults back.

Detection looks at the first message only: a ``loss_weight`` key or a ``value`` part.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ftprep.dialects.base import Dialect, Written, build_example
from ftprep.findings import Problem
from ftprep.model import ContentPart, Example, Message, Source


def default_weight(role: Any) -> float:
    """The loss weight LLaMA-Factory gives a turn of ``role``."""
    return 1.0 if role == "assistant" else 0.0


def read_content(content: Any) -> Any:
    """v1 content parts in canonical form (one text part becomes its string)."""
    if not isinstance(content, list) or not all(isinstance(p, dict) for p in content):
        return content
    if (
        len(content) == 1
        and content[0].get("type") == "text"
        and set(content[0])
        <= {
            "type",
            "value",
        }
    ):
        return content[0].get("value")
    return [
        {"type": "text", "text": part.get("value")}
        if part.get("type") == "text" and set(part) <= {"type", "value"}
        else part
        for part in content
    ]


def read_message(message: Any) -> Any:
    """One v1 message as a canonical message dict (non-objects kept as they are)."""
    if not isinstance(message, dict):
        return message
    out = {k: v for k, v in message.items() if k != "loss_weight"}
    if "content" in message:
        out["content"] = read_content(message["content"])
    weight = message.get("loss_weight")
    if weight is not None and weight != default_weight(message.get("role")):
        out["weight"] = int(weight) if isinstance(weight, float) and weight.is_integer() else weight
    return out


class LlamaFactoryV1(Dialect):
    """``{"messages": [{"role", "content": [{"type": "text", "value"}], "loss_weight"}]}``."""

    name = "llamafactory_v1"
    summary = "LLaMA-Factory v1 messages with typed content parts and loss weights"
    keeps_extra_fields = True

    def matches(self, record: Mapping[str, Any]) -> bool:
        messages = record.get("messages")
        if not isinstance(messages, list) or not messages or not isinstance(messages[0], dict):
            return False
        first = messages[0]
        content = first.get("content")
        return "loss_weight" in first or (
            isinstance(content, list)
            and bool(content)
            and isinstance(content[0], dict)
            and "value" in content[0]
        )

    def read(self, record: Mapping[str, Any], source: Source | None = None) -> Example:
        data: dict[str, Any] = dict(record)
        messages = data.get("messages")
        if isinstance(messages, list):
            data["messages"] = self.with_system_prompt([read_message(m) for m in messages])
        return build_example(data, source, self.name)

    def write(self, example: Example) -> Written:
        problems: list[Problem] = []
        self.check_example(example, problems)
        written: list[Any] = []
        messages = example.messages if isinstance(example.messages, list) else []
        for index, message in enumerate(messages):
            if not isinstance(message, Message):
                written.append(message)
                continue
            self.check_message(example, "messages", index, message, frozenset({"weight"}), problems)
            out: dict[str, Any] = {"role": message.role}
            if message.has("content"):
                out["content"] = self._parts(example, index, message.content, problems)
            weight = message.weight if message.weight is not None else default_weight(message.role)
            out["loss_weight"] = float(weight) if isinstance(weight, int | float) else weight
            out.update(message.model_extra or {})
            written.append(out)
        record: dict[str, Any] = {"messages": written if messages else example.messages}
        self.carry_fields(example, record, problems)
        return Written(record, problems)

    def _parts(self, example: Example, index: int, content: Any, problems: list[Problem]) -> Any:
        if isinstance(content, str):
            return [{"type": "text", "value": content}]
        if not isinstance(content, list):
            return content
        parts: list[Any] = []
        for part in content:
            if isinstance(part, ContentPart) and part.type == "text":
                parts.append({"type": "text", "value": part.text})
            elif isinstance(part, ContentPart) and "value" in (part.model_extra or {}):
                parts.append(part.model_dump(mode="json", exclude_unset=True))
            else:
                kind = part.type if isinstance(part, ContentPart) else type(part).__name__
                problems.append(
                    self.unsupported(
                        example,
                        f"content parts of type {kind}",
                        pointer=f"/messages/{index}/content",
                    )
                )
        return parts
