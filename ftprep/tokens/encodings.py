"""tiktoken encodings that work with no network.

The vocabularies of ``o200k_base`` and ``cl100k_base`` ship inside the package (gzip, as
tiktoken would download them) and are verified against the sha256 that tiktoken itself
expects before use. Other encodings go through tiktoken's normal cache and download; when
that fails, the error names the encoding and how to provide it offline.

Reading a bundled vocabulary (decompressing it, decoding 200,000 base64 tokens, building the
dict of ranks) takes ~0.1 s, as long as importing ftprep's dependencies: after the first use
the dict is kept in the user's cache (:mod:`ftprep.cache`) as ``marshal`` data, which loads in
about a third of that, and so are the arrays with which a small input's tokens are found
(:mod:`ftprep.tokens.subset`: a check of a few records then needs neither the dict nor
tiktoken's tables for the whole vocabulary). Entries are keyed by the hash tiktoken expects
of the vocabulary and checked by their own hash, so a stale or damaged entry is ignored (and
rewritten).
"""

from __future__ import annotations

import binascii
import contextlib
import logging
import marshal
import threading
from array import array
from collections.abc import Callable, Iterable, Iterator

import tiktoken
from tiktoken import _tiktoken  # type: ignore[attr-defined]

from ftprep import cache
from ftprep.tokens.subset import GrowingCore, TokenFinder

BUNDLED_ENCODINGS: tuple[str, ...] = ("o200k_base", "cl100k_base")
_PATCH_LOCK = threading.Lock()
#: The cache folder of the vocabularies' ranks.
CACHE_FOLDER = "vocab"

logger = logging.getLogger(__name__)


class EncodingUnavailable(RuntimeError):
    """An encoding is neither bundled nor obtainable from tiktoken's cache or network."""


class VocabularyCorrupt(RuntimeError):
    """A bundled vocabulary file does not match the hash tiktoken expects."""


def _bundled_ranks(name: str, expected_hash: str | None) -> dict[bytes, int]:
    """The ranks of the bundled vocabulary ``name``: from the cache when it holds them for
    ``expected_hash``, else read from the package (and then cached). A vocabulary whose hash
    tiktoken does not give is read from the package every time."""
    if expected_hash is None:
        return _read_bundled(name, expected_hash)
    entry = f"{name}-{expected_hash[:16]}.marshal"
    key = f"tiktoken ranks {name} sha256 {expected_hash} marshal {marshal.version}"
    payload = cache.read_entry(CACHE_FOLDER, entry, key)
    if payload is not None:
        ranks = marshal.loads(payload)
        if type(ranks) is dict:
            return ranks
        logger.debug("cached vocabulary %s is not a dict of ranks: ignored", entry)
    ranks = _read_bundled(name, expected_hash)
    cache.write_entry(CACHE_FOLDER, entry, key, marshal.dumps(ranks))
    return ranks


def _read_bundled(name: str, expected_hash: str | None) -> dict[bytes, int]:
    import gzip  # only when the cache does not serve the vocabulary
    import hashlib
    from importlib import resources

    resource = resources.files("ftprep.tokens").joinpath("vocab", f"{name}.tiktoken.gz")
    data = gzip.decompress(resource.read_bytes())
    actual = hashlib.sha256(data).hexdigest()
    if expected_hash is not None and actual != expected_hash:
        raise VocabularyCorrupt(
            f"bundled vocabulary {name} has sha256 {actual}, expected {expected_hash}; "
            "reinstall ftprep"
        )
    # binascii.a2b_base64 is what base64.b64decode calls, without its per-call argument checks:
    # half the time over 200,000 lines. Each line is "token rank"; in the files tiktoken
    # publishes (the hash proves it is one) the ranks are 0, 1, 2... in order, which saves
    # parsing 200,000 numbers.
    decode = binascii.a2b_base64
    fields = data.split()
    tokens = map(decode, fields[0::2])
    ranks = range(len(fields) // 2) if expected_hash is not None else map(int, fields[1::2])
    return dict(zip(tokens, ranks, strict=True))


def _token_finder(name: str, expected_hash: str | None) -> TokenFinder | None:
    """The :class:`~ftprep.tokens.subset.TokenFinder` of the bundled vocabulary ``name``,
    from the cache, else made from its ranks (and cached); None for a vocabulary whose hash
    tiktoken does not give (it cannot be keyed)."""
    if expected_hash is None:
        return None
    entry = f"{name}-{expected_hash[:16]}.finder"
    key = f"token finder {name} sha256 {expected_hash} marshal {marshal.version} layout 1"
    payload = cache.read_entry(CACHE_FOLDER, entry, key)
    if payload is not None:
        try:
            return TokenFinder.from_bytes(payload)
        except ValueError as err:
            logger.debug("cached token finder %s ignored: %s", entry, err)
    ranks = _bundled_ranks(name, expected_hash)
    tokens = list(ranks)
    if list(ranks.values()) != list(range(len(tokens))):  # the finder needs ranks in order
        return None
    finder = TokenFinder.from_tokens(tokens)
    cache.write_entry(CACHE_FOLDER, entry, key, finder.to_bytes())
    return finder


class BundledEncoding(tiktoken.Encoding):
    """A tiktoken encoding built from a bundled vocabulary.

    Its core is a :class:`~ftprep.tokens.subset.GrowingCore`: tables over the tokens of the
    texts encoded so far, which a small check needs a few thousand of, until the texts grow
    past a hundred kilobytes; then tiktoken's own core over the whole vocabulary. The
    encoding is the same either way. The Python dict of the vocabulary's ranks (200,000 byte
    strings, about 32 MB) is not kept once a core is built from it, and the encoding pickles
    by name instead (unpickling loads the bundled vocabulary).
    """

    def __init__(self, name: str):
        # tiktoken's own constructor supplies the regex and special tokens for this version
        # of tiktoken; only the download is replaced by the bundled, hash-checked file.
        import tiktoken_ext.openai_public as public

        constructor = public.ENCODING_CONSTRUCTORS[name]
        hashes: list[str | None] = []

        def expected(_url: str, expected_hash: str | None = None) -> dict[bytes, int]:
            hashes.append(expected_hash)
            return {}

        with _PATCH_LOCK:
            original = public.load_tiktoken_bpe
            public.load_tiktoken_bpe = expected
            try:
                spec = constructor()
            finally:
                public.load_tiktoken_bpe = original
        # (A tiktoken that asked for the file otherwise gets the whole vocabulary at once.)
        expected_hash = hashes[0] if len(hashes) == 1 else None
        pattern: str = spec["pat_str"]
        special: dict[str, int] = spec["special_tokens"]
        finder = _token_finder(name, expected_hash)
        if finder is None:
            super().__init__(
                name=spec["name"],
                pat_str=pattern,
                mergeable_ranks=_bundled_ranks(name, expected_hash),
                special_tokens=special,
            )
            self._mergeable_ranks = {}
            return
        # What tiktoken.Encoding.__init__ sets, with the growing core for tiktoken's.
        self.name = spec["name"]
        self._pat_str = pattern
        self._mergeable_ranks = {}
        self._special_tokens = special
        self.max_token_value = max([len(finder.offsets) - 2, *special.values()])
        self._special_token_values = set(special.values())

        def whole() -> object:
            return _tiktoken.CoreBPE(_bundled_ranks(name, expected_hash), special, pattern)

        self._core_bpe = GrowingCore(finder, special, pattern, whole)

    @property
    def growing(self) -> bool:
        """Whether the encoding works on part of the vocabulary so far (then
        :meth:`cover` spares it rebuilds)."""
        core = self._core_bpe
        return isinstance(core, GrowingCore) and core.growing

    def cover(self, texts: Iterable[str]) -> None:
        """Make ready to encode ``texts`` (an optional hint: encoding a text takes in what
        it needs anyway)."""
        core = self._core_bpe
        if isinstance(core, GrowingCore):
            core.cover(texts)

    def __reduce__(self) -> tuple[Callable[[str], tiktoken.Encoding], tuple[str]]:
        return get_encoding, (self.name,)


_NO_SPECIAL: frozenset[str] = frozenset()


def ids_encoder(encoding: tiktoken.Encoding) -> Callable[[str], bytes]:
    """A function giving the token ids of a text as ``encoding.encode_ordinary`` does, but as
    native uint32 bytes (``np.frombuffer(ids, np.uint32)`` reads them): no Python int per
    token is made or freed.

    It is the buffer encoding tiktoken's ``encode_to_numpy`` uses, with no special token
    allowed (which is ordinary encoding); text with lone surrogates is repaired first, as
    ``encode_ordinary`` does. It is checked once against ``encode_ordinary``: a tiktoken
    without it, or whose buffers differ, gets the list, packed.
    """

    def packed(text: str) -> bytes:
        return array("I", encoding.encode_ordinary(text)).tobytes()

    buffer = getattr(getattr(encoding, "_core_bpe", None), "encode_to_tiktoken_buffer", None)
    if buffer is None:
        return packed

    def buffered(text: str) -> bytes:
        try:
            return bytes(buffer(text, _NO_SPECIAL))
        except UnicodeEncodeError:
            text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
            return bytes(buffer(text, _NO_SPECIAL))

    probe = "ftprep <|endoftext|> 12,345 na\N{LATIN SMALL LETTER I WITH DIAERESIS}ve \ud800"
    try:
        agrees = buffered(probe) == packed(probe)
    except Exception:  # a tiktoken whose buffer encoding is called differently
        agrees = False
    return buffered if agrees else packed


#: Encodings loaded so far, by name (a vocabulary is loaded once per process).
_LOADED: dict[str, tiktoken.Encoding] = {}


def get_encoding(name: str) -> tiktoken.Encoding:
    """The tiktoken encoding ``name``; bundled ones never touch the network."""
    encoding = _LOADED.get(name)
    if encoding is None:
        encoding = _LOADED.setdefault(name, _load(name))
    return encoding


@contextlib.contextmanager
def transient_encodings() -> Iterator[None]:
    """Forget, at the end of the block, the encodings first loaded inside it.

    For one-off work that peaks later (a large check's dataset pass needs no vocabulary):
    the memory of a vocabulary (about 40 MB for ``o200k_base``) is freed once nothing else
    holds the encoding. Encodings loaded before the block stay loaded; one that other code
    (another thread) first loads while the block is open is forgotten too, and loaded again
    when next asked for.
    """
    before = set(_LOADED)
    try:
        yield
    finally:
        for name in set(_LOADED) - before:
            del _LOADED[name]


def _load(name: str) -> tiktoken.Encoding:
    if name in BUNDLED_ENCODINGS:
        return BundledEncoding(name)
    try:
        return tiktoken.get_encoding(name)
    except Exception as err:
        raise EncodingUnavailable(
            f"tiktoken encoding {name!r} is not bundled with ftprep and could not be loaded "
            f"({type(err).__name__}: {err}). To use it offline, download its .tiktoken file on "
            "a machine with network access and point TIKTOKEN_CACHE_DIR at tiktoken's cache "
            f"directory, or use a bundled encoding: {', '.join(BUNDLED_ENCODINGS)}"
        ) from err
