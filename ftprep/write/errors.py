"""The errors of the ``prepare`` job, apart from it so that the command line can catch them
without importing the job."""

from __future__ import annotations


class PrepareError(RuntimeError):
    """prepare cannot run on this input (stdin, an input that changed between passes, an
    input inside an output folder) or with these settings."""


class AccountingError(PrepareError):
    """Input records and output records do not add up; nothing was moved into place."""
