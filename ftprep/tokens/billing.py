"""Training billing estimates: default epochs, billed tokens and cost.

These are pure functions over token counts (a :class:`~ftprep.facts.FactTable`'s
``tokens`` column), so the report, the ``stats`` command and notebooks share one computation.
They reproduce the OpenAI cookbook's fine-tuning data check: the default epoch count targets 3
epochs, raised or lowered so that examples x epochs lands between 100 and 25,000 and kept
within 1..25 epochs; each example is billed for at most the model's per-example limit (longer
examples are truncated), once per epoch.

>>> default_epochs(5)
20
>>> estimate([8_032, 45], limit=16_385, price_per_million=8.0)
BillingEstimate(examples=2, epochs=25, tokens_per_epoch=8077, billed_tokens=201925, \
price_per_million=8.0, cost=1.6154)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25

TokenCounts = npt.NDArray[np.integer] | Sequence[int]


def default_epochs(n_examples: int) -> int:
    """The epochs a provider trains for by default on ``n_examples`` examples (OpenAI's
    heuristic, as the cookbook computes it).

    >>> [default_epochs(n) for n in (1, 10, 50, 5_000, 10_000, 30_000)]
    [25, 10, 3, 3, 2, 1]
    """
    if n_examples <= 0:
        return TARGET_EPOCHS
    if n_examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        return min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // n_examples)
    if n_examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        return max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // n_examples)
    return TARGET_EPOCHS


def tokens_per_epoch(tokens: TokenCounts, limit: int) -> int:
    """Tokens billed for one pass over the data: each example counts at most ``limit``.

    >>> tokens_per_epoch([10, 20_000], limit=16_385)
    16395
    """
    counts = np.asarray(tokens, dtype=np.int64)
    return int(np.minimum(counts, limit).sum())


def cost(billed_tokens: int, price_per_million: float) -> float:
    """What ``billed_tokens`` cost at ``price_per_million`` currency units per million tokens.

    >>> cost(2_500_000, 3.0)
    7.5
    """
    return billed_tokens * price_per_million / 1_000_000


@dataclass(frozen=True, slots=True)
class BillingEstimate:
    """What a training job on the data is expected to bill."""

    examples: int
    epochs: int
    tokens_per_epoch: int
    billed_tokens: int
    """``tokens_per_epoch x epochs``."""
    price_per_million: float | None = None
    cost: float | None = None
    """``None`` when no price was given."""


def estimate(
    tokens: TokenCounts,
    limit: int,
    *,
    epochs: int | None = None,
    price_per_million: float | None = None,
) -> BillingEstimate:
    """Estimate the billing of training on examples with these token counts.

    ``epochs`` defaults to :func:`default_epochs` of the number of examples; ``limit`` is the
    model's per-example token limit; the cost is computed when ``price_per_million`` is given.
    """
    counts = np.asarray(tokens, dtype=np.int64)
    n_epochs = default_epochs(len(counts)) if epochs is None else epochs
    per_epoch = tokens_per_epoch(counts, limit)
    billed = per_epoch * n_epochs
    return BillingEstimate(
        examples=len(counts),
        epochs=n_epochs,
        tokens_per_epoch=per_epoch,
        billed_tokens=billed,
        price_per_million=price_per_million,
        cost=None if price_per_million is None else cost(billed, price_per_million),
    )


class TokenColumns(Protocol):
    """The fact-table columns the estimates read (a :class:`~ftprep.facts.FactTable`
    has them)."""

    loaded: npt.NDArray[np.bool_]
    rejected: npt.NDArray[np.bool_]
    tokens: npt.NDArray[np.int64]


def trained_counts(facts: TokenColumns, *, include_rejected: bool = False) -> npt.NDArray[np.int64]:
    """Token counts of the examples a job would train on: every loaded record, minus those an
    error rejects unless ``include_rejected``."""
    keep = facts.loaded if include_rejected else facts.loaded & ~facts.rejected
    return facts.tokens[keep]


def estimate_facts(
    facts: TokenColumns,
    limit: int,
    *,
    epochs: int | None = None,
    price_per_million: float | None = None,
    include_rejected: bool = False,
) -> BillingEstimate:
    """:func:`estimate` over the examples of a fact table that would be trained on."""
    return estimate(
        trained_counts(facts, include_rejected=include_rejected),
        limit,
        epochs=epochs,
        price_per_million=price_per_million,
    )
