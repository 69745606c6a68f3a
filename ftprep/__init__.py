"""ftprep: turn raw examples into clean, provider-ready fine-tuning data, and prove it is clean.

The data flows ``load -> validate -> dedup -> split -> write -> report``:

>>> import ftprep
>>> result = ftprep.check(["train.jsonl"])                       # doctest: +SKIP
>>> ftprep.Report.from_check(result)                            # doctest: +SKIP
>>> ftprep.prepare(["train.jsonl"], out_dir="out", holdout=0.1)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ftprep._lazy import lazy_attributes
from ftprep._version import __version__
from ftprep.api import load  # eager: the name is also the subpackage's, which would shadow it

if TYPE_CHECKING:
    from ftprep.api import (
        StatsResult,
        check,
        convert,
        explain,
        list_rules,
        prepare,
        show,
        stats,
    )
    from ftprep.config import Config, ConfigError
    from ftprep.findings import Finding, Location, Severity
    from ftprep.load.paths import InputError
    from ftprep.model import ContentPart, Example, FunctionCall, Message, Source, ToolCall
    from ftprep.report.report import Report
    from ftprep.review import Review
    from ftprep.targets import TARGETS, Target, get_target
    from ftprep.validate.check import CheckResult
    from ftprep.write import (
        AccountingError,
        ConvertResult,
        OutputError,
        PrepareError,
        PrepareResult,
    )

# The rest is imported on first use, so that the command line imports only what a run needs.
__getattr__, __dir__ = lazy_attributes(
    __name__,
    {
        **dict.fromkeys(
            (
                "check",
                "convert",
                "explain",
                "list_rules",
                "prepare",
                "show",
                "stats",
                "StatsResult",
            ),
            "ftprep.api",
        ),
        **dict.fromkeys(("Config", "ConfigError"), "ftprep.config"),
        **dict.fromkeys(("Finding", "Location", "Severity"), "ftprep.findings"),
        "InputError": "ftprep.load.paths",
        **dict.fromkeys(
            ("ContentPart", "Example", "FunctionCall", "Message", "Source", "ToolCall"),
            "ftprep.model",
        ),
        "Report": "ftprep.report.report",
        "Review": "ftprep.review",
        **dict.fromkeys(("TARGETS", "Target", "get_target"), "ftprep.targets"),
        "CheckResult": "ftprep.validate.check",
        **dict.fromkeys(
            ("AccountingError", "ConvertResult", "OutputError", "PrepareError", "PrepareResult"),
            "ftprep.write",
        ),
    },
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
    "Review",
    "Severity",
    "Source",
    "StatsResult",
    "Target",
    "ToolCall",
    "__version__",
    "check",
    "convert",
    "explain",
    "get_target",
    "list_rules",
    "load",
    "prepare",
    "show",
    "stats",
]
