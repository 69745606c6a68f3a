"""Where the text of an example is, for rules that read it: every turn with its JSON pointer,
the assistant turns a model is trained on, and the code spans inside a Markdown answer.

Shared by the quality (Q) and privacy (P) rules so that they agree on what a turn is and
point at the same places.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ftprep.model import Example, Message
from ftprep.rules.structure import shape_of


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
    found = []
    for field_name, index, message in shape_of(example).entries:
        text = message.text()
        if text:
            role = message.role if isinstance(message.role, str) else ""
            found.append(Turn(field_name, index, message, text, role))
    return tuple(found)


@per_example
def trained_answers(example: Example) -> tuple[Turn, ...]:
    """The assistant turns a model learns to produce.

    Skipped: turns with ``weight: 0`` (not trained on), ``rejected`` continuations of
    preference pairs and every turn of a KTO example labelled undesirable (``label: false``):
    a bad answer there is the point of the example.
    """
    if example.label is False:
        return ()
    return tuple(
        turn
        for turn in turns(example)
        if turn.role == "assistant" and turn.field != "rejected" and turn.message.weight != 0
    )


@per_example
def lowered_answers(example: Example) -> tuple[tuple[str, ...], str]:
    """The :func:`trained_answers`' texts in lower case, and all of them joined (a cheap
    first test: a substring absent there is absent from every answer)."""
    lowered = [turn.text.lower() for turn in trained_answers(example)]
    return tuple(lowered), "\n".join(lowered)


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
