"""The one-pass trigger scan (``_triggers.c``); the tables are built by
:mod:`ftprep.validate.prefilter`."""

from typing import NewType

Tables = NewType("Tables", object)

def compile(tables: bytes, /) -> Tables:
    """Check the tables and keep them for :func:`text_facts`."""

def text_facts(tables: Tables, texts: list[str], /) -> int:
    """The facts (bits) whose triggers occur in ``texts``."""
