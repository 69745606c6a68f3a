"""Writing: atomic output files (:mod:`~ftprep.write.files`), the rejects file
(:mod:`~ftprep.write.rejects`), the manifest (:mod:`~ftprep.write.manifest`), safe fixes
(:mod:`~ftprep.write.fixes`), and the ``prepare`` and ``convert`` jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ftprep._lazy import lazy_attributes
from ftprep.write.errors import AccountingError, OutputError, PrepareError

if TYPE_CHECKING:
    from ftprep.write.convert import ConvertResult, convert_files
    from ftprep.write.manifest import MANIFEST, verify_output
    from ftprep.write.prepare import PrepareResult, prepare_files

# The jobs are imported when used: ftprep.write.files alone must not import them.
__getattr__, __dir__ = lazy_attributes(
    __name__,
    {
        "ConvertResult": "ftprep.write.convert",
        "convert_files": "ftprep.write.convert",
        "MANIFEST": "ftprep.write.manifest",
        "verify_output": "ftprep.write.manifest",
        "PrepareResult": "ftprep.write.prepare",
        "prepare_files": "ftprep.write.prepare",
    },
)

__all__ = [
    "MANIFEST",
    "AccountingError",
    "ConvertResult",
    "OutputError",
    "PrepareError",
    "PrepareResult",
    "convert_files",
    "prepare_files",
    "verify_output",
]
