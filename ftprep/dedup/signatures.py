"""MinHash signatures of examples, on the words of their normalised text.

A text is normalised as corpus deduplication tools do it: Unicode NFKC, case folded, and
read as words (runs of alphanumeric characters or ``_``: the regex ``\\w+``), so that copies
differing only in case, punctuation or spacing have the same words. Each word is hashed to a
32-bit id, salted with the tools the example declares (two examples with different tools
share no word, so they are never near duplicates); shingles are runs of ``shingle``
consecutive word ids, hashed to 32 bits; signatures use datasketch's ``affine32``
permutation scheme (MurmurHash3 finaliser, then ``a * h + b`` mod 2^32), so a signature here
equals ``datasketch.MinHash(num_perm, seed, hashfunc=identity)`` updated with the same 32-bit
shingle hashes, and can be indexed by datasketch's ``MinHashLSH``. The similarity a finding
reports is the estimated Jaccard similarity of these word-shingle sets. What else a turn is
trained on (its tool calls and their arguments, image parts: see
:func:`ftprep.dedup.keys.message_extras`) is read as words too.

Reading words, shingling and signing run in a small C extension (:mod:`ftprep.dedup._minhash`,
in ``_minhash.c``): it takes the minima over all permutations with vector instructions.
Where it is not built (see :mod:`ftprep._accel`), :func:`word_ids_python` reads the words
with ``re``, :func:`shingle_python` hashes the shingles with numpy and :func:`sign_python`
signs them with datasketch's own ``MinHash``: the same signatures.
"""

from __future__ import annotations

import re
import unicodedata
from array import array
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
import xxhash

from ftprep._accel import extension
from ftprep.config import DedupConfig
from ftprep.dedup.keys import sides, turn_extras
from ftprep.model import SYSTEM_ROLES
from ftprep.view import ExampleView

U32 = npt.NDArray[np.uint32]
#: A token-id sequence: a list of ints (as tokenizers give them), a uint32 array, or native
#: uint32 bytes (as the tiktoken counter keeps them).
Ids = list[int] | U32 | bytes
MAX_HASH = np.uint32(0xFFFFFFFF)

_WORD = re.compile(r"\w+")
_MASK = 0xFFFFFFFF


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


def normalised_words(text: str) -> list[str]:
    """The words of ``text``'s normalised form (NFKC, case folded; ``\\w+`` runs)."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return _WORD.findall(text.casefold())


def word_ids_python(texts: Sequence[str], salt: int) -> bytes:
    """The 32-bit ids (native uint32) of the :func:`normalised_words` of ``texts``, in order:
    FNV-1a over the word's code points from ``0x811C9DC5 ^ salt``, then MurmurHash3's
    finaliser. The plain-Python twin of ``_minhash.word_ids``."""
    if not 0 <= salt <= _MASK:
        raise OverflowError("salt does not fit 32 bits")
    out = array("I")
    start = 0x811C9DC5 ^ salt
    for text in texts:
        if not isinstance(text, str):
            raise TypeError("texts must hold strings")
        for word in normalised_words(text):
            h = start
            for char in word:
                h = ((h ^ ord(char)) * 0x01000193) & _MASK
            h ^= h >> 16
            h = (h * 0x85EBCA6B) & _MASK
            h ^= h >> 13
            h = (h * 0xC2B2AE35) & _MASK
            out.append(h ^ (h >> 16))
    return out.tobytes()


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
_word_ids: Callable[[Sequence[str], int], bytes] = (
    word_ids_python if _minhash is None else _minhash.word_ids
)


def word_ids(texts: Sequence[str], salt: int = 0) -> bytes:
    """The 32-bit ids (native uint32) of the words of ``texts``' normalised form, in order
    (see the module's documentation), salted with ``salt``."""
    return _word_ids(texts, salt)


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

    @classmethod
    def from_config(cls, config: DedupConfig) -> Signer:
        """A signer for the dedup configuration."""
        return cls(config.num_perm, config.seed, config.shingle, config.compare)

    def compared_texts(self, view: ExampleView) -> tuple[list[str], int]:
        """The texts of ``view``'s compared side, in order, each turn followed by what else
        it is trained on (:func:`ftprep.dedup.keys.message_extras`, as JSON text); and the
        salt of its words: from the tools the example declares and, for preference data,
        the words of its rejected side (so that only pairs with the same rejected answer, up
        to format, can be near duplicates)."""
        fields, roles, texts = view.columns
        extras, tools = turn_extras(view)
        if self.compare == "conversation":
            chosen = [i for i, role in enumerate(roles) if role not in SYSTEM_ROLES]
        else:
            prompt, answer = sides(fields, roles)
            if self.compare == "prompt":
                chosen = [i for i in prompt if roles[i] not in SYSTEM_ROLES]
            else:
                chosen = [answer] if answer >= 0 else []
        salt = tools & _MASK
        if view.traits.preference:
            # Several rejected answers to one prompt are the design of preference data, not
            # copies: the rejected side's words (normalised) salt the whole signature.
            rejected = [t for field, t in zip(fields, texts, strict=True) if field == "rejected"]
            salt ^= xxhash.xxh32_intdigest(word_ids(rejected))
        if extras is None:
            return [texts[i] for i in chosen], salt
        out: list[str] = []
        for i in chosen:
            out.append(texts[i])
            if extras[i]:
                out.append(extras[i].decode("utf-8", "surrogatepass"))
        return out, salt

    def sign_view(self, view: ExampleView) -> bytes | None:
        """The signature of ``view``'s compared side, ``None`` when it has no word."""
        texts, salt = self.compared_texts(view)
        return self.sign_texts(texts, salt)

    def sign_texts(self, texts: Sequence[str], salt: int = 0) -> bytes | None:
        """The signature of the words of ``texts`` (salted with ``salt``), ``None`` when
        they have none."""
        return _sign([word_ids(texts, salt)], self.shingle, self._a, self._b)

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

    def add(self, row: int, view: ExampleView) -> None:
        """Sign the example of ``view`` (which is row ``row`` of the fact table); nothing is
        kept when its compared side has no word (its row stays all ``MAX_HASH``)."""
        signature = self.signer.sign_view(view)
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
