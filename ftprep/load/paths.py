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

from ftprep.config import STDIN

DATA_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")
"""File suffixes a folder input expands to."""

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
            with open(name, "rb"):
                pass
        except FileNotFoundError:
            raise InputError(f"cannot read {what} {name}: it does not exist") from None
        except OSError as err:
            raise InputError(f"cannot read {what} {name}: {err.strerror or err}") from None


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
            out.append(name)
            continue
        found = [str(p) for p in sorted(Path(name).rglob("*")) if _is_data_file(p)]
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
