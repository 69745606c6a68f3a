"""Encoding small inputs without building tiktoken's tables for the whole vocabulary.

tiktoken's Rust core takes ~0.13 s to build its tables for the 200,000 tokens of
``o200k_base``: as long as importing ftprep's dependencies, for a check of ten records that
uses a few thousand of them. But byte-pair encoding a text only ever looks up the ranks of
byte strings that occur in it: each piece the pattern splits off is looked up whole, then
its sub-strings while merging (``_byte_pair_merge`` in tiktoken's ``lib.rs``). So a core
built over every token of the vocabulary that occurs in a text, with the same ranks, the
same pattern and the same special tokens, encodes that text exactly as the whole vocabulary
does; tokens that do not occur in the text are never looked up, so extra ones change nothing.

:class:`GrowingCore` stands in for tiktoken's core that way: it keeps the texts it has been
asked to encode (``covered``) and a core over every token occurring in them, which it
rebuilds (in ~3 ms) when a text that is not part of ``covered`` brings tokens it lacks.
Tokens occurring in a text are found by :class:`TokenFinder` from sorted arrays of the
vocabulary, with numpy. Past a hundred kilobytes of text, or many rebuilds, or before
the process forks (so that worker processes share one copy), it builds the whole
vocabulary's core once and uses it from then on.
"""

from __future__ import annotations

import marshal
import os
import threading
import weakref
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import numpy.typing as npt
from tiktoken import _tiktoken  # type: ignore[attr-defined]

__all__ = ["GrowingCore", "TokenFinder"]

#: Tokens of up to this many bytes are looked up by their bytes packed into an integer.
PACKED = 8
#: A growing core gives way to the whole vocabulary past this many bytes of text covered
#: (finding the tokens of a text takes ~1 us a byte: past ~100 KB, building the whole
#: vocabulary's tables costs less),
SUBSET_MAX_BYTES = 128 << 10
#: or as many at once as this (a batch of records with this much text is no small input),
SUBSET_MAX_STEP = 64 << 10
#: or this many tokens,
SUBSET_MAX_TOKENS = 20_000
#: or this many rebuilds.
SUBSET_MAX_BUILDS = 32

U64 = npt.NDArray[np.uint64]
U32 = npt.NDArray[np.uint32]


class TokenFinder:
    """Which tokens of a vocabulary occur in a byte string.

    The vocabulary is kept as its tokens concatenated in rank order (``blob``, cut at
    ``offsets``), and, for each length up to :data:`PACKED` bytes, its tokens of that length
    as big-endian integers, sorted, with their ranks. Every window of the text of each length
    is looked up by binary search; longer tokens are found by their first :data:`PACKED`
    bytes, then compared whole. Ranks must be 0, 1, 2... in the order of the tokens.
    """

    def __init__(self, blob: bytes, arrays: dict[str, npt.NDArray[Any]]):
        self.blob = blob
        self.offsets: U32 = arrays["offsets"]
        self._keys: list[U64] = [arrays[f"keys{n}"] for n in range(1, PACKED + 1)]
        self._ranks: list[U32] = [arrays[f"ranks{n}"] for n in range(1, PACKED + 1)]
        self._long_keys: U64 = arrays["long_keys"]
        self._long_ranks: U32 = arrays["long_ranks"]
        lengths = np.diff(self.offsets)
        self.max_length = int(lengths.max()) if len(lengths) else 0
        self.arrays = arrays

    @classmethod
    def from_tokens(cls, tokens: list[bytes]) -> TokenFinder:
        """The finder of a vocabulary whose token of rank ``r`` is ``tokens[r]``."""
        count = len(tokens)
        lengths = np.fromiter(map(len, tokens), np.uint32, count)
        offsets = np.zeros(count + 1, np.uint32)
        np.cumsum(lengths, out=offsets[1:])
        heads = np.fromiter(
            (int.from_bytes(token[:PACKED], "big") for token in tokens), np.uint64, count
        )
        ranks = np.arange(count, dtype=np.uint32)
        arrays: dict[str, npt.NDArray[Any]] = {"offsets": offsets}
        for length in range(1, PACKED + 1):
            chosen = lengths == length
            order = np.argsort(heads[chosen], kind="stable")
            arrays[f"keys{length}"] = heads[chosen][order]
            arrays[f"ranks{length}"] = ranks[chosen][order]
        chosen = lengths > PACKED
        order = np.argsort(heads[chosen], kind="stable")
        arrays["long_keys"] = heads[chosen][order]
        arrays["long_ranks"] = ranks[chosen][order]
        return cls(b"".join(tokens), arrays)

    def to_bytes(self) -> bytes:
        """The finder as ``marshal`` data (:meth:`from_bytes` reads it back)."""
        return marshal.dumps(
            {
                "blob": self.blob,
                "arrays": {
                    name: (array.dtype.str, array.tobytes()) for name, array in self.arrays.items()
                },
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> TokenFinder:
        """The finder :meth:`to_bytes` wrote (``ValueError`` when ``data`` is not one)."""
        try:
            document = marshal.loads(data)
            arrays = {
                name: np.frombuffer(raw, dtype=np.dtype(dtype))
                for name, (dtype, raw) in document["arrays"].items()
            }
            return cls(document["blob"], arrays)
        except (EOFError, AttributeError, TypeError, KeyError, ValueError) as err:
            raise ValueError(f"not a token finder: {err}") from None

    def ranks_in(self, data: bytes) -> U32:
        """The ranks of every token occurring in ``data``, sorted, each once."""
        size = len(data)
        text = np.frombuffer(data, np.uint8).astype(np.uint64)
        found: list[U32] = []
        windows = np.zeros(size, np.uint64)
        for length in range(1, min(PACKED, size) + 1):
            # windows[i] is data[i:i + length] as a big-endian integer.
            windows = (windows[: size - length + 1] << np.uint64(8)) | text[length - 1 :]
            # Binary searches for keys in order are faster (numpy starts each from the last).
            found.append(_lookup(self._keys[length - 1], self._ranks[length - 1], np.sort(windows)))
        if size >= PACKED and len(self._long_keys):
            found.append(self._long_ranks_in(data, windows))
        if not found:
            return np.zeros(0, np.uint32)
        return np.unique(np.concatenate(found))

    def _long_ranks_in(self, data: bytes, windows: U64) -> U32:
        keys = self._long_keys
        first = np.searchsorted(keys, windows, "left")
        last = np.searchsorted(keys, windows, "right")
        at = np.flatnonzero(last > first)
        ranks = self._long_ranks
        offsets = self.offsets
        blob = self.blob
        hits: list[int] = []
        for position, start, end in zip(
            at.tolist(), first[at].tolist(), last[at].tolist(), strict=True
        ):
            for rank in ranks[start:end].tolist():
                token_start, token_end = int(offsets[rank]), int(offsets[rank + 1])
                if data.startswith(blob[token_start:token_end], position):
                    hits.append(rank)
        return np.array(hits, np.uint32)

    def tokens(self, ranks: U32) -> dict[bytes, int]:
        """The tokens of ``ranks``, with their ranks."""
        blob = self.blob
        starts = self.offsets[ranks].tolist()
        ends = self.offsets[ranks + 1].tolist()
        return {blob[s:e]: r for s, e, r in zip(starts, ends, ranks.tolist(), strict=True)}


def _lookup(keys: U64, ranks: U32, windows: U64) -> U32:
    if not len(keys):
        return np.zeros(0, np.uint32)
    at = np.searchsorted(keys, windows)
    np.minimum(at, len(keys) - 1, out=at)
    found: U32 = ranks[at[keys[at] == windows]]
    return found


class GrowingCore:
    """A stand-in for tiktoken's ``CoreBPE`` that builds its tables over the tokens that
    occur in the texts it encodes (see the module's documentation).

    ``complete`` builds the core of the whole vocabulary; it is called once, when the
    subset stops paying or before the process forks, and any method besides the encoding
    of a text (decoding, single tokens, unstable tokens...) goes to it.
    """

    def __init__(
        self,
        finder: TokenFinder,
        special_tokens: dict[str, int],
        pattern: str,
        complete: Callable[[], Any],
    ):
        self._finder: TokenFinder | None = finder
        self._special_tokens = special_tokens
        self._pattern = pattern
        self._complete = complete
        self._lock = threading.Lock()
        self._ranks: dict[bytes, int] = {}
        self._core: Any = None  # built for the first text
        self._covered = b""
        self._builds = 0
        self._whole: Any = None
        _GROWING.add(self)

    @property
    def growing(self) -> bool:
        """Whether the whole vocabulary is not built yet."""
        return self._whole is None

    def encode_ordinary(self, text: str) -> list[int]:
        """As tiktoken's core."""
        result: list[int] = self._core_for(text).encode_ordinary(text)
        return result

    def encode(self, text: str, allowed_special: Any) -> list[int]:
        """As tiktoken's core."""
        result: list[int] = self._core_for(text).encode(text, allowed_special)
        return result

    def encode_to_tiktoken_buffer(self, text: str, allowed_special: Any) -> Any:
        """As tiktoken's core."""
        return self._core_for(text).encode_to_tiktoken_buffer(text, allowed_special)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in _OWN:  # not set up (copied, unpickled): no core
            raise AttributeError(name)
        return getattr(self.whole(), name)

    def cover(self, texts: Iterable[str]) -> None:
        """Take in every token of ``texts`` at once (one rebuild for a batch of texts about
        to be encoded, instead of one per text)."""
        if self._whole is None:
            self._grow(b"".join(text.encode("utf-8", "surrogatepass") for text in texts))

    def _core_for(self, text: str) -> Any:
        whole = self._whole
        if whole is not None:
            return whole
        # The texts covered are read before the core: a core is stored before the texts it
        # covers. A text with lone surrogates raises UnicodeEncodeError here, as in tiktoken's
        # core (tiktoken then repairs the text and asks again).
        covered = self._covered
        core = self._core
        data = text.encode("utf-8")
        if core is not None and data in covered:
            return core
        return self._grow(data)

    def _grow(self, data: bytes) -> Any:
        with self._lock:
            if self._whole is not None or self._finder is None:
                return self._complete_now()
            covered = self._covered
            if self._core is not None and data in covered:
                return self._core
            if (
                len(data) > SUBSET_MAX_STEP
                or len(covered) + len(data) > SUBSET_MAX_BYTES
                or self._builds >= SUBSET_MAX_BUILDS
                or not self._take_in(covered, data)
            ):
                return self._complete_now()
            self._covered = covered + data
            return self._core

    def _take_in(self, covered: bytes, data: bytes) -> bool:
        """Build the core anew when ``data`` brings tokens (False: past the token limit)."""
        finder = self._finder
        assert finder is not None
        # A token occurring in covered + data lies in covered or in this window.
        window = covered[len(covered) - finder.max_length + 1 :] + data
        ranks = finder.ranks_in(window)
        new = finder.tokens(ranks[np.isin(ranks, self._known(), invert=True)])
        if new or self._core is None:
            self._ranks.update(new)
            if len(self._ranks) > SUBSET_MAX_TOKENS:
                return False
            self._core = _tiktoken.CoreBPE(self._ranks, self._special_tokens, self._pattern)
            self._builds += 1
        return True

    def _known(self) -> U32:
        return np.fromiter(self._ranks.values(), np.uint32, len(self._ranks))

    def whole(self) -> Any:
        """The core of the whole vocabulary (built on the first call)."""
        whole = self._whole
        if whole is None:
            with self._lock:
                whole = self._complete_now()
        return whole

    def _complete_now(self) -> Any:
        if self._whole is None:
            # Dropped first, so as not to add to the peak of building the whole core. The
            # small core stays: a thread may be encoding a covered text with it.
            self._finder = None
            self._ranks = {}
            self._covered = b""
            self._whole = self._complete()
        return self._whole


#: GrowingCore's own attributes, which its __getattr__ must not look for in the whole core.
_OWN = frozenset(
    {
        "_finder",
        "_special_tokens",
        "_pattern",
        "_complete",
        "_lock",
        "_ranks",
        "_core",
        "_covered",
        "_builds",
        "_whole",
    }
)
_GROWING: weakref.WeakSet[GrowingCore] = weakref.WeakSet()


def _complete_before_fork() -> None:
    # Forked workers then share the whole vocabulary's tables copy-on-write, instead of each
    # growing (and completing) its own.
    for core in list(_GROWING):
        core.whole()


os.register_at_fork(before=_complete_before_fork)
