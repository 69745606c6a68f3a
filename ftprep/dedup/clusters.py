"""Duplicate clusters from the fact table: exact duplicates by content key, near duplicates by
MinHash LSH, merged with union-find into clusters represented by their first occurrence.

Everything works from the compact facts of the record pass (keys and signatures), never from
texts, and is deterministic: the same facts and configuration give the same clusters,
whatever the storage of the index.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ftprep.config import DedupConfig
from ftprep.dedup.index import (
    I64,
    U32,
    U64,
    band_keys,
    candidate_pairs,
    matches,
    min_matches,
    open_index,
)
from ftprep.dedup.signatures import MAX_HASH
from ftprep.facts import FactTable

BOOL = npt.NDArray[np.bool_]
#: Records inserted into an index at a time.
INSERT_CHUNK = 1 << 13


def with_signature(signatures: U32, rows: I64) -> I64:
    """The rows among ``rows`` that have something to compare (an empty compared side signs
    as all ``MAX_HASH``). Reads four values per row: never a copy of whole signatures."""
    kept: I64 = rows[(signatures[rows, :4] != MAX_HASH).any(axis=1)]
    return kept


def first_with_key(keys: U64, mask: BOOL) -> I64:
    """For each row, the first row under ``mask`` with the same non-zero key; the row itself
    when it is the first, outside ``mask`` or has no key."""
    first = np.arange(len(keys), dtype=np.int64)
    rows = np.flatnonzero(mask & (keys != 0))
    if len(rows):
        _unique, index, inverse = np.unique(keys[rows], return_index=True, return_inverse=True)
        first[rows] = rows[index][inverse.reshape(-1)]
    return first


class SignatureStore:
    """Signatures of several fact tables addressed by one row numbering (the rows of the
    first table, then those of the next, ...)."""

    def __init__(self, *parts: U32):
        self.parts = parts
        self.offsets = np.cumsum([0, *(len(p) for p in parts)])

    def take(self, rows: I64) -> U32:
        """The signatures of ``rows``."""
        if len(self.parts) == 1:
            return self.parts[0][rows]
        part = np.searchsorted(self.offsets, rows, side="right") - 1
        out = np.empty((len(rows), self.parts[0].shape[1]), dtype=np.uint32)
        for i, signatures in enumerate(self.parts):
            here = part == i
            out[here] = signatures[rows[here] - self.offsets[i]]
        return out


@dataclass(frozen=True, slots=True)
class NearPairs:
    """Confirmed near-duplicate pairs ``left < right`` with their equal signature values."""

    left: I64
    right: I64
    matches: I64
    num_perm: int

    def __len__(self) -> int:
        return len(self.left)

    @property
    def similarity(self) -> npt.NDArray[np.float64]:
        """Estimated Jaccard similarity of each pair."""
        return self.matches / self.num_perm

    def matches_of(self, left: I64, right: I64) -> I64:
        """The equal signature values of each pair ``left < right`` that is one of these
        pairs, ``-1`` for the others (looked up, not recomputed from signatures)."""
        if not len(self.left):
            return np.full(len(left), -1, dtype=np.int64)
        codes = (self.left << 32) | self.right  # sorted, as the pairs are
        wanted = (left << 32) | right
        at = np.minimum(np.searchsorted(codes, wanted), len(codes) - 1)
        known: I64 = np.where(codes[at] == wanted, self.matches[at], -1)
        return known


def identical_signatures(store: SignatureStore, rows: I64) -> I64:
    """For each of ``rows`` (ascending), the first of ``rows`` with an identical signature
    (itself when it is the first)."""
    keys = np.empty(len(rows), dtype=np.uint64)
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk = store.take(rows[start : start + INSERT_CHUNK])
        keys[start : start + INSERT_CHUNK] = band_keys(chunk, 1, chunk.shape[1])[:, 0]
    first = rows[first_with_key(keys | np.uint64(1), np.ones(len(rows), dtype=bool))]
    # A 64-bit key collision must not merge different signatures.
    moved = np.flatnonzero(first != rows)
    same = matches(store.take, first[moved], rows[moved]) == store.parts[0].shape[1]
    first[moved[~same]] = rows[moved[~same]]
    return first


def near_pairs(
    store: SignatureStore, rows: I64, config: DedupConfig, *, split: int | None = None
) -> NearPairs:
    """Pairs of ``rows`` (ascending) whose estimated similarity reaches ``config.threshold``.

    Rows with identical signatures pair with the first of them directly (similarity 1);
    the others go through the LSH index and every candidate is confirmed on its signatures.
    With ``split``, only pairs of a row below ``split`` with one at or above it (training rows
    against holdout rows); then only the rows below ``split`` are collapsed by signature, so
    every row at or above it still meets its partners.
    """
    first = identical_signatures(store, rows)
    if split is not None:
        first = np.where(rows < split, first, rows)
    copies = first != rows
    copy_left, copy_right = first[copies], rows[copies]
    if split is not None:
        copy_left, copy_right = copy_left[:0], copy_right[:0]
    indexed = rows[~copies]
    index = open_index(config)
    try:
        for start in range(0, len(indexed), INSERT_CHUNK):
            chunk = indexed[start : start + INSERT_CHUNK]
            index.insert(chunk, store.take(chunk))
        codes = candidate_pairs(index, split)
    finally:
        index.close()
    left = (codes >> np.uint64(32)).astype(np.int64)
    right = (codes & np.uint64(0xFFFFFFFF)).astype(np.int64)
    equal = matches(store.take, left, right)
    keep = equal >= min_matches(min(config.threshold + config.margin, 1.0), config.num_perm)
    left = np.concatenate((copy_left, left[keep]))
    right = np.concatenate((copy_right, right[keep]))
    equal = np.concatenate((np.full(len(copy_left), config.num_perm, np.int64), equal[keep]))
    order = np.lexsort((right, left))
    return NearPairs(left[order], right[order], equal[order], config.num_perm)


def merge_sets(first: I64, left: I64, right: I64) -> I64:
    """The smallest member of each element's set, after merging the sets of every pair
    ``(left[i], right[i])``; ``first`` gives each element's starting set as its smallest
    member (``first[i] <= i``, ``first[first[i]] == first[i]``).

    Vectorised union-find: each round hooks the larger root of every pair whose roots still
    differ onto the smaller one, then points every element straight at its root. Roots only
    decrease, so it ends, in a few rounds even for long chains.
    """
    root = first.copy()
    while True:
        a, b = root[left], root[right]
        apart = a != b
        if not apart.any():
            return root
        np.minimum.at(root, np.maximum(a[apart], b[apart]), np.minimum(a[apart], b[apart]))
        while True:
            grand = root[root]
            if np.array_equal(grand, root):
                break
            root = grand


@dataclass(frozen=True, slots=True)
class Duplicates:
    """Duplicate structure of a fact table (loaded rows only; other rows are alone).

    ``exact_of[i]`` is the first row with row ``i``'s exact key (``i`` itself when it is the
    first); ``near`` the confirmed near pairs between such first rows; ``first[i]`` the first
    row of ``i``'s cluster after merging both; ``representative[i]`` the cluster's first row
    that no error rejected (its first row when every member was rejected), the one to keep.
    """

    first: I64
    representative: I64
    exact_of: I64
    near: NearPairs


def find_duplicates(facts: FactTable, config: DedupConfig) -> Duplicates:
    """Exact and near duplicates among the loaded rows of ``facts``."""
    n = len(facts)
    rows = np.arange(n, dtype=np.int64)
    exact_of = first_with_key(facts.exact_key, facts.loaded)
    candidates = np.flatnonzero(facts.loaded & (exact_of == rows))
    candidates = with_signature(facts.signatures, candidates)
    near = near_pairs(SignatureStore(facts.signatures), candidates, config)
    first = merge_sets(exact_of, near.left, near.right)
    # Keep the first member no error rejected: rank rejected rows after every clean one.
    rank = rows + n * facts.rejected.astype(np.int64)
    best = rank.copy()
    np.minimum.at(best, first, rank)
    return Duplicates(first, best[first] % max(n, 1), exact_of, near)


def duplicate_clusters(facts: FactTable, config: DedupConfig) -> I64:
    """For each row of ``facts``, the row of its duplicate cluster's representative, the
    occurrence to keep: exact and near duplicates merged together, represented by their first
    occurrence that no error rejected (the first occurrence when all were rejected); the row
    itself when it is unique. Rows that did not load map to themselves."""
    return find_duplicates(facts, config).representative
