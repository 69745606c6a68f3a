"""Whose voice a phrase in an answer is in: the assistant's own, or someone it quotes, plays
or was asked about. The phrase rules (AI disclaimers, refusals) report only the assistant's
own voice; a refusal in a story, a script line, a quotation or an answer to "can you
browse the web?" is content, not a defect.

Every pattern here is linear in the text (no nested quantifiers; bounded repeats).
"""

from __future__ import annotations

import re

from ftprep.model import Example, Message
from ftprep.rules.texts import previous_user_text
from ftprep.view import Turn

_QUOTED = re.compile(
    r'"[^"\n]{1,400}"'
    r"|\N{LEFT DOUBLE QUOTATION MARK}[^\N{RIGHT DOUBLE QUOTATION MARK}\n]{1,400}"
    r"\N{RIGHT DOUBLE QUOTATION MARK}"
    r"|^[ \t]*>[^\n]*",
    re.M,
)
_SPEAKER = re.compile(r"^[ \t]*([A-Z][\w.' -]{0,24}):[ \t]", re.M)
"""A script or transcript line: ``W: ...``, ``Person A: ...``, ``HAMLET: ...``."""
_NOT_SPEAKERS = frozenset(
    [
        "answer",
        "response",
        "reply",
        "output",
        "result",
        "solution",
        "explanation",
        "note",
        "assistant",
        "ai",
        "bot",
        "chatbot",
        "system",
        "a",
        "q",
    ]
)
"""Labels that introduce the assistant's own answer, not a character's line."""
_CREATIVE = re.compile(
    r"\b(?:write|compose|create|tell|continue|finish|draft|generate|make up|imagine)\b"
    r"[^.?!\n]{0,40}?\b(?:story|stories|poem|poems|poetry|lyrics|song|songs|verses?"
    r"|dialogues?|dialogs?|script|screenplay|scene|fiction|novel|fable|tale)\b"
    r"|\brole-?play\b|\bpretend (?:you are|to be)\b"
    r"|\bwhat would (?:the|a) (?:listener|speaker|character|narrator) say\b",
    re.I,
)
"""The user asked for fiction, lyrics or a character's line: its refusals are content."""
_ABOUT_YOU = re.compile(
    r"\b(?:are|can|could|do|will|would) you (?:be )?(?:able to|capable of|browse|access"
    r"|remember|feel|have (?:feelings|emotions|opinions|a body|access|memory)|see|hear"
    r"|an ai|a (?:robot|bot|machine|human|person|real person)|human|conscious|alive|sentient"
    r"|real)\b"
    r"|\bwhat (?:can't|cannot|can) you do\b|\bwho (?:are|made|created|built|trained) you\b"
    r"|\byour (?:limits|limitations|capabilities|knowledge cut-?off|training data)\b",
    re.I,
)
"""The user asked about the assistant itself: a statement of its limits is the answer."""


def _line_start(text: str, position: int) -> int:
    return text.rfind("\n", 0, position) + 1


def quoted(text: str, position: int) -> bool:
    """Whether ``position`` falls inside quoted text: a double-quoted span on one line, or a
    Markdown block quote."""
    return any(m.start() <= position < m.end() for m in _QUOTED.finditer(text))


def _speakers(text: str) -> int:
    return sum(m.group(1).lower() not in _NOT_SPEAKERS for m in _SPEAKER.finditer(text))


def spoken_by_a_character(text: str, prompt: str, position: int) -> bool:
    """Whether the line holding ``position`` is a line of a script or transcript
    (``W: I'm afraid I can't.``): a speaker's label opens it, and the answer and its prompt
    hold at least two such lines."""
    line = _SPEAKER.match(text, _line_start(text, position))
    if line is None or line.group(1).lower() in _NOT_SPEAKERS:
        return False
    return _speakers(text) + _speakers(prompt) >= 2


def in_own_voice(example: Example, turn: Turn, position: int) -> bool:
    """Whether the phrase at ``position`` of ``turn`` is the assistant speaking for itself:
    not quoted, not a character's line, not in a story, poem, lyrics or dialogue the user
    asked for, and not an answer to a question about the assistant itself."""
    text = turn.text
    prompt = previous_user_text(example, turn) or ""
    if quoted(text, position) or spoken_by_a_character(text, prompt, position):
        return False
    return not (_CREATIVE.search(prompt) or _ABOUT_YOU.search(prompt))


def other_answers(example: Example, turn: Turn) -> list[str]:
    """The texts of the assistant answers on the other side of ``turn``'s preference pair
    (the ``rejected`` answers of a ``chosen`` one); empty outside a pair."""
    if turn.field != "chosen" or not isinstance(example.rejected, list):
        return []
    return [
        m.text()
        for m in example.rejected
        if isinstance(m, Message) and m.role == "assistant" and m.text()
    ]
