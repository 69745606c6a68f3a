"""MinHash signing of token-id sequences (``_minhash.c``).

``parts`` is a sequence of token-id lists (or tuples) of ints, of native uint32 buffers, or
of bytes holding native uint32 values; the sequence signed or shingled is their
concatenation. Ids must fit 32 bits unsigned.
"""

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from typing_extensions import Buffer

# numpy's stubs give ndarray a __buffer__ only from Python 3.12 on.
U32Buffer = Buffer | npt.NDArray[np.uint32]
Parts = Sequence[list[int] | tuple[int, ...] | U32Buffer | bytes]

def sign(parts: Parts, width: int, a: U32Buffer, b: U32Buffer, /) -> bytes | None:
    """The MinHash signature (``len(a)`` native uint32) of the sequence: per permutation
    ``p``, the minimum over its ``width``-shingle hashes ``h`` of
    ``a[p] * fmix32(h) + b[p]`` mod 2^32; ``None`` when the sequence is empty."""

def shingle_hashes(parts: Parts, width: int, /) -> bytes:
    """The 32-bit hashes (native uint32) of the sequence's shingles, in order."""
