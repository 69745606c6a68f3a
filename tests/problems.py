"""Load and writer problems as the findings a check reports: their rule's code and default
severity."""

from __future__ import annotations

from collections.abc import Iterable

from ftprep.config import Config
from ftprep.findings import Finding, Problem
from ftprep.rules.registry import ProblemRules

_RULES = ProblemRules(Config())


def as_findings(problems: Iterable[Problem]) -> list[Finding]:
    """``problems`` as findings of their rules (under the default configuration)."""
    return [_RULES.finding(p) for p in problems]
