"""MinHash signatures of examples, computed from the token ids the token counter produced.

Shingles are runs of ``shingle`` consecutive token ids, hashed to 32 bits; signatures use
datasketch's ``affine32`` permutation scheme (MurmurHash3 finaliser, then ``a * h + b`` mod
2^32), so a signature here equals ``datasketch.MinHash(num_perm, seed, hashfunc=identity)``
updated with the same 32-bit shingle hashes, and can be indexed by datasketch's
``MinHashLSH``.

Token ids come from the target's tiktoken encoding, which the token counter already
produced; tokenizers that render whole conversations (chat templates) give no per-message ids,
and then the signer encodes each message with ``o200k_base`` itself.

Signing is batched: :class:`SignatureBatch` collects the compared token ids of many records
and signs them with a few numpy calls over all of them, which is several times faster than
one small matrix product per record.
"""

from __future__ import annotations

from array import array
from typing import Any

import numpy as np
import numpy.typing as npt

from ftprep.config import DedupConfig
from ftprep.dedup.keys import SYSTEM_ROLES, Entries, sides
from ftprep.model import Example
from ftprep.tokens.chat import ExampleTokens

U32 = npt.NDArray[np.uint32]
MAX_HASH = np.uint32(0xFFFFFFFF)

#: Shingles hashed against all permutations at once: a (num_perm x CHUNK) uint32 block
#: (2 MB at 128 permutations) stays in cache and measured fastest.
CHUNK = 4096
#: Token ids a :class:`SignatureBatch` holds before it signs them.
BATCH_TOKENS = 1 << 20
#: Encoding of the shingles when the target's tokenizer gives no per-message token ids.
FALLBACK_ENCODING = "o200k_base"


def permutations(num_perm: int, seed: int) -> tuple[U32, U32]:
    """The ``(a, b)`` affine32 permutation parameters datasketch derives from ``seed``."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def fmix32(h: U32) -> U32:
    """MurmurHash3's 32-bit finaliser, element-wise (multiplication wraps mod 2^32)."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def _salt(k: int) -> np.uint32:
    return np.uint32(k * 0x9E3779B9 & 0xFFFFFFFF)


def shingle_hashes_many(
    ids: U32, lengths: npt.NDArray[np.int64], width: int
) -> tuple[U32, npt.NDArray[np.int64]]:
    """Shingle hashes of several token sequences stored back to back in ``ids``.

    Returns ``(hashes, owner)``: the 32-bit hash of every run of ``width`` consecutive ids
    that lies within one sequence (the whole sequence when it is shorter than ``width``;
    nothing for an empty one), and the index of the sequence each hash belongs to, in order.
    """
    counts = np.where(lengths > 0, np.maximum(lengths - width + 1, 1), 0)
    owner = np.repeat(np.arange(len(lengths), dtype=np.int64), counts)
    starts = np.cumsum(lengths) - lengths
    first_window = np.cumsum(counts) - counts
    position = starts[owner] + (np.arange(len(owner), dtype=np.int64) - first_window[owner])
    h = np.zeros(len(owner), dtype=np.uint32)
    if len(owner) and int(lengths[lengths > 0].min()) < width:
        # Some sequences are shorter than a shingle: their one shingle hashes fewer ids.
        available = lengths[owner]
        last = len(ids) - 1
        for k in range(width):
            mixed = fmix32(h ^ ids[np.minimum(position + k, last)] ^ _salt(k))
            h = np.where(k < available, mixed, h)
    else:
        for k in range(width):
            h = fmix32(h ^ ids[position + k] ^ _salt(k))
    return h, owner


def shingle_hashes(ids: U32, width: int) -> U32:
    """32-bit hashes of every run of ``width`` consecutive token ids of one sequence (the
    whole sequence when it is shorter), deduplicated."""
    hashes, _owner = shingle_hashes_many(ids, np.array([len(ids)], dtype=np.int64), width)
    return np.unique(hashes)


class Signer:
    """Computes MinHash signatures of examples' compared sides.

    ``compare`` is ``conversation`` (every turn but system prompts, preference branches
    included), ``prompt`` or ``answer`` (as :func:`ftprep.dedup.keys.sides` defines them).
    """

    def __init__(self, num_perm: int, seed: int, shingle: int, compare: str):
        self.num_perm = num_perm
        self.seed = seed
        self.shingle = shingle
        self.compare = compare
        a, b = permutations(num_perm, seed)
        self._a = a[:, None]
        self._b = b[:, None]
        self._fallback: Any = None

    @classmethod
    def from_config(cls, config: DedupConfig) -> Signer:
        """A signer for the dedup configuration."""
        return cls(config.num_perm, config.seed, config.shingle, config.compare)

    def compared_ids(
        self, example: Example, tokens: ExampleTokens, entries: Entries | None = None
    ) -> U32 | None:
        """The token ids of ``example``'s compared side, or ``None`` when it is empty
        (``entries``: its messages, when the caller has them at hand)."""
        if entries is None:
            entries = list(example.iter_messages())
        roles = [m.role if isinstance(m.role, str) else "" for _f, _i, m in entries]
        per_message = tokens.ids
        if len(per_message) != len(roles):
            per_message = self._encode_messages(example)
        if self.compare == "conversation":
            chosen = [i for i, role in enumerate(roles) if role not in SYSTEM_ROLES]
        else:
            prompt, answer = sides([f for f, _i, _m in entries], roles)
            if self.compare == "prompt":
                chosen = [i for i in prompt if roles[i] not in SYSTEM_ROLES]
            else:
                chosen = [answer] if answer >= 0 else []
        # array.array takes a list of ints in one C loop, several times faster than numpy.
        joined = array("I")
        for i in chosen:
            if i < len(per_message):
                joined.extend(per_message[i])
        return np.frombuffer(joined, dtype=np.uint32) if joined else None

    def _encode_messages(self, example: Example) -> list[list[int]]:
        # Tokenizers without per-message ids (chat templates render whole conversations):
        # shingle the o200k_base tokens of each message instead.
        if self._fallback is None:
            from ftprep.tokens.encodings import get_encoding

            self._fallback = get_encoding(FALLBACK_ENCODING)
        encode = self._fallback.encode_ordinary
        return [encode(m.text()) for _f, _i, m in example.iter_messages()]

    def sign_many(self, sequences: list[U32]) -> U32:
        """Signatures (``len(sequences) x num_perm``) of token-id sequences; all ``MAX_HASH``
        for an empty one."""
        out = np.full((self.num_perm, len(sequences)), MAX_HASH, dtype=np.uint32)
        if not sequences:
            return out.T
        lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
        hashes, owner = shingle_hashes_many(np.concatenate(sequences), lengths, self.shingle)
        mixed = fmix32(hashes)
        for start in range(0, len(mixed), CHUNK):
            block_owner = owner[start : start + CHUNK]
            values = self._a * mixed[start : start + CHUNK]
            values += self._b
            firsts = np.flatnonzero(np.diff(block_owner)) + 1
            firsts = np.concatenate((np.zeros(1, dtype=np.int64), firsts))
            mins = np.minimum.reduceat(values, firsts, axis=1)
            rows = block_owner[firsts]
            # A sequence cut by a block boundary keeps the smaller of its two partial minima.
            out[:, rows] = np.minimum(out[:, rows], mins)
        return np.ascontiguousarray(out.T)

    def minhash(self, hashes: U32) -> U32:
        """The signature of a set of 32-bit shingle hashes (as datasketch computes it)."""
        out = np.full(self.num_perm, MAX_HASH, dtype=np.uint32)
        if len(hashes):
            values = self._a * fmix32(hashes)
            values += self._b
            out = values.min(axis=1)
        return out

    def sign(self, example: Example, tokens: ExampleTokens) -> U32 | None:
        """The signature of one example, or ``None`` when its compared side is empty.
        Prefer :class:`SignatureBatch` for many examples."""
        ids = self.compared_ids(example, tokens)
        return None if ids is None else self.sign_many([ids])[0]

    def batch(self) -> SignatureBatch:
        """A new batch that signs records many at a time."""
        return SignatureBatch(self)


class SignatureBatch:
    """Collects the compared token ids of records and signs them in bulk.

    :meth:`add` keeps only a compact uint32 copy of the ids and signs whenever
    :data:`BATCH_TOKENS` ids have accumulated; :meth:`fill` writes every signature into the
    rows of a signature matrix.
    """

    def __init__(self, signer: Signer):
        self.signer = signer
        self._rows: list[int] = []
        self._pending: list[U32] = []
        self._pending_tokens = 0
        self._done_rows: list[list[int]] = []
        self._done: list[U32] = []

    def add(
        self, row: int, example: Example, tokens: ExampleTokens, entries: Entries | None = None
    ) -> None:
        """Queue ``example`` (which is row ``row`` of the fact table) for signing."""
        ids = self.signer.compared_ids(example, tokens, entries)
        if ids is None:
            return
        self._rows.append(row)
        self._pending.append(ids)
        self._pending_tokens += len(ids)
        if self._pending_tokens >= BATCH_TOKENS:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._done.append(self.signer.sign_many(self._pending))
            self._done_rows.append(self._rows)
        self._rows, self._pending, self._pending_tokens = [], [], 0

    def fill(self, signatures: U32) -> None:
        """Write the signatures of every queued record into ``signatures[row]``."""
        self._flush()
        for rows, block in zip(self._done_rows, self._done, strict=True):
            signatures[np.asarray(rows, dtype=np.int64)] = block
        self._done_rows, self._done = [], []
