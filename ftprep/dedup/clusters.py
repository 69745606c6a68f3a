"""Duplicate clusters from the fact table: exact duplicates by content key, near duplicates by
MinHash LSH.

Two groupings come out. *Components* join every pair of similar records, transitively
(union-find): prepare splits a component as one unit, so no variant of a record lands on the
other side of the split. *Representatives* decide what is a duplicate: records are taken in
order (clean ones first) and each becomes a representative unless it is similar to one
already chosen, whose duplicate it then is (:func:`greedy_representatives`). A record is thus
only ever dropped for one it is similar to, never for a neighbour's neighbour through shared
boilerplate.

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


def greedy_representatives(rank: I64, pairs: NearPairs) -> I64:
    """For each element, the representative it is a duplicate of (itself for a
    representative): taking elements by ascending ``rank`` (distinct values), each one is a
    representative unless one of its ``pairs`` partners already is; then it belongs to the
    most similar such partner (ties: the lower rank).

    Vectorised in rounds: an element is decided once a partner ranked before it is a
    representative, or once every partner ranked before it is decided and none is. Each
    round decides at least the lowest-ranked undecided element, and clusters of
    near-identical records take a round or two.
    """
    n = len(rank)
    left_first = rank[pairs.left] < rank[pairs.right]
    lo = np.where(left_first, pairs.left, pairs.right)
    hi = np.where(left_first, pairs.right, pairs.left)
    undecided, representative, member = 0, 1, 2
    status = np.full(n, representative, dtype=np.int8)
    status[hi] = undecided
    while True:
        waiting = status[hi] == undecided
        if not waiting.any():
            break
        taken = np.zeros(n, dtype=bool)
        taken[hi[waiting & (status[lo] == representative)]] = True
        status[taken & (status == undecided)] = member
        blocked = np.zeros(n, dtype=bool)
        blocked[hi[status[lo] == undecided]] = True
        status[(status == undecided) & ~blocked] = representative
    out = np.arange(n, dtype=np.int64)
    joins = (status[hi] == member) & (status[lo] == representative)
    members, partners, equal = hi[joins], lo[joins], pairs.matches[joins]
    order = np.lexsort((rank[partners], -equal, members))
    members, partners = members[order], partners[order]
    best = np.concatenate(([True], members[1:] != members[:-1])) if len(members) else joins[:0]
    out[members[best]] = partners[best]
    return out


@dataclass(frozen=True, slots=True)
class Duplicates:
    """Duplicate structure of a fact table (loaded rows only; other rows are alone).

    ``exact_of[i]`` is the first row with row ``i``'s exact key (``i`` itself when it is the
    first); ``near`` the confirmed near pairs between such first rows; ``first[i]`` the first
    row of ``i``'s component (every similar pair joined, transitively: the unit prepare
    splits); ``representative[i]`` the row ``i`` is a duplicate of and that is kept in its
    place (``i`` itself when it is kept): the first clean copy of the exact group that
    :func:`greedy_representatives` chose for ``i``'s group, clean groups taken first (a
    rejected row only represents rows when none of them is clean).
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
    # Copies: exact copies and records with identical signatures (the same words), grouped
    # under their first row; the greedy choice runs on these groups.
    same = near.matches == near.num_perm
    copy_of = merge_sets(exact_of, near.left[same], near.right[same])
    apart = ~same
    groups = NearPairs(
        copy_of[near.left[apart]], copy_of[near.right[apart]], near.matches[apart], near.num_perm
    )
    # Rank rejected rows after every clean one; a group ranks as its best copy.
    rank = rows + n * facts.rejected.astype(np.int64)
    best = rank.copy()
    np.minimum.at(best, copy_of, rank)
    group_best = best[copy_of] % max(n, 1)  # per row: the best copy of its group
    chosen = greedy_representatives(best, _distinct_pairs(groups))
    chosen = _join_component_root(chosen, first, copy_of, facts.signatures, config)
    return Duplicates(first, group_best[chosen[copy_of]], exact_of, near)


def _distinct_pairs(pairs: NearPairs) -> NearPairs:
    """``pairs`` without self pairs and repeats (keeping the highest matches)."""
    keep = pairs.left != pairs.right
    left = np.minimum(pairs.left, pairs.right)[keep]
    right = np.maximum(pairs.left, pairs.right)[keep]
    equal = pairs.matches[keep]
    order = np.lexsort((-equal, right, left))
    left, right, equal = left[order], right[order], equal[order]
    new = np.ones(len(left), dtype=bool)
    new[1:] = (left[1:] != left[:-1]) | (right[1:] != right[:-1])
    return NearPairs(left[new], right[new], equal[new], pairs.num_perm)


def _join_component_root(
    chosen: I64, first: I64, copy_of: I64, signatures: U32, config: DedupConfig
) -> I64:
    """Candidate pairs inside a large bucket are a bounded chain (see ``index.WINDOW``), so
    a record similar to its component's first group may have no pair with it and have been
    left a representative: such a representative that represents nobody else joins the
    first group when their signatures confirm the similarity."""
    groups = np.flatnonzero(chosen == np.arange(len(chosen)))
    root = copy_of[first[groups]]
    alone = np.ones(len(chosen), dtype=bool)
    alone[chosen[chosen != np.arange(len(chosen))]] = False
    ask = groups[(root != groups) & (chosen[root] == root) & alone[groups]]
    if not len(ask):
        return chosen
    target = copy_of[first[ask]]
    equal = matches(SignatureStore(signatures).take, ask, target)
    similar = equal >= min_matches(min(config.threshold + config.margin, 1.0), config.num_perm)
    out = chosen.copy()
    out[ask[similar]] = target[similar]
    return out


def duplicate_clusters(facts: FactTable, config: DedupConfig) -> I64:
    """For each row of ``facts``, the row of its duplicate cluster's representative, the
    occurrence to keep: exact and near duplicates merged together, represented by their first
    occurrence that no error rejected (the first occurrence when all were rejected); the row
    itself when it is unique. Rows that did not load map to themselves."""
    return find_duplicates(facts, config).representative
