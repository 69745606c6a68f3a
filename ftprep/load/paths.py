"""Input paths: what the command line and the Python API accept as inputs (one path, several,
folders), turned into the list of files a run reads.

>>> input_names("train.jsonl")
['train.jsonl']
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from ftprep.config import STDIN
from ftprep.log import logger

DATA_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz", ".json", ".json.gz")
"""File suffixes a folder input expands to (a ``.json`` file only when it holds records,
:func:`not_a_dataset`)."""
_JSON_SUFFIXES = (".json", ".json.gz")
#: A ``.json`` file larger than this is taken for a dataset without being parsed whole.
_SNIFF_WHOLE_BYTES = 16 << 20

PathLike = str | os.PathLike[str]
Inputs = PathLike | Iterable[PathLike]
"""One path, or any iterable of paths."""


class InputError(ValueError):
    """The inputs cannot be read as data (a folder without data files, a device, a symbolic
    link loop): a usage error."""


_SPECIAL = {
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def is_regular_file(name: str) -> bool:
    """Whether ``name`` is a regular file (following symbolic links): a file that can be
    opened more than once and seeked, unlike stdin, a FIFO or a device."""
    try:
        return name != STDIN and stat.S_ISREG(Path(name).stat().st_mode)
    except (OSError, ValueError):
        return False


def check_input(name: str, what: str = "input") -> None:
    """Raise :class:`InputError` when ``name`` can never be read to an end as data: a
    device (``/dev/zero`` is endless), a socket or a loop of symbolic links. A missing or
    unreadable file is left to the reader, which reports it as a finding; stdin and FIFOs
    are read once, as streams."""
    try:
        mode = _stdin_mode() if name == STDIN else Path(name).stat().st_mode
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise InputError(f"{what} {name} is a loop of symbolic links") from None
        return
    except ValueError as err:  # a NUL byte in the name
        raise InputError(f"{what} {name!r} is not a usable path: {err}") from None
    kind = _SPECIAL.get(stat.S_IFMT(mode)) if mode is not None else None
    if kind is not None:
        where = "standard input" if name == STDIN else f"{what} {name}"
        raise InputError(f"{where} is {kind}, not a regular file")


def require_readable(paths: Iterable[str], what: str = "input") -> None:
    """Raise :class:`InputError` for the first of ``paths`` that is missing or cannot be
    opened for reading: the jobs that write outputs (prepare, convert) stop before writing
    anything, where a check reports such a file as a finding (L010) and goes on."""
    for name in paths:
        if name == STDIN or (Path(name).exists() and not is_regular_file(name)):
            continue  # streams and special files: the jobs' own checks say what they are
        try:
            with open(name, "rb") as handle:
                binary = _is_binary_file(handle)
        except FileNotFoundError:
            raise InputError(f"cannot read {what} {name}: it does not exist") from None
        except OSError as err:
            raise InputError(f"cannot read {what} {name}: {err.strerror or err}") from None
        if binary:
            raise InputError(f"cannot read {what} {name}: it is not a text file (binary data)")


def _is_binary_file(handle: BinaryIO) -> bool:
    """Whether the file's first bytes (decompressed, for gzip) are not text
    (:func:`~ftprep.load.containers.is_binary`); a gzip stream that cannot be read is left to
    the reader, which says why."""
    import gzip
    import zlib

    from ftprep.load.containers import is_binary

    head = handle.read(8192)
    if head[:2] == b"\x1f\x8b":
        handle.seek(0)
        try:
            head = gzip.GzipFile(fileobj=handle).read(8192)
        except (OSError, EOFError, zlib.error):
            return False
    return is_binary(head)


def _stdin_mode() -> int | None:
    """The file mode of standard input, or ``None`` when it is a terminal (someone typing)
    or not a file descriptor at all (a stand-in object)."""
    try:
        return None if sys.stdin.isatty() else os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError, AttributeError):
        return None


def input_names(inputs: Inputs) -> list[str]:
    """``inputs`` as a list of path strings; a single ``str`` or path is one input, not a
    sequence of one-character paths."""
    if isinstance(inputs, str | os.PathLike):
        return [os.fspath(inputs)]
    return [os.fspath(path) for path in inputs]


def _is_data_file(path: Path) -> bool:
    """A file a folder input expands to: a data suffix, and a file or a broken link."""
    exists = path.is_file() or (path.is_symlink() and not path.exists())
    return exists and path.name.endswith(DATA_SUFFIXES)


def not_a_dataset(path: str) -> str | None:
    """Why the ``.json`` file ``path`` is not a dataset (a configuration, ``package.json``,
    a LLaMA-Factory ``dataset_info.json``), or ``None`` when it holds records: a JSON array
    of objects, JSON Lines, or one object of a known data shape. Files that cannot be read
    count as datasets, so that reading them reports why."""
    if not path.lower().endswith(_JSON_SUFFIXES):
        return None
    import gzip

    import orjson

    from ftprep.load import DialectDetector, is_dataset_registry

    try:
        with open(path, "rb") as raw:
            magic = raw.read(2)
            raw.seek(0)
            stream = gzip.GzipFile(fileobj=raw) if magic == b"\x1f\x8b" else raw
            data = stream.read(_SNIFF_WHOLE_BYTES + 1)
    except (OSError, EOFError):
        return None
    body = data.removeprefix(b"\xef\xbb\xbf").lstrip()
    if body[:1] == b"[":
        first = body[1:].lstrip()[:1]
        return None if first in (b"{", b"]", b"") else "a JSON array of values, not of records"
    if body[:1] != b"{" or len(data) > _SNIFF_WHOLE_BYTES:
        return None
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None  # JSON Lines named .json, or broken: the reader says which
    if not isinstance(value, dict):
        return None
    if is_dataset_registry(value):
        return "a dataset registry (dataset_info.json), not training data"
    if DialectDetector().detect(value) is not None:
        return None
    return "a JSON document that is not training data (a configuration?)"


def expand_paths(inputs: Inputs) -> list[str]:
    """The inputs as given, with each folder replaced by the data files under it (sorted;
    see :data:`DATA_SUFFIXES`; a broken symbolic link among them is kept, so that reading
    it reports it). A folder without any data file raises :class:`InputError`: reading
    nothing from it would write empty outputs and report a clean run. So does an input that
    :func:`check_input` refuses."""
    out: list[str] = []
    for name in input_names(inputs):
        if name == STDIN or not Path(name).is_dir():
            check_input(name)
            why = None if name == STDIN else not_a_dataset(name)
            if why is None:
                out.append(name)
            else:  # a pre-commit hook hands over every .json file committed
                logger.warning("skipped %s: %s", name, why)
            continue
        found: list[str] = []
        for candidate in sorted(Path(name).rglob("*")):
            if _is_data_file(candidate):
                why = not_a_dataset(str(candidate))
                if why is None:
                    found.append(str(candidate))
                else:
                    logger.warning("skipped %s: %s", candidate, why)
        if not found:
            suffixes = ", ".join(DATA_SUFFIXES)
            raise InputError(f"no data files ({suffixes}) under the folder {name}")
        for path in found:
            check_input(path)
        out.extend(found)
    return out


def input_bytes(paths: Iterable[str]) -> int:
    """The size of the files among ``paths`` in bytes (stdin and unreadable files count 0):
    the total of a byte-counting progress bar."""
    total = 0
    for path in paths:
        if path != STDIN:
            with contextlib.suppress(OSError):
                total += Path(path).stat().st_size
    return total
