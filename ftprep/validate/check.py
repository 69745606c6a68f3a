"""A check from end to end: plan the input's units, run the record pass on the executor the
configuration picks (:mod:`ftprep.engines`), then the dataset pass over the facts."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ftprep.config import Config
from ftprep.engines import executor_for
from ftprep.facts import FactTable
from ftprep.findings import Finding, Severity
from ftprep.log import stage
from ftprep.validate.engine import Progress, dataset_pass, plan_units, record_pass


@dataclass(slots=True)
class CheckResult:
    """Everything a check found, and the facts it found them in."""

    findings: list[Finding]
    facts: FactTable
    paths: list[str]
    config: Config
    against_paths: list[str] = field(default_factory=list)
    against_facts: FactTable | None = None

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

    def failed(self, fail_on: Severity = Severity.ERROR) -> bool:
        """Whether any finding is at or above ``fail_on``."""
        return any(fail_on <= f.severity for f in self.findings)

    def summary(self) -> dict[str, int]:
        """Counts for reporters: records, loaded, and findings per severity."""
        return {
            "files": len(self.paths),
            "records": self.records,
            "loaded": self.loaded,
            "errors": self.count(Severity.ERROR),
            "warnings": self.count(Severity.WARNING),
            "infos": self.count(Severity.INFO),
        }


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
    return CheckResult(
        findings, main.facts, names, config, against_names, None if other is None else other.facts
    )
