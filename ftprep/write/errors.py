"""The errors of the ``prepare`` and ``convert`` jobs and of writing outputs, apart from them
so that the command line can catch them without importing the jobs."""

from __future__ import annotations


class PrepareError(RuntimeError):
    """prepare cannot run on this input (stdin, an input that changed between passes, an
    input inside an output folder) or with these settings."""


class AccountingError(PrepareError):
    """Input records and output records do not add up; nothing was moved into place."""


class OutputError(RuntimeError):
    """The output cannot be written where asked (an unwritable or full folder, a folder
    another run is writing to, a path that must not be replaced): a usage error."""
