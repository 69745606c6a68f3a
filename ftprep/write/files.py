"""Writing output files so that an interrupted run never leaves a complete-looking result.

Every output is first written to a hidden temporary file in the output folder
(``.train.jsonl.ftprep-tmp``), flushed and fsynced; :meth:`Staging.commit` then moves them
into place with ``os.replace`` (atomic on one file system). The manifest is written the same
way, last: an output folder is complete exactly when its ``manifest.json`` exists and every
file it lists has the sha256 it records (:func:`ftprep.write.manifest.verify_output`).
Single files (fixed inputs, baselines, reports) are replaced the same way by
:func:`write_atomic`.

One run writes into a folder at a time: :class:`Staging` holds an advisory lock on the
folder (``flock``, released when the run ends or dies) and refuses a folder another run
holds. What a run must never replace (a device node, a FIFO, a symbolic link, its own
input) is refused by :func:`check_output_file` before anything is read.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
import sys
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO

from ftprep.config import STDIN
from ftprep.write.errors import OutputError

TMP_SUFFIX = ".ftprep-tmp"


def output_error(err: OSError, where: str | os.PathLike[str]) -> OutputError:
    """``err``, met while writing into ``where``, as the :class:`OutputError` to report."""
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return OutputError(f"no space left on the device of {where}; nothing was written")
    return OutputError(f"cannot write to {where}: {err.strerror or err}")


_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
    stat.S_IFLNK: "a symbolic link (give the file it points to)",
}


def check_output_file(path: str | os.PathLike[str], inputs: Iterable[str] = ()) -> None:
    """Raise :class:`OutputError` when writing the file ``path`` (by replacing it) would
    destroy what it must not: a folder, a device node, a FIFO, a socket, a symbolic link
    (the link, not its target, would be replaced) or one of ``inputs``."""
    target = Path(path)
    try:
        mode = target.lstat().st_mode if target.name not in ("", "..") else stat.S_IFDIR
    except FileNotFoundError:
        return
    except OSError as err:
        raise output_error(err, target) from None
    kind = _KINDS.get(stat.S_IFMT(mode))
    if kind is not None:
        raise OutputError(f"{path} is {kind}, not a file ftprep may replace")
    for name in inputs:
        with contextlib.suppress(OSError):
            if name != STDIN and target.samefile(name):
                raise OutputError(f"{path} is an input of this run ({name}); write to another file")


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _fsync_dir(folder: Path) -> None:
    # Makes the renames durable; not every platform can open a directory.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically: a hidden temporary file beside it, fsynced,
    then ``os.replace``, so a crash leaves the old file or the new one, never half of one.
    An existing file keeps its permission bits; a symbolic link stays one and its target is
    replaced. What must not be replaced (:func:`check_output_file`) raises
    :class:`OutputError`; a failed write raises the ``OSError``."""
    target = Path(os.path.realpath(path))
    check_output_file(target)
    temp = target.with_name(f".{target.name}.{os.getpid()}{TMP_SUFFIX}")
    try:
        with temp.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileNotFoundError):
            temp.chmod(target.stat().st_mode & 0o7777)
        temp.replace(target)
    finally:
        temp.unlink(missing_ok=True)
    _fsync_dir(target.parent)


@dataclass(slots=True)
class OutputFile:
    """A finished output: its final name, records, bytes and sha256."""

    name: str
    split: str
    records: int
    bytes: int
    sha256: str


@dataclass(slots=True)
class _Part:
    name: str
    tmp: Path
    handle: IO[bytes]
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)
    records: int = 0
    bytes: int = 0


def _lock(folder: Path) -> Callable[[], None]:
    """Take the advisory lock on ``folder``; returns what releases it. Raises
    :class:`OutputError` when another process holds it."""
    if sys.platform == "win32":  # no flock; a folder cannot be opened there either
        return lambda: None
    import fcntl

    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise OutputError(
            f"another ftprep run is writing to {folder}; wait for it to finish"
        ) from None
    except OSError as err:
        if err.errno != errno.ENOLCK:
            os.close(fd)
            raise
        # A file system without locks (some NFS mounts): the run goes on unlocked.
    return lambda: os.close(fd)


class Staging:
    """The temporary files of one run in ``folder``, moved into place together, under the
    folder's lock. As a context manager it releases the lock on exit and, when the block
    fails, removes every temporary file; a write error becomes an :class:`OutputError`."""

    def __init__(self, folder: str | os.PathLike[str]):
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            # Released by :meth:`release`, or when the object is collected.
            self.release = weakref.finalize(self, _lock(self.folder))
            for stale in self.folder.glob(f".*{TMP_SUFFIX}"):
                stale.unlink()  # left behind by an interrupted run
        except OSError as err:
            raise output_error(err, self.folder) from None
        self._open: list[_Part] = []
        self._done: list[tuple[_Part, str]] = []

    def __enter__(self) -> Staging:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if error is not None:
                self.discard()
            # A write error names no file (a full disk) or one of ours; an error reading an
            # input names the input and is not about the folder.
            name = getattr(error, "filename", None)
            ours = name is None or Path(str(name)).parent == self.folder
            if isinstance(error, OSError) and ours:
                raise output_error(error, self.folder) from error
        finally:
            self.release()

    def open(self, name: str) -> _Part:
        """Start the temporary file for output ``name``."""
        tmp = self.folder / f".{name}{TMP_SUFFIX}"
        part = _Part(name, tmp, tmp.open("wb"))
        self._open.append(part)
        return part

    def close(self, part: _Part, split: str) -> OutputFile:
        """Flush and fsync ``part``; it is moved into place by :meth:`commit`, unless what
        its name holds now must not be replaced (:func:`check_output_file`)."""
        check_output_file(self.folder / part.name)
        part.handle.flush()
        os.fsync(part.handle.fileno())
        part.handle.close()
        self._open.remove(part)
        self._done.append((part, split))
        return OutputFile(part.name, split, part.records, part.bytes, part.digest.hexdigest())

    def drop(self, part: _Part) -> None:
        """Abandon an open file: close it and remove its temporary file."""
        part.handle.close()
        part.tmp.unlink(missing_ok=True)
        self._open.remove(part)

    def commit(self) -> None:
        """Move every closed file to its final name."""
        for part, _split in self._done:
            part.tmp.replace(self.folder / part.name)
        self._done.clear()
        _fsync_dir(self.folder)

    def discard(self) -> None:
        """Remove every temporary file (after a failure, which closing may repeat: a full
        disk fails the last flush too)."""
        for part in self._open:
            with contextlib.suppress(OSError):
                part.handle.close()
        for part in [*self._open, *(p for p, _s in self._done)]:
            part.tmp.unlink(missing_ok=True)
        self._open.clear()
        self._done.clear()


def write_bytes(part: _Part, data: bytes) -> None:
    """Append ``data`` to ``part``, keeping its size and sha256 up to date."""
    part.handle.write(data)
    part.digest.update(data)
    part.bytes += len(data)


class SplitFile:
    """One logical output (``train``) as JSON Lines, cut into ``train-00001.jsonl``, ... when
    it would exceed ``max_bytes``; a single part keeps the plain name ``train.jsonl``.

    A record is never cut: a part exceeds ``max_bytes`` only when one record alone does.
    """

    def __init__(self, staging: Staging, stem: str, max_bytes: int | None = None):
        self.staging = staging
        self.stem = stem
        self.max_bytes = max_bytes
        self._parts: list[_Part] = [staging.open(f"{stem}-{1:05d}.jsonl")]
        self.records = 0

    def write(self, line: bytes) -> None:
        """Append one record (``line`` ends with a newline)."""
        part = self._parts[-1]
        if self.max_bytes is not None and part.records and part.bytes + len(line) > self.max_bytes:
            part = self.staging.open(f"{self.stem}-{len(self._parts) + 1:05d}.jsonl")
            self._parts.append(part)
        write_bytes(part, line)
        part.records += 1
        self.records += 1

    def close(self) -> list[OutputFile]:
        """Finish every part; returns the outputs in order."""
        if len(self._parts) == 1:
            self._parts[0].name = f"{self.stem}.jsonl"
        return [self.staging.close(part, self.stem) for part in self._parts]
