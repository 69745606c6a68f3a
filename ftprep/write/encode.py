"""One example to one output line through a dialect's writer, or the problems that stop it."""

from __future__ import annotations

import os

import orjson

from ftprep.dialects import Dialect
from ftprep.findings import Problem
from ftprep.model import Example


def encode(dialect: Dialect, example: Example) -> tuple[bytes | None, list[Problem]]:
    """``(line, problems)``: the JSON line (with newline) ``dialect`` writes for ``example``,
    or ``None`` and the fatal problems (at least one) when it cannot be written (a writer
    that fails on the record included). Otherwise ``problems`` are what the writer left
    out."""
    try:
        written = dialect.write(example)
    except Exception as err:
        # A record of a shape the writer does not expect (a role given as a list): one
        # rejected record, not the end of the run. The error's text may quote the record,
        # so only its type is named.
        if os.environ.get("FTPREP_DEBUG") == "1":
            raise
        failed = f"this record (its writer failed: {type(err).__name__})"
        return None, [dialect.unsupported(example, failed)]
    fatal = [p for p in written.problems if p.fatal]
    if written.record is not None and not fatal:
        try:
            return orjson.dumps(written.record, option=orjson.OPT_APPEND_NEWLINE), written.problems
        except TypeError as err:
            fatal.append(dialect.unsupported(example, f"a value of this record ({err})"))
    return None, fatal or [dialect.unsupported(example, "this record")]
