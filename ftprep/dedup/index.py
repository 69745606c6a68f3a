"""Locality-sensitive hashing of MinHash signatures: band keys, buckets, candidate pairs and
their confirmation by estimated Jaccard similarity.

An index only holds band keys (in memory: ``bands`` 64-bit keys per record, 128 bytes at the
default 16 bands) or lives in Redis through datasketch's ``MinHashLSH``. Both are filled first
and read afterwards: :meth:`Index.groups` lists, band by band, the records that share a bucket,
and :func:`candidate_pairs` turns those into pairs. Nothing depends on insertion order, so an
in-memory and a Redis index give the same pairs.

``bands x rows`` is chosen for recall (see :func:`lsh_params`), not by datasketch's
``MinHashLSH(threshold=...)`` optimiser, which balances false positives against false
negatives and misses many pairs near the threshold; every candidate is then confirmed with its
estimated similarity, so the extra candidates cost time, not precision.
"""

from __future__ import annotations

import functools
import math
import secrets
from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from ftprep.config import DedupConfig

U32 = npt.NDArray[np.uint32]
U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

#: Within a bucket (sorted by record), each record is paired with the next WINDOW records:
#: every pair of buckets up to WINDOW + 1 records, a bounded chain through larger ones
#: (large buckets are near-identical records, which the chain still joins into one cluster).
WINDOW = 64
#: Records whose band keys are computed at a time (bounds the temporary copy).
KEY_CHUNK = 1 << 12
#: Candidate pairs whose signatures are compared at a time.
CONFIRM_CHUNK = 1 << 12
#: Candidate pairs gathered (with repeats across bands) before they are deduplicated.
PAIRS_PENDING = 1 << 22
#: Recall the default parameters aim for: a pair this much above the threshold becomes a
#: candidate with probability at least RECALL_TARGET.
RECALL_MARGIN = 0.05
RECALL_TARGET = 0.99

#: Seed of :func:`band_keys`' fixed random map.
_KEY_SEED = 0x51C4


def candidate_probability(similarity: float, bands: int, rows: int) -> float:
    """Probability that a pair of this Jaccard similarity shares at least one bucket."""
    return 1.0 - (1.0 - similarity**rows) ** bands


def lsh_params(config: DedupConfig) -> tuple[int, int]:
    """``(bands, rows)``: the configured ones, else the most selective split of
    ``num_perm`` that still makes a pair ``RECALL_MARGIN`` above the threshold a candidate
    with probability ``RECALL_TARGET`` (16 x 8 for 128 permutations at 0.8)."""
    if config.bands is not None and config.rows is not None:
        return config.bands, config.rows
    target = min(config.threshold + RECALL_MARGIN, 1.0)
    best = (config.num_perm, 1)
    for rows in range(1, config.num_perm + 1):
        bands = config.num_perm // rows
        if bands < 2:
            break
        if candidate_probability(target, bands, rows) >= RECALL_TARGET:
            best = (bands, rows)
    return best


def band_keys(signatures: U32, bands: int, rows: int) -> U64:
    """A 64-bit key per record and band (``n x bands``): equal bands give equal keys, different
    ones almost never do. A key is a fixed random linear map of the band's values (as 64-bit
    words, mod 2^64): one matrix product for all bands, several times faster than hashing
    the values one column at a time. Not a strong hash, so every candidate it makes is
    confirmed on the signatures."""
    keys = np.empty((len(signatures), bands), dtype=np.uint64)
    for start in range(0, len(signatures), KEY_CHUNK):
        part = np.ascontiguousarray(signatures[start : start + KEY_CHUNK, : bands * rows])
        part = part.reshape(len(part), bands, rows)
        words = part.view(np.uint64) if rows % 2 == 0 else part.astype(np.uint64)
        keys[start : start + KEY_CHUNK] = words @ _key_mix(words.shape[2])
    return keys


@functools.cache
def _key_mix(width: int) -> U64:
    odd: U64 = np.random.default_rng(_KEY_SEED).integers(0, 1 << 63, width, dtype=np.uint64)
    return odd * np.uint64(2) + np.uint64(1)


class Index(Protocol):
    """Where band keys live while duplicates are searched."""

    def insert(self, rows: I64, signatures: U32) -> None:
        """Index records ``rows`` (ids unique across inserts) with their signatures."""
        ...

    def groups(self) -> Iterator[tuple[I64, I64]]:
        """Per band, ``(members, bucket)``: the records of every bucket holding two or more,
        sorted by bucket then record, and the bucket number of each."""
        ...

    def close(self) -> None:
        """Release the index (and its external storage)."""
        ...


class MemoryIndex:
    """Band keys in numpy arrays: ``bands * 8 + 8`` bytes per record."""

    def __init__(self, bands: int, rows: int):
        self.bands = bands
        self.rows = rows
        self._ids: list[I64] = []
        self._keys: list[U64] = []

    def insert(self, rows: I64, signatures: U32) -> None:
        """Index records ``rows`` with their signatures."""
        self._ids.append(np.asarray(rows, dtype=np.int64))
        self._keys.append(band_keys(signatures, self.bands, self.rows))

    def groups(self) -> Iterator[tuple[I64, I64]]:
        """Per band, the records sharing a bucket."""
        if not self._ids:
            return
        ids = np.concatenate(self._ids)
        by_id = None if bool((ids[1:] > ids[:-1]).all()) else np.argsort(ids, kind="stable")
        if by_id is not None:
            ids = ids[by_id]
        for band in range(self.bands):
            # One band at a time: never a second copy of every key.
            column = np.concatenate([keys[:, band] for keys in self._keys])
            if by_id is not None:
                column = column[by_id]
            order = np.argsort(column, kind="stable")
            yield _shared(ids[order], column[order])

    def close(self) -> None:
        """Drop the keys."""
        self._ids, self._keys = [], []


def _shared(members: I64, sorted_keys: npt.NDArray[Any]) -> tuple[I64, I64]:
    """Keep the members of buckets of two or more (``sorted_keys`` sorted, members sorted
    within each key) and number their buckets."""
    if len(members) < 2:
        return members[:0], members[:0]
    same_as_next = sorted_keys[1:] == sorted_keys[:-1]
    keep = np.zeros(len(members), dtype=bool)
    keep[:-1] |= same_as_next
    keep[1:] |= same_as_next
    starts = np.concatenate(([True], ~same_as_next))
    bucket = np.cumsum(starts) - 1
    return members[keep], bucket[keep]


class RedisIndex:
    """Band keys in Redis, through datasketch's ``MinHashLSH`` with Redis storage.

    The index lives under ``basename`` (``<redis_prefix>:lsh:<run>:<parameters>``), deleted
    by :meth:`close`. ``<run>`` is drawn at random for each index, so runs sharing a Redis
    database at the same time (with the default prefix too) never read or delete each other's
    bands; ``redis_prefix`` groups them, e.g. to delete what a killed run left.
    """

    def __init__(self, config: DedupConfig, bands: int, rows: int):
        try:
            import redis
            from redis.connection import parse_url
        except ImportError:
            raise ImportError(
                "dedup storage 'redis' needs the redis package: pip install 'ftprep[redis]'"
            ) from None
        from datasketch import MinHashLSH

        self.seed = config.seed
        params: dict[str, Any] = parse_url(config.redis_url)  # type: ignore[no-untyped-call]
        run = secrets.token_hex(8)
        self.basename = (
            f"{config.redis_prefix}:lsh:{run}:p{config.num_perm}:s{config.seed}:{bands}x{rows}"
        ).encode()
        self._client = redis.Redis(**params)
        self._lsh = MinHashLSH(
            num_perm=config.num_perm,
            params=(bands, rows),
            storage_config={
                "type": "redis",
                "basename": self.basename,
                "redis": params,
                "redis_buffer": {"transaction": False},
            },
            prepickle=False,
        )

    def insert(self, rows: I64, signatures: U32) -> None:
        """Index records ``rows`` with their signatures (pipelined)."""
        from datasketch import LeanMinHash

        with self._lsh.insertion_session(buffer_size=10_000) as session:
            for row, signature in zip(rows.tolist(), signatures, strict=True):
                sketch = LeanMinHash(seed=self.seed, hashvalues=signature, scheme="affine32")
                session.insert(b"%d" % row, sketch, check_duplication=False)

    def groups(self) -> Iterator[tuple[I64, I64]]:
        """Per band, the records sharing a bucket, read back from Redis."""
        for table in self._lsh.hashtables:
            keys = table.keys()
            buckets = [
                sorted(int(m) for m in bucket)
                for bucket in (table.getmany(*keys) if keys else [])
                if len(bucket) >= 2
            ]
            buckets.sort()
            sizes = np.fromiter((len(b) for b in buckets), dtype=np.int64, count=len(buckets))
            members = np.fromiter(
                (m for b in buckets for m in b), dtype=np.int64, count=int(sizes.sum())
            )
            yield members, np.repeat(np.arange(len(buckets), dtype=np.int64), sizes)

    def _clear(self) -> None:
        pattern = self.basename
        for special in (b"\\", b"*", b"?", b"[", b"]"):
            pattern = pattern.replace(special, b"\\" + special)
        batch: list[bytes] = []
        for key in self._client.scan_iter(match=pattern + b"*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                self._client.delete(*batch)
                batch = []
        if batch:
            self._client.delete(*batch)

    def close(self) -> None:
        """Delete the index from Redis."""
        self._clear()
        self._client.close()


def open_index(config: DedupConfig) -> Index:
    """The index ``config.storage`` names."""
    bands, rows = lsh_params(config)
    if config.storage == "redis":
        return RedisIndex(config, bands, rows)
    return MemoryIndex(bands, rows)


def candidate_pairs(index: Index, split: int | None = None) -> U64:
    """Distinct candidate pairs ``left << 32 | right`` (``left < right``), sorted; with
    ``split``, only pairs with ``left < split <= right``."""
    found: list[U64] = []
    pending = 0
    for members, bucket in index.groups():
        for distance in range(1, WINDOW + 1):
            if len(members) <= distance:
                break
            same = bucket[distance:] == bucket[:-distance]
            if not same.any():
                break
            left = members[:-distance][same]
            right = members[distance:][same]
            if split is not None:
                cross = (left < split) & (right >= split)
                left, right = left[cross], right[cross]
            found.append((left.astype(np.uint64) << np.uint64(32)) | right.astype(np.uint64))
            pending += len(left)
        if pending > PAIRS_PENDING:
            # Most pairs repeat in several bands: deduplicate now and then to bound memory.
            found = [_sorted_unique(found)]
            pending = len(found[0])
    return _sorted_unique(found)


def _sorted_unique(parts: list[U64]) -> U64:
    """The distinct values of ``parts``, sorted (one sort; ``np.unique`` hashes, slower here)."""
    if not parts:
        return np.zeros(0, dtype=np.uint64)
    values = np.sort(np.concatenate(parts))
    first = np.empty(len(values), dtype=bool)
    first[:1] = True
    np.not_equal(values[1:], values[:-1], out=first[1:])
    unique: U64 = values[first]
    return unique


def matches(take: Any, left: I64, right: I64) -> I64:
    """Equal signature values of each pair (``matches / num_perm`` estimates the Jaccard
    similarity). ``take(rows)`` returns the signatures of ``rows``."""
    out = np.empty(len(left), dtype=np.int64)
    for start in range(0, len(left), CONFIRM_CHUNK):
        stop = start + CONFIRM_CHUNK
        out[start:stop] = np.count_nonzero(take(left[start:stop]) == take(right[start:stop]), 1)
    return out


def min_matches(threshold: float, num_perm: int) -> int:
    """Equal signature values a pair needs to reach ``threshold`` (exact integer test)."""
    return math.ceil(threshold * num_perm - 1e-9)
