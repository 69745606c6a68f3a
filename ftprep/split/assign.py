"""Holdout assignment that stays put when the dataset grows.

A record's side is decided by a 64-bit hash of its *content key* (the normalised
conversation, :func:`ftprep.dedup.keys.record_keys`) mixed with the seed, never by its
position. Duplicate clusters (exact and near duplicates) are split as one unit whose hash is
the smallest hash of its members, so copies of one example never straddle train and holdout.

Four modes, and what happens to each when records are added:

- **fraction** (``holdout=0.1``, the default): exactly ``round(f * n)`` of the ``n`` kept
  records are held out (within one record when duplicate clusters kept together make the
  exact number impossible), chosen as the units with the smallest hashes. When the data
  grows, the cut moves with ``n``: a record far below or above it keeps its side, and only
  records whose hash lies near the cut can change sides, in either direction (a record
  trained on before may be held out after). Re-split with care when evaluating a model
  trained on an earlier version, or use the stable mode.
- **stable fraction** (``holdout=0.1, stable=True``; ``--stable-split``): a unit is held out
  when its hash, read as a number in ``[0, 1)``, is below the fraction. A unit's side depends
  on nothing but its own content and the seed: adding, removing or reordering other records
  never moves it. The price is an approximate size: about ``f * n`` units, more or fewer by
  chance, and possibly none in a small dataset (prepare warns, :func:`split_warnings`).
- **count** (``holdout_count=N``): the units with the N smallest hashes. Adding records can
  only push units *out* of the holdout (a new record with a smaller hash takes a place);
  a training record never moves into the holdout, so a model trained on an earlier version
  is never evaluated on its own training data.
- **stratified** (``stratify=FIELD``): each value of the field gets its share, ``round(f * n)``
  units for a fraction or a largest-remainder share of N for a count, chosen as that
  stratum's smallest hashes. Only units near a stratum's cut can change sides as it grows.

Counts are in units: with ``dedup.drop`` (the default) every kept unit is one record.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import xxhash

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
BOOL = npt.NDArray[np.bool_]

_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def split_hashes(keys: U64, seed: int) -> U64:
    """Seeded 64-bit hashes of content keys (splitmix64 finaliser over ``key ^ h(seed)``).

    Vectorised; a pure function of each key and the seed.
    """
    salt = np.uint64(xxhash.xxh3_64_intdigest(str(seed).encode()))
    with np.errstate(over="ignore"):
        z = keys.astype(np.uint64) ^ salt
        z = (z ^ (z >> np.uint64(30))) * _MIX1
        z = (z ^ (z >> np.uint64(27))) * _MIX2
        return z ^ (z >> np.uint64(31))


def unit_hashes(hashes: U64, unit: I64, members: BOOL) -> U64:
    """Per row, the smallest hash among the ``members`` rows of its unit (its own hash when
    the unit has no member)."""
    lowest = np.full(len(hashes), np.iinfo(np.uint64).max, dtype=np.uint64)
    np.minimum.at(lowest, unit[members], hashes[members])
    per_row = lowest[unit]
    return np.where(per_row == np.iinfo(np.uint64).max, hashes, per_row)


@dataclass(frozen=True, slots=True)
class SplitSpec:
    """How much to hold out: a ``fraction`` or an exact ``count`` (exactly one is set).
    ``stable``: a fraction is decided per unit by its hash alone (growth-stable, approximate
    size) rather than met exactly."""

    fraction: float | None = 0.1
    count: int | None = None
    stable: bool = False

    def __post_init__(self) -> None:
        if (self.fraction is None) == (self.count is None):
            raise ValueError("give either a holdout fraction or a holdout count")
        if self.fraction is not None and not 0.0 <= self.fraction <= 1.0:
            raise ValueError(f"holdout fraction must be within [0, 1], not {self.fraction}")
        if self.count is not None and self.count < 0:
            raise ValueError(f"holdout count must not be negative, not {self.count}")

    def describe(self) -> dict[str, float | int | bool]:
        """The spec as a plain mapping (for the manifest)."""
        if self.count is not None:
            return {"count": self.count}
        assert self.fraction is not None
        return {"fraction": self.fraction, "stable": self.stable}

    def asked(self, units: int) -> float:
        """The holdout size asked of ``units`` units: exact for a count or an exact fraction
        (at most ``units``), the expectation for a stable fraction."""
        if self.count is not None:
            return min(self.count, units)
        assert self.fraction is not None
        if self.stable:
            return self.fraction * units
        return int(np.floor(self.fraction * units + 0.5))


def split_warnings(spec: SplitSpec, train: int, holdout: int) -> list[str]:
    """What a user should hear about the split actually written: an empty train split, or a
    holdout that is empty, short of the count asked, or far from the fraction asked (off by
    more than half of it and more than two examples: a fraction is approximate)."""
    warnings = []
    if train == 0:
        warnings.append(f"no example is left for training ({holdout:,} held out)")
    written = train + holdout
    if spec.count is not None and holdout < spec.count:
        warnings.append(
            f"{holdout:,} examples held out where {spec.count:,} were asked for "
            f"({written:,} examples written in all)"
        )
    elif spec.fraction and written:
        expected = spec.fraction * written
        if holdout == 0 or abs(holdout - expected) > max(2.0 if spec.stable else 1.0, expected / 2):
            why = (
                "each example's side comes from a hash of its content (a stable split), so "
                "the fraction is approximate; without --stable-split it is met within one "
                "example"
                if spec.stable
                else "duplicate clusters are kept on one side"
            )
            warnings.append(
                f"{holdout:,} of {written:,} examples held out where the fraction "
                f"{spec.fraction:g} asks for about {expected:,.1f}: {why}"
            )
    return warnings


def assign_holdout(
    hashes: U64,
    unit: I64,
    kept: BOOL,
    spec: SplitSpec,
    strata: I64 | None = None,
) -> BOOL:
    """Which rows go to the holdout.

    ``hashes`` are per-row unit hashes (:func:`unit_hashes`), ``unit`` the unit (cluster
    representative) of each row, ``kept`` the rows that are written at all, ``strata`` an
    optional integer stratum per row. Rows that are not kept are never held out.
    """
    rows = np.flatnonzero(kept)
    units, first = np.unique(unit[rows], return_index=True)
    unit_rows = rows[first]
    sizes = np.bincount(np.searchsorted(units, unit[rows]), minlength=len(units))
    u_hash = hashes[unit_rows]
    if strata is None and spec.fraction is not None and spec.stable:
        chosen = (u_hash >> np.uint64(11)).astype(np.float64) / float(1 << 53) < spec.fraction
    else:
        u_stratum = strata[unit_rows] if strata is not None else np.zeros(len(units), np.int64)
        chosen = _quotas(u_hash, sizes, u_stratum, spec)
    held = np.zeros(len(hashes), dtype=bool)
    held_units = units[chosen]
    held[rows] = np.isin(unit[rows], held_units)
    return held


def _quotas(u_hash: U64, sizes: I64, u_stratum: I64, spec: SplitSpec) -> BOOL:
    """Each stratum's share of units, taken in hash order."""
    chosen = np.zeros(len(u_hash), dtype=bool)
    if len(u_hash) == 0:
        return chosen
    _ids, stratum_of = np.unique(u_stratum, return_inverse=True)
    stratum_sizes = np.bincount(stratum_of, weights=sizes).astype(np.int64)
    if spec.fraction is not None:
        quotas = np.floor(spec.fraction * stratum_sizes + 0.5).astype(np.int64)
    else:
        assert spec.count is not None
        quotas = _largest_remainder(min(spec.count, int(sizes.sum())), stratum_sizes)
    order = np.lexsort((np.arange(len(u_hash)), u_hash))
    for s, quota in enumerate(quotas):
        members = order[stratum_of[order] == s]
        chosen[_fill(members, sizes, int(quota))] = True
    return chosen


def _fill(members: I64, sizes: I64, quota: int) -> I64:
    """The units among ``members`` (in hash order) that fill ``quota`` rows: taken in order,
    a unit too big for what is left skipped for the smaller ones after it, so the quota is
    met exactly unless no remaining unit fits."""
    member_sizes = sizes[members]
    if len(member_sizes) == 0 or member_sizes.max() == 1:
        return members[:quota]
    taken = []
    left = quota
    for unit, size in zip(members.tolist(), member_sizes.tolist(), strict=True):
        if left <= 0:
            break
        if size <= left:
            taken.append(unit)
            left -= size
    return np.asarray(taken, dtype=np.int64)


def _largest_remainder(total: int, sizes: I64) -> I64:
    """Share ``total`` among strata in proportion to ``sizes`` (Hamilton's method; ties go
    to the earlier stratum)."""
    all_rows = int(sizes.sum())
    if all_rows == 0:
        return np.zeros(len(sizes), dtype=np.int64)
    exact = sizes * total / all_rows
    quotas = np.floor(exact).astype(np.int64)
    left = total - int(quotas.sum())
    if left:
        by_remainder = np.lexsort((np.arange(len(sizes)), -(exact - quotas)))
        quotas[by_remainder[:left]] += 1
    return quotas
