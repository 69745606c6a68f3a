"""Exact token counts of ASCII text for a byte-level ``tokenizer.json``, without
``tokenizers``' whole pipeline.

``tokenizers`` spends most of an encoding around its model: added-token search, an Oniguruma
pre-tokenizer, byte-to-character mapping and an ``Encoding`` with a string per token. For
ASCII text each of those steps is simple to follow exactly:

- added tokens are cut out leftmost-longest, those matched before normalizing first, as
  ``tokenizers`` does;
- the normalizers a byte-level tokenizer uses (NFC, NFKC...) leave ASCII as it is;
- the pre-tokenizer's regular expressions (``Split``, ``Digits``, ``ByteLevel``'s own), with
  their Unicode classes (``\\p{L}``, ``\\s``...) replaced by their ASCII members, are plain
  :mod:`re` patterns, each splitting the pieces of the one before; the text between matches
  is a piece too (``Isolated``) or dropped (``Removed`` with ``invert``);
- each piece is counted by the tokenizer's own model (``Model.tokenize``), once, in a bounded
  cache.

So a piece's count is the model's, whatever its merges. Texts with other characters, and
tokenizers built from other parts, are encoded by ``tokenizers`` itself. The translation is
meant to be exact by construction; as a guard, before it is used, its pieces are compared
with the tokenizer's own pre-tokenizer on a probe text (every ASCII character in many
contexts, every pair of them), and a difference there sends everything to ``tokenizers``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

#: The regular expression of ``ByteLevel(use_regex=True)`` (GPT-2's pre-tokenizer).
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

#: How many distinct pieces the cache keeps before it starts again, and the longest piece it
#: keeps (longer ones, base64 blobs and the like, seldom repeat): at most ~40 MB.
CACHE_LIMIT = 1 << 18
CACHED_PIECE = 64

_ASCII = [chr(c) for c in range(128)]
#: ASCII's Unicode whitespace (``White_Space``; not the separators 0x1c-0x1f).
_SPACE = frozenset("\t\n\x0b\x0c\r ")
_ESCAPED_SETS: dict[str, frozenset[str]] = {
    "s": _SPACE,
    "d": frozenset("0123456789"),
    "w": frozenset(c for c in _ASCII if c.isalnum() or c == "_"),
}
_LITERAL_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\x0c", "v": "\x0b", "e": "\x1b"}
#: Normalizers that leave ASCII text unchanged.
_ASCII_NEUTRAL = frozenset({"NFC", "NFD", "NFKC", "NFKD"})

#: The byte-level alphabet for ASCII: printable characters stand for themselves, the others
#: (space, controls, DEL) for the characters 256 upwards, in byte order.
_BYTE_CHARS = str.maketrans(
    {c: chr(256 + n) for n, c in enumerate([*range(0x21), 0x7F])}
    | {c: chr(c) for c in range(0x21, 0x7F)}
)


class UnsupportedPattern(ValueError):
    """The regular expression uses syntax this module does not translate."""


#: Unicode's general categories and their groups (``\\p{L}``, ``\\p{Lu}``...).
_CATEGORIES = frozenset(
    group + sub
    for group, subs in {
        "L": "ultmo",
        "M": "nce",
        "N": "dlo",
        "P": "cdseifo",
        "S": "mcko",
        "Z": "slp",
        "C": "cfson",
    }.items()
    for sub in ("", *subs)
)


def _category_members(name: str) -> frozenset[str]:
    if name not in _CATEGORIES:  # scripts, blocks, binary properties: not translated
        raise UnsupportedPattern(f"property \\p{{{name}}}")
    return frozenset(c for c in _ASCII if unicodedata.category(c).startswith(name))


def _escape(pattern: str, at: int) -> tuple[frozenset[str] | str, int]:
    """The escape at ``pattern[at]`` (just after the backslash): a set of ASCII characters
    or a literal character, and where the pattern goes on."""
    char = pattern[at]
    if char in "pP":
        end = pattern.find("}", at)
        if pattern[at + 1 : at + 2] != "{" or end < 0:
            raise UnsupportedPattern(f"\\{char} without braces")
        members = _category_members(pattern[at + 2 : end])
        return (members if char == "p" else frozenset(_ASCII) - members), end + 1
    if char.lower() in _ESCAPED_SETS:
        members = _ESCAPED_SETS[char.lower()]
        return (members if char.islower() else frozenset(_ASCII) - members), at + 1
    if char in _LITERAL_ESCAPES:
        return _LITERAL_ESCAPES[char], at + 1
    if char == "x" and re.fullmatch(r"[0-7][0-9A-Fa-f]", pattern[at + 1 : at + 3]):
        return chr(int(pattern[at + 1 : at + 3], 16)), at + 3  # above 7f it is a byte
    if char.isascii() and not char.isalnum():
        return char, at + 1
    raise UnsupportedPattern(f"escape \\{char}")


def _bracket(pattern: str, at: int, folding: bool) -> tuple[frozenset[str], int]:
    """The ASCII members of the class that starts at ``pattern[at]`` (``[``); under
    ``(?i`` (``folding``) only of literal characters and ranges."""
    at += 1
    negated = pattern[at : at + 1] == "^"
    at += negated
    members: set[str] = set()
    first = True
    while True:
        if at >= len(pattern):
            raise UnsupportedPattern("unclosed [")
        char = pattern[at]
        if char == "]" and not first:
            break
        if char == "[" or pattern.startswith("&&", at) or (char == "]" and first):
            raise UnsupportedPattern("nested class or intersection")
        first = False
        item: frozenset[str] | str
        if char == "\\":
            item, at = _escape(pattern, at + 1)
        else:
            item, at = char, at + 1
        if isinstance(item, frozenset):
            if folding:
                raise UnsupportedPattern("class escape under (?i")
            members |= item
            continue
        high = item
        if pattern[at : at + 1] == "-" and pattern[at + 1 : at + 2] not in ("]", ""):
            end: frozenset[str] | str
            if pattern[at + 1] == "\\":
                end, at = _escape(pattern, at + 2)
            else:
                end, at = pattern[at + 1], at + 2
            if isinstance(end, frozenset):
                raise UnsupportedPattern("range ending in a class")
            high = end
        if folding and not (item.isascii() and high.isascii()):
            raise UnsupportedPattern("non-ASCII class member under (?i")  # K (Kelvin) folds to k
        members.update(c for c in _ASCII if item <= c <= high)
    if folding:  # Oniguruma folds the members before it negates them
        members |= {c.swapcase() for c in members}
    return (frozenset(_ASCII) - members if negated else frozenset(members)), at + 1


def _class(members: frozenset[str]) -> str:
    if not members:
        return "(?!)"
    return "[" + "".join(re.escape(c) for c in sorted(members)) + "]"


_GROUPS = ("(?:", "(?=", "(?!", "(?i:")


def ascii_pattern(pattern: str) -> str:
    """``pattern`` (Oniguruma syntax, as in a ``tokenizer.json``) as a :mod:`re` pattern that
    splits ASCII text the same way. Raises :class:`UnsupportedPattern` for syntax whose
    meaning could differ between the engines (``^``, ``\\b``, backreferences, a quantifier
    after ``{n,m}``, flags other than a scoped ``(?i:``, ``\\p{..}`` or ``\\s`` or a non-ASCII
    class member under ``(?i``, non-ASCII literals outside classes). Elsewhere a class's
    non-ASCII members are left out: ASCII text holds none."""
    out: list[str] = []
    scopes: list[bool] = []  # per open group: whether it is case-insensitive
    at = 0
    while at < len(pattern):
        char = pattern[at]
        folding = any(scopes)
        if char == "\\":
            item, at = _escape(pattern, at + 1)
            if isinstance(item, frozenset) and folding:
                raise UnsupportedPattern("class under (?i")
            out.append(_class(item) if isinstance(item, frozenset) else re.escape(item))
        elif char == "[":
            members, at = _bracket(pattern, at, folding)
            out.append(_class(members))
        elif char == "(":
            opening = next((g for g in _GROUPS if pattern.startswith(g, at)), None)
            if opening is None and pattern[at + 1 : at + 2] == "?":
                raise UnsupportedPattern(f"group {pattern[at : at + 4]}")
            out.append(opening or "(?:")  # no capture: findall wants whole matches
            scopes.append(opening == "(?i:")
            at += len(opening or "(")
        elif char == ")":
            if not scopes:
                raise UnsupportedPattern("unbalanced )")
            scopes.pop()
            out.append(char)
            at += 1
        elif char in "?*+":
            if out and out[-1].endswith("}"):  # {n,m}+: possessive or nested, by syntax
                raise UnsupportedPattern("quantifier after {n,m}")
            possessive = pattern[at + 1 : at + 2] == "+"
            out.append(pattern[at : at + 1 + possessive])
            at += 1 + possessive
        elif char == "{":
            end = pattern.find("}", at)
            if end < 0 or not re.fullmatch(r"\d+(,\d*)?", pattern[at + 1 : end]):
                raise UnsupportedPattern("{ that is not a repeat")
            out.append(pattern[at : end + 1])
            at = end + 1
        elif char == "|":
            out.append(char)
            at += 1
        elif char == "^":
            raise UnsupportedPattern("anchor ^")
        elif char == "$":  # the end of a line, in Oniguruma's default (Ruby) syntax
            out.append("(?=\\n|\\Z)")
            at += 1
        elif char == ".":
            out.append("[^\\n]")
            at += 1
        elif char.isascii():
            out.append(re.escape(char))
            at += 1
        else:
            raise UnsupportedPattern(f"non-ASCII literal {char!r}")
    if scopes:
        raise UnsupportedPattern("unclosed (")
    return "".join(out)


def _probe() -> str:
    """Every ASCII character beside letters, digits, spaces, apostrophes and line breaks,
    runs of them, and every pair of ASCII characters: where pre-tokenizers differ, if they
    do."""
    parts = [
        f"{left}{c}{right}"
        for c in _ASCII
        for left in ("a", "0", " ", "'", "\n")
        for right in ("a", "Z", "0", " ", "  x", "\n", "\r\n", "s", ".")
    ]
    words = "I'm don't they'LL WE'RE it's 12345 1,234.5 x__y a   b  \n\n  end"
    pairs = "".join(a + b for a in _ASCII for b in _ASCII)
    return "|".join(parts) + words + pairs


class _Stage:
    """One splitting step of a pre-tokenizer, for ASCII text: the pattern's matches are
    pieces, and the text between them too (``Split`` with ``Isolated``) or not (``Removed``
    with ``invert``: the matches are what is kept)."""

    __slots__ = ("_gaps", "_pattern")

    def __init__(self, pattern: re.Pattern[str], gaps: bool):
        self._pattern = pattern
        self._gaps = gaps

    def split(self, text: str) -> list[str]:
        """The pieces of ``text``."""
        pieces: list[str] = self._pattern.findall(text)
        if "" in pieces:  # an empty match: where the engines differ, see _matches
            spans = self._matches(text)
        elif not self._gaps or sum(map(len, pieces)) == len(text):
            return pieces
        else:
            spans = [match.span() for match in self._pattern.finditer(text)]
        pieces = []
        end = 0
        for start, stop in spans:
            if self._gaps and start > end:
                pieces.append(text[end:start])
            pieces.append(text[start:stop])
            end = stop
        if self._gaps and end < len(text):
            pieces.append(text[end:])
        return pieces

    def _matches(self, text: str) -> list[tuple[int, int]]:
        """The spans of the matches as Oniguruma finds them: after a match, the next search
        starts where it ended, and an empty match that ends where the last match ended is
        skipped by moving on one character (Python's ``re`` would take a non-empty match
        at that same place)."""
        spans: list[tuple[int, int]] = []
        at, last = 0, -1
        while at <= len(text):
            match = self._pattern.search(text, at)
            if match is None:
                break
            start, stop = match.span()
            if start == stop == last:
                at += 1
                continue
            spans.append((start, stop))
            at = last = stop
        return spans


def _stage(spec: dict[str, Any]) -> _Stage | None:
    """The :class:`_Stage` of one ``Split`` or ``Digits`` pre-tokenizer, if it is one this
    module follows."""
    if spec.get("type") == "Digits":
        return _Stage(re.compile("[0-9]" if spec.get("individual_digits") else "[0-9]+"), True)
    pattern = spec.get("pattern")
    if spec.get("type") != "Split" or not isinstance(pattern, dict):
        return None
    kind = (spec.get("behavior"), bool(spec.get("invert")))
    if kind not in {("Isolated", False), ("Removed", True)}:
        return None
    if isinstance(pattern.get("String"), str):
        compiled = re.compile(re.escape(pattern["String"]))
    elif isinstance(pattern.get("Regex"), str):
        try:
            compiled = re.compile(ascii_pattern(pattern["Regex"]), re.ASCII)
        except (UnsupportedPattern, re.error):
            return None
    else:
        return None
    return _Stage(compiled, gaps=kind[0] == "Isolated")


def _stages(spec: Any) -> list[_Stage] | None:
    """The splitting steps of a byte-level pre-tokenizer, for ASCII text: ``Split`` and
    ``Digits`` steps, then a ``ByteLevel`` (with its own pattern, GPT-2's, or without one
    after at least one step); ``None`` for any other pre-tokenizer, or a pattern
    :func:`ascii_pattern` refuses."""
    if not isinstance(spec, dict):
        return None
    parts = spec.get("pretokenizers") if spec.get("type") == "Sequence" else [spec]
    if not isinstance(parts, list) or not parts or not all(isinstance(p, dict) for p in parts):
        return None
    *steps, last = parts
    if last.get("type") != "ByteLevel" or last.get("add_prefix_space"):
        return None
    stages: list[_Stage] = []
    for step in steps:
        stage = _stage(step)
        if stage is None:
            return None
        stages.append(stage)
    if last.get("use_regex", True):
        stages.append(_Stage(re.compile(ascii_pattern(GPT2_PATTERN), re.ASCII), True))
    return stages or None


def _neutral(normalizer: Any) -> bool:
    if normalizer is None:
        return True
    if not isinstance(normalizer, dict):
        return False
    if normalizer.get("type") == "Sequence":
        return all(_neutral(n) for n in normalizer.get("normalizers") or ())
    return normalizer.get("type") in _ASCII_NEUTRAL


def _alternation(tokens: Sequence[str]) -> re.Pattern[str] | None:
    """Leftmost-longest search for ``tokens`` (longest first in the alternation)."""
    ascii_tokens = sorted({t for t in tokens if t and t.isascii()}, key=lambda t: (-len(t), t))
    if not ascii_tokens:
        return None
    return re.compile("|".join(re.escape(t) for t in ascii_tokens))


class PieceCounter:
    """Counts ASCII texts for a byte-level tokenizer (see the module's docstring); built by
    :meth:`of`, which says ``None`` for a tokenizer it cannot follow exactly."""

    def __init__(
        self,
        tokenizer: Any,
        stages: list[_Stage],
        raw_tokens: re.Pattern[str] | None,
        normalized_tokens: re.Pattern[str] | None,
    ):
        self._first = stages[0].split
        self._rest = tuple(stages[1:])
        self._raw = raw_tokens
        self._normalized = normalized_tokens
        self._cache: dict[str, int] = {}
        self._tokenize: Callable[[str], list[Any]] = tokenizer.model.tokenize

    @classmethod
    def of(cls, tokenizer: Any, spec: dict[str, Any]) -> PieceCounter | None:
        """A counter for ``tokenizer`` (a ``tokenizers.Tokenizer``) whose ``tokenizer.json``
        is ``spec``, or ``None`` when its parts are not all ones this module follows: a
        byte-level pre-tokenizer with a translatable pattern, a normalizer that leaves ASCII
        alone, no BPE dropout, added tokens without ``lstrip``/``rstrip``/``single_word``,
        special tokens split out; and when the translated pattern cuts the probe text
        otherwise than the tokenizer's pre-tokenizer."""
        stages = _stages(spec.get("pre_tokenizer"))
        model = spec.get("model")
        added = spec.get("added_tokens") or []
        if (
            stages is None
            or not _neutral(spec.get("normalizer"))
            or not isinstance(model, dict)
            or model.get("dropout")
            or getattr(tokenizer, "encode_special_tokens", False)
            or not isinstance(added, list)
            or not all(isinstance(t, dict) and isinstance(t.get("content"), str) for t in added)
            or any(t.get("lstrip") or t.get("rstrip") or t.get("single_word") for t in added)
        ):
            return None
        normalizer = tokenizer.normalizer
        raw = [t["content"] for t in added if not t.get("normalized")]
        normalized = [
            normalizer.normalize_str(t["content"]) if normalizer else t["content"]
            for t in added
            if t.get("normalized")
        ]
        counter = cls(tokenizer, stages, _alternation(raw), _alternation(normalized))
        probe = _probe()
        mapped = [p.translate(_BYTE_CHARS) for p in counter._split(probe) if p]
        theirs = [p for p, _ in tokenizer.pre_tokenizer.pre_tokenize_str(probe)]
        return counter if mapped == theirs else None

    def sizes(self, texts: Sequence[str], encode: Callable[[list[str]], list[int]]) -> list[int]:
        """How many tokens each of ``texts`` encodes to; ``encode`` counts the texts that are
        not all ASCII, with the tokenizer itself."""
        sizes = [0] * len(texts)
        others: list[int] = []
        for index, text in enumerate(texts):
            if text.isascii():
                sizes[index] = self._size(text)
            else:
                others.append(index)
        if others:
            for index, size in zip(others, encode([texts[i] for i in others]), strict=True):
                sizes[index] = size
        return sizes

    def _size(self, text: str) -> int:
        segments = self._raw.split(text) if self._raw is not None else [text]
        size = len(segments) - 1
        if self._normalized is not None:
            split = self._normalized.split
            parts = [part for segment in segments for part in split(segment)]
            size += len(parts) - len(segments)
            segments = parts
        cache = self._cache
        for segment in segments:
            pieces = self._split(segment)
            try:
                size += sum(map(cache.__getitem__, pieces))
            except KeyError:
                size += self._fill(pieces)
        return size

    def _split(self, segment: str) -> list[str]:
        """The pre-tokenizer's pieces of an ASCII ``segment``."""
        pieces = self._first(segment)
        for stage in self._rest:
            pieces = [part for piece in pieces for part in stage.split(piece)]
        return pieces

    def _fill(self, pieces: list[str]) -> int:
        """Count ``pieces`` with the model, caching what is new."""
        cache = self._cache
        if len(cache) > CACHE_LIMIT:
            cache.clear()
        size = 0
        for piece in pieces:
            count = cache.get(piece)
            if count is None:
                count = len(self._tokenize(piece.translate(_BYTE_CHARS)))
                if len(piece) <= CACHED_PIECE:
                    cache[piece] = count
            size += count
        return size
