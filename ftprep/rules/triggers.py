"""Trigger facts: which of the record rules' trigger substrings occur anywhere in an example,
found in one compiled pass over its texts before any rule runs.

Most text rules look for something rare (a secret's prefix, a refusal phrase, ``{{``, a
phone number's shape) and can say nothing about an example whose texts lack a short
substring. A rule declares such a *trigger* here (:func:`register_fact`) and gets a bit; the
bits present in an example are its :attr:`~ftprep.rules.structure.Traits.text_facts`, and the
rule's ``relevant`` lets the engine skip it for every example without them, without calling
it.

A trigger is a set of substrings, matched in one of three ways:

- ``exact``: byte for byte;
- ``folded``: as in ``text.lower()`` (ASCII triggers, or characters that have no case);
- ``shapes`` (digits and punctuation): with every ASCII digit written as ``0`` (``-0000`` is
  a dash and four digits);

or a set of single ``bytes`` of the UTF-8 text, and optionally a least number of ASCII digits
in all of the example's texts together. Facts only rule out: a fact may be set where the rule
then finds nothing (text that cannot be encoded as UTF-8 sets every fact), never the reverse.
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass
from enum import Enum

from ftprep.rules import _triggers


class Match(Enum):
    """How a trigger's substrings are compared with the text."""

    EXACT = "exact"
    FOLDED = "folded"
    SHAPE = "shape"


#: The non-ASCII characters whose lower case holds an ASCII letter (U+0130 lowers to ``i``
#: and a combining dot, the Kelvin sign to ``k``); the scan compares ASCII letters only, so
#: their presence sets every folded fact.
LOWER_TO_ASCII = ("\N{LATIN CAPITAL LETTER I WITH DOT ABOVE}", "\N{KELVIN SIGN}")
#: The facts fit in 31 bits; the last bit marks, in the tables, automaton states where exact
#: triggers end and transitions into states where any trigger ends.
MAX_FACTS = 31
_MARK = 1 << MAX_FACTS


@dataclass(frozen=True, slots=True)
class Trigger:
    """One fact: its bit, and what sets it."""

    name: str
    bit: int
    substrings: tuple[str, ...]
    match: Match
    any_byte: bytes
    min_digits: int


_TRIGGERS: list[Trigger] = []
#: The compiled tables of the triggers registered so far (rebuilt after a registration).
_compiled: dict[str, _triggers.Tables] = {}


def register_fact(
    name: str,
    *,
    exact: tuple[str, ...] = (),
    folded: tuple[str, ...] = (),
    shapes: tuple[str, ...] = (),
    any_byte: bytes = b"",
    min_digits: int = 0,
) -> int:
    """Register a fact (at import time) and return its bit.

    The fact is set in an example where one of the substrings (matched as the keyword
    says: only one of ``exact``, ``folded`` and ``shapes``) or one of the bytes ``any_byte``
    occurs in some text, and the texts hold at least ``min_digits`` ASCII digits.
    """
    given = ((Match.EXACT, exact), (Match.FOLDED, folded), (Match.SHAPE, shapes))
    kinds = [(match, substrings) for match, substrings in given if substrings]
    if len(kinds) > 1 or len(_TRIGGERS) >= MAX_FACTS:
        raise ValueError(f"trigger {name!r}: one kind of substring, at most {MAX_FACTS} facts")
    match, substrings = kinds[0] if kinds else (Match.EXACT, ())
    if not 0 <= min_digits < 1 << 32:
        raise ValueError(f"trigger {name!r}: min_digits out of range")
    for text in substrings:
        if not text or not text.isprintable() or any("\ud800" <= c <= "\udfff" for c in text):
            raise ValueError(f"trigger {name!r}: empty, unprintable or unencodable substring")
        if match is Match.FOLDED and any(
            c.isdigit() or c.lower() != c or (not c.isascii() and c.upper() != c) for c in text
        ):
            raise ValueError(
                f"trigger {name!r}: folded substrings are lower case ASCII or caseless, no digits"
            )
        if match is Match.SHAPE and any(c.isascii() and c.isalpha() for c in text):
            raise ValueError(f"trigger {name!r}: shapes are digits and punctuation")
    bit = 1 << len(_TRIGGERS)
    _TRIGGERS.append(Trigger(name, bit, tuple(substrings), match, any_byte, min_digits))
    _compiled.clear()
    return bit


def all_facts() -> int:
    """Every registered bit: what an example whose texts cannot be scanned gets."""
    return sum(t.bit for t in _TRIGGERS)


def text_facts(texts: list[str]) -> int:
    """The facts whose triggers occur in ``texts`` (the texts of one example)."""
    tables = _compiled.get("tables")
    if tables is None:
        tables = _compiled["tables"] = _triggers.compile(build_tables(_TRIGGERS))
    facts: int = _triggers.text_facts(tables, texts)
    return facts


def _mapped(raw: bytes) -> bytes:
    """Bytes as the automaton reads them: ASCII letters in lower case, ASCII digits as ``0``."""
    return raw.lower().translate(_DIGITS_AS_ZERO)


_DIGITS_AS_ZERO = bytes.maketrans(b"0123456789", b"0" * 10)


def build_tables(triggers: list[Trigger]) -> bytes:
    """The tables the C scan reads (layout in ``_triggers.c``)."""
    everything = sum(t.bit for t in triggers)
    folded_bits = sum(t.bit for t in triggers if t.match is Match.FOLDED)
    byte_facts = [0] * 256
    # (mapped bytes, facts set where they end, exact bytes to check or None)
    patterns: list[tuple[bytes, int, bytes | None]] = []
    for t in triggers:
        for b in t.any_byte:
            byte_facts[b] |= t.bit
        for text in t.substrings:
            raw = text.encode()
            patterns.append((_mapped(raw), t.bit, raw if t.match is Match.EXACT else None))
    if folded_bits:
        patterns += [(c.encode(), folded_bits, c.encode()) for c in LOWER_TO_ASCII]
    alphabet = sorted({b for mapped, _f, _e in patterns for b in mapped})
    class_of_mapped = {b: i + 1 for i, b in enumerate(alphabet)}
    class_of = bytes(class_of_mapped.get(_mapped(bytes([b]))[0], 0) for b in range(256))
    n_classes = len(alphabet) + 1

    # The trie, then failure links and the full transition table, breadth first.
    children: list[dict[int, int]] = [{}]
    out = [0]
    exact_here: list[list[int]] = [[]]
    exact: list[tuple[bytes, int]] = []
    for mapped, facts, exact_bytes in patterns:
        state = 0
        for b in mapped:
            c = class_of_mapped[b]
            if c not in children[state]:
                children[state][c] = len(children)
                children.append({})
                out.append(0)
                exact_here.append([])
            state = children[state][c]
        if exact_bytes is None:
            out[state] |= facts
        else:
            exact_here[state].append(len(exact))
            exact.append((exact_bytes, facts))
    n_states = len(children)
    next_state = [0] * (n_states * n_classes)
    fail = [0] * n_states
    queue = deque([0])
    while queue:
        state = queue.popleft()
        row = state * n_classes
        for c in range(n_classes):
            child = children[state].get(c)
            fallback = next_state[fail[state] * n_classes + c] if state else 0
            if child is None:
                next_state[row + c] = fallback
                continue
            next_state[row + c] = child
            fail[child] = fallback
            out[child] |= out[fallback]
            exact_here[child] = exact_here[child] + exact_here[fallback]
            queue.append(child)

    verify_start = [0]
    verify: list[int] = []
    for state in range(n_states):
        verify += exact_here[state]
        verify_start.append(len(verify))
        if exact_here[state]:
            out[state] |= _MARK
    exact_start = [0]
    for raw, _facts in exact:
        exact_start.append(exact_start[-1] + len(raw))
    rows = [target * n_classes | (_MARK if out[target] else 0) for target in next_state]
    thresholds = [(t.min_digits, t.bit) for t in triggers if t.min_digits]
    words = [
        n_states,
        len(class_of_mapped) + 1,
        len(exact),
        len(thresholds),
        everything,
        *struct.unpack("=64I", class_of),
        *byte_facts,
        *out,
        *verify_start,
        *verify,
        *exact_start,
        *(facts for _raw, facts in exact),
        *(n for pair in thresholds for n in pair),
    ]
    return (
        struct.pack(f"={len(words)}I", *words)
        + struct.pack(f"={len(rows)}I", *rows)
        + b"".join(raw for raw, _facts in exact)
    )
