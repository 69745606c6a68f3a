"""What a dialect is: one input/output data shape that knows how to recognise, read and write
itself.

A dialect module holds one subclass of :class:`Dialect`. ``matches`` looks only at the keys of
a record (cheap, used for detection); ``read`` turns a record into a canonical
:class:`~ftprep.model.Example` leniently (wrong types are kept for rules to report);
``write`` turns an example back into the dialect's shape and reports, as problems, anything
the shape cannot express instead of dropping it silently.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from ftprep.config import Config
from ftprep.findings import Location, Problem
from ftprep.model import ContentPart, Example, Message, Source


class DialectOptions(BaseModel):
    """Options shared by all dialects (field names, a system prompt to add)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    system_prompt: str | None = None
    """A system prompt to put first in every example that has none (raw pairs, Alpaca...)."""
    input_field: str = "input"
    """Raw pairs: the field holding the user's input."""
    output_field: str = "ideal_output"
    """Raw pairs: the field holding the ideal answer."""

    @classmethod
    def from_config(cls, config: Config) -> DialectOptions:
        """The options a configuration sets (``system-prompt``, ``input-field``,
        ``output-field``)."""
        return cls(
            system_prompt=config.system_prompt,
            input_field=config.input_field,
            output_field=config.output_field,
        )


@dataclass(slots=True)
class Written:
    """A written record, and the problems about what the shape could not express."""

    record: dict[str, Any] | None
    problems: list[Problem] = field(default_factory=list)


_MESSAGE = re.compile(r"^/messages/(\d+)(?:/|$)")


def message_of(example: Example, pointer: str) -> tuple[int, str, int] | None:
    """``(index, role, count)`` of the message a ``/messages/<i>...`` pointer is in."""
    match = _MESSAGE.match(pointer)
    if match is None:
        return None
    index = int(match.group(1))
    conversation = example.conversation()
    if index >= len(conversation):
        return None
    return index, str(conversation[index].role), len(conversation)


class Dialect:
    """Base class of data shapes. Subclasses set ``name``, ``summary`` and a docstring that cites
    the format's documentation."""

    name: ClassVar[str]
    summary: ClassVar[str]
    #: Whether the shape can carry preference pairs / tool definitions (writers check this).
    supports_preference: ClassVar[bool] = False
    supports_tools: ClassVar[bool] = False
    #: False for shapes that are identical to another one: used only when named explicitly.
    auto_detect: ClassVar[bool] = True
    #: Whether fields the shape does not know (extra columns, ``metadata``) are written back as
    #: top-level fields. Provider formats say no: providers reject unknown keys.
    keeps_extra_fields: ClassVar[bool] = False

    def __init__(self, options: DialectOptions | None = None):
        self.options = options or DialectOptions()

    def matches(self, record: Mapping[str, Any]) -> bool:
        """Whether ``record`` has this shape (by its keys; values are not validated)."""
        raise NotImplementedError

    def read(self, record: Mapping[str, Any], source: Source | None = None) -> Example:
        """Turn ``record`` into a canonical example."""
        raise NotImplementedError

    def write(self, example: Example) -> Written:
        """Turn ``example`` into a record of this shape."""
        raise NotImplementedError

    # Helpers shared by dialect modules.

    def field_of(self, example: Example, pointer: str) -> str | None:
        """The field of the record as the user wrote it that the canonical ``pointer``
        (``/messages/2/content``) points into (``/output`` for Alpaca), or ``None`` when it
        is the same or there is none (a configured system prompt)."""
        return None

    def with_system_prompt(self, messages: list[Any]) -> list[Any]:
        """Prepend the configured system prompt when the conversation has none."""
        prompt = self.options.system_prompt
        if prompt is None:
            return messages
        first = messages[0] if messages else None
        role = first.get("role") if isinstance(first, Mapping) else getattr(first, "role", None)
        if role == "system":
            return messages
        return [{"role": "system", "content": prompt}, *messages]

    def _location(self, example: Example, pointer: str | None) -> Location:
        src = example.source
        return Location(
            path=src.path if src else "<memory>",
            line=src.line if src else None,
            record=src.index if src else None,
            pointer=pointer,
        )

    def unsupported(self, example: Example, what: str, *, pointer: str | None = None) -> Problem:
        """A problem saying the shape cannot express ``what``: the record is not written."""
        return Problem(
            "unsupported-feature",
            f"the {self.name} format cannot express {what}",
            self._location(example, pointer),
            hint="choose a target that supports it, or remove it from the example",
        )

    def dropped(self, example: Example, what: str, *, pointer: str | None = None) -> Problem:
        """A problem saying ``what`` (a field outside the conversation) was left out; the
        record is written without it."""
        return Problem(
            "dropped-field",
            f"the {self.name} format has no place for {what}; left out",
            self._location(example, pointer),
            hint="move what matters into the conversation, or ignore this rule if it is "
            "bookkeeping",
            fatal=False,
        )

    def check_example(
        self,
        example: Example,
        problems: list[Problem],
        *,
        tools: bool = False,
        functions: bool = False,
        preference: bool = False,
        label: bool = False,
        parallel_tool_calls: bool = False,
    ) -> None:
        """Report example-level fields the shape cannot carry (the flags say what it can)."""
        if not tools and example.tools is not None:
            problems.append(self.unsupported(example, "tool definitions", pointer="/tools"))
        if not functions and example.functions is not None:
            problems.append(self.unsupported(example, "function definitions", pointer="/functions"))
        if not preference and example.is_preference:
            problems.append(self.unsupported(example, "preference pairs (chosen/rejected)"))
        if not label and example.label is not None:
            problems.append(self.unsupported(example, "an example label (KTO)", pointer="/label"))
        if not parallel_tool_calls and example.parallel_tool_calls is not None:
            problems.append(
                self.dropped(example, "'parallel_tool_calls'", pointer="/parallel_tool_calls")
            )

    def carry_fields(
        self,
        example: Example,
        record: dict[str, Any],
        problems: list[Problem],
        *,
        skip: tuple[str, ...] = (),
    ) -> None:
        """Write the example's unknown fields and metadata back as top-level fields when the
        shape keeps them, else report each as left out (O002). ``skip`` names metadata keys
        the writer has already placed."""
        extra = {
            **{k: v for k, v in example.metadata.items() if k not in skip},
            **(example.model_extra or {}),
        }
        for key, value in extra.items():
            if self.keeps_extra_fields and key not in record:
                record[key] = value
            else:
                problems.append(self.dropped(example, f"the field {key!r}", pointer=f"/{key}"))

    def check_message(
        self,
        example: Example,
        field_name: str,
        index: int,
        message: Message,
        allowed: frozenset[str],
        problems: list[Problem],
    ) -> None:
        """Report keys set on ``message`` (besides role and content) that are not ``allowed``;
        unknown keys pass when the shape keeps extra fields."""
        extras = message.model_extra or {}
        for key in (*message.model_fields_set, *extras):
            if key in ("role", "content") or key in allowed:
                continue
            if key in extras and self.keeps_extra_fields:
                continue
            if getattr(message, key, None) is None:
                continue
            problems.append(
                self.unsupported(
                    example, f"{key!r} on messages", pointer=f"/{field_name}/{index}/{key}"
                )
            )

    def text_content(
        self,
        example: Example,
        field_name: str,
        index: int,
        message: Message,
        problems: list[Problem],
    ) -> Any:
        """The message's content as one string, for shapes that hold plain text.

        A list of text parts becomes their text joined by newlines; other parts (images) are
        reported. Content of a wrong type is returned as it is, for rules to report.
        """
        content = message.content
        if isinstance(content, list):
            kinds = sorted(
                {
                    str(p.type) if isinstance(p, ContentPart) else type(p).__name__
                    for p in content
                    if not (isinstance(p, ContentPart) and p.type == "text")
                }
            )
            if kinds:
                problems.append(
                    self.unsupported(
                        example,
                        f"content parts of type {', '.join(kinds)}",
                        pointer=f"/{field_name}/{index}/content",
                    )
                )
            return message.text()
        return content

    def write_blocks(
        self, example: Example, pointer: str, content: Any, problems: list[Problem]
    ) -> list[Any]:
        """Content as ``[{"text": ...}, {"<kind>": ...}]`` blocks (Gemini parts, Bedrock
        content blocks); parts of other kinds are reported."""
        if content is None:
            return []
        if not isinstance(content, list):
            return [{"text": content}]
        blocks: list[Any] = []
        for part in content:
            extra = part.model_extra or {} if isinstance(part, ContentPart) else {}
            if isinstance(part, ContentPart) and part.type == "text":
                blocks.append({"text": part.text})
            elif (
                isinstance(part, ContentPart) and isinstance(part.type, str) and part.type in extra
            ):
                blocks.append({part.type: extra[part.type]})
            else:
                kind = part.type if isinstance(part, ContentPart) else type(part).__name__
                problems.append(
                    self.unsupported(example, f"content parts of type {kind}", pointer=pointer)
                )
        return blocks

    def turn_pairs(
        self, example: Example, problems: list[Problem], messages: Any = None
    ) -> tuple[Message | None, list[tuple[Message, Message]]] | None:
        """Split a conversation (``messages``, by default the example's) into an optional
        leading system message and user/assistant pairs, for shapes built from pairs (Alpaca,
        raw pairs). ``None`` (with an O001 finding) when it is not of that form."""
        messages = example.messages if messages is None else messages
        if not isinstance(messages, list) or not all(isinstance(m, Message) for m in messages):
            problems.append(self.unsupported(example, "messages that are not a list of messages"))
            return None
        system = messages[0] if messages and messages[0].role == "system" else None
        rest = messages[1:] if system is not None else messages
        roles = [m.role for m in rest]
        if not rest or roles != ["user", "assistant"] * (len(rest) // 2):
            problems.append(
                self.unsupported(
                    example,
                    "a conversation other than an optional system message followed by "
                    f"user/assistant pairs (roles: {', '.join(map(str, roles)) or 'none'})",
                    pointer="/messages",
                )
            )
            return None
        return system, [(rest[i], rest[i + 1]) for i in range(0, len(rest), 2)]

    def pair_texts(
        self, example: Example, pair: tuple[Message, Message], offset: int, problems: list[Problem]
    ) -> tuple[Any, Any]:
        """The texts of a user/assistant pair at message index ``offset``, reporting keys and
        content parts plain text cannot hold."""
        texts = []
        for i, message in enumerate(pair, offset):
            self.check_message(example, "messages", i, message, frozenset(), problems)
            texts.append(self.text_content(example, "messages", i, message, problems))
        return texts[0], texts[1]

    def implied_system(
        self, example: Example, system: Message | None, problems: list[Problem]
    ) -> None:
        """For shapes without a system field: accept a system message only when it is the
        configured ``system_prompt`` (reading adds it back), else report it."""
        if system is not None and system.content != self.options.system_prompt:
            problems.append(
                self.unsupported(
                    example,
                    "a system message (set system_prompt to it if every example shares it)",
                    pointer="/messages/0",
                )
            )


def read_blocks(blocks: Any) -> Any:
    """``[{"text": ...}, {"<kind>": ...}]`` blocks as canonical content: one text block is its
    string, several blocks are content parts (``{"type": "<kind>", "<kind>": ...}`` for
    blocks other than text). Anything else is kept as it is, for rules to report."""
    if not isinstance(blocks, list) or not all(isinstance(b, dict) and len(b) == 1 for b in blocks):
        return blocks
    if len(blocks) == 1 and "text" in blocks[0]:
        return blocks[0]["text"]
    parts = []
    for block in blocks:
        ((kind, value),) = block.items()
        parts.append(
            {"type": "text", "text": value} if kind == "text" else {"type": kind, kind: value}
        )
    return parts


def call_id(number: int) -> str:
    """The id given to the ``number``-th tool call of an example whose format has no ids."""
    return f"call_{number}"


class CallIds:
    """Gives an example's tool calls the ids ``call_0``, ``call_1``... in order (for formats
    without ids) and pairs each tool result with the oldest unanswered call (of the same
    function name, when the format names it)."""

    def __init__(self) -> None:
        self.count = 0
        self.pending: list[tuple[str, Any]] = []

    def new(self, name: Any = None) -> str:
        """The id of a new call of ``name``."""
        ident = call_id(self.count)
        self.count += 1
        self.pending.append((ident, name))
        return ident

    def answer(self, name: Any = None) -> str | None:
        """The id of the call a result (of ``name``, if known) answers, or ``None``."""
        for position, (ident, called) in enumerate(self.pending):
            if name is None or called == name:
                del self.pending[position]
                return ident
        return None


def json_text(value: Any) -> str:
    """``value`` as JSON text the way Python writes it (``{"a": 1}``), for tool-call
    arguments and tool results that a format holds as objects."""
    return json.dumps(value, ensure_ascii=False)


def parse_json(text: Any) -> Any:
    """``text`` decoded as JSON, or :data:`NOT_JSON` when it is not a JSON string."""
    if not isinstance(text, str):
        return NOT_JSON
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return NOT_JSON


NOT_JSON: Any = object()


def build_example(data: dict[str, Any], source: Source | None, dialect: str) -> Example:
    """Validate ``data`` into an :class:`Example` leniently.

    The model's unions fall back to ``Any``, so validation only fails on values no union
    accepts (``metadata`` not a mapping); such values are moved into ``metadata`` under
    ``_invalid`` so that nothing is lost and the record still loads.
    """
    data["source"] = source
    data["dialect"] = dialect
    try:
        return Example.model_validate(data)
    except ValidationError:
        invalid = {k: data.pop(k) for k in ("metadata",) if k in data}
        data["metadata"] = {"_invalid": invalid}
        return Example.model_validate(data)


def messages_to_dicts(messages: list[Message] | Any) -> Any:
    """Serialise messages back to plain dicts, keeping only the keys the record had."""
    if not isinstance(messages, list):
        return messages
    return [
        m.model_dump(mode="json", exclude_unset=True) if isinstance(m, Message) else m
        for m in messages
    ]
