"""The C accelerators and their plain-Python twins, for the tests that run on each:
:func:`backend` switches every use site to one of them. Under ``FTPREP_PURE_PYTHON`` only the
plain-Python ones are run (a run without it has run the C ones)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

import pytest

from ftprep._accel import pure_python
from ftprep.config import Config
from ftprep.dedup import keys, signatures
from ftprep.rules.base import RecordRule
from ftprep.rules.registry import record_rules
from ftprep.validate import prefilter


def _built(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"ftprep.{name}")
    except ImportError:
        return None


MINHASH = _built("dedup._minhash")
KEYS = _built("dedup._keys")
TRIGGERS = _built("validate._triggers")
#: The backends there are: plain Python always, C where the extensions are built (and not
#: set aside by ``FTPREP_PURE_PYTHON``).
C_BUILT = bool(MINHASH and KEYS and TRIGGERS)
BUILT = ["python"] + (["c"] if C_BUILT and not pure_python() else [])


@contextmanager
def backend(name: str) -> Iterator[None]:
    """Run the block with the ``c`` extensions or their ``python`` twins."""
    c = name == "c"
    if c and not C_BUILT:
        raise LookupError("the C extensions are not built")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(keys, "_joined", KEYS.joined if c and KEYS else keys.joined_text)
        patch.setattr(
            signatures, "_sign", MINHASH.sign if c and MINHASH else signatures.sign_python
        )
        patch.setattr(
            signatures,
            "_shingle_hashes",
            MINHASH.shingle_hashes if c and MINHASH else signatures.shingle_python,
        )
        patch.setattr(prefilter, "_triggers", TRIGGERS if c else None)
        yield


#: Every rule selected, and the options that add triggers on.
EVERY_TRIGGER = Config(select=["ALL"], rules={"unfilled-template-slot": {"dollar_braces": True}})


def every_rule() -> list[RecordRule]:
    """Every record rule, under :data:`EVERY_TRIGGER`."""
    return record_rules(EVERY_TRIGGER)
