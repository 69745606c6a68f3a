"""Where the text of an example is, for rules that read it: every turn with its JSON pointer,
the assistant turns a model is trained on, every text a secret can hide in (tool-call
arguments too), all of them joined for example-wide pre-checks, and the code spans inside a
Markdown answer.

Shared by the quality (Q) and privacy (P) rules so that they agree on what a turn is and
point at the same places.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

from ftprep.model import Example, FunctionCall, Message, ToolCall
from ftprep.rules.base import Triggers
from ftprep.rules.structure import shape_of

#: Text with ``<`` or ``[``: template tokens, placeholders.
MARKUP = Triggers("markup", any_byte=b"<[")


@dataclass(slots=True)
class Turn:
    """The text of one message, and where it sits in the example. (Not frozen: a frozen
    dataclass costs several times more to build, and one is built per turn checked.)"""

    field: str
    """``messages``, ``chosen`` or ``rejected``."""
    index: int
    message: Message
    text: str
    role: str
    """The message's role, or ``""`` when it is not a string."""

    @property
    def pointer(self) -> str:
        """JSON pointer to the message's content (``/messages/2/content``)."""
        return f"/{self.field}/{self.index}/content"


T = TypeVar("T")


def per_example(compute: Callable[[Example], T]) -> Callable[[Example], T]:
    """Remember ``compute``'s result for the last example it saw.

    The record pass runs every rule on one example before the next, so rules that read the
    same texts share one extraction. The cache is keyed on the identity of the example and
    of its ``messages`` list, and holds only the last example.
    """
    last: list[Any] = [None, None, None]

    def cached(example: Example) -> T:
        if last[0] is example and last[1] is example.messages:
            result: T = last[2]
            return result
        result = compute(example)
        last[:] = [example, example.messages, result]
        return result

    cached.__doc__ = compute.__doc__
    return cached


@per_example
def turns(example: Example) -> tuple[Turn, ...]:
    """Every message of ``example`` that has text, in order (messages, chosen, rejected)."""
    shape = shape_of(example)
    return tuple(
        Turn(field_name, index, message, text, role)
        for (field_name, index, message), role, text in zip(
            shape.entries, shape.role_names, shape.texts, strict=True
        )
        if text
    )


@per_example
def trained_answers(example: Example) -> tuple[Turn, ...]:
    """The assistant turns a model learns to produce.

    Skipped: turns with ``weight: 0`` (not trained on), ``rejected`` continuations of
    preference pairs and every turn of a KTO example labelled undesirable (``label: false``):
    a bad answer there is the point of the example.
    """
    if example.label is False:
        return ()
    shape = shape_of(example)
    return tuple(
        Turn(field_name, index, message, text, "assistant")
        for (field_name, index, message), role, text in zip(
            shape.entries, shape.role_names, shape.texts, strict=True
        )
        if role == "assistant" and text and field_name != "rejected" and message.weight != 0
    )


@per_example
def lowered_answers(example: Example) -> tuple[tuple[str, ...], str]:
    """The :func:`trained_answers`' texts in lower case, and all of them joined (a cheap
    first test: a substring absent there is absent from every answer)."""
    lowered = [turn.text.lower() for turn in trained_answers(example)]
    return tuple(lowered), "\n".join(lowered)


class ScannedText(NamedTuple):
    """A piece of text of an example, and where it is."""

    message_index: int
    pointer: str
    role: str
    text: str


@per_example
def scanned_texts(example: Example) -> tuple[ScannedText, ...]:
    """Every text of ``example`` a secret can hide in: message contents and the argument
    strings of tool calls and legacy function calls."""
    found: list[ScannedText] = []
    for field_name, index, message in shape_of(example).entries:
        role = message.role if isinstance(message.role, str) else "message"
        base = f"/{field_name}/{index}"
        text = message.text()
        if text:
            found.append(ScannedText(index, f"{base}/content", role, text))
        calls = message.tool_calls
        if isinstance(calls, list):
            for j, call in enumerate(calls):
                if isinstance(call, ToolCall) and isinstance(call.function, FunctionCall):
                    arguments = call.function.arguments
                    if isinstance(arguments, str) and arguments:
                        pointer = f"{base}/tool_calls/{j}/function/arguments"
                        found.append(ScannedText(index, pointer, role, arguments))
        legacy = message.function_call
        if isinstance(legacy, dict) and isinstance(legacy.get("arguments"), str):
            pointer = f"{base}/function_call/arguments"
            found.append(ScannedText(index, pointer, role, legacy["arguments"]))
    return tuple(found)


@per_example
def joined_texts(example: Example) -> str:
    """Every :func:`scanned_texts` text joined by newlines (so every turn's text too): a
    substring absent there is absent from each of them, so a rule tests its triggers once
    per example."""
    shape = shape_of(example)
    if not shape.tool_calls:
        # No tool or function calls: the scanned texts are the messages' non-empty texts,
        # and the per-text records (with their pointers) are built only when a rule needs them.
        return "\n".join([text for _f, _i, m in shape.entries if (text := m.text())])
    return "\n".join([item.text for item in scanned_texts(example)])


_DIGITS = b"0123456789"


def digit_count(text: str) -> int:
    """How many ASCII digits ``text`` holds (a C-level scan, no per-character Python)."""
    raw = text.encode("utf-8", "surrogatepass")
    return len(raw) - len(raw.translate(None, _DIGITS))


_ZERO_DIGITS = bytes.maketrans(_DIGITS, b"0" * len(_DIGITS))


@per_example
def digit_shapes(example: Example) -> bytes:
    """The example's :func:`joined_texts` as UTF-8 with every ASCII digit replaced by ``0``:
    a number's shape (``0000-0000``) is then found by a substring test, without a regex
    trying every digit of digit-heavy text."""
    return joined_texts(example).encode("utf-8", "surrogatepass").translate(_ZERO_DIGITS)


@per_example
def example_digits(example: Example) -> int:
    """ASCII digits in all of the example's texts: a bound on any one text's digits."""
    return digit_shapes(example).count(b"0")


def previous_user_text(example: Example, turn: Turn) -> str | None:
    """The text of the user turn right before ``turn`` in its list, if that turn is a user's.

    For ``chosen`` answers the prompt is the last message of ``messages``.
    """
    if turn.field == "messages":
        messages, before = example.messages, turn.index - 1
    else:
        messages = example.messages
        before = len(messages) - 1 if isinstance(messages, list) else -1
    if not isinstance(messages, list) or before < 0 or before >= len(messages):
        return None
    previous = messages[before]
    if isinstance(previous, Message) and previous.role == "user":
        return previous.text()
    return None


_CODE = re.compile(r"^[ \t]*(```|~~~).*?(?:^[ \t]*\1[^\n]*$|\Z)|`[^`\n]+`", re.M | re.S)


def code_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of the Markdown code in ``text``: fenced blocks (an unclosed fence runs
    to the end) and inline code spans."""
    return [m.span() for m in _CODE.finditer(text)]


def inside(position: int, spans: list[tuple[int, int]]) -> bool:
    """Whether ``position`` falls inside one of ``spans``."""
    return any(start <= position < end for start, end in spans)
