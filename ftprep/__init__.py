"""ftprep: turn raw examples into clean, provider-ready fine-tuning data, and prove it is clean.

The data flows ``load -> validate -> dedup -> split -> write -> report``:

>>> import ftprep
>>> result = ftprep.check(["train.jsonl"])                       # doctest: +SKIP
>>> ftprep.Report.from_check(result)                            # doctest: +SKIP
>>> ftprep.prepare(["train.jsonl"], out_dir="out", holdout=0.1)  # doctest: +SKIP
"""

from __future__ import annotations

from ftprep._version import __version__
from ftprep.api import check, convert, load, prepare
from ftprep.config import Config, ConfigError
from ftprep.findings import Finding, Location, Severity
from ftprep.load.paths import InputError
from ftprep.model import ContentPart, Example, FunctionCall, Message, Source, ToolCall
from ftprep.report.report import Report
from ftprep.targets import TARGETS, Target, get_target
from ftprep.validate.check import CheckResult
from ftprep.write import (
    AccountingError,
    ConvertResult,
    OutputError,
    PrepareError,
    PrepareResult,
)

__all__ = [
    "TARGETS",
    "AccountingError",
    "CheckResult",
    "Config",
    "ConfigError",
    "ContentPart",
    "ConvertResult",
    "Example",
    "Finding",
    "FunctionCall",
    "InputError",
    "Location",
    "Message",
    "OutputError",
    "PrepareError",
    "PrepareResult",
    "Report",
    "Severity",
    "Source",
    "Target",
    "ToolCall",
    "__version__",
    "check",
    "convert",
    "get_target",
    "load",
    "prepare",
]
