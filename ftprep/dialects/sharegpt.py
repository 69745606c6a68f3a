"""ShareGPT format: ``{"conversations": [{"from": ..., "value": ...}, ...]}`` as FastChat and
LLaMA-Factory use it.

Documentation: https://github.com/hiyouga/LLaMA-Factory/blob/main/data/README.md (ShareGPT
format: ``system``, ``tools``, ``function_call`` / ``observation`` turns, the preference
variant with ``chosen`` / ``rejected`` turns and the KTO ``kto_tag``) and
https://github.com/lm-sys/FastChat/blob/main/docs/training.md (``id`` + ``conversations``).

Canonical mapping: ``human`` / ``user`` turns are user messages, ``gpt`` / ``assistant`` turns
assistant messages, ``system`` turns (and the ``system`` field) system messages. A
``function_call`` turn (``{"name", "arguments"}`` or a list of them) is an assistant message
whose tool calls get the ids ``call_0``, ``call_1``... in order; an ``observation`` turn is a
``tool`` message answering the oldest call not yet answered. ``tools`` (a JSON string of
function definitions) becomes OpenAI-style tools. FastChat's ``id`` goes to
``metadata["id"]``; a boolean ``kto_tag`` to ``label``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ftprep.dialects.base import (
    NOT_JSON,
    CallIds,
    Dialect,
    Written,
    build_example,
    json_text,
    parse_json,
)
from ftprep.findings import Problem
from ftprep.model import Example, FunctionCall, Message, Source, ToolCall

ROLES_IN = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant"}
ROLES_OUT = {"user": "human", "assistant": "gpt", "system": "system"}
_MESSAGE_KEYS = frozenset({"tool_calls", "tool_call_id"})


def read_tools(tools: Any) -> Any:
    """A ``tools`` JSON string of function definitions as OpenAI-style tools; values that
    are not such a string are kept as they are, for rules to report."""
    parsed = parse_json(tools)
    if not isinstance(parsed, list):
        return tools
    return [
        tool
        if not isinstance(tool, dict) or tool.get("type") == "function"
        else {"type": "function", "function": tool}
        for tool in parsed
    ]


def write_tools(tools: Any) -> Any:
    """OpenAI-style tools as a JSON string of function definitions."""
    if not isinstance(tools, list):
        return tools
    return json_text(
        [
            tool["function"]
            if isinstance(tool, dict) and tool.get("type") == "function" and "function" in tool
            else tool
            for tool in tools
        ]
    )


def function_calls(value: Any, calls: CallIds) -> list[dict[str, Any]]:
    """A call written as JSON text (``{"name", "arguments"}`` or a list of them) as
    OpenAI-style tool calls with new ids from ``calls``."""
    parsed = parse_json(value)
    items = parsed if isinstance(parsed, list) else [parsed]
    if parsed is NOT_JSON or not all(isinstance(item, dict) for item in items):
        # Not a call we can read: keep the raw text as the arguments, for rules to report.
        return [{"id": calls.new(), "type": "function", "function": {"arguments": value}}]
    out = []
    for item in items:
        arguments = item.get("arguments")
        out.append(
            {
                "id": calls.new(item.get("name")),
                "type": "function",
                "function": {
                    "name": item.get("name"),
                    "arguments": arguments if isinstance(arguments, str) else json_text(arguments),
                },
            }
        )
    return out


def read_turn(turn: Any, calls: CallIds) -> dict[str, Any] | Any:
    """One ShareGPT turn as a canonical message dict (a non-object turn is kept as it is)."""
    if not isinstance(turn, dict):
        return turn
    extra = {k: v for k, v in turn.items() if k not in ("from", "value")}
    role, value = turn.get("from"), turn.get("value")
    if role == "function_call":
        return {"role": "assistant", "tool_calls": function_calls(value, calls), **extra}
    if role == "observation":
        message = {"role": "tool", "content": value, **extra}
        answered = calls.answer()
        if answered is not None:
            message["tool_call_id"] = answered
        return message
    if isinstance(role, str):
        role = ROLES_IN.get(role, role)
    return {"role": role, "content": value, **extra}


def call_value(call: ToolCall | Any) -> Any:
    """A tool call as the ``{"name", "arguments"}`` object formats without ids write (the
    arguments decoded when they are JSON as :func:`json_text` writes it); a call that could
    not be read gives back its raw text."""
    function = call.function if isinstance(call, ToolCall) else None
    if not isinstance(function, FunctionCall):
        return call
    if "name" not in function.model_fields_set:
        return function.arguments  # a call that could not be read, kept as its raw text
    arguments = parse_json(function.arguments)
    if arguments is NOT_JSON or json_text(arguments) != function.arguments:
        arguments = function.arguments
    return {"name": function.name, "arguments": arguments}


class ShareGPT(Dialect):
    """``{"conversations": [{"from": ..., "value": ...}], "system"?, "tools"?, "id"?}``."""

    name = "sharegpt"
    summary = "ShareGPT conversations (FastChat, LLaMA-Factory incl. tools and preference)"
    supports_tools = True
    supports_preference = True
    keeps_extra_fields = True

    def matches(self, record: Mapping[str, Any]) -> bool:
        return "conversations" in record

    def read(self, record: Mapping[str, Any], source: Source | None = None) -> Example:
        data: dict[str, Any] = dict(record)
        calls = CallIds()
        turns = data.pop("conversations")
        system = data.pop("system", None)
        messages: Any = turns
        if isinstance(turns, list):
            messages = [read_turn(turn, calls) for turn in turns]
            if system is not None and system != "":
                messages.insert(0, {"role": "system", "content": system})
            messages = self.with_system_prompt(messages)
        elif system is not None:
            data["system"] = system
        data["messages"] = messages
        if "tools" in data:
            tools = data.pop("tools")
            if tools is not None and tools != "":
                data["tools"] = read_tools(tools)
        for side in ("chosen", "rejected"):
            if side in data:
                value = data[side]
                turns_of = value if isinstance(value, list) else [value]
                data[side] = [read_turn(turn, calls) for turn in turns_of]
        if isinstance(data.get("kto_tag"), bool):
            data["label"] = data.pop("kto_tag")
        if "id" in data and "metadata" not in data:
            data["metadata"] = {"id": data.pop("id")}
        return build_example(data, source, self.name)

    def write(self, example: Example) -> Written:
        problems: list[Problem] = []
        self.check_example(example, problems, tools=True, preference=True, label=True)
        messages = example.messages
        if not isinstance(messages, list) or not all(isinstance(m, Message) for m in messages):
            problems.append(self.unsupported(example, "messages that are not a list of messages"))
            return Written(None, problems)
        record: dict[str, Any] = {}
        if "id" in example.metadata:
            record["id"] = example.metadata["id"]
        start = 1 if messages and messages[0].role == "system" else 0
        record["conversations"] = self._turns(example, "messages", messages, start, problems)
        if start:
            record["system"] = self.text_content(example, "messages", 0, messages[0], problems)
        if example.tools is not None:
            record["tools"] = write_tools(example.tools)
        for side in ("chosen", "rejected"):
            value = getattr(example, side)
            if value is None:
                continue
            turns = (
                self._turns(example, side, value, 0, problems) if isinstance(value, list) else []
            )
            if len(turns) != 1:
                problems.append(
                    self.unsupported(
                        example, f"a {side} side of other than one turn", pointer=f"/{side}"
                    )
                )
                continue
            record[side] = turns[0]
        if example.label is not None:
            record["kto_tag"] = example.label
        self.carry_fields(example, record, problems, skip=("id",))
        return Written(record, problems)

    def _turns(
        self,
        example: Example,
        field_name: str,
        messages: list[Any],
        start: int,
        problems: list[Problem],
    ) -> list[dict[str, Any]]:
        turns: list[dict[str, Any]] = []
        for index in range(start, len(messages)):
            message = messages[index]
            if not isinstance(message, Message):
                problems.append(
                    self.unsupported(
                        example, "a message that is not an object", pointer=f"/{field_name}/{index}"
                    )
                )
                continue
            self.check_message(example, field_name, index, message, _MESSAGE_KEYS, problems)
            extra = dict(message.model_extra or {})
            content = self.text_content(example, field_name, index, message, problems)
            role = message.role
            calls = message.tool_calls
            if role == "assistant" and isinstance(calls, list) and calls:
                if content:
                    turns.append({"from": "gpt", "value": content})
                values = [call_value(call) for call in calls]
                value = values[0] if len(values) == 1 else values
                text = value if isinstance(value, str) else json_text(value)
                turns.append({"from": "function_call", "value": text, **extra})
            elif role in ("tool", "function"):
                turns.append({"from": "observation", "value": content, **extra})
            elif role in ROLES_OUT:
                turns.append({"from": ROLES_OUT[role], "value": content, **extra})
            else:
                problems.append(
                    self.unsupported(
                        example, f"the role {role!r}", pointer=f"/{field_name}/{index}/role"
                    )
                )
        return turns
