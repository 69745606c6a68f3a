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
from dataclasses import dataclass, field, replace
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
    column: int | None = None
    """The 1-based column (in characters) the record starts at on its line, for records of
    a JSON array (many may share a line); ``None`` for JSON Lines, where it is 1."""


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
            head = _peek(stream)
            if is_binary(head[:_BINARY_SNIFF]):
                yield _binary(name)
                return
            kind = container_of(name.removesuffix(".gz") if name != STDIN else name, head)
            if kind == "jsonl":
                yield from _read_jsonl(name, stream, max_line_bytes=max_line_bytes)
            elif kind == "array":
                yield from _read_json_array(name, stream, max_line_bytes=max_line_bytes)
            else:
                yield from _read_document(name, stream, max_line_bytes=max_line_bytes)
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


#: How far into a file :func:`is_binary` looks.
_BINARY_SNIFF = 8192
_CONTROL = bytes([*range(9), *range(14, 32)])
_NOT_CONTROL = bytes(b for b in range(256) if b not in _CONTROL)


def is_binary(head: bytes) -> bool:
    """Whether the first bytes of a file say it is not text: a NUL byte and more than a
    tenth control bytes (an image, an archive, model weights, UTF-16 text). JSON text holds
    no raw control byte but tab and line ends; a few stray ones in a text file are reported
    on their lines instead."""
    if b"\x00" not in head:
        return False
    return len(head.translate(None, _NOT_CONTROL)) * 10 > len(head)


def _binary(path: str) -> RawRecord:
    """The one record of a file that is not text: a single finding, not one per "line"."""
    return RawRecord(
        path,
        0,
        None,
        b"",
        error=_problem(
            "unreadable-file",
            path,
            None,
            "not a text file: it holds NUL bytes (binary data, or text in UTF-16/32); "
            "nothing was read",
            hint="give the JSON Lines or JSON file itself, encoded as UTF-8",
        ),
        unread=True,
    )


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


_NOT_CONTINUATION = bytes([*range(0x80), *range(0xC0, 0x100)])
"""All bytes but UTF-8 continuation bytes: a line's characters are its bytes less those."""

# Strings (complete, or unterminated: no closing quote) and the structural bytes that delimit
# array elements. It starts with a class of bytes, which the regex engine scans for fast.
_JSON_TOKENS = re.compile(rb'["\[\]{},](?:(?<=")[^"\\]*(?:\\.[^"\\]*)*(")?)?')
# The rest of a string up to its closing quote or the end of the window (escapes whole).
_STRING_REST = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*')


class _Positions:
    """A window on a document's bytes (all of them, or a stretch of a stream read a chunk at a
    time): turns increasing offsets into 1-based line numbers without rescanning, and an
    offset into its (character, byte) position on its line. Offsets are absolute (from the
    start of the document); ``data`` holds the bytes from ``base``."""

    def __init__(self, data: bytes, stream: IO[bytes] | None = None):
        self.data = data
        self.base = 0
        self.offset = 0
        self.line = 1
        self.stream = stream
        self.at_line_start = True
        """Whether ``data`` starts at the start of a line."""
        self._column_offset = 0
        self._column = 0

    @property
    def end(self) -> int:
        """The offset just past the bytes in the window."""
        return self.base + len(self.data)

    def column_at(self, offset: int) -> int:
        """The 1-based character column of ``offset``, for increasing offsets: each byte is
        decoded once, so a one-line array of a million records costs one pass."""
        data, base = self.data, self.base
        start = max(self._column_offset - base, 0)
        newline = data.rfind(b"\n", start, offset - base)
        if newline >= 0:
            start, self._column = newline + 1, 0
        part = data[start : offset - base]
        self._column += len(part) - len(part.translate(None, _NOT_CONTINUATION))
        self._column_offset = offset
        return self._column + 1

    def line_at(self, offset: int) -> int:
        self.line += self.data.count(b"\n", self.offset - self.base, offset - self.base)
        self.offset = offset
        return self.line

    def start_of(self, offset: int) -> tuple[int, int] | None:
        """The 0-based (character, byte) column of ``offset`` on its line; ``None`` when the
        line starts before the window (a line of megabytes read as a stream)."""
        found = self.data.rfind(b"\n", 0, offset - self.base)
        if found < 0 and not self.at_line_start:
            return None
        line_start = found + 1
        column = len(self.data[line_start : offset - self.base].decode("utf-8", "replace"))
        return column, offset - self.base - line_start

    def segment(self, start: int, end: int | None = None) -> bytes:
        """The bytes from offset ``start`` to ``end`` (the end of the window when ``None``)."""
        return self.data[start - self.base : None if end is None else end - self.base]

    def more(self, keep: int) -> bool:
        """Read the next chunk of the stream into the window, letting go of the bytes before
        offset ``keep``; ``False`` at the end of the stream."""
        if self.stream is None:
            return False
        chunk = self.stream.read(_READ_CHUNK)
        if not chunk:
            self.stream = None
            return False
        keep = min(max(keep, self.offset), self.end)
        self.line_at(keep)
        self.column_at(keep)  # count the columns of the bytes let go
        # Keep the start of the line too, when it is near, so columns stay known.
        kept = keep - self.base
        newline = self.data.rfind(b"\n", max(0, kept - _LINE_CONTEXT), kept)
        if newline >= 0:
            kept = newline + 1
        elif self.at_line_start and kept <= _LINE_CONTEXT:
            kept = 0
        self.at_line_start = newline >= 0 or (kept == 0 and self.at_line_start)
        self.data = self.data[kept:] + chunk
        self.base += kept
        return True


_READ_CHUNK = 1 << 20
_LINE_CONTEXT = 1 << 16
"""How far back a streamed window keeps the start of the line it is in (for columns)."""


def _at_column(record: RawRecord, start: tuple[int, int] | None) -> RawRecord:
    """``record``'s error without a column when where its line starts is not known."""
    if start is None and record.error is not None:
        location = replace(record.error.location, column=None)
        record.error = replace(record.error, location=location)
    return record


def _record_at(path: str, positions: _Positions, index: int, start: int, end: int) -> RawRecord:
    """Parse the bytes from ``start`` to ``end`` (stripped) as the record ``index`` of a
    document."""
    segment = positions.segment(start, end)
    offset = start + len(segment) - len(segment.lstrip())
    raw = segment.strip()
    line = positions.line_at(offset)
    column = positions.column_at(offset)
    record = parse_record(path, line, index, raw)
    if record.error is not None:
        # Errors are rare: only then is the exact column worth computing.
        where = positions.start_of(offset)
        record = _at_column(parse_record(path, line, index, raw, where or (0, 0)), where)
    record.column = column
    return record


def _document_error(
    path: str, positions: _Positions, index: int, start: int, message: str, hint: str
) -> RawRecord:
    segment = positions.segment(start)
    offset = start + len(segment) - len(segment.lstrip())
    line = positions.line_at(offset)
    where = positions.start_of(offset)
    error = _problem(
        "invalid-json",
        path,
        line,
        message,
        column=None if where is None else where[0] + 1,
        record=index,
        hint=hint,
    )
    return RawRecord(path, line, index, segment.strip(), error=error)


def _read_document(path: str, stream: IO[bytes], *, max_line_bytes: int) -> Iterator[RawRecord]:
    """A ``.json`` file starting with ``{``: one JSON object, or JSON Lines misnamed ``.json``
    (its first line is a whole object on its own). At most ``max_line_bytes`` are read
    before deciding: a longer file is JSON Lines, streamed, or one record over the limit,
    skipped unread."""
    data = stream.read(max_line_bytes + 1)
    if len(data) > max_line_bytes:
        first_line = data.removeprefix(_BOM).split(b"\n", 1)[0]
        try:
            orjson.loads(first_line)
        except orjson.JSONDecodeError:
            size = len(data)
            while chunk := stream.read(_SKIP_CHUNK):
                size += len(chunk)
            yield _too_long(path, 1, 0, size, max_line_bytes)
            return
        rejoined = io.BufferedReader(_Rejoined(data, stream))
        yield from _read_jsonl(path, rejoined, max_line_bytes=max_line_bytes)
        return
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
        record = _record_at(path, _Positions(data), 0, len(data) - len(body), len(data))
    if len(body) != len(data):
        record.notes.append(_bom_note(path))
    yield record


class _Rejoined(io.RawIOBase):
    """Bytes already read from a stream, then the rest of the stream."""

    def __init__(self, head: bytes, rest: IO[bytes]):
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            size = min(len(buffer), len(self._head))
            buffer[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        chunk = self._rest.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def _first_line(positions: _Positions, start: int) -> int:
    """The line of the first byte after ``start`` that is not whitespace."""
    head = positions.segment(start, start + _READ_CHUNK)
    return positions.line_at(start + len(head) - len(head.lstrip()))


def _after_array(path: str, positions: _Positions, index: int, start: int) -> Iterator[RawRecord]:
    """An error record when anything but whitespace follows the array's closing bracket
    (read a chunk at a time, never held)."""
    while not positions.segment(start).strip():
        start = positions.end
        if not positions.more(start):
            return
    yield _document_error(
        path,
        positions,
        index,
        start,
        "invalid JSON: data after the end of the top-level array",
        "remove what follows the closing bracket",
    )


def _string_end(positions: _Positions, position: int) -> tuple[int, bool]:
    """Where the string the window is in at ``position`` ends (past its closing quote), and
    ``False``; or the end of what the window holds of it, and ``True`` (read on)."""
    data = positions.data
    rest = _STRING_REST.match(data, position - positions.base)
    assert rest is not None  # the pattern matches the empty string
    if rest.end() < len(data) and data[rest.end()] == 0x22:  # the closing quote
        return positions.base + rest.end() + 1, False
    return positions.base + rest.end(), True


def _read_json_array(path: str, stream: IO[bytes], *, max_line_bytes: int) -> Iterator[RawRecord]:
    """Split a JSON array into its elements, each parsed on its own, so one bad element is
    reported at its line and the others still load. The array is read a chunk at a time:
    memory holds one element (an element over ``max_line_bytes`` is skipped unread, as an
    over-long line is) and never the whitespace between elements."""
    positions = _Positions(b"", stream)
    while b"[" not in positions.data and positions.more(0):
        pass  # the file starts with it, after a byte order mark and whitespace
    bom = positions.data.startswith(_BOM)
    notes = [_bom_note(path)] if bom else []
    depth = 0
    element_start = positions.data.index(b"[", len(_BOM) if bom else 0) + 1
    index = 0
    position = element_start - 1
    skipped_line: int | None = None  # the line of an element being skipped for its size
    in_string = False  # skipping the rest of a string that began before the window
    while True:
        data, base = positions.data, positions.base
        if in_string:
            position, in_string = _string_end(positions, position)
            if in_string and not positions.more(position):
                break
            continue
        unfinished = None
        for match in _JSON_TOKENS.finditer(data, position - base):
            token = match.group()
            if token[0] == 0x22:  # a string
                if match.group(1) is None:  # without its closing quote (yet)
                    unfinished = match
                    break
                continue
            position = base + match.end()
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
            token_start = base + match.start()
            size = token_start - element_start
            if skipped_line is not None or size > max_line_bytes:
                line = skipped_line or _first_line(positions, element_start)
                yield _too_long(path, line, index, size, max_line_bytes)
                skipped_line = None
                index += 1
            elif positions.segment(element_start, token_start).strip() or not closing or index:
                record = _record_at(path, positions, index, element_start, token_start)
                if index == 0:
                    record.notes.extend(notes)
                yield record
                index += 1
            element_start = position
            if closing:
                yield from _after_array(path, positions, index, position)
                return
        # No whole token in the rest of the window: read on, keeping the element so far.
        resume = positions.end if unfinished is None else base + unfinished.start()
        if skipped_line is None and depth >= 1 and resume - element_start > max_line_bytes:
            skipped_line = _first_line(positions, element_start)
        if skipped_line is not None:
            if unfinished is not None:  # a string starts: skip it too, a chunk at a time
                in_string, resume = True, resume + 1
            keep = resume
        elif depth == 1 and not positions.segment(element_start, resume).strip():
            keep = element_start = resume  # only whitespace between elements so far
        else:
            keep = element_start
        position = resume
        if not positions.more(keep):
            break
    yield _truncated(path, positions, index, max(element_start, positions.base))


def _truncated(path: str, positions: _Positions, index: int, start: int) -> RawRecord:
    """The error record of an array whose file ends inside record ``index``."""
    return _document_error(
        path,
        positions,
        index,
        start,
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
