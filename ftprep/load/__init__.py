"""Loading: raw records from files, stdin, iterables of dicts or data frames, turned into
canonical examples with their source location, or the problems that stopped them.

>>> from ftprep.load import load_records
>>> for item in load_records([{"messages": [{"role": "user", "content": "hi"}]}]):
...     print(type(item.example).__name__, item.example.source if item.example else None)
Example <memory>:1
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from ftprep.dialects import Dialect, DialectOptions, detection_order, get_dialect
from ftprep.findings import Location, Problem
from ftprep.load.containers import (
    DEFAULT_MAX_LINE_BYTES,
    STDIN,
    RawRecord,
    Shard,
    read_records,
    read_shard,
)
from ftprep.model import Example, Source

MEMORY = "<memory>"


@dataclass(slots=True)
class Loaded:
    """One input record after loading: its raw form, the example (``None`` when it could not
    be loaded) and the load problems (the fatal one first, if any, then notes)."""

    raw: RawRecord
    example: Example | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the record loaded into an example."""
        return self.example is not None


_REGISTRY_KEYS = frozenset({"file_name", "hf_hub_url", "ms_hub_url", "script_url", "om_hub_url"})


def is_dataset_registry(record: Mapping[str, Any]) -> bool:
    """Whether ``record`` is a LLaMA-Factory ``dataset_info.json``: dataset names mapping to
    descriptions that say where each dataset's file is (checked on the first few entries)."""
    entries = list(itertools.islice(record.values(), 5))
    return bool(entries) and all(
        isinstance(entry, dict) and not _REGISTRY_KEYS.isdisjoint(entry) for entry in entries
    )


class DialectDetector:
    """Detects a file's dialect from its first object record and classifies every record
    against it: same shape, another known shape (``mixed-shapes``), or no known shape
    (``unknown-shape``)."""

    def __init__(self, dialect: str = "auto", options: DialectOptions | None = None):
        self.options = options or DialectOptions()
        self.candidates: list[Dialect] = detection_order(self.options)
        self.dialect: Dialect | None = (
            None if dialect == "auto" else get_dialect(dialect, self.options)
        )
        self.forced = dialect != "auto"

    def detect(self, record: Mapping[str, Any]) -> Dialect | None:
        """The first known dialect that matches ``record``."""
        for candidate in self.candidates:
            if candidate.matches(record):
                return candidate
        return None

    def classify(self, raw: RawRecord) -> Loaded:
        """Turn a parsed raw record into a :class:`Loaded` example or a shape problem."""
        value = raw.value
        assert isinstance(value, dict)
        if self.dialect is None:
            self.dialect = self.detect(value)
        dialect = self.dialect
        if dialect is None or not dialect.matches(value):
            location = Location(path=raw.path, line=raw.line, column=raw.column, record=raw.index)
            other = self.detect(value) if dialect is not None else None
            keys = ", ".join(sorted(value)[:8]) or "no keys"
            if other is not None and dialect is not None:
                error = Problem(
                    "mixed-shapes",
                    f"record has the {other.name} shape but the file is {dialect.name}",
                    location,
                    hint="split the file by shape or convert this record",
                )
            elif is_dataset_registry(value):
                error = Problem(
                    "unknown-shape",
                    "record matches no known data shape: it is a LLaMA-Factory dataset "
                    "registry (dataset_info.json), not training data",
                    location,
                    hint="check the data files the registry lists instead",
                )
            else:
                expected = f" (expected {dialect.name})" if dialect is not None else ""
                error = Problem(
                    "unknown-shape",
                    f"record matches no known data shape{expected}; keys: {keys}",
                    location,
                    hint="rename the fields or name the dialect in the configuration",
                )
            return Loaded(raw, None, [error, *raw.notes])
        source = Source(path=raw.path, line=raw.line, index=raw.index or 0, column=raw.column)
        example = dialect.read(value, source)
        return Loaded(raw, example, list(raw.notes))


def load_raw(raws: Iterable[RawRecord], detector: DialectDetector) -> Iterator[Loaded]:
    """Classify a stream of raw records with ``detector``."""
    for raw in raws:
        if raw.error is not None:
            yield Loaded(raw, None, [raw.error, *raw.notes])
        else:
            yield detector.classify(raw)


#: How many object records :func:`detect_dialect` looks at before giving up.
DETECT_LIMIT = 10_000


def detect_dialect(
    path: str,
    *,
    options: DialectOptions | None = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> str | None:
    """The dialect of a file's first record of a known shape (as :class:`DialectDetector`
    decides it), or ``None`` when none of its first object records has one."""
    detector = DialectDetector("auto", options)
    seen = 0
    for raw in read_records(path, max_line_bytes=max_line_bytes):
        if isinstance(raw.value, dict):
            shape = detector.detect(raw.value)
            seen += 1
            if shape is not None:
                return shape.name
            if seen >= DETECT_LIMIT:
                break
    return None


def load_path(
    path: str | os.PathLike[str],
    *,
    dialect: str = "auto",
    options: DialectOptions | None = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> Iterator[Loaded]:
    """Load every record of one file (``-`` for stdin)."""
    detector = DialectDetector(dialect, options)
    yield from load_raw(read_records(path, max_line_bytes=max_line_bytes), detector)


def load_shard(
    shard: Shard,
    *,
    dialect: str,
    options: DialectOptions | None = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> Iterator[Loaded]:
    """Load one shard of a JSON Lines file whose dialect was detected beforehand (line numbers
    and record indices local to the shard, see :class:`~ftprep.load.containers.Shard`)."""
    detector = DialectDetector(dialect, options)
    yield from load_raw(read_shard(shard, max_line_bytes=max_line_bytes), detector)


def _plain(value: Any) -> Any:
    """An in-memory value as plain JSON-like Python: mappings to dicts, sequences to lists,
    numpy arrays and scalars (as pandas and Arrow hand them out) through ``tolist``."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    tolist = getattr(value, "tolist", None)
    return _plain(tolist()) if callable(tolist) else value


def _is_missing(value: Any) -> bool:
    return isinstance(value, float) and value != value  # NaN: pandas' missing value


def records_of(data: Any) -> Iterator[Any]:
    """Records of an in-memory source: a pandas DataFrame (duck-typed; columns a row does not
    have, NaN, are left out), a Hugging Face ``datasets.Dataset`` or any iterable of
    mappings."""
    if hasattr(data, "to_dict") and hasattr(data, "columns") and hasattr(data, "iterrows"):
        for row in data.to_dict(orient="records"):
            yield {k: _plain(v) for k, v in row.items() if not _is_missing(v)}
    else:
        for record in data:
            yield _plain(record) if isinstance(record, Mapping) else record


def load_records(
    records: Iterable[Any],
    *,
    name: str = MEMORY,
    dialect: str = "auto",
    options: DialectOptions | None = None,
) -> Iterator[Loaded]:
    """Load in-memory records; their "line" is their 1-based position."""
    detector = DialectDetector(dialect, options)

    def raws() -> Iterator[RawRecord]:
        for position, plain in enumerate(records_of(records)):
            try:
                raw = orjson.dumps(plain, default=str)
            except TypeError:
                raw = repr(plain).encode()
            yield _in_memory_record(name, position, raw, plain)

    yield from load_raw(raws(), detector)


def _in_memory_record(name: str, position: int, raw: bytes, value: Any) -> RawRecord:
    if isinstance(value, dict):
        return RawRecord(name, position + 1, position, raw, value=value)
    kind = type(value).__name__
    error = Problem(
        "not-an-object",
        f"record is a {kind}, not a mapping",
        Location(path=name, line=position + 1, record=position),
        hint="pass mappings (dicts) as records",
    )
    return RawRecord(name, position + 1, position, raw, error=error)


__all__ = [
    "MEMORY",
    "STDIN",
    "DialectDetector",
    "Loaded",
    "detect_dialect",
    "load_path",
    "load_raw",
    "load_records",
    "load_shard",
    "records_of",
]
