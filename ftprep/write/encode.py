"""One example to one output line through a dialect's writer, or the problems that stop it."""

from __future__ import annotations

import orjson

from ftprep.dialects import Dialect
from ftprep.findings import Problem
from ftprep.model import Example


def encode(dialect: Dialect, example: Example) -> tuple[bytes | None, list[Problem]]:
    """``(line, problems)``: the JSON line (with newline) ``dialect`` writes for ``example``,
    or ``None`` and the fatal problems (at least one) when it cannot be written. Otherwise
    ``problems`` are what the writer left out."""
    written = dialect.write(example)
    fatal = [p for p in written.problems if p.fatal]
    if written.record is not None and not fatal:
        try:
            return orjson.dumps(written.record, option=orjson.OPT_APPEND_NEWLINE), written.problems
        except TypeError as err:
            fatal.append(dialect.unsupported(example, f"a value of this record ({err})"))
    return None, fatal or [dialect.unsupported(example, "this record")]
