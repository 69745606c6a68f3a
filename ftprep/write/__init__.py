"""Writing: atomic output files (:mod:`~ftprep.write.files`), the rejects file
(:mod:`~ftprep.write.rejects`), the manifest (:mod:`~ftprep.write.manifest`), safe fixes
(:mod:`~ftprep.write.fixes`), and the ``prepare`` and ``convert`` jobs."""

from __future__ import annotations

from ftprep.write.convert import ConvertResult, convert_files
from ftprep.write.files import OutputError
from ftprep.write.manifest import MANIFEST, verify_output
from ftprep.write.prepare import AccountingError, PrepareError, PrepareResult, prepare_files

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
