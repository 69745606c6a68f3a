"""The prefilter: which record rules can find anything in an example, decided from its
texts in one compiled pass before any rule runs.

Most text rules look for something rare (a secret's prefix, a refusal phrase, ``{{``, a
phone number's shape) and can say nothing about an example whose texts lack a short
substring. A rule declares such substrings as its
:attr:`~ftprep.rules.base.RecordRule.triggers` (and the ones it only reads, as ``hints``);
:class:`Prefilter` compiles those of the enabled rules into one automaton, scans each
example's texts once, and the engine runs a rule only where its triggers hit. The rule reads
its hints through :attr:`~ftprep.rules.context.RecordContext.hits`. No rule sees a bit.

A trigger's substrings are matched in one of three ways:

- ``exact``: byte for byte;
- ``folded``: as in ``text.lower()`` (ASCII triggers, or characters that have no case);
- ``shapes`` (digits and punctuation): with every ASCII digit written as ``0`` (``-0000`` is
  a dash and four digits);

or a set of single ``bytes`` of the UTF-8 text, and optionally a least number of ASCII digits
in all of the example's texts together. Hits only rule out: a trigger may hit where the rule
then finds nothing (text that cannot be encoded as UTF-8 hits every trigger), never the
reverse.

The scan runs in C (``_triggers.c``, over tables :func:`build_tables` writes); where that is
not built (see :mod:`ftprep._accel`), :class:`PythonScan` sets the same bits with
ahocorasick-rs automata over the same patterns.
"""

from __future__ import annotations

import functools
import struct
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

import ahocorasick_rs

from ftprep._accel import extension
from ftprep.rules.base import RecordRule, Triggers
from ftprep.view import Hits, Traits

_triggers = extension("validate._triggers")


class Match(Enum):
    """How a trigger's substrings are compared with the text."""

    EXACT = "exact"
    FOLDED = "folded"
    SHAPE = "shape"


#: The non-ASCII characters whose lower case holds an ASCII letter (U+0130 lowers to ``i``
#: and a combining dot, the Kelvin sign to ``k``); the scan compares ASCII letters only, so
#: their presence sets every folded trigger.
LOWER_TO_ASCII = ("\N{LATIN CAPITAL LETTER I WITH DOT ABOVE}", "\N{KELVIN SIGN}")
#: The distinct triggers of the enabled rules fit in 31 bits; the last bit marks, in the
#: tables, automaton states where exact triggers end and transitions into states where any
#: trigger ends.
MAX_FACTS = 31
_MARK = 1 << MAX_FACTS


@dataclass(frozen=True, slots=True)
class Trigger:
    """One declared trigger as the scan compiles it: its bit, and what sets it."""

    name: str
    bit: int
    substrings: tuple[str, ...]
    match: Match
    any_byte: bytes
    min_digits: int

    @classmethod
    def of(cls, declared: Triggers, bit: int) -> Trigger:
        """The compiled form of ``declared``, setting ``bit``."""
        given = (
            (Match.EXACT, declared.exact),
            (Match.FOLDED, declared.folded),
            (Match.SHAPE, declared.shapes),
        )
        match, substrings = next(((m, s) for m, s in given if s), (Match.EXACT, ()))
        return cls(declared.name, bit, substrings, match, declared.any_byte, declared.min_digits)


class Prefilter:
    """The compiled triggers of some record rules: scans an example's texts once and says
    which of the rules can find anything in it."""

    def __init__(self, rules: Sequence[RecordRule]):
        declared: dict[Triggers, int] = {}
        self._gate: dict[int, Triggers | None] = {}
        for rule in rules:
            gate = rule.active_triggers()
            self._gate[id(rule)] = gate
            for triggers in (gate, *rule.hints):
                if triggers is not None and triggers not in declared:
                    if len(declared) >= MAX_FACTS:
                        raise ValueError(f"the enabled rules declare over {MAX_FACTS} triggers")
                    declared[triggers] = 1 << len(declared)
        self._bits = declared
        self._compiled = frozenset(declared)
        self.triggers = [Trigger.of(t, bit) for t, bit in declared.items()]
        """The distinct triggers of the rules, compiled, one bit each."""
        self._scan = _compile(self.triggers) if self.triggers else None
        self._hits: dict[int, Hits] = {}

    def scan(self, texts: list[str]) -> int:
        """The bits of the triggers that hit in ``texts`` (the texts of one example)."""
        return 0 if self._scan is None else self._scan(texts)

    def hits(self, bits: int) -> Hits:
        """What :meth:`scan`'s ``bits`` say, as the rules read it."""
        hits = self._hits.get(bits)
        if hits is None:
            found = frozenset(t for t, bit in self._bits.items() if bits & bit)
            hits = self._hits[bits] = Hits(found, self._compiled)
        return hits

    def may_find(self, rule: RecordRule, traits: Traits, bits: int) -> bool:
        """Whether ``rule`` can find anything in an example of ``traits`` whose texts hit
        ``bits``: it declares no triggers, one hits, or the scan cannot judge (content that
        is not plain text, tool-call arguments or message names the rule reads and the scan
        does not)."""
        gate = self._gate[id(rule)]
        if gate is None or traits.odd_content:
            return True
        if gate.tool_arguments and (traits.tool_calls or "name" in traits.keys):
            return True
        return bool(bits & self._bits[gate])


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
    A callable on the texts of one example, as :meth:`Prefilter.scan`."""

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


@dataclass(slots=True)
class _Trie:
    """The Aho-Corasick automaton of the mapped patterns over byte classes: a full
    transition table, the facts set in each state, and the exact patterns to verify there."""

    n_classes: int
    next_state: list[int]
    out: list[int]
    exact_here: list[list[int]]
    exact: list[tuple[bytes, int]]


def _trie(patterns: list[Pattern], class_of_mapped: dict[int, int]) -> _Trie:
    """The trie of ``patterns``, then its failure links and full transition table, breadth
    first."""
    n_classes = len(class_of_mapped) + 1
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
    next_state = [0] * (len(children) * n_classes)
    fail = [0] * len(children)
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
    return _Trie(n_classes, next_state, out, exact_here, exact)


def build_tables(triggers: list[Trigger]) -> bytes:
    """The tables the C scan reads (layout in ``_triggers.c``)."""
    everything = sum(t.bit for t in triggers)
    patterns, byte_facts = _patterns(triggers)
    alphabet = sorted({b for mapped, _f, _e in patterns for b in mapped})
    class_of_mapped = {b: i + 1 for i, b in enumerate(alphabet)}
    class_of = bytes(class_of_mapped.get(_mapped(bytes([b]))[0], 0) for b in range(256))
    automaton = _trie(patterns, class_of_mapped)
    n_classes, out, exact = automaton.n_classes, automaton.out, automaton.exact
    n_states = len(out)

    verify_start = [0]
    verify: list[int] = []
    for state in range(n_states):
        verify += automaton.exact_here[state]
        verify_start.append(len(verify))
        if automaton.exact_here[state]:
            out[state] |= _MARK
    exact_start = [0]
    for raw, _facts in exact:
        exact_start.append(exact_start[-1] + len(raw))
    rows = [target * n_classes | (_MARK if out[target] else 0) for target in automaton.next_state]
    thresholds = [(t.min_digits, t.bit) for t in triggers if t.min_digits]
    words = [
        n_states,
        n_classes,
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
