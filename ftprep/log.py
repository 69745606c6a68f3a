"""Logging: ftprep reports what it does through ``logging.getLogger("ftprep")``.

The library only logs; it never configures handlers (the application does, as the standard
library advises). Each stage of a run logs its wall time at ``DEBUG`` through :func:`stage`,
so ``ftprep -v check ...`` (or ``logging.basicConfig(level=logging.DEBUG)`` in
Python) shows where the time goes::

    ftprep: debug: record pass: 42 units, 2 worker processes
    ftprep: debug: record pass: 4.812 s
    ftprep: debug: dataset rule X002: 0.763 s
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from ftprep.findings import printable

logger = logging.getLogger("ftprep")
"""The one logger of the package."""


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Log the wall time of the block as ``<name>: <seconds> s`` at ``DEBUG`` (also when the
    block raises)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        logger.debug("%s: %.3f s", name, time.perf_counter() - start)


class _Formatter(logging.Formatter):
    """``ftprep: debug: message``, as the command line's own errors read."""

    def format(self, record: logging.LogRecord) -> str:
        message = printable(record.getMessage(), newlines=True)  # names may hold escapes
        return f"ftprep: {record.levelname.lower()}: {message}"


class _Stderr(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is when a record comes (as logging's last-resort
    handler does), not to the stream of the time the handler was made."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


@contextmanager
def to_stderr(verbose: bool = False, quiet: bool = False) -> Iterator[None]:
    """The command line's logging for the block, on standard error: ``WARNING`` and above by
    default, everything with ``verbose`` (``-v``: the stage times), only errors when
    ``quiet``. The logger is left as it was afterwards."""
    before = (logger.handlers[:], logger.level, logger.propagate)
    handler = _Stderr()
    handler.setFormatter(_Formatter())
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG if verbose else logging.ERROR if quiet else logging.WARNING)
    logger.propagate = False
    try:
        yield
    finally:
        logger.handlers[:], logger.level, logger.propagate = before
