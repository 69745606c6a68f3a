"""A small on-disk cache in the user's cache directory, for what is slow to rebuild on every
run (the tokenizer vocabularies, see :mod:`ftprep.tokens.encodings`).

The directory is ``$FTPREP_CACHE_DIR``, else ``$XDG_CACHE_HOME/ftprep``, else
``~/.cache/ftprep``; ``FTPREP_NO_CACHE=1`` turns the cache off. Every entry is stored with the
key it was made for and the hash of its payload (xxh3-128: the entries guard against damage,
not against someone who can write to the user's own files), both checked on reading: an entry
that is stale (made for another key), cut short or corrupt is never used. Writes go to a temporary
file renamed into place, so a reader never sees half an entry, and a cache that cannot be
written (a read-only home) only costs the speed: failures are logged at debug level, never
raised.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

import xxhash

__all__ = ["cache_dir", "read_entry", "write_entry"]

logger = logging.getLogger(__name__)

#: Starts every entry, whose layout is: this, the key (UTF-8) and a line feed, the xxh3-128
#: digest of the payload (16 bytes), the payload.
MAGIC = b"ftprep-cache-1\n"
_DIGEST = 16


def cache_dir() -> Path | None:
    """The cache directory (not necessarily existing yet), or None when the cache is off."""
    if os.environ.get("FTPREP_NO_CACHE", "") not in ("", "0"):
        return None
    explicit = os.environ.get("FTPREP_CACHE_DIR")
    if explicit:
        return Path(explicit).absolute()
    xdg = Path(os.environ.get("XDG_CACHE_HOME", ""))
    if xdg.is_absolute():  # the XDG specification: a relative path is to be ignored
        return xdg / "ftprep"
    try:
        return Path.home() / ".cache" / "ftprep"
    except (RuntimeError, KeyError):  # no home directory
        return None


def _header_start(key: str) -> bytes:
    if "\n" in key:
        raise ValueError(f"a cache key is one line: {key!r}")
    return MAGIC + key.encode() + b"\n"


def _entry_path(folder: str, name: str) -> Path | None:
    root = cache_dir()
    return None if root is None else root / folder / name


def read_entry(folder: str, name: str, key: str) -> bytes | None:
    """The payload stored as ``folder/name`` for ``key``, or None when there is none, or it
    was made for another key, or it is damaged."""
    path = _entry_path(folder, name)
    if path is None:
        return None
    try:
        data = path.read_bytes()
    except OSError as err:
        logger.debug("cache entry %s not read: %s", path, err)
        return None
    header = _header_start(key)
    digest_end = len(header) + _DIGEST
    payload = memoryview(data)[digest_end:]
    if (
        not data.startswith(header)
        or len(data) < digest_end
        or data[len(header) : digest_end] != xxhash.xxh3_128_digest(payload)
    ):
        logger.debug("cache entry %s is stale or damaged: ignored", path)
        return None
    return bytes(payload)


def write_entry(folder: str, name: str, key: str, payload: bytes) -> None:
    """Store ``payload`` as ``folder/name`` for ``key``, replacing any entry there at once;
    do nothing (but log at debug level) when the cache is off or cannot be written."""
    path = _entry_path(folder, name)
    if path is None:
        return
    header = _header_start(key) + xxhash.xxh3_128_digest(payload)
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        import tempfile  # only when an entry is (re)written

        fd, temporary_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=path.parent)
        temporary = Path(temporary_name)
        with os.fdopen(fd, "wb") as file:
            file.write(header)
            file.write(payload)
        temporary.replace(path)
        temporary = None
        logger.debug("cache entry %s written", path)
    except OSError as err:
        logger.debug("cache entry %s not written: %s", path, err)
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                temporary.unlink()
