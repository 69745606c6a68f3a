"""MinHash signatures of examples, computed from the token ids the token counter produced.

Shingles are runs of ``shingle`` consecutive token ids, hashed to 32 bits; signatures use
datasketch's ``affine32`` permutation scheme (MurmurHash3 finaliser, then ``a * h + b`` mod
2^32), so a signature here equals ``datasketch.MinHash(num_perm, seed, hashfunc=identity)``
updated with the same 32-bit shingle hashes, and can be indexed by datasketch's
``MinHashLSH``.

Token ids come from the target's tiktoken encoding, which the token counter already
produced; tokenizers that render whole conversations (chat templates) give no per-message ids,
and then the signer encodes each message with ``o200k_base`` itself.

Shingling and signing run in a small C extension (:mod:`ftprep.dedup._minhash`, in
``_minhash.c``): it reads the chosen messages' id lists as they are and takes the minima over
all permutations with vector instructions. A record of the benchmark corpus costs ~2.8 µs
(choosing its messages included), where batched numpy signing cost ~15 µs. Where it is not
built (see :mod:`ftprep._accel`), :func:`shingle_python` hashes the shingles with numpy and
:func:`sign_python` signs them with datasketch's own ``MinHash``: the same signatures.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from ftprep._accel import extension
from ftprep.config import DedupConfig
from ftprep.dedup.keys import sides
from ftprep.model import SYSTEM_ROLES, Example
from ftprep.tokens.chat import ExampleTokens
from ftprep.tokens.encodings import get_encoding, ids_encoder
from ftprep.view import Columns, ExampleView

U32 = npt.NDArray[np.uint32]
#: A token-id sequence: a list of ints (as tokenizers give them), a uint32 array, or native
#: uint32 bytes (as the tiktoken counter keeps them).
Ids = list[int] | U32 | bytes
MAX_HASH = np.uint32(0xFFFFFFFF)

#: Encoding of the shingles when the target's tokenizer gives no per-message token ids.
FALLBACK_ENCODING = "o200k_base"


def permutations(num_perm: int, seed: int) -> tuple[U32, U32]:
    """The ``(a, b)`` affine32 permutation parameters datasketch derives from ``seed``."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def shingle_hashes(ids: Ids, width: int) -> U32:
    """32-bit hashes of every run of ``width`` consecutive token ids of one sequence (the
    whole sequence when it is shorter; nothing when it is empty), deduplicated."""
    hashes = np.frombuffer(_shingle_hashes([ids], width), dtype=np.uint32)
    return np.unique(hashes)


def _fmix32(h: U32) -> U32:
    """MurmurHash3's 32-bit finaliser, element-wise (multiplications wrap around)."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def _concatenated(parts: Sequence[Ids]) -> U32:
    """The ids of ``parts`` as one uint32 array, refused as the C extension refuses them:
    ``OverflowError`` for ids that do not fit, ``TypeError`` for buffers not of uint32."""
    arrays = [
        np.array(part, dtype=np.uint32) if isinstance(part, list | tuple) else _u32(part)
        for part in parts
    ]
    return np.concatenate(arrays) if arrays else np.empty(0, dtype=np.uint32)


def _u32(part: U32 | bytes) -> U32:
    view = part.data if isinstance(part, np.ndarray) else memoryview(part)
    if not (view.format == "I" or (view.format == "B" and view.nbytes % 4 == 0)):
        raise TypeError("a part must be a uint32 buffer")
    return np.frombuffer(view, dtype=np.uint32)


def shingle_python(parts: Sequence[Ids], width: int) -> bytes:
    """The 32-bit hashes (native uint32) of the shingles of the concatenation of ``parts``, in
    order: the plain-Python twin of ``_minhash.shingle_hashes``."""
    if width < 1:
        raise ValueError("width must be at least 1")
    ids = _concatenated(parts)
    if not len(ids):
        return b""
    count = max(len(ids) - width + 1, 1)
    h = np.zeros(count, dtype=np.uint32)
    for k in range(min(len(ids), width)):
        h = _fmix32(h ^ ids[k : k + count] ^ np.uint32(k * 0x9E3779B9 & 0xFFFFFFFF))
    return h.tobytes()


def sign_python(parts: Sequence[Ids], width: int, a: U32, b: U32) -> bytes | None:
    """The signature (``len(a)`` native uint32) of the concatenation of ``parts``, ``None``
    when it is empty: datasketch's affine32 ``MinHash`` of the shingle hashes, the
    plain-Python twin of ``_minhash.sign``."""
    import datasketch  # here: slow to import, and only the fallback signs with it

    hashes = np.frombuffer(shingle_python(parts, width), dtype=np.uint32)
    if not len(hashes):
        return None
    minhash = datasketch.MinHash(
        len(a), hashfunc=int, permutations=np.stack([a, b]), scheme="affine32"
    )
    minhash.update_batch(hashes.tolist())
    signature: bytes = minhash.hashvalues.tobytes()
    return signature


_minhash = extension("dedup._minhash")
_shingle_hashes: Callable[[Sequence[Ids], int], bytes] = (
    shingle_python if _minhash is None else _minhash.shingle_hashes
)
_sign: Callable[[Sequence[Ids], int, U32, U32], bytes | None] = (
    sign_python if _minhash is None else _minhash.sign
)


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
        self._a, self._b = permutations(num_perm, seed)
        self._fallback: Callable[[str], bytes] | None = None

    @classmethod
    def from_config(cls, config: DedupConfig) -> Signer:
        """A signer for the dedup configuration."""
        return cls(config.num_perm, config.seed, config.shingle, config.compare)

    def compared_ids(
        self, example: Example, tokens: ExampleTokens, columns: Columns | None = None
    ) -> list[bytes]:
        """The token ids of ``example``'s compared side, one sequence per compared message, in
        order (``columns``: its view's, when the caller has it)."""
        if columns is None:
            columns = ExampleView.of(example).columns
        fields, roles, _texts = columns
        per_message = tokens.ids
        if len(per_message) != len(roles):
            per_message = self._encode_messages(example)
        if self.compare == "conversation":
            # The default, on the hot path: one plain loop, no lists of indices.
            parts = zip(roles, per_message, strict=True)
            return [ids for role, ids in parts if role not in SYSTEM_ROLES]
        prompt, answer = sides(fields, roles)
        if self.compare == "prompt":
            chosen = [i for i in prompt if roles[i] not in SYSTEM_ROLES]
        else:
            chosen = [answer] if answer >= 0 else []
        return [per_message[i] for i in chosen if i < len(per_message)]

    def cover(self, examples: Sequence[Example], tokens: Sequence[ExampleTokens]) -> None:
        """Before signing ``examples`` whose counts (``tokens``) carry no per-message ids
        (chat templates): let the fallback encoding take all their texts in at once, one
        rebuild of a growing vocabulary for the batch instead of one per new text."""
        if not tokens or any(t.ids for t in tokens):
            return  # the counter's own ids are signed
        encoding = get_encoding(FALLBACK_ENCODING)
        cover = getattr(encoding, "cover", None)
        if cover is not None and getattr(encoding, "growing", False):
            cover([m.text() for e in examples for _f, _i, m in e.iter_messages()])

    def _encode_messages(self, example: Example) -> list[bytes]:
        # Tokenizers without per-message ids (chat templates render whole conversations):
        # shingle the o200k_base tokens of each message instead.
        if self._fallback is None:
            self._fallback = ids_encoder(get_encoding(FALLBACK_ENCODING))
        encode = self._fallback
        return [encode(m.text()) for _f, _i, m in example.iter_messages()]

    def signature(self, parts: Sequence[Ids]) -> bytes | None:
        """The signature (``num_perm`` native uint32) of the concatenation of ``parts``, or
        ``None`` when it is empty."""
        return _sign(parts, self.shingle, self._a, self._b)

    def sign_many(self, sequences: Sequence[Ids]) -> U32:
        """Signatures (``len(sequences) x num_perm``) of token-id sequences; all ``MAX_HASH``
        for an empty one."""
        out = np.full((len(sequences), self.num_perm), MAX_HASH, dtype=np.uint32)
        for row, ids in enumerate(sequences):
            signature = self.signature([ids])
            if signature is not None:
                out[row] = np.frombuffer(signature, dtype=np.uint32)
        return out

    def batch(self) -> SignatureBatch:
        """A new batch that collects the signatures of records."""
        return SignatureBatch(self)


class SignatureBatch:
    """Signs records as they come and keeps their signatures compactly (``num_perm`` uint32
    each, back to back) until :meth:`fill` writes them into the rows of a signature matrix."""

    def __init__(self, signer: Signer):
        self.signer = signer
        self._rows = array("q")
        self._values = bytearray()

    def add(
        self, row: int, example: Example, tokens: ExampleTokens, columns: Columns | None = None
    ) -> None:
        """Sign ``example`` (which is row ``row`` of the fact table); nothing is kept when its
        compared side is empty (its row stays all ``MAX_HASH``)."""
        signer = self.signer
        signature = signer.signature(signer.compared_ids(example, tokens, columns))
        if signature is not None:
            self._rows.append(row)
            self._values += signature

    def fill(self, signatures: U32) -> None:
        """Write the signatures of every record added since the last fill into
        ``signatures[row]``."""
        if self._rows:
            rows = np.frombuffer(self._rows, dtype=np.int64)
            values = np.frombuffer(self._values, dtype=np.uint32)
            signatures[rows] = values.reshape(len(rows), self.signer.num_perm)
        self._rows, self._values = array("q"), bytearray()
