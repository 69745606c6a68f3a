"""A check from end to end: plan the input's units, run the record pass on the executor the
configuration picks (:mod:`ftprep.engines`), then the dataset pass over the facts."""

from __future__ import annotations

import html
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ftprep.config import Config
from ftprep.engines import executor_for
from ftprep.facts import FactTable
from ftprep.findings import Finding, Severity, display_path, plural
from ftprep.log import stage
from ftprep.validate.engine import Progress, dataset_pass, plan_units, record_pass

if TYPE_CHECKING:
    import pandas

    from ftprep.validate.flagged import Flagged, RecordKey


class Flag:
    """A yes or no that reads right both in an ``if`` and called: ``if result.failed:`` and
    ``result.failed()`` agree."""

    __slots__ = ("_value",)

    def __init__(self, value: bool):
        self._value = value

    def __call__(self) -> bool:
        return self._value

    def __bool__(self) -> bool:
        return self._value

    def __repr__(self) -> str:
        return repr(self._value)


class Verdict:
    """Whether a result failed: true in an ``if`` when any finding is an error
    (``if result.failed:``); called, at or above another severity
    (``result.failed(Severity.WARNING)``)."""

    __slots__ = ("_findings",)

    def __init__(self, findings: Sequence[Finding]):
        self._findings = findings

    def __call__(self, fail_on: Severity = Severity.ERROR) -> bool:
        """Whether any finding is at or above ``fail_on``."""
        return any(fail_on <= f.severity for f in self._findings)

    def __bool__(self) -> bool:
        return self()

    def __repr__(self) -> str:
        return repr(bool(self))


@dataclass(slots=True)
class CheckResult:
    """Everything a check found, and the facts it found them in."""

    findings: list[Finding]
    facts: FactTable
    paths: list[str]
    config: Config
    against_paths: list[str] = field(default_factory=list)
    against_facts: FactTable | None = None
    dialects: list[str] = field(default_factory=list)
    """The input dialect of each of :attr:`paths` (``auto`` where none was detected)."""
    kept_records: dict[RecordKey, bytes] = field(default_factory=dict, repr=False)
    """For in-memory inputs, the raw flagged records (their temporary file is gone)."""

    @property
    def records(self) -> int:
        """Input records seen (loaded or not; blank lines included)."""
        return len(self.facts)

    @property
    def loaded(self) -> int:
        """Records that loaded into examples."""
        return int(np.count_nonzero(self.facts.loaded))

    def count(self, severity: Severity) -> int:
        """Findings of ``severity``."""
        return sum(1 for f in self.findings if f.severity is severity)

    @property
    def failed(self) -> Verdict:
        """Whether any finding is an error: ``if result.failed:``; or at or above another
        severity: ``result.failed(Severity.WARNING)``."""
        return Verdict(self.findings)

    def codes(self) -> dict[str, int]:
        """Findings per code, most frequent first."""
        return dict(Counter(f.code for f in self.findings).most_common())

    def examples(
        self, code: str | None = None, *, start: int = 0, limit: int | None = 20
    ) -> list[Flagged]:
        """The flagged examples with their text and findings, in report order: those with a
        finding whose code starts with ``code`` (``"Q"``, ``"C002"``), from the ``start``-th,
        at most ``limit`` (``None``: all). Page on with ``start=20``, ``start=40``..."""
        from ftprep.validate.flagged import flagged

        return flagged(
            self.findings,
            self.paths,
            self.dialects,
            self.config,
            self.kept_records,
            code=code,
            start=start,
            limit=limit,
        )

    def to_pandas(self) -> pandas.DataFrame:
        """The findings as a DataFrame, one row per finding, joined with the text of the
        example each is about (``text``)."""
        from ftprep.validate.flagged import findings_frame

        return findings_frame(self.examples(limit=None), self.findings)

    def __repr__(self) -> str:
        s = self.summary()
        return (
            f"<CheckResult {plural(s['files'], 'file')}, {plural(s['records'], 'record')} "
            f"({s['loaded']:,} loaded): {plural(s['errors'], 'error')}, "
            f"{plural(s['warnings'], 'warning')}, {plural(s['infos'], 'info')}>"
        )

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td><code>{html.escape(code)}</code></td><td>{count:,}</td></tr>"
            for code, count in self.codes().items()
        )
        files = ", ".join(html.escape(display_path(p)) for p in self.paths[:3])
        more = f" and {len(self.paths) - 3} more" if len(self.paths) > 3 else ""
        return (
            f"<div class='ftprep-check'><p><b>{html.escape(repr(self)[1:-1])}</b><br>"
            f"{files}{more}</p><table><tr><th>code</th><th>findings</th></tr>{rows}</table>"
            "<p>Review: <code>result.examples(code=...)</code>, "
            "<code>result.to_pandas()</code>, <code>ftprep.Report.from_check(result)</code></p>"
            "</div>"
        )

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def summary(self) -> dict[str, int]:
        """Counts for reporters: records, loaded, and findings per severity; with a
        self-hosted tokenizer, the examples the trainer would drop, leave with nothing
        trained, or cut (``trainer_dropped``, ``trainer_emptied``, ``trainer_cut``, present
        when not 0)."""
        summary = {
            "files": len(self.paths),
            "records": self.records,
            "loaded": self.loaded,
            "errors": self.count(Severity.ERROR),
            "warnings": self.count(Severity.WARNING),
            "infos": self.count(Severity.INFO),
        }
        for finding in self.findings:
            outcome = finding.data.get("trainer_outcome") if finding.data else None
            if outcome is not None:
                key = f"trainer_{outcome}"
                summary[key] = summary.get(key, 0) + finding.count
        return summary


def run_check(
    paths: Sequence[str | os.PathLike[str]],
    config: Config,
    *,
    against: Sequence[str | os.PathLike[str]] = (),
    progress: Progress | None = None,
    aggregate: bool = True,
) -> CheckResult:
    """Check ``paths`` (and, for leakage, ``against``) under ``config``. ``progress`` is
    called with the input bytes of each unit of the record pass as it completes.
    ``aggregate``: fold repeated findings into one with a count
    (:mod:`ftprep.validate.aggregate`); ``prepare`` keeps each, to give every record it
    rejects its own reasons."""
    names = [str(p) for p in paths]
    against_names = [str(p) for p in against]
    with stage("plan"):
        units = plan_units(names, config, aggregate=aggregate)
    with stage("record pass"):
        main = record_pass(units, config, executor_for(config, units), progress)
    other = None
    if against_names:
        with stage("record pass (--against)"):
            against_units = plan_units(
                against_names, config, first_index=len(names), aggregate=aggregate
            )
            executor = executor_for(config, against_units)
            other = record_pass(against_units, config, executor, progress)
        units.extend(against_units)
    findings = dataset_pass(main, other, config, [*names, *against_names], units)
    dialects = {unit.path_index: unit.dialect for unit in units}
    return CheckResult(
        findings,
        main.facts,
        names,
        config,
        against_names,
        None if other is None else other.facts,
        [dialects.get(i, "auto") for i in range(len(names))],
    )
