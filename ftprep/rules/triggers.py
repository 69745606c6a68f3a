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

The scan runs in C (``_triggers.c``, over tables :func:`build_tables` writes); where that is
not built (see :mod:`ftprep._accel`), :class:`PythonScan` sets the same bits with
ahocorasick-rs automata over the same patterns.
"""

from __future__ import annotations

import functools
import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

import ahocorasick_rs

from ftprep._accel import extension

_triggers = extension("rules._triggers")


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
#: The scan of the triggers registered so far (rebuilt after a registration).
_compiled: dict[str, Callable[[list[str]], int]] = {}


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
    scan = _compiled.get("scan")
    if scan is None:
        scan = _compiled["scan"] = _compile(_TRIGGERS)
    return scan(texts)


def _compile(triggers: list[Trigger]) -> Callable[[list[str]], int]:
    """The scan for ``triggers``: the C one where it is built, else :class:`PythonScan`."""
    if _triggers is None:
        return PythonScan(triggers)
    scan: Callable[[list[str]], int] = functools.partial(
        _triggers.text_facts, _triggers.compile(build_tables(triggers))
    )
    return scan


def _mapped(raw: bytes) -> bytes:
    """Bytes as the automaton reads them: ASCII letters in lower case, ASCII digits as ``0``."""
    return raw.lower().translate(_DIGITS_AS_ZERO)


_DIGITS_AS_ZERO = bytes.maketrans(b"0123456789", b"0" * 10)


#: A pattern of the scan: its mapped bytes, the facts it sets, and for the triggers matched
#: exactly, the bytes that must also occur in the text itself (``None`` for the others).
Pattern = tuple[bytes, int, bytes | None]


def _patterns(triggers: list[Trigger]) -> tuple[list[Pattern], list[int]]:
    """The patterns of ``triggers``, and the facts each byte value sets."""
    folded_bits = sum(t.bit for t in triggers if t.match is Match.FOLDED)
    byte_facts = [0] * 256
    patterns: list[Pattern] = []
    for t in triggers:
        for b in t.any_byte:
            byte_facts[b] |= t.bit
        for text in t.substrings:
            raw = text.encode()
            patterns.append((_mapped(raw), t.bit, raw if t.match is Match.EXACT else None))
    if folded_bits:
        patterns += [(c.encode(), folded_bits, c.encode()) for c in LOWER_TO_ASCII]
    return patterns, byte_facts


class PythonScan:
    """The facts the C scan finds, with two ahocorasick-rs automata: one over the texts'
    UTF-8 bytes for the patterns matched exactly, one over their mapped bytes for the others.
    A callable on the texts of one example, as :func:`text_facts`."""

    def __init__(self, triggers: list[Trigger]):
        patterns, byte_facts = _patterns(triggers)
        self._all = sum(t.bit for t in triggers)
        self._exact = _Automaton([(raw, facts) for _m, facts, raw in patterns if raw is not None])
        self._mapped = _Automaton([(m, facts) for m, facts, raw in patterns if raw is None])
        self._byte_facts = byte_facts
        self._factless_bytes = bytes(b for b in range(256) if not byte_facts[b])
        self._thresholds = [(t.min_digits, t.bit) for t in triggers if t.min_digits]

    def __call__(self, texts: list[str]) -> int:
        facts = digits = 0
        for text in texts:
            try:
                data = text.encode()
            except UnicodeEncodeError:  # lone surrogates: anything may be in the text
                return self._all
            mapped = _mapped(data)
            digits += mapped.count(b"0")
            facts |= self._exact.facts(data) | self._mapped.facts(mapped)
            for b in set(data.translate(None, self._factless_bytes)):
                facts |= self._byte_facts[b]
        for least, bits in self._thresholds:
            if digits < least:
                facts &= ~bits
        return facts


class _Automaton:
    """Which of some byte patterns occur in a text, and the facts they set."""

    def __init__(self, patterns: list[tuple[bytes, int]]):
        merged: dict[bytes, int] = {}
        for pattern, facts in patterns:
            merged[pattern] = merged.get(pattern, 0) | facts
        self._facts = list(merged.values())
        self._automaton = ahocorasick_rs.BytesAhoCorasick(list(merged))

    def facts(self, data: bytes) -> int:
        facts = 0
        found = self._automaton.find_matches_as_indexes(data, overlapping=True)
        for index in {index for index, _start, _end in found}:
            facts |= self._facts[index]
        return facts


def build_tables(triggers: list[Trigger]) -> bytes:
    """The tables the C scan reads (layout in ``_triggers.c``)."""
    everything = sum(t.bit for t in triggers)
    patterns, byte_facts = _patterns(triggers)
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
