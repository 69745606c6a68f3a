"""The optional C accelerators: MinHash signing (``dedup/_minhash.c``), the content-key text
(``dedup/_keys.c``) and the trigger scan (``validate/_triggers.c``).

They are built at install time when a C compiler is there (``setup.py``). Each module that
uses one (:mod:`ftprep.dedup.signatures`, :mod:`ftprep.dedup.keys`,
:mod:`ftprep.validate.prefilter`) falls back to plain Python, with the same results, when it was
not built or when the environment variable ``FTPREP_PURE_PYTHON`` is set (to anything but
``0``), which also skips building them.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

#: The environment variable that asks for plain Python, at build and at run time.
PURE_PYTHON = "FTPREP_PURE_PYTHON"


def pure_python() -> bool:
    """Whether ``FTPREP_PURE_PYTHON`` asks for plain Python."""
    return os.environ.get(PURE_PYTHON, "") not in ("", "0")


def extension(name: str) -> ModuleType | None:
    """The C extension ``ftprep.<name>`` (e.g. ``dedup._keys``), or ``None`` when it was not
    built or :func:`pure_python` asks for plain Python."""
    if pure_python():
        return None
    try:
        return importlib.import_module(f"ftprep.{name}")
    except ImportError:
        return None
