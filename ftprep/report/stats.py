"""Distributions of per-record facts: tokens per example, per role, messages per example.

Computed from the :class:`~ftprep.facts.FactTable` of a check run, over the records
that loaded, so no text is re-read.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from ftprep.facts import ROLES, FactTable
from ftprep.findings import plural
from ftprep.tokens.billing import BillingEstimate

PERCENTILES = (25, 50, 75, 90, 99)


@dataclass(frozen=True, slots=True)
class Distribution:
    """Count, total, extremes, mean and percentiles of one integer measure (percentiles are
    observed values: the inverted-CDF method, so ``p50`` of ``[1, 9]`` is 1)."""

    name: str
    count: int
    total: int
    min: int
    p25: int
    p50: int
    p75: int
    p90: int
    p99: int
    max: int
    mean: float

    @classmethod
    def of(cls, name: str, values: npt.NDArray[np.int64]) -> Distribution:
        """The distribution of ``values`` (all zeros when empty)."""
        if len(values) == 0:
            return cls(name, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.0)
        p25, p50, p75, p90, p99 = (
            int(v) for v in np.percentile(values, PERCENTILES, method="inverted_cdf")
        )
        return cls(
            name,
            len(values),
            int(values.sum()),
            int(values.min()),
            p25,
            p50,
            p75,
            p90,
            p99,
            int(values.max()),
            round(float(values.mean()), 1),
        )

    @property
    def label(self) -> str:
        """What is measured, in words (``tokens per example``, ``user tokens``)."""
        return LABELS.get(self.name, f"{self.name} tokens")


@dataclass(frozen=True, slots=True)
class TokenStats:
    """Token and length distributions of a dataset."""

    records: int
    loaded: int
    distributions: tuple[Distribution, ...]

    def get(self, name: str) -> Distribution:
        """The distribution called ``name`` (``tokens``, ``trained``, ``messages``, a role)."""
        for dist in self.distributions:
            if dist.name == name:
                return dist
        raise KeyError(name)


def token_stats(facts: FactTable) -> TokenStats:
    """Distributions over the loaded records of ``facts``: tokens per example, trained
    tokens, messages per example, and tokens per role over the examples that have the role."""
    loaded = facts.select(facts.loaded)
    present = {
        "system": loaded.has_system,
        "user": loaded.has_user,
        "assistant": loaded.has_assistant,
        "tool": loaded.tokens_tool > 0,
    }
    dists = [
        Distribution.of("tokens", loaded.tokens),
        Distribution.of("trained", loaded.trained),
        Distribution.of("messages", loaded.n_messages.astype(np.int64)),
        *(
            Distribution.of(role, getattr(loaded, f"tokens_{role}")[present[role]])
            for role in ROLES
        ),
    ]
    return TokenStats(len(facts), len(loaded), tuple(dists))


LABELS = {
    "tokens": "tokens per example",
    "trained": "trained tokens per example",
    "messages": "messages per example",
}


def format_stats(
    stats: TokenStats,
    fmt: str = "text",
    *,
    billing: tuple[dict[str, Any], BillingEstimate] | None = None,
) -> str:
    """Render ``stats`` (and, when given, the billing estimate with what it was made for:
    target, model, per-example limit) as an aligned text table or as JSON."""
    if fmt == "json":
        document: dict[str, Any] = {
            "records": stats.records,
            "loaded": stats.loaded,
            "distributions": [asdict(d) for d in stats.distributions],
        }
        if billing is not None:
            document["billing"] = {**billing[0], **asdict(billing[1])}
        return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n"
    header = ("", "count", "total", "min", "p50", "p90", "p99", "max")
    rows: list[tuple[str, ...]] = [header]
    for d in stats.distributions:
        rows.append(
            (d.label, *(f"{v:,}" for v in (d.count, d.total, d.min, d.p50, d.p90, d.p99, d.max)))
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [f"{plural(stats.records, 'record')}, {stats.loaded:,} loaded"]
    for row in rows:
        numbers = zip(row[1:], widths[1:], strict=True)
        cells = [row[0].ljust(widths[0]), *(c.rjust(w) for c, w in numbers)]
        lines.append("  ".join(cells).rstrip())
    if billing is not None:
        about, bill = billing
        lines.append(
            f"\nbilling ({about['target']} {about['model']}, {about['limit']:,} tokens per "
            f"example at most): {bill.epochs} epochs x {bill.tokens_per_epoch:,} tokens = "
            f"{bill.billed_tokens:,} billed tokens"
        )
        if bill.cost is not None:
            lines.append(
                f"estimated cost: {bill.cost:,.2f} at {bill.price_per_million:g} per million tokens"
            )
    return "\n".join(lines) + "\n"
