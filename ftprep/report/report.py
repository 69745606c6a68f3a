"""The report: what a check (or a prepare run) found, summarised for people.

A :class:`Report` is plain data computed once from a
:class:`~ftprep.validate.check.CheckResult` (and, after ``prepare``, the fact tables of its
splits): findings counted by code and severity with their first locations, example and token
totals per file or split, token-length distributions per role, duplicate clusters, the billing
estimate and readiness advice. It renders itself as text, as HTML in notebooks
(``_repr_html_``) and as a standalone ``report.html`` (:meth:`Report.write_html`).

>>> from ftprep.config import Config
>>> from ftprep.validate.check import run_check
>>> report = Report.from_check(run_check(["fixtures/realdata/toy_chat_fine_tuning.jsonl"],
...                                      Config()))
>>> report.summary["loaded"], report.estimate.epochs if report.estimate else None
(5, 20)
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ftprep.facts import ROLES, FactTable
from ftprep.findings import Finding, Location, Severity, plural
from ftprep.report.stats import Distribution, token_stats
from ftprep.rules.registry import rule_codes, rule_for
from ftprep.targets import get_target
from ftprep.tokens.billing import BillingEstimate, estimate_facts
from ftprep.write.files import write_atomic

if TYPE_CHECKING:
    import pandas

    from ftprep.report.trained import TrainedView
    from ftprep.validate.check import CheckResult

MAX_LOCATIONS = 5
"""Locations kept per code for display; :meth:`Report.to_records` still has every finding."""

FORMAT_EXAMPLES = 50
"""Examples from which fine-tuning reliably learns a format: OpenAI's guide sees clear
improvements from 50 to 100 well-crafted examples."""
STYLE_EXAMPLES = 500
"""Examples common practice recommends for teaching a style, tone or domain."""

RECORD_COLUMNS = (
    "code",
    "name",
    "severity",
    "message",
    "path",
    "line",
    "column",
    "record",
    "message_index",
    "pointer",
    "hint",
    "related",
    "fingerprint",
    "data",
)
"""The columns of :meth:`Report.to_records` and :meth:`Report.to_pandas`, in order."""


@dataclass(frozen=True, slots=True)
class CodeSummary:
    """The findings of one code: how many, in how many records, and the first few."""

    code: str
    name: str
    severity: Severity
    summary: str
    findings: int
    records: int
    """Distinct records with this code (0 for findings about a whole file or dataset)."""
    hint: str | None
    first: tuple[Finding, ...]

    @property
    def weight(self) -> int:
        """What charts and advice rank by: affected records, else findings."""
        return self.records or self.findings


@dataclass(frozen=True, slots=True)
class Totals:
    """Examples and tokens of one input file or one prepared split."""

    name: str
    records: int
    """Input rows (loaded or not)."""
    examples: int
    """Records that loaded into examples."""
    usable: int
    """Loaded examples that no error rejects."""
    tokens: int
    """Tokens of the usable examples."""
    trained: int
    """Trained (assistant) tokens of the usable examples."""
    over_limit: int
    """Usable examples longer than the model's per-example limit."""


@dataclass(frozen=True, slots=True)
class Histogram:
    """Examples per token-length bin; bins are half-octaves ``[edges[i], edges[i + 1])``."""

    edges: tuple[int, ...]
    counts: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class DuplicateCluster:
    """Records that an X rule ties to one first occurrence."""

    code: str
    first: Location
    copies: tuple[Location, ...]

    @property
    def size(self) -> int:
        """Records in the cluster, the first occurrence included."""
        return 1 + len(self.copies)


@dataclass(frozen=True, slots=True)
class Goal:
    """One rung of the readiness ladder: what this many examples are enough for."""

    name: str
    needed: int
    met: bool
    source: str


@dataclass(frozen=True, slots=True)
class Advice:
    """One piece of readiness advice, most pressing first."""

    severity: Severity
    title: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Report:
    """A summary of a check or prepare run, ready to render.

    Build it with :meth:`from_check`; show it in a notebook (it has ``_repr_html_``), print
    it, write it with :meth:`write_html`, or take the findings as rows with
    :meth:`to_records` / :meth:`to_pandas`.
    """

    title: str
    summary: dict[str, int]
    """``files``, ``records``, ``loaded``, ``usable``, ``errors``, ``warnings``, ``infos``."""
    target: str
    model: str
    limit: int
    """The per-example token limit of the model."""
    paths: tuple[str, ...]
    codes: tuple[CodeSummary, ...]
    """By severity (errors first), then by affected records."""
    totals: tuple[Totals, ...]
    """Per split when built with splits, else per input file."""
    split_totals: bool
    """Whether :attr:`totals` are per prepared split (else per input file)."""
    lengths: tuple[Distribution, ...]
    histogram: Histogram
    clusters: tuple[DuplicateCluster, ...]
    """Largest first."""
    estimate: BillingEstimate | None
    """Default epochs and billed tokens of the training examples (cost when priced)."""
    goals: tuple[Goal, ...]
    advice: tuple[Advice, ...]
    findings: tuple[Finding, ...] = field(repr=False)
    trained: tuple[TrainedView, ...] = field(default=(), repr=False)
    """With a self-hosted tokenizer: the first examples the token rules flag, as the model
    sees them in training (:mod:`ftprep.report.trained`)."""

    @classmethod
    def from_check(
        cls,
        result: CheckResult,
        *,
        splits: Mapping[str, FactTable] | None = None,
        max_locations: int = MAX_LOCATIONS,
        title: str = "ftprep report",
    ) -> Report:
        """Summarise ``result``. ``splits`` (name to fact table, as ``prepare`` makes them)
        switches the totals to one row per split and counts readiness and cost on the
        ``train`` split (or on all splits when none is called ``train``)."""
        config = result.config
        target = get_target(config.target)
        model = target.spec_for(config)
        limit = model.max_tokens
        facts = result.facts
        names = [*result.paths, *result.against_paths]
        codes = _code_summaries(result.findings, max_locations)
        if splits:
            totals = tuple(_totals(name, table, limit) for name, table in splits.items())
            training = (
                splits["train"] if "train" in splits else FactTable.concat(list(splits.values()))
            )
        else:
            totals = tuple(
                _totals(name, facts.select(facts.path == i), limit)
                for i, name in enumerate(result.paths)
            )
            training = facts
        usable = int(np.count_nonzero(training.loaded & ~training.rejected))
        loaded_tokens = facts.tokens[facts.loaded]
        clusters = _clusters(result.findings)
        goals = _goals(usable, target.min_examples, target.sources[0] if target.sources else "")
        summary = {
            **result.summary(),
            "usable": int(np.count_nonzero(facts.loaded & ~facts.rejected)),
        }
        return cls(
            title=title,
            summary=summary,
            target=target.name,
            model=model.name,
            limit=limit,
            paths=tuple(names),
            codes=codes,
            totals=totals,
            split_totals=bool(splits),
            lengths=_distributions(facts),
            histogram=_histogram(loaded_tokens),
            clusters=clusters,
            estimate=estimate_facts(training, limit, price_per_million=config.price_per_million)
            if usable
            else None,
            goals=goals,
            advice=_advice(usable, goals, codes, clusters, totals, limit),
            findings=tuple(result.findings),
            trained=_trained_views(result, max_locations),
        )

    # --- rows ---------------------------------------------------------------------------

    def to_records(self) -> list[dict[str, Any]]:
        """Every finding as a flat dict with the columns :data:`RECORD_COLUMNS` (the rule's
        name added to :meth:`Finding.to_dict`)."""
        names = {c.code: c.name for c in self.codes}
        rows = []
        for finding in self.findings:
            row = dict.fromkeys(RECORD_COLUMNS)
            row.update(finding.to_dict())
            row["name"] = names.get(finding.code, "")
            rows.append(row)
        return rows

    def to_pandas(self) -> pandas.DataFrame:
        """The findings as a :class:`pandas.DataFrame` (one row per finding)."""
        try:
            import pandas
        except ImportError:
            raise ImportError(
                "Report.to_pandas() needs pandas: pip install 'ftprep[notebook]'"
            ) from None
        return pandas.DataFrame.from_records(self.to_records(), columns=list(RECORD_COLUMNS))

    # --- rendering ----------------------------------------------------------------------

    def to_text(self) -> str:
        """A plain-text summary (what ``print(report)`` shows)."""
        from ftprep.report.html import render_text

        return render_text(self)

    def to_html(self, *, standalone: bool = True) -> str:
        """The report as HTML: a whole page, or a fragment with scoped styles for notebooks."""
        from ftprep.report.html import render_fragment, render_page

        return render_page(self) if standalone else render_fragment(self)

    def write_html(self, path: str | Path) -> Path:
        """Write a standalone HTML report (no external assets) to ``path``, atomically;
        returns it."""
        out = Path(path)
        write_atomic(out, self.to_html().encode("utf-8"))
        return out

    def _repr_html_(self) -> str:
        return self.to_html(standalone=False)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text("Report(...)" if cycle else self.to_text())

    def __repr__(self) -> str:
        return self.to_text()

    __str__ = __repr__


# --- building blocks ------------------------------------------------------------------------


def _trained_views(result: CheckResult, limit: int) -> tuple[TrainedView, ...]:
    """The trained views of the first ``limit`` records the token rules flag (only with a
    self-hosted tokenizer, whose rendering they show)."""
    config = result.config
    if config.tokenizer is None:
        return ()
    from ftprep.report.trained import read_example, trained_view
    from ftprep.rules import tokens

    seen: dict[tuple[str, int], None] = {}
    for finding in result.findings:
        line = finding.location.line
        if line is not None and rule_for(finding.code).__module__ == tokens.__name__:
            seen[finding.location.path, line] = None
            if len(seen) == limit:
                break
    views = []
    for path, line in seen:
        try:
            example = read_example(path, line, config)
        except (OSError, ValueError):  # the file changed since the check
            continue
        views.append(trained_view(example, config, f"{path}:{line}"))
    return tuple(views)


def _record_key(location: Location) -> tuple[str, int] | None:
    if location.record is not None:
        return (location.path, location.record)
    if location.line is not None:
        return (location.path, -location.line)
    return None


def _code_summaries(findings: Sequence[Finding], max_locations: int) -> tuple[CodeSummary, ...]:
    by_code: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        by_code[finding.code].append(finding)
    out = []
    for code, group in by_code.items():
        try:
            rule = rule_for(code)
            name, summary = rule.name, rule.summary
        except KeyError:
            name, summary = "", group[0].message
        # A folded finding (a run, a file-wide summary) stands for one record per occurrence.
        records = {
            key for f in group if f.count == 1 and (key := _record_key(f.location)) is not None
        }
        folded = sum(f.count for f in group if f.count > 1)
        hints = Counter(f.hint for f in group if f.hint)
        out.append(
            CodeSummary(
                code=code,
                name=name,
                severity=max(f.severity for f in group),
                summary=summary,
                findings=sum(f.count for f in group),
                records=len(records) + folded,
                hint=hints.most_common(1)[0][0] if hints else None,
                first=tuple(group[:max_locations]),
            )
        )
    out.sort(key=lambda c: (-c.severity.rank, -c.weight, c.code))
    return tuple(out)


def _totals(name: str, facts: FactTable, limit: int) -> Totals:
    usable = facts.loaded & ~facts.rejected
    return Totals(
        name=name,
        records=len(facts),
        examples=int(np.count_nonzero(facts.loaded)),
        usable=int(np.count_nonzero(usable)),
        tokens=int(facts.tokens[usable].sum()),
        trained=int(facts.trained[usable].sum()),
        over_limit=int(np.count_nonzero(usable & (facts.tokens > limit))),
    )


def _distributions(facts: FactTable) -> tuple[Distribution, ...]:
    """Per-role content tokens over the examples that have the role, then whole examples."""
    stats = token_stats(facts)
    names = (*ROLES, "tokens")
    return tuple(d for d in (stats.get(n) for n in names) if d.count)


def _histogram(tokens: npt.NDArray[np.int64]) -> Histogram:
    values = tokens[tokens > 0]
    if not len(values):
        return Histogram((), ())
    lo, hi = int(values.min()), int(values.max())
    first, last = math.floor(2 * math.log2(lo)), math.floor(2 * math.log2(hi)) + 1
    edges = sorted({round(2 ** (k / 2)) for k in range(first, last + 1)})
    while edges[-1] <= hi:
        edges.append(round(edges[-1] * math.sqrt(2)) + 1)
    counts, _ = np.histogram(values, bins=np.asarray(edges))
    return Histogram(tuple(edges), tuple(int(c) for c in counts))


def _clusters(findings: Sequence[Finding]) -> tuple[DuplicateCluster, ...]:
    groups: dict[tuple[str, Location], list[Location]] = defaultdict(list)
    relating = rule_codes(relates_records=True)
    for finding in findings:
        if finding.code in relating and finding.related:
            groups[(finding.code, finding.related[0])].append(finding.location)
    clusters = [
        DuplicateCluster(code, first, tuple(copies)) for (code, first), copies in groups.items()
    ]
    clusters.sort(key=lambda c: (-c.size, c.code, c.first.path, c.first.line or 0))
    return tuple(clusters)


def _goals(usable: int, minimum: int, source: str) -> tuple[Goal, ...]:
    return (
        Goal("start a fine-tuning job", minimum, usable >= minimum, source),
        Goal(
            "learn a format or structure",
            FORMAT_EXAMPLES,
            usable >= FORMAT_EXAMPLES,
            "OpenAI fine-tuning guide: clear improvements from 50-100 examples",
        ),
        Goal(
            "teach a style, tone or domain",
            STYLE_EXAMPLES,
            usable >= STYLE_EXAMPLES,
            "common practice: several hundred to thousands of examples",
        ),
    )


def _advice(
    usable: int,
    goals: tuple[Goal, ...],
    codes: tuple[CodeSummary, ...],
    clusters: tuple[DuplicateCluster, ...],
    totals: tuple[Totals, ...],
    limit: int,
) -> tuple[Advice, ...]:
    out: list[Advice] = []
    start = goals[0]
    if not start.met:
        out.append(
            Advice(
                Severity.ERROR,
                f"Not enough data: {plural(usable, 'usable example')}, "
                f"at least {start.needed:,} needed",
                "Fix the errors below or add examples before starting a job.",
            )
        )
    advised: set[str] = set()
    for kind, severity in (("Fix", Severity.ERROR), ("Review", Severity.WARNING)):
        for code in [c for c in codes if c.severity is severity][:3]:
            advised.add(code.code)
            where = (
                plural(code.records, "record") if code.records else plural(code.findings, "finding")
            )
            out.append(
                Advice(
                    severity,
                    f"{kind} {code.code} {code.name} ({where})".replace("  ", " "),
                    code.hint or code.summary,
                )
            )
    over = sum(t.over_limit for t in totals)
    if over:
        out.append(
            Advice(
                Severity.WARNING,
                f"{plural(over, 'example')} longer than the model limit of {limit:,} tokens",
                "The provider truncates or rejects them: shorten or split them.",
            )
        )
    if clusters and not advised & {c.code for c in clusters}:
        copies = sum(len(c.copies) for c in clusters)
        out.append(
            Advice(
                Severity.WARNING,
                f"{plural(len(clusters), 'duplicate cluster')} with "
                f"{plural(copies, 'extra copy', 'extra copies')}",
                "Duplicates over-weight a few examples; prepare keeps one per cluster.",
            )
        )
    reached = [g for g in goals if g.met]
    missing = [g for g in goals if not g.met]
    if reached and missing:
        out.append(
            Advice(
                Severity.INFO,
                f"{plural(usable, 'usable example')}: enough to {reached[-1].name}",
                f"To {missing[0].name}, aim for {missing[0].needed:,} or more "
                f"({missing[0].source}).",
            )
        )
    elif not missing:
        out.append(
            Advice(
                Severity.INFO,
                f"{plural(usable, 'usable example')}: enough for every goal listed",
                "More data helps most where evaluation shows weak spots.",
            )
        )
    return tuple(out)
