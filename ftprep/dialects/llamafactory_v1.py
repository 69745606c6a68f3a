"""LLaMA-Factory v1 SFT data: ``messages`` whose ``content`` is a list of typed parts
(``{"type": "text" | "reasoning" | "tool_call" | ..., "value": ...}``), with a ``loss_weight``
per message and the tools as a JSON string.

Documentation: https://github.com/hiyouga/LLaMA-Factory (``data/v1_sft_demo.jsonl``,
``data/reason_tool_use_demo_50.jsonl``, the v1 ``Content``/``Message`` types and its chat
template renderers); see ``../shared/realdata/llamafactory/v1_sft_demo.jsonl``.

Canonical mapping: a content of one text part is its text; several parts become text content
parts (other part types keep their ``value``). A ``reasoning`` part becomes the message's
``reasoning_content`` (several are joined, as the templates concatenate them); a
``tool_call`` part (``{"name", "arguments"}`` as JSON text) becomes a tool call with the id
``call_0``, ``call_1``... in order, and a ``tool`` message answers the oldest call not yet
answered (v1 calls carry no ids). ``tools`` (a JSON string) becomes OpenAI-style tools.
``loss_weight`` becomes the message ``weight`` only when it differs from the default (0 for
prompt turns, 1 for assistant turns), so an ordinary example carries no weights; writing puts
the defaults back, the reasoning and tool calls back as parts, and drops the call ids.

Detection looks at the first message only: a ``loss_weight`` key or a ``value`` part.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ftprep.dialects.base import CallIds, Dialect, Written, build_example, json_text
from ftprep.dialects.sharegpt import call_value, function_calls, read_tools
from ftprep.findings import Problem
from ftprep.model import ContentPart, Example, Message, Source

#: The message key a ``reasoning`` part is read into (the key reasoning-model trainers take).
REASONING = "reasoning_content"


_MESSAGE_KEYS = frozenset({"weight", "tool_calls", "tool_call_id"})


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


def _plain_part(part: dict[str, Any], kind: str) -> bool:
    return part.get("type") == kind and set(part) <= {"type", "value"}


def read_message(message: Any, calls: CallIds) -> Any:
    """One v1 message as a canonical message dict (non-objects kept as they are); tool calls
    take their ids from ``calls``, tool results answer its oldest unanswered call."""
    if not isinstance(message, dict):
        return message
    out = {k: v for k, v in message.items() if k != "loss_weight"}
    content = message.get("content")
    if isinstance(content, list) and all(isinstance(p, dict) for p in content):
        parts, reasoning, tool_calls = [], [], []
        for part in content:
            if _plain_part(part, "reasoning") and isinstance(part.get("value"), str):
                reasoning.append(part["value"])
            elif _plain_part(part, "tool_call"):
                tool_calls.extend(function_calls(part.get("value"), calls))
            else:
                parts.append(part)
        out["content"] = read_content(parts) if parts or not tool_calls else None
        if reasoning:
            out[REASONING] = "".join(reasoning)
        if tool_calls:
            out["tool_calls"] = tool_calls
    elif "content" in message:
        out["content"] = read_content(content)
    if message.get("role") == "tool" and "tool_call_id" not in message:
        answered = calls.answer()
        if answered is not None:
            out["tool_call_id"] = answered
    weight = message.get("loss_weight")
    if weight is not None and weight != default_weight(message.get("role")):
        out["weight"] = int(weight) if isinstance(weight, float) and weight.is_integer() else weight
    return out


def call_parts(tool_calls: Any) -> list[dict[str, Any]]:
    """A message's tool calls as v1 ``tool_call`` parts."""
    if not isinstance(tool_calls, list):
        return []
    values = map(call_value, tool_calls)
    return [
        {"type": "tool_call", "value": value if isinstance(value, str) else json_text(value)}
        for value in values
    ]


class LlamaFactoryV1(Dialect):
    """``{"messages": [{"role", "content": [{"type": "text", "value"}], "loss_weight"}]}``."""

    name = "llamafactory_v1"
    summary = "LLaMA-Factory v1 messages with typed content parts and loss weights"
    supports_tools = True
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
            calls = CallIds()
            data["messages"] = self.with_system_prompt([read_message(m, calls) for m in messages])
        if "tools" in data:
            tools = data.pop("tools")
            if tools is not None and tools != "":
                data["tools"] = read_tools(tools)
        return build_example(data, source, self.name)

    def write(self, example: Example) -> Written:
        problems: list[Problem] = []
        self.check_example(example, problems, tools=True)
        written: list[Any] = []
        messages = example.messages if isinstance(example.messages, list) else []
        for index, message in enumerate(messages):
            if not isinstance(message, Message):
                written.append(message)
                continue
            self.check_message(example, "messages", index, message, _MESSAGE_KEYS, problems)
            extra = dict(message.model_extra or {})
            reasoning = extra.pop(REASONING, None)
            out: dict[str, Any] = {"role": message.role}
            content = self._parts(example, index, message.content, problems)
            before = [] if reasoning is None else [{"type": "reasoning", "value": reasoning}]
            after = call_parts(message.tool_calls)
            if before or after:
                # Reasoning, answer, calls: the order the v1 templates render them in.
                body = (
                    content if isinstance(content, list) else [] if content is None else [content]
                )
                out["content"] = [*before, *body, *after]
            elif message.has("content"):
                out["content"] = content
            weight = message.weight if message.weight is not None else default_weight(message.role)
            out["loss_weight"] = float(weight) if isinstance(weight, int | float) else weight
            out.update(extra)
            written.append(out)
        record: dict[str, Any] = {"messages": written if messages else example.messages}
        if example.tools is not None:
            record["tools"] = json_text(example.tools)
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
