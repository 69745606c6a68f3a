"""The canonical model: one shape of chat example that every loader produces and every rule and
writer consumes.

Parsing is deliberately lenient. A field that holds the wrong type keeps the value it had
(typed as ``Any`` in the fallback branch of its union) so that a rule can point at it
(``/messages/2/content is a number``) instead of the loader crashing on it. Unknown keys are
kept as pydantic extras for the same reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "developer", "user", "assistant", "tool", "function"]
KNOWN_ROLES: frozenset[str] = frozenset(
    {"system", "developer", "user", "assistant", "tool", "function"}
)
#: The roles that instruct the model rather than take part in the conversation.
SYSTEM_ROLES: frozenset[str] = frozenset({"system", "developer"})

_LENIENT = ConfigDict(extra="allow", validate_default=False, ser_json_inf_nan="constants")


class Source(BaseModel):
    """Where a record came from: file, 1-based line and 0-based record index in that file
    (and for a record of a JSON array, the 1-based column it starts at)."""

    model_config = ConfigDict(frozen=True)

    path: str
    line: int
    index: int
    column: int | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


class FunctionCall(BaseModel):
    """The ``function`` of a tool call: a name and its arguments (a JSON-encoded string)."""

    model_config = _LENIENT

    name: Any = None
    arguments: Any = None


class ToolCall(BaseModel):
    """One tool call an assistant message makes."""

    model_config = _LENIENT

    id: Any = None
    type: Any = "function"
    function: FunctionCall | Any = None


class ContentPart(BaseModel):
    """One part of a multi-part content list: ``{"type": "text", "text": ...}`` or
    ``{"type": "image_url", "image_url": {"url": ..., "detail": ...}}``."""

    model_config = _LENIENT

    type: Any = None
    text: Any = None
    image_url: Any = None


class Message(BaseModel):
    """One chat turn.

    ``content`` is text, a list of parts, or ``None`` (an assistant turn that only calls tools).
    ``weight`` (0 or 1) marks an assistant turn as trained on or not (OpenAI chat format).
    """

    model_config = _LENIENT

    role: Any = None
    content: str | list[ContentPart] | Any | None = None
    name: Any = None
    tool_calls: list[ToolCall] | Any | None = None
    tool_call_id: Any = None
    function_call: Any = None
    weight: Any = None
    refusal: Any = None

    def text(self) -> str:
        """The message's text: the content string, or its text parts joined by newlines.

        Non-text parts and values of the wrong type contribute nothing.
        """
        content = self.content
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return "\n".join(
                p.text for p in content if isinstance(p, ContentPart) and isinstance(p.text, str)
            )
        return ""

    def has(self, key: str) -> bool:
        """Whether the record set ``key`` explicitly (``content: null`` counts, absent does not)."""
        return key in self.model_fields_set or key in (self.model_extra or {})


class Example(BaseModel):
    """One training example in canonical form.

    For supervised chat data ``messages`` holds the whole conversation. For preference data
    ``messages`` holds the prompt turns and ``chosen`` / ``rejected`` the competing assistant
    continuations. KTO-style unpaired preference data sets ``label`` to ``true`` or ``false``;
    a ``label`` of another type is kept as it was, an ordinary column that no step reads as a
    KTO label (a structure rule reports it).
    """

    model_config = _LENIENT

    messages: list[Message] | Any = Field(default_factory=list)
    tools: list[Any] | Any | None = None
    parallel_tool_calls: Any = None
    functions: Any = None
    chosen: list[Message] | Any | None = None
    rejected: list[Message] | Any | None = None
    label: Any = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    source: Source | None = None
    dialect: str = ""

    @property
    def is_preference(self) -> bool:
        """True for paired preference data (``chosen`` and ``rejected``)."""
        return self.chosen is not None or self.rejected is not None

    def iter_messages(self) -> Iterator[tuple[str, int, Message]]:
        """Yield ``(field, index, message)`` for every well-formed message of the example.

        ``field`` is ``messages``, ``chosen`` or ``rejected``; entries that are not messages
        (a string where a message should be) are skipped: structure rules report them.
        """
        for field_name in ("messages", "chosen", "rejected"):
            value = getattr(self, field_name)
            if isinstance(value, list):
                for i, message in enumerate(value):
                    if isinstance(message, Message):
                        yield field_name, i, message

    def conversation(self) -> list[Message]:
        """The messages as a list, empty when ``messages`` is not a list of messages."""
        value = self.messages
        if not isinstance(value, list):
            return []
        return [m for m in value if isinstance(m, Message)]
