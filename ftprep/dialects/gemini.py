"""Vertex AI Gemini supervised tuning format: ``{"systemInstruction": {"parts": [...]},
"contents": [{"role": "user" | "model", "parts": [...]}], "tools"?: [...]}``.

Documentation:
https://cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-supervised-tuning-prepare
(dataset format: ``contents``, ``systemInstruction``, parts ``text`` / ``fileData`` /
``functionCall`` / ``functionResponse``, ``tools`` with ``functionDeclarations``).

Canonical mapping: ``model`` turns are assistant messages; a ``functionCall`` part is a tool
call (ids ``call_0``, ``call_1``... in order, Gemini has none) with its ``args`` as JSON text;
each ``functionResponse`` part is a ``tool`` message named after the function, its
``response`` as JSON text, answering the oldest unanswered call of that name. Writing groups
consecutive tool messages into one ``user`` turn, as Gemini expects.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

from ftprep.dialects.base import (
    NOT_JSON,
    CallIds,
    Dialect,
    Written,
    build_example,
    json_text,
    parse_json,
    read_blocks,
)
from ftprep.findings import Problem
from ftprep.model import Example, FunctionCall, Message, Source, ToolCall


def read_tools(tools: Any) -> Any:
    """Gemini tools (``functionDeclarations`` groups) as OpenAI-style tools."""
    if not isinstance(tools, list):
        return tools
    out: list[Any] = []
    for tool in tools:
        declarations = tool.get("functionDeclarations") if isinstance(tool, dict) else None
        if isinstance(declarations, list) and len(tool) == 1:
            out.extend({"type": "function", "function": d} for d in declarations)
        else:
            out.append(tool)
    return out


def write_tools(tools: Any) -> Any:
    """OpenAI-style tools as Gemini tools: one ``functionDeclarations`` group first."""
    if not isinstance(tools, list):
        return tools
    functions = [
        t["function"]
        for t in tools
        if isinstance(t, dict) and t.get("type") == "function" and "function" in t
    ]
    others = [
        t
        for t in tools
        if not (isinstance(t, dict) and t.get("type") == "function" and "function" in t)
    ]
    return ([{"functionDeclarations": functions}] if functions else []) + others


def read_turn(turn: Any, calls: CallIds) -> list[Any]:
    """One Gemini content as canonical message dicts: its tool results, then the turn."""
    if not isinstance(turn, dict):
        return [turn]
    role = turn.get("role")
    role = {"model": "assistant", "user": "user"}.get(role, role) if isinstance(role, str) else role
    parts = turn.get("parts")
    if not isinstance(parts, list):
        return [{"role": role, "content": parts}]
    results: list[Any] = []
    tool_calls: list[Any] = []
    blocks: list[Any] = []
    for part in parts:
        if isinstance(part, dict) and isinstance(part.get("functionCall"), dict):
            call = part["functionCall"]
            name = call.get("name")
            tool_calls.append(
                {
                    "id": calls.new(name),
                    "type": "function",
                    "function": {"name": name, "arguments": json_text(call.get("args", {}))},
                }
            )
        elif isinstance(part, dict) and isinstance(part.get("functionResponse"), dict):
            response = part["functionResponse"]
            name = response.get("name")
            result = {"role": "tool", "content": json_text(response.get("response")), "name": name}
            answered = calls.answer(name)
            if answered is not None:
                result["tool_call_id"] = answered
            results.append(result)
        else:
            blocks.append(part)
    if not blocks and not tool_calls and results:
        return results
    message: dict[str, Any] = {"role": role, "content": read_blocks(blocks)}
    if tool_calls:
        message["tool_calls"] = tool_calls
        if not blocks:
            del message["content"]
    return [*results, message]


class Gemini(Dialect):
    """``{"systemInstruction"?: {"parts": [...]}, "contents": [...], "tools"?: [...]}``."""

    name = "gemini"
    summary = "Vertex AI Gemini supervised tuning (contents/parts, systemInstruction)"
    supports_tools = True

    def matches(self, record: Mapping[str, Any]) -> bool:
        return "contents" in record

    def read(self, record: Mapping[str, Any], source: Source | None = None) -> Example:
        data: dict[str, Any] = dict(record)
        contents = data.pop("contents")
        messages: Any = contents
        system = data.pop("systemInstruction", None)
        if isinstance(contents, list):
            calls = CallIds()
            messages = [m for turn in contents for m in read_turn(turn, calls)]
            if system is not None:
                parts = system.get("parts") if isinstance(system, dict) else system
                messages.insert(0, {"role": "system", "content": read_blocks(parts)})
            messages = self.with_system_prompt(messages)
        elif system is not None:
            data["systemInstruction"] = system
        data["messages"] = messages
        if "tools" in data:
            data["tools"] = read_tools(data["tools"])
        return build_example(data, source, self.name)

    def write(self, example: Example) -> Written:
        problems: list[Problem] = []
        self.check_example(example, problems, tools=True)
        messages = example.messages
        if not isinstance(messages, list) or not all(isinstance(m, Message) for m in messages):
            problems.append(self.unsupported(example, "messages that are not a list of messages"))
            return Written(None, problems)
        record: dict[str, Any] = {}
        system_parts: list[Any] = []
        contents: list[dict[str, Any]] = []
        names: dict[Any, Any] = {}
        for index, message in enumerate(messages):
            pointer = f"/messages/{index}"
            role = message.role
            allowed = frozenset({"tool_call_id", "name"} if role == "tool" else {"tool_calls"})
            self.check_message(example, "messages", index, message, allowed, problems)
            if role == "system":
                if contents:
                    problems.append(
                        self.unsupported(
                            example, "a system message after the first turn", pointer=pointer
                        )
                    )
                system_parts += self.write_blocks(example, pointer, message.content, problems)
            elif role == "tool":
                part = self._response(example, message, names, pointer, problems)
                if (
                    contents
                    and contents[-1]["role"] == "user"
                    and all("functionResponse" in p for p in contents[-1]["parts"])
                ):
                    contents[-1]["parts"].append(part)
                else:
                    contents.append({"role": "user", "parts": [part]})
            elif role in ("user", "assistant"):
                parts = self.write_blocks(example, f"{pointer}/content", message.content, problems)
                if role == "assistant" and isinstance(message.tool_calls, list):
                    for number, call in enumerate(message.tool_calls):
                        parts.append(
                            self._call(
                                example, call, names, f"{pointer}/tool_calls/{number}", problems
                            )
                        )
                contents.append(
                    {"role": "model" if role == "assistant" else "user", "parts": parts}
                )
            else:
                problems.append(
                    self.unsupported(example, f"the role {role!r}", pointer=f"{pointer}/role")
                )
        if system_parts:
            record["systemInstruction"] = {"parts": system_parts}
        record["contents"] = contents
        if example.tools is not None:
            record["tools"] = write_tools(example.tools)
        self.carry_fields(example, record, problems)
        return Written(record, problems)

    def _call(
        self,
        example: Example,
        call: Any,
        names: dict[Any, Any],
        pointer: str,
        problems: list[Problem],
    ) -> dict[str, Any]:
        function = call.function if isinstance(call, ToolCall) else None
        if not isinstance(function, FunctionCall):
            problems.append(self.unsupported(example, "a malformed tool call", pointer=pointer))
            return {"functionCall": {}}
        if isinstance(call.id, Hashable):  # JSON lists and objects cannot key the map
            names[call.id] = function.name
        args = parse_json(function.arguments)
        if not isinstance(args, dict):
            problems.append(
                self.unsupported(
                    example,
                    "tool-call arguments that are not a JSON object",
                    pointer=f"{pointer}/function/arguments",
                )
            )
            args = {} if args is NOT_JSON else args
        return {"functionCall": {"name": function.name, "args": args}}

    def _response(
        self,
        example: Example,
        message: Message,
        names: dict[Any, Any],
        pointer: str,
        problems: list[Problem],
    ) -> dict[str, Any]:
        name = message.name
        if name is None and isinstance(message.tool_call_id, Hashable):
            name = names.get(message.tool_call_id)
        if name is None:
            problems.append(
                self.unsupported(
                    example, "a tool result whose function name is unknown", pointer=pointer
                )
            )
        text = message.text()
        response = parse_json(text)
        if not isinstance(response, dict):
            response = {"content": text}
        return {"functionResponse": {"name": name, "response": response}}
