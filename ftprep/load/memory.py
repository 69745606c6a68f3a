"""In-memory inputs: a list or iterable of dicts, a pandas DataFrame or a Hugging Face
``datasets.Dataset`` given where the library takes inputs (check, prepare, convert, stats).

The records are written once, as JSON Lines, to a private temporary file that the whole
pipeline reads like any input (the check engine's shards and process pool, prepare's second
pass), so in-memory data and files behave the same. Everything shown to a person names the
records, not the temporary file: while the run lasts the file is displayed as
:data:`~ftprep.load.MEMORY` (``<memory>``, or ``<DataFrame>``/``<Dataset>``), and
:func:`renamed` gives the run's findings that name afterwards. A record's location is its
0-based index (``record``) and ``line`` is the index plus one.

>>> is_records([{"input": "hi", "ideal_output": "hello"}])
True
>>> is_records(["train.jsonl"])
False
"""

from __future__ import annotations

import contextlib
import itertools
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson

from ftprep.findings import Finding, Location, showing_path_as
from ftprep.load import MEMORY, records_of

DATAFRAME = "<DataFrame>"
DATASET = "<Dataset>"


def _is_dataframe(value: Any) -> bool:
    return all(hasattr(value, name) for name in ("to_dict", "columns", "iterrows"))


def _is_dataset(value: Any) -> bool:
    """A Hugging Face ``datasets.Dataset`` (or anything shaped like one)."""
    return (
        hasattr(value, "column_names") and hasattr(value, "__iter__") and hasattr(value, "__len__")
    )


def is_records(inputs: Any) -> bool:
    """Whether ``inputs`` is in-memory data rather than paths: a DataFrame, a Dataset, or a
    non-empty sequence whose first item is a mapping. (An iterator is peeked by
    :func:`split_inputs`, which can put the item back.)"""
    if isinstance(inputs, str | os.PathLike):
        return False
    if _is_dataframe(inputs) or _is_dataset(inputs):
        return True
    if isinstance(inputs, Sequence):
        return bool(inputs) and isinstance(inputs[0], Mapping)
    return False


def name_of(data: Any) -> str:
    """What in-memory ``data`` is called in findings and outputs."""
    if _is_dataframe(data):
        return DATAFRAME
    if _is_dataset(data):
        return DATASET
    return MEMORY


def peek_records(inputs: Any) -> tuple[Any, bool]:
    """``inputs`` (an iterator is rebuilt with its first item put back) and whether it holds
    in-memory records."""
    if is_records(inputs):
        return inputs, True
    if isinstance(inputs, str | os.PathLike | Sequence) or not isinstance(inputs, Iterable):
        return inputs, False
    iterator = iter(inputs)
    first = next(iterator, None)
    if first is None:
        return [], False
    return itertools.chain([first], iterator), isinstance(first, Mapping)


def write_records(data: Any, path: str) -> int:
    """Write the records of ``data`` to ``path`` as JSON Lines (values pandas and Arrow hand
    out made plain, missing DataFrame cells left out); the number of records."""
    count = 0
    with open(path, "wb") as out:
        for record in records_of(data):
            try:
                line = orjson.dumps(record, default=str, option=orjson.OPT_APPEND_NEWLINE)
            except TypeError:  # a key that is not a string, a cycle...: kept as text
                line = orjson.dumps(repr(record), option=orjson.OPT_APPEND_NEWLINE)
            out.write(line)
            count += 1
    return count


@contextlib.contextmanager
def as_files(inputs: Any) -> Iterator[tuple[Any, dict[str, str]]]:
    """``inputs`` as something the path-based jobs take: paths unchanged, or in-memory records
    written to a temporary JSON Lines file (removed on exit) that is shown by its in-memory
    name meanwhile. Yields the inputs and the map from temporary file to name (empty for
    paths)."""
    inputs, in_memory = peek_records(inputs)
    if not in_memory:
        yield inputs, {}
        return
    name = name_of(inputs)
    with tempfile.TemporaryDirectory(prefix="ftprep-memory-") as folder:
        path = str(Path(folder) / "records.jsonl")
        write_records(inputs, path)
        with showing_path_as(path, name):
            yield [path], {path: name}


def renamed(findings: Iterable[Finding], names: Mapping[str, str]) -> list[Finding]:
    """``findings`` with the temporary files of :func:`as_files` replaced by their names."""
    if not names:
        return list(findings)

    def move(where: Location) -> Location:
        name = names.get(where.path)
        return where if name is None else replace(where, path=name)

    return [
        replace(f, location=move(f.location), related=tuple(move(r) for r in f.related))
        for f in findings
    ]


__all__ = [
    "DATAFRAME",
    "DATASET",
    "as_files",
    "is_records",
    "name_of",
    "peek_records",
    "renamed",
    "write_records",
]
