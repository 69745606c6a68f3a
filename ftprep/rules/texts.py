"""Text helpers of the quality (Q) and privacy (P) rules: the code spans inside a Markdown
answer, the user turn an answer replies to, the prompt of a conversation, digit counts, and
the markup trigger. The texts themselves (turns, trained answers, tool-call arguments, their
joined forms) are the per-record view's (:class:`ftprep.view.ExampleView`), so that every
rule agrees on what a turn is and points at the same places.
"""

from __future__ import annotations

import re

from ftprep.model import Example, Message
from ftprep.rules.base import Triggers
from ftprep.view import ExampleView, Turn

#: Text with ``<`` or ``[``: template tokens, placeholders.
MARKUP = Triggers("markup", any_byte=b"<[")


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


_PROMPT_ROLES = frozenset({"system", "developer", "user"})


def prompt_text(view: ExampleView) -> str:
    """The system and user texts of the conversation, joined: what the answers reply to."""
    return view.memo(
        prompt_text,
        lambda: "\n".join(
            text
            for field, role, text in zip(*view.columns, strict=True)
            if field == "messages" and role in _PROMPT_ROLES
        ),
    )


_CODE = re.compile(r"^[ \t]*(```|~~~).*?(?:^[ \t]*\1[^\n]*$|\Z)|`[^`\n]+`", re.M | re.S)


def code_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of the Markdown code in ``text``: fenced blocks (an unclosed fence runs
    to the end) and inline code spans."""
    return [m.span() for m in _CODE.finditer(text)]


def inside(position: int, spans: list[tuple[int, int]]) -> bool:
    """Whether ``position`` falls inside one of ``spans``."""
    return any(start <= position < end for start, end in spans)
