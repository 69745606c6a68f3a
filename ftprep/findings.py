"""Findings: what a rule or a loader reports, as plain data.

A finding says *where* (path, 1-based line, column, record index, message index, JSON
pointer), *what* (a stable code and a message) and *how to fix it* (a hint). Reporters render
findings; nothing in here prints.
"""

from __future__ import annotations

import contextlib
import enum
import os
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any

from ftprep.secrets import mask_secret, mask_text

__all__ = [
    "Finding",
    "Location",
    "Problem",
    "Severity",
    "display_path",
    "mask_data",
    "mask_secret",
    "plural",
]


class Severity(enum.Enum):
    """How bad a finding is. Ordered: ``INFO < WARNING < ERROR``."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        """0 for info, 1 for warning, 2 for error."""
        return _RANKS[self]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank <= other.rank


_RANKS = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


@dataclass(frozen=True, slots=True)
class Location:
    """Where a finding points.

    ``line`` and ``column`` are 1-based; ``record`` is the 0-based position of the record in its
    file; ``message`` is the 0-based index of the message inside the example; ``pointer`` is a
    JSON pointer into the record as it was read (``/messages/2/content``).
    """

    path: str
    line: int | None = None
    column: int | None = None
    record: int | None = None
    message: int | None = None
    pointer: str | None = None
    field: str | None = None
    """A JSON pointer into the file as the user wrote it, where the record's own field differs
    from the canonical ``pointer``: ``/217/output`` (Alpaca), ``/4/ideal_output`` (raw
    pairs)."""

    def __str__(self) -> str:
        shown = printable(display_path(self.path))
        if shown.startswith("<") and self.record is not None:  # in-memory data: its index
            return f"{shown}[{self.record}]"
        parts = [shown]
        if self.line is not None:
            parts.append(str(self.line))
            parts.append(str(self.column or 1))
        return ":".join(parts)


@dataclass(slots=True)
class Finding:
    """One problem found in the data.

    ``related`` holds other places the finding refers to (the first occurrence of a
    duplicate, the training record a holdout example leaks from). ``fingerprint`` is a content
    hash of the record, stable across insertions of other lines; baselines key on it.
    ``data`` carries machine-readable facts (a similarity, a token count) for reporters.

    ``count`` is how many occurrences the finding stands for (:mod:`ftprep.validate.aggregate`
    folds a run of the same finding on consecutive lines, ``location.line`` to
    ``last_line``, and a condition of a whole file, at its first places, into one); its
    message says so.
    """

    code: str
    severity: Severity
    message: str
    location: Location
    hint: str | None = None
    related: tuple[Location, ...] = ()
    fingerprint: str | None = None
    data: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    count: int = 1
    last_line: int | None = None

    def __post_init__(self) -> None:
        # Whatever a finding quotes of a record (a key, a role, an id, an excerpt) is masked
        # here, once for every rule: no secret reaches an output through a finding.
        self.message = mask_text(self.message)
        if self.hint is not None:
            self.hint = mask_text(self.hint)
        if self.location.pointer is not None:
            self.location = _masked_location(self.location)
        for where in self.related:
            if where.pointer is not None:
                self.related = tuple(_masked_location(r) for r in self.related)
                break
        if self.data:
            self.data = mask_data(self.data)

    @property
    def path(self) -> str:
        """The file the finding is in."""
        return self.location.path

    @property
    def line(self) -> int | None:
        """The 1-based line the finding is on, where known."""
        return self.location.line

    @property
    def lines(self) -> range:
        """Every line of a folded run (``line`` to ``last_line``), else the finding's line
        (empty where it has none)."""
        line = self.location.line
        return range(0) if line is None else range(line, (self.last_line or line) + 1)

    def shifted(self, *, records: int = 0, lines: int = 0) -> Finding:
        """A copy whose location (and the related locations in the same file) sit ``records``
        records and ``lines`` lines further down: a finding made on a piece of a file, placed
        in the whole file."""

        def move(where: Location) -> Location:
            if where.path != self.location.path:
                return where
            field = where.field
            if field is not None and where.record is not None and records:
                own = field[len(f"/{where.record}") :]
                field = f"/{where.record + records}{own}"
            return replace(
                where,
                line=None if where.line is None else where.line + lines,
                record=None if where.record is None else where.record + records,
                field=field,
            )

        return replace(
            self,
            location=move(self.location),
            related=tuple(move(r) for r in self.related),
            last_line=None if self.last_line is None else self.last_line + lines,
        )

    def sort_key(self) -> tuple[str, int, int, int, str, str]:
        """A total order for deterministic output: path, line, column, message, code, text."""
        loc = self.location
        return (
            loc.path,
            loc.line or 0,
            loc.column or 0,
            -1 if loc.message is None else loc.message,
            self.code,
            self.message,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (the shape the ``json`` output format uses per diagnostic)."""
        loc = self.location
        out: dict[str, Any] = {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "path": display_path(loc.path),
            "line": loc.line,
            "column": loc.column,
            "record": loc.record,
            "message_index": loc.message,
            "pointer": loc.pointer,
            "hint": self.hint,
        }
        if loc.field is not None:
            out["field"] = loc.field
        if self.related:
            out["related"] = [
                {"path": display_path(r.path), "line": r.line, "record": r.record}
                for r in self.related
            ]
        if self.fingerprint:
            out["fingerprint"] = self.fingerprint
        if self.count > 1:
            out["count"] = self.count
            if self.last_line is not None:
                out["last_line"] = self.last_line
        if self.data:
            out["data"] = self.data
        return out


def _masked_location(where: Location) -> Location:
    if where.pointer is None:
        return where
    pointer = mask_text(where.pointer)
    return where if pointer == where.pointer else replace(where, pointer=pointer)


_NUMBERS = frozenset({int, float, bool, type(None)})


def mask_data(value: Any) -> Any:
    """``value`` (a finding's data: dicts, lists and scalars) with every string in it, keys
    too, masked by :func:`~ftprep.secrets.mask_text` (numbers hold nothing to mask)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        for k, v in value.items():
            if type(v) not in _NUMBERS or mask_text(k) != k:
                return {mask_data(k): mask_data(v) for k, v in value.items()}
        return value  # the common case, {"similarity": 0.93}: nothing to copy
    if isinstance(value, (list, tuple)):
        return type(value)(mask_data(v) for v in value)
    return value


@dataclass(frozen=True, slots=True)
class Problem:
    """What the loader or a dialect's writer found, before it is a finding.

    ``kind`` is the name of the rule that documents it (``invalid-json``); the rules give it
    that rule's code and configured severity (:class:`ftprep.rules.registry.ProblemRules`), so
    the stages before the rules never name a code. ``fatal``: the record could not be loaded
    (or written) because of it.
    """

    kind: str
    message: str
    location: Location
    hint: str | None = None
    fatal: bool = True


_SHOWN_AS: ContextVar[dict[str, str] | None] = ContextVar("ftprep_shown_as", default=None)


@contextlib.contextmanager
def showing_path_as(path: str, name: str) -> Iterator[None]:
    """Within the block, :func:`display_path` shows ``path`` as ``name`` (the temporary file
    holding in-memory records is shown as ``<memory>`` in every output)."""
    token = _SHOWN_AS.set({**(_SHOWN_AS.get() or {}), path: name})
    try:
        yield
    finally:
        _SHOWN_AS.reset(token)


def display_path(path: str) -> str:
    """``path`` as text that is valid UTF-8 everywhere (JSON, SARIF, HTML, a terminal): a
    file name that is not UTF-8 reaches Python with its bad bytes as lone surrogates
    (``os.fsdecode``), which JSON encoders reject; they are shown as ``\\xe9`` instead.
    A file :func:`showing_path_as` names is shown by that name."""
    names = _SHOWN_AS.get()
    if names is not None and path in names:
        return names[path]
    if path.isascii():
        return path
    try:
        raw = os.fsencode(path)
    except UnicodeEncodeError:  # a surrogate no file system produced (an in-memory name)
        raw = path.encode("utf-8", "backslashreplace")
    return raw.decode("utf-8", "backslashreplace")


_CONTROLS = [*range(0x20), *range(0x7F, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
"""Characters that move the cursor, end a line, start an escape sequence or reorder the text
after them (C0 and C1 controls, DEL, Unicode bidirectional controls); the tab is kept."""
_ESCAPES = {c: f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}" for c in _CONTROLS}
_ESCAPES.update({ord("\n"): "\\n", ord("\r"): "\\r"})
del _ESCAPES[ord("\t")]
_ESCAPES_KEEPING_NEWLINES = {**_ESCAPES}
del _ESCAPES_KEEPING_NEWLINES[ord("\n")]


def printable(text: str, *, newlines: bool = False) -> str:
    """``text`` safe to print on a terminal or in a line-based format: control characters
    (a newline, a carriage return, an ANSI escape, a bidirectional override) shown escaped
    as ``\\n``, ``\\x1b``, ``\\u202e``, so a file name or a record's text can neither forge
    a line of output nor drive the terminal. With ``newlines``, line breaks are kept (for
    messages of several lines that ftprep writes itself)."""
    if text.isprintable():
        return text
    return text.translate(_ESCAPES_KEEPING_NEWLINES if newlines else _ESCAPES)


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 record``, ``2 records``, ``1,000 records`` (``many`` for irregular plurals)."""
    return f"{count:,} {word if count == 1 else many or word + 's'}"
