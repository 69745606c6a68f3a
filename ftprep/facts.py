"""Per-record facts: the compact, columnar summary of every record that dataset rules, splits,
statistics and reports work from, so that no text has to stay in memory after its record has
been checked.

One row per input record (loaded or not), in input order. Hash keys are 64-bit; ``0`` means
"absent" (no system prompt, a record that did not load).
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from ftprep.view import ExampleView

ROLES = ("system", "user", "assistant", "tool")


class TokenCounts(Protocol):
    """What the fact table keeps of an example's token counts (the tokenizers'
    :class:`~ftprep.tokens.chat.ExampleTokens`)."""

    @property
    def total(self) -> int: ...
    @property
    def trained(self) -> int: ...
    @property
    def by_role(self) -> Mapping[str, int]: ...
    @property
    def per_message(self) -> Sequence[int]: ...


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim: Callable[[int], int] = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    return trim


_TRIM = _malloc_trim()


def release_free_memory() -> None:
    """Hand memory that was freed back to the operating system (glibc keeps freed heap
    memory for reuse, so after a pass that made and dropped many arrays the process would
    keep its peak size). Does nothing where the C library is not glibc."""
    if _TRIM is not None:
        _TRIM(0)


U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
BOOL = npt.NDArray[np.bool_]


# A scalar column of FactTable is declared once, as a field with its dtype: the builder stores
# rows in declaration order.
_INT32 = {"dtype": np.int32}
_INT64 = {"dtype": np.int64}
_UINT64 = {"dtype": np.uint64}
_BOOL = {"dtype": np.bool_}


@dataclass(slots=True)
class FactTable:
    """Columns of per-record facts. ``signatures`` has one row of MinHash values per record
    (all ``0xFFFFFFFF`` where a loaded record has nothing to compare; zeros, never read, where
    a record did not load: those rows are never written, so a file of a million blank
    lines does not make the process hold a million signatures)."""

    path: npt.NDArray[np.int32] = field(metadata=_INT32)
    line: I64 = field(metadata=_INT64)
    record: I64 = field(metadata=_INT64)
    loaded: BOOL = field(metadata=_BOOL)
    rejected: BOOL = field(metadata=_BOOL)
    """Whether a record-level error finding makes the record unusable."""
    fingerprint: U64 = field(metadata=_UINT64)
    """Hash of the record's raw bytes: identifies it across edits elsewhere in the file."""
    tokens: I64 = field(metadata=_INT64)
    trained: I64 = field(metadata=_INT64)
    n_messages: npt.NDArray[np.int32] = field(metadata=_INT32)
    tokens_system: I64 = field(metadata=_INT64)
    tokens_user: I64 = field(metadata=_INT64)
    tokens_assistant: I64 = field(metadata=_INT64)
    tokens_tool: I64 = field(metadata=_INT64)
    has_system: BOOL = field(metadata=_BOOL)
    has_user: BOOL = field(metadata=_BOOL)
    has_assistant: BOOL = field(metadata=_BOOL)
    exact_key: U64 = field(metadata=_UINT64)
    prompt_key: U64 = field(metadata=_UINT64)
    answer_key: U64 = field(metadata=_UINT64)
    system_key: U64 = field(metadata=_UINT64)
    signatures: npt.NDArray[np.uint32] = field()
    """One row of MinHash values per record, filled apart from the scalar columns."""

    def __len__(self) -> int:
        return len(self.line)

    @classmethod
    def empty(cls, num_perm: int = 0) -> FactTable:
        """A table with no rows."""
        return FactTableBuilder(num_perm).build()

    @classmethod
    def concat(cls, tables: list[FactTable]) -> FactTable:
        """Stack tables row-wise, in order."""
        if not tables:
            return cls.empty()
        return cls(
            **{f.name: np.concatenate([getattr(t, f.name) for t in tables]) for f in fields(cls)}
        )

    @classmethod
    def gather(cls, parts: list[FactTable]) -> FactTable:
        """Stack ``parts`` row-wise like :meth:`concat`, emptying the list as it goes: each
        part is dropped once copied, and the result's pages are only touched as they are
        written, so the copy never holds the facts twice."""
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts.pop()
        n = sum(len(part) for part in parts)
        out = cls(
            **{
                f.name: (np.zeros if f.name == "signatures" else np.empty)(
                    (n, *column.shape[1:]), dtype=column.dtype
                )
                for f in fields(cls)
                for column in (getattr(parts[0], f.name),)
            }
        )
        start = 0
        parts.reverse()
        while parts:
            part = parts.pop()
            stop = start + len(part)
            for f in fields(cls):
                if f.name != "signatures":
                    getattr(out, f.name)[start:stop] = getattr(part, f.name)
            rows = np.flatnonzero(part.loaded)
            out.signatures[start + rows] = part.signatures[rows]
            start = stop
            del part
            release_free_memory()
        return out

    def select(self, mask: npt.NDArray[np.bool_] | npt.NDArray[np.int64]) -> FactTable:
        """Rows where ``mask`` is true (or at the given indices)."""
        return FactTable(**{f.name: getattr(self, f.name)[mask] for f in fields(self)})


#: The scalar columns of a :class:`FactTable` with their dtypes, in declaration order (the
#: order :class:`FactTableBuilder` stores a row in).
_COLUMNS: tuple[tuple[str, type[Any]], ...] = tuple(
    (f.name, f.metadata["dtype"]) for f in fields(FactTable) if "dtype" in f.metadata
)


#: The columns every record has, whether it loaded or not, set by the record pass itself.
RECORD_COLUMNS = ("path", "line", "record", "loaded", "rejected", "fingerprint")


class ColumnProducer(Protocol):
    """Fills some columns of the fact table from a loaded record: its view and its token
    counts. Each producer declares its ``columns`` (in table order); a record that did not
    load gets zeros there."""

    @property
    def columns(self) -> tuple[str, ...]: ...

    def values(self, view: ExampleView, tokens: TokenCounts) -> tuple[Any, ...]:
        """The values of :attr:`columns` for one record."""
        ...


class CountColumns:
    """The counts the dataset rules, splits and reports read: tokens (in all, trained, per
    role), messages, and which of the system, user and assistant roles occur."""

    columns = (
        "tokens",
        "trained",
        "n_messages",
        "tokens_system",
        "tokens_user",
        "tokens_assistant",
        "tokens_tool",
        "has_system",
        "has_user",
        "has_assistant",
    )

    def values(self, view: ExampleView, tokens: TokenCounts) -> tuple[Any, ...]:
        """The counts of one record."""
        by_role = tokens.by_role
        roles = view.roles
        return (
            tokens.total,
            tokens.trained,
            len(tokens.per_message),
            by_role.get("system", 0),
            by_role.get("user", 0),
            by_role.get("assistant", 0),
            by_role.get("tool", 0),
            "system" in roles,
            "user" in roles,
            "assistant" in roles,
        )


CHUNK_ROWS = 1 << 16
"""Rows the builder keeps as tuples before it turns them into columns (a tuple per row costs
several times its columns)."""


class FactTableBuilder:
    """Accumulates facts row by row in the record pass, then builds a :class:`FactTable`.

    A row is kept as one tuple (one append per record, not one per column) until
    :meth:`build` turns the rows into columns: the :data:`RECORD_COLUMNS`, then those of each
    producer in turn, which together must be the table's columns in order.
    """

    def __init__(self, num_perm: int, producers: Sequence[ColumnProducer] = ()):
        self.num_perm = num_perm
        self.producers = tuple(producers)
        produced = tuple(c for p in self.producers for c in p.columns)
        if producers and (*RECORD_COLUMNS, *produced) != tuple(n for n, _d in _COLUMNS):
            raise ValueError(f"the producers' columns {produced} do not complete the table")
        self._unloaded = (0,) * len(produced)
        self._rows: list[tuple[Any, ...]] = []
        self._tables: list[FactTable] = []

    def add(
        self,
        *,
        path: int,
        line: int,
        record: int,
        fingerprint: int,
        rejected: bool = False,
        view: ExampleView | None = None,
        tokens: TokenCounts | None = None,
    ) -> None:
        """Append one record's facts: a loaded one with its ``view`` and ``tokens`` (the
        producers fill their columns), or one that did not load."""
        if view is None or tokens is None:
            self._rows.append((path, line, record, False, True, fingerprint, *self._unloaded))
        else:
            row: tuple[Any, ...] = (path, line, record, True, rejected, fingerprint)
            for producer in self.producers:
                row += producer.values(view, tokens)
            self._rows.append(row)
        if len(self._rows) >= CHUNK_ROWS:
            self._tables.append(self._table(self._rows))
            self._rows = []

    def _table(self, rows: list[tuple[Any, ...]]) -> FactTable:
        n = len(rows)
        # Zeros (pages the system maps only when written) and MAX_HASH on the loaded rows.
        signatures = np.zeros((n, self.num_perm), dtype=np.uint32)
        columns = zip(*rows, strict=True) if n else ((),) * len(_COLUMNS)
        arrays = {
            name: np.fromiter(values, dtype=dtype, count=n)
            for (name, dtype), values in zip(_COLUMNS, columns, strict=True)
        }
        signatures[arrays["loaded"]] = np.iinfo(np.uint32).max
        return FactTable(**arrays, signatures=signatures)

    def build(self) -> FactTable:
        """The table of every row added so far (signatures of loaded rows all ``MAX_HASH``:
        the signer fills them)."""
        tables = [*self._tables, self._table(self._rows)]
        self._tables, self._rows = [], []
        return FactTable.gather(tables)
