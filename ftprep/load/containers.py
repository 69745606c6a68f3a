"""Reading containers: JSON Lines (the default), JSON array files, gzip of either, and stdin.

Readers yield one :class:`RawRecord` per input record, in order, with its path, 1-based line,
0-based record index and the exact bytes it was read from. A record that cannot be parsed
carries a fatal load finding instead of a value; nothing is dropped silently. For JSON Lines
the reader streams: memory does not grow with the file.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import orjson

from ftprep.config import STDIN as STDIN
from ftprep.findings import Location, Problem

DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024
_BOM = b"\xef\xbb\xbf"
_SKIP_CHUNK = 1 << 20


@dataclass(slots=True)
class RawRecord:
    """One record as read: where it is, its bytes, and either its parsed value or the fatal
    problem that stopped it from loading. ``notes`` are non-fatal load problems (BOM, CRLF).
    ``unread``: the record's bytes were never read (a line over the size limit, a file that
    could not be read), so ``raw`` is empty."""

    path: str
    line: int
    index: int | None
    raw: bytes
    value: Any = None
    error: Problem | None = None
    notes: list[Problem] = field(default_factory=list)
    unread: bool = False


def _problem(
    kind: str,
    path: str,
    line: int | None,
    message: str,
    *,
    column: int | None = None,
    record: int | None = None,
    hint: str | None = None,
    fatal: bool = True,
) -> Problem:
    return Problem(
        kind,
        message,
        Location(path=path, line=line, column=column, record=record),
        hint=hint,
        fatal=fatal,
    )


_REASONS = {
    "Extra data": "data after the end of the record (two records on one line?)",
    "Unterminated string starting at": "unterminated string",
}


def _parse_error(
    path: str,
    line: int,
    index: int | None,
    raw: bytes,
    err: Exception,
    start: tuple[int, int] = (0, 0),
) -> Problem:
    """Explain why ``raw`` failed to parse: bad UTF-8 (with byte offset) or bad JSON (column).

    ``start`` is the 0-based (character, byte) position ``raw`` starts at on ``line``: a JSON
    array element may start mid-line. Columns are 1-based and count characters, as orjson's do.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        before = raw[: bad.start]
        line_start = before.rfind(b"\n") + 1
        column = len(before[line_start:].decode("utf-8", "replace")) + 1
        offset = bad.start - line_start
        if line_start == 0:
            column += start[0]
            offset += start[1]
        return _problem(
            "invalid-utf8",
            path,
            line + before.count(b"\n"),
            f"invalid UTF-8 byte 0x{raw[bad.start]:02x} at byte offset {offset} of the line",
            column=column,
            record=index,
            hint="re-encode the file as UTF-8",
        )
    # orjson's messages are terse ("unexpected end of data" for a trailing comma); the
    # standard library explains better and is only run on the rare record that failed.
    explained: Exception = err
    try:
        json.loads(text)
    except json.JSONDecodeError as std:
        explained = std
    except (RecursionError, ValueError):
        pass
    lineno: int = getattr(explained, "lineno", 1) or 1
    error_column: int | None = getattr(explained, "colno", None)
    if error_column is not None and lineno == 1:
        error_column += start[0]
    reason = getattr(explained, "msg", None) or str(explained).split(":", 1)[0]
    reason = _REASONS.get(reason, reason[:1].lower() + reason[1:])
    stripped = text.rstrip()
    if not stripped:
        reason = "empty record"
    elif getattr(err, "msg", "") == "unexpected end of data" and not stripped.endswith(("}", "]")):
        reason += "; the record looks truncated"
    return _problem(
        "invalid-json",
        path,
        line + lineno - 1,
        f"invalid JSON: {reason}",
        column=error_column,
        record=index,
        hint="repair or remove this record",
    )


_JSON_KINDS = {
    "list": "array",
    "str": "string",
    "int": "number",
    "float": "number",
    "bool": "boolean",
}


def parse_record(
    path: str, line: int, index: int | None, raw: bytes, start: tuple[int, int] = (0, 0)
) -> RawRecord:
    """Parse one record's bytes into a :class:`RawRecord` (value or fatal finding).

    ``line`` is the line ``raw`` starts on and ``start`` its (character, byte) position there.
    """
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        error = _parse_error(path, line, index, raw, err, start)
        return RawRecord(path, line, index, raw, error=error)
    if not isinstance(value, dict):
        kind = type(value).__name__ if value is not None else "null"
        kind = _JSON_KINDS.get(kind, kind)
        error = _problem(
            "not-an-object",
            path,
            line,
            f"record is a JSON {kind}, not an object",
            column=start[0] + 1,
            record=index,
            hint="write one JSON object per record",
        )
        return RawRecord(path, line, index, raw, error=error)
    repeated = _repeated_key(raw, value)
    if repeated is not None:
        error = _problem(
            "duplicate-key",
            path,
            line,
            f"key {repeated} appears more than once in one object; readers keep one of "
            "the values, not always the same",
            column=start[0] + 1,
            record=index,
            hint="keep one value per key",
        )
        return RawRecord(path, line, index, raw, error=error)
    return RawRecord(path, line, index, raw, value=value)


_KEY_TOKENS: dict[str, bytes] = {}
"""Each top-level key seen, as its quoted JSON token (a record has few, files repeat them)."""
_SHOWN_KEY = re.compile(r"[A-Za-z_][\w.-]{0,39}", re.A)


def _repeated_key(raw: bytes, value: dict[str, Any]) -> str | None:
    """The first key that one object of ``raw`` holds twice (shown quoted, or as "a key" when
    it does not look like a field name), or ``None``. orjson keeps the last value of a
    repeated key without a word; the cheap test (one ``bytes.count`` per top-level key)
    leaves every record alone whose top-level keys each occur once in its bytes, and only
    the rest are parsed again, keeping every pair."""
    tokens = _KEY_TOKENS
    for key in value:
        token = tokens.get(key)
        if token is None:
            token = tokens[key] = orjson.dumps(key)
        if raw.count(token) > 1:
            break
    else:
        return None
    try:
        json.loads(raw, object_pairs_hook=_unique_pairs)
    except _DuplicateKey as found:
        key = found.args[0]
        return repr(key) if _SHOWN_KEY.fullmatch(key) else "a key"
    except (ValueError, RecursionError):  # orjson read it; the standard library may not
        pass
    return None


class _DuplicateKey(Exception):
    """Raised by :func:`_unique_pairs` with the repeated key."""


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = {key for key, _ in pairs}
    if len(keys) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return dict(pairs)


def _open_binary(path: str) -> IO[bytes]:
    """The bytes of ``path`` (``-`` for stdin), decompressed when they start with the gzip
    magic. The magic is peeked, never read and sought back, so that stdin and FIFOs (which
    cannot seek) are read once, as streams."""
    if path == STDIN:
        handle: IO[bytes] = sys.stdin.buffer
        if not hasattr(handle, "peek"):  # a stand-in for stdin (BytesIO)
            handle = io.BufferedReader(handle)  # type: ignore[type-var]
    else:
        handle = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    try:
        magic = _peek(handle)[:2]
    except OSError:
        if path != STDIN:
            handle.close()
        raise
    if magic == b"\x1f\x8b":
        return _GzipOwningFile(handle, owned=path != STDIN)  # type: ignore[return-value]
    return handle


class _GzipOwningFile(gzip.GzipFile):
    """A gzip reader over ``handle`` that closes it too (a ``GzipFile`` given a file object
    leaves it open, so every gzip input leaked its file until the collector ran), unless
    not ``owned`` (standard input)."""

    def __init__(self, handle: IO[bytes], *, owned: bool):
        super().__init__(fileobj=handle, mode="rb")
        self._owned = handle if owned else None

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._owned is not None:
                self._owned.close()


def _peek(stream: io.BufferedIOBase | IO[bytes]) -> bytes:
    """The first bytes of the stream, without consuming them."""
    peek = getattr(stream, "peek", None)
    return bytes(peek(64)) if peek is not None else b""


Container = Literal["jsonl", "array", "document"]
_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")
_JSON_SUFFIXES = (".json", ".json.gz")


def container_of(path: str, head: bytes) -> Container:
    """How a file holds its records, from its name and first bytes.

    ``.jsonl`` / ``.ndjson`` files are JSON Lines whatever their first line holds (a first
    line that is an array is a bad record, not a JSON array file). Otherwise a file whose
    first non-blank byte is ``[`` is a JSON array, a ``.json`` file starting with ``{`` is a
    single JSON document (or JSON Lines misnamed, decided once it is read), and anything else
    is JSON Lines.
    """
    name = path.lower()
    if name.endswith(_JSONL_SUFFIXES):
        return "jsonl"
    first = head.removeprefix(_BOM).lstrip()[:1]
    if first == b"[":
        return "array"
    if first == b"{" and name.endswith(_JSON_SUFFIXES):
        return "document"
    return "jsonl"


def read_records(
    path: str | os.PathLike[str],
    *,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> Iterator[RawRecord]:
    """Yield every record of ``path`` (``-`` for stdin), whatever the container.

    See :func:`container_of` for how the container is chosen. Gzip is detected by its magic
    bytes. Read errors become ``unreadable-file`` problems.
    """
    name = str(path)
    try:
        stream = _open_binary(name)
    except OSError as err:
        reason = err.strerror or str(err)
        yield RawRecord(
            name,
            0,
            None,
            b"",
            error=_problem("unreadable-file", name, None, f"cannot open file: {reason}"),
            unread=True,
        )
        return
    try:
        try:
            kind = container_of(name.removesuffix(".gz") if name != STDIN else name, _peek(stream))
            if kind == "jsonl":
                yield from _read_jsonl(name, stream, max_line_bytes=max_line_bytes)
            elif kind == "array":
                yield from _read_json_array(name, stream.read())
            else:
                yield from _read_document(name, stream.read(), max_line_bytes=max_line_bytes)
        except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as err:
            yield RawRecord(
                name,
                0,
                None,
                b"",
                error=_problem("unreadable-file", name, None, f"read failed: {err}"),
                unread=True,
            )
    finally:
        if name != STDIN:
            stream.close()


def _read_jsonl(
    path: str,
    stream: IO[bytes],
    *,
    max_line_bytes: int,
    end_offset: int | None = None,
) -> Iterator[RawRecord]:
    """Stream JSON Lines. ``end_offset`` bounds a shard of a seekable file."""
    line_no = 0
    index = 0
    crlf_reported = False
    position = stream.tell() if end_offset is not None else 0
    readline = stream.readline
    while end_offset is None or position < end_offset:
        chunk = readline(max_line_bytes + 1)
        if not chunk:
            break
        line_no += 1
        position += len(chunk)
        if len(chunk) > max_line_bytes and not chunk.endswith(b"\n"):
            skipped = len(chunk) + _skip_line(readline)
            position += skipped - len(chunk)
            yield _too_long(path, line_no, index, skipped, max_line_bytes)
            index += 1
            continue
        notes: list[Problem] = []
        raw = chunk
        if raw.endswith(b"\n"):
            raw = raw[:-1]
            if raw.endswith(b"\r"):
                raw = raw[:-1]
                if not crlf_reported:
                    crlf_reported = True
                    notes.append(
                        _problem(
                            "crlf-line-endings",
                            path,
                            line_no,
                            "file uses CRLF line endings (accepted)",
                            fatal=False,
                        )
                    )
        if line_no == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
            notes.append(_bom_note(path))
        if not raw.strip():
            yield RawRecord(
                path,
                line_no,
                None,
                chunk,
                error=_problem(
                    "blank-line", path, line_no, "blank line", hint="delete the blank line"
                ),
                notes=notes,
            )
            continue
        record = parse_record(path, line_no, index, raw)
        if notes:
            record.notes.extend(notes)
        index += 1
        yield record


def _skip_line(readline: Callable[[int], bytes]) -> int:
    """Read past the rest of an over-long line, a chunk at a time; the bytes skipped."""
    skipped = 0
    while True:
        rest = readline(_SKIP_CHUNK)
        skipped += len(rest)
        if not rest or rest.endswith(b"\n"):
            return skipped


def _too_long(path: str, line: int, index: int, size: int, limit: int) -> RawRecord:
    """The record of a line skipped unread for its size."""
    return RawRecord(
        path,
        line,
        index,
        b"",
        error=_problem(
            "line-too-long",
            path,
            line,
            f"line is {size:,} bytes, over the {limit:,}-byte limit; skipped unread",
            record=index,
            hint="check what the line holds, or raise max-line-bytes",
        ),
        unread=True,
    )


def _bom_note(path: str) -> Problem:
    return _problem(
        "utf8-bom",
        path,
        1,
        "file starts with a UTF-8 byte order mark; stripped",
        hint="save the file as UTF-8 without BOM",
        fatal=False,
    )


# Strings (complete or unterminated) and the structural bytes that delimit array elements.
_JSON_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|"|[\[\]{},]')


class _Positions:
    """Turns increasing byte offsets of a document into 1-based line numbers without
    rescanning, and any offset into its (character, byte) position on its line."""

    def __init__(self, data: bytes):
        self.data = data
        self.offset = 0
        self.line = 1

    def line_at(self, offset: int) -> int:
        self.line += self.data.count(b"\n", self.offset, offset)
        self.offset = offset
        return self.line

    def start_of(self, offset: int) -> tuple[int, int]:
        """The 0-based (character, byte) column of ``offset`` on its line."""
        line_start = self.data.rfind(b"\n", 0, offset) + 1
        column = len(self.data[line_start:offset].decode("utf-8", "replace"))
        return column, offset - line_start


def _record_at(
    path: str, positions: _Positions, index: int, data: bytes, start: int, end: int
) -> RawRecord:
    """Parse ``data[start:end]`` (stripped) as the record ``index`` of a document."""
    segment = data[start:end]
    offset = start + len(segment) - len(segment.lstrip())
    raw = segment.strip()
    line = positions.line_at(offset)
    record = parse_record(path, line, index, raw)
    if record.error is not None:
        # Errors are rare: only then is the exact column worth computing.
        record = parse_record(path, line, index, raw, positions.start_of(offset))
    return record


def _document_error(
    path: str, positions: _Positions, index: int, data: bytes, start: int, message: str, hint: str
) -> RawRecord:
    segment = data[start:]
    offset = start + len(segment) - len(segment.lstrip())
    line = positions.line_at(offset)
    error = _problem(
        "invalid-json",
        path,
        line,
        message,
        column=positions.start_of(offset)[0] + 1,
        record=index,
        hint=hint,
    )
    return RawRecord(path, line, index, segment.strip(), error=error)


def _read_document(path: str, data: bytes, *, max_line_bytes: int) -> Iterator[RawRecord]:
    """A ``.json`` file starting with ``{``: one JSON object, or JSON Lines misnamed ``.json``
    (its first line is a whole object on its own)."""
    body = data.removeprefix(_BOM)
    record = parse_record(path, 1, 0, body.strip())
    if record.error is not None:
        first_line = body.split(b"\n", 1)[0]
        try:
            orjson.loads(first_line)
        except orjson.JSONDecodeError:
            pass
        else:
            yield from _read_jsonl(path, io.BytesIO(data), max_line_bytes=max_line_bytes)
            return
        record = _record_at(path, _Positions(data), 0, data, len(data) - len(body), len(data))
    if len(body) != len(data):
        record.notes.append(_bom_note(path))
    yield record


def _read_json_array(path: str, data: bytes) -> Iterator[RawRecord]:
    """Split a JSON array into its elements, each parsed on its own, so one bad element is
    reported at its line and the others still load."""
    notes: list[Problem] = []
    offset = 0
    if data.startswith(_BOM):
        offset = len(_BOM)
        notes.append(_bom_note(path))
    positions = _Positions(data)
    depth = 0
    element_start = data.index(b"[", offset) + 1
    index = 0
    for match in _JSON_TOKENS.finditer(data, element_start - 1):
        token = match.group()
        if token[:1] == b'"':
            if len(token) == 1:
                break  # an unterminated string: the file is truncated
            continue
        if token in (b"[", b"{"):
            depth += 1
            continue
        if token in (b"]", b"}"):
            depth -= 1
            if depth != 0:
                continue
        elif depth != 1:
            continue
        closing = depth == 0
        if data[element_start : match.start()].strip() or not closing or index > 0:
            record = _record_at(path, positions, index, data, element_start, match.start())
            if index == 0:
                record.notes.extend(notes)
            yield record
            index += 1
        element_start = match.end()
        if closing:
            if data[element_start:].strip():
                yield _document_error(
                    path,
                    positions,
                    index,
                    data,
                    element_start,
                    "invalid JSON: data after the end of the top-level array",
                    "remove what follows the closing bracket",
                )
            return
    yield _document_error(
        path,
        positions,
        index,
        data,
        element_start,
        "invalid JSON: the file ends inside this record; the file looks truncated",
        "restore the end of the file or remove the incomplete record",
    )


@dataclass(frozen=True, slots=True)
class Shard:
    """A byte range of a plain JSON Lines file, cut at line boundaries. Shards let workers
    read one file in parallel; line numbers and record indices read from a shard are local
    to it (from 1 and 0), and the caller shifts them by what the shards before it hold
    (:func:`shard_lines`), so that nobody reads the whole file to plan the cut."""

    path: str
    start: int
    end: int


def plan_shards(path: str, target_bytes: int = 4 << 20, tail_bytes: int = 0) -> list[Shard] | None:
    """Cut a plain (not gzip, not JSON array, not stdin) JSON Lines file into shards of about
    ``target_bytes``; a file longer than ``tail_bytes`` has its last ``tail_bytes`` cut into
    shards a quarter that size (so that processes sharing the shards run out of work close
    together). Returns ``None`` when the file cannot be sharded."""
    if path == STDIN:
        return None
    try:
        size = Path(path).stat().st_size
        with open(path, "rb") as handle:
            head = handle.read(64)
            if head[:2] == b"\x1f\x8b" or container_of(path, head) != "jsonl":
                return None
            shards: list[Shard] = []
            start = 0
            while start < size:
                in_tail = size - start <= tail_bytes < size
                step = max(1, target_bytes // 4) if in_tail else target_bytes
                handle.seek(min(start + step, size))
                if handle.tell() < size:
                    _skip_line(handle.readline)  # a chunk at a time: a line may be huge
                end = handle.tell()
                shards.append(Shard(path, start, end))
                start = end
            return shards
    except OSError:
        return None


def shard_lines(shard: Shard) -> int:
    """The line breaks in a shard: how far its lines shift the numbers of the next one's."""
    count = 0
    with open(shard.path, "rb") as handle:
        handle.seek(shard.start)
        length = shard.end - shard.start
        while length > 0:
            block = handle.read(min(length, 16 << 20))
            if not block:
                break
            count += block.count(b"\n")
            length -= len(block)
    return count


def read_shard(
    shard: Shard, *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
) -> Iterator[RawRecord]:
    """Yield the records of one shard. Line numbers and record indices are local to the shard
    (from 1 and 0); the caller renumbers them in file order."""
    with open(shard.path, "rb") as handle:
        handle.seek(shard.start)
        yield from _read_jsonl(
            shard.path,
            handle,
            max_line_bytes=max_line_bytes,
            end_offset=shard.end,
        )
