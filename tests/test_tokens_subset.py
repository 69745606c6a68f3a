"""Encoding on part of the vocabulary (:mod:`ftprep.tokens.subset`) gives tiktoken's own
token ids: on every text of the real datasets and fixtures, on texts made to trip it (long
tokens, special-token strings, lone surrogates, texts across the seams of what is covered),
and through its growth, its limits and a fork."""

from __future__ import annotations

import itertools
import marshal
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import needs
import orjson
import pytest
import tiktoken
import tiktoken_ext.openai_public as public
from tiktoken import _tiktoken

from ftprep.tokens import encodings, subset
from ftprep.tokens.chat import TiktokenChatCounter
from ftprep.tokens.subset import GrowingCore, TokenFinder

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
REALDATA = REPO.parent / "shared" / "realdata"
NAME = "o200k_base"


class Vocabulary:
    """o200k_base's ranks, pattern and special tokens, its finder, and tiktoken's core
    over the whole of it (the reference)."""

    def __init__(self) -> None:
        hashes: list[str] = []

        def capture(_url: str, expected_hash: str | None = None) -> dict[bytes, int]:
            assert expected_hash is not None
            hashes.append(expected_hash)
            return {}

        original = public.load_tiktoken_bpe
        public.load_tiktoken_bpe = capture
        try:
            spec = public.ENCODING_CONSTRUCTORS[NAME]()
        finally:
            public.load_tiktoken_bpe = original
        self.ranks = encodings._read_bundled(NAME, hashes[0])
        self.pattern: str = spec["pat_str"]
        self.special: dict[str, int] = spec["special_tokens"]
        self.finder = TokenFinder.from_tokens(list(self.ranks))
        self.reference = _tiktoken.CoreBPE(self.ranks, self.special, self.pattern)
        self.completions = 0

    def growing(self) -> GrowingCore:
        def whole() -> Any:
            self.completions += 1
            return self.reference

        return GrowingCore(self.finder, self.special, self.pattern, whole)


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    return Vocabulary()


def strings(value: Any) -> Iterator[str]:
    """Every string in a JSON document, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def texts_of(path: Path) -> list[str]:
    data = path.read_bytes()
    try:
        return list(strings(orjson.loads(data)))
    except orjson.JSONDecodeError:
        found: list[str] = []
        for line in data.splitlines():
            try:
                found.extend(strings(orjson.loads(line)))
            except orjson.JSONDecodeError:
                found.append(line.decode("utf-8", "replace"))
        return found


def chunks(texts: list[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    total = 0
    for text in texts:
        chunk.append(text)
        total += len(text)
        if total >= size:
            yield chunk
            chunk, total = [], 0
    if chunk:
        yield chunk


def data_files() -> list[Path]:
    found = sorted(FIXTURES.rglob("*.json*"))
    if REALDATA.is_dir():
        found += sorted(REALDATA.rglob("*.json")) + sorted(REALDATA.rglob("*.jsonl"))
    return found


@needs.path_mark(REALDATA, "needs ../shared/realdata")
def test_every_real_text_encodes_as_with_the_whole_vocabulary(vocabulary: Vocabulary) -> None:
    reference = vocabulary.reference
    checked = 0
    for path in data_files():
        # The first ~120,000 characters of each file, 30,000 at a time (fewer tokens than
        # the limit of the part of the vocabulary), and every text of it alone.
        for chunk in itertools.islice(chunks(texts_of(path), 30_000), 4):
            core = vocabulary.growing()
            core.cover(chunk)
            for text in chunk:
                try:
                    expected = reference.encode_ordinary(text)
                except UnicodeEncodeError:
                    continue
                assert core.encode_ordinary(text) == expected, (path, text[:80])
                checked += 1
            assert core.growing, path  # the part of the vocabulary did the work
    assert vocabulary.completions == 0
    assert checked > 20_000


TRICKY = [
    "",
    " ",
    "a",
    "Hello, world!",
    " " * 200 + "indented",
    "\n" * 50,
    "=" * 300,
    "-" * 129 + "+",
    "1234567890" * 20,
    "<|endoftext|> and <|fim_prefix|> are text here",
    "naïve café 漢字 🙂 \U0001f9d1\u200d\U0001f4bb",
    "def f(x):\n    return {'a': [1, 2, 3]}  # comment\n",
    "\x00\x01\x02 control",
    "\uff21\uff22\uff23 full-width, \ufb01 ligature, \u00c5 vs A\u030a",
    "'s 're 've 'll 'd 'm 't",
    " understanding misunderstanding misunderstandings",
]


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_texts_one_at_a_time(vocabulary: Vocabulary, text: str) -> None:
    core = vocabulary.growing()
    reference = vocabulary.reference
    assert core.encode_ordinary(text) == reference.encode_ordinary(text)
    allowed = {"<|endoftext|>"}
    assert core.encode(text, allowed) == reference.encode(text, allowed)
    assert bytes(core.encode_to_tiktoken_buffer(text, set())) == bytes(
        reference.encode_to_tiktoken_buffer(text, set())
    )
    assert core.growing


def test_texts_across_what_is_covered(vocabulary: Vocabulary) -> None:
    # Covered texts are kept joined: a later text may straddle two of them, and a long token
    # may straddle the seam; each must still be encoded with every token it contains.
    core = vocabulary.growing()
    reference = vocabulary.reference
    left, right = "The quick brown fox jumps over the lazy" + " " * 40, " " * 40 + "dog."
    core.cover([left])
    assert core.encode_ordinary(right) == reference.encode_ordinary(right)
    across = left[-20:] + right[:25]
    for text in (across, left + right, left[-1:] + right[:1]):
        assert core.encode_ordinary(text) == reference.encode_ordinary(text)
    assert core.growing


def test_lone_surrogates_raise_as_in_tiktoken(vocabulary: Vocabulary) -> None:
    core = vocabulary.growing()
    with pytest.raises(UnicodeEncodeError):
        vocabulary.reference.encode_ordinary("lone \ud800")
    with pytest.raises(UnicodeEncodeError):
        core.encode_ordinary("lone \ud800")


def test_growth_stops_at_its_limits(
    vocabulary: Vocabulary, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = vocabulary.reference
    texts = texts_of(FIXTURES / "drone" / "drone_training.jsonl")
    for limit, value in (
        ("SUBSET_MAX_BYTES", 2_000),
        ("SUBSET_MAX_STEP", 100),
        ("SUBSET_MAX_TOKENS", 300),
        ("SUBSET_MAX_BUILDS", 3),
    ):
        with monkeypatch.context() as patch:
            patch.setattr(subset, limit, value)
            core = vocabulary.growing()
            before = vocabulary.completions
            for text in texts[:400]:
                assert core.encode_ordinary(text) == reference.encode_ordinary(text)
            assert not core.growing, limit
            assert vocabulary.completions == before + 1  # built once
            # Anything but encoding a text goes to the whole vocabulary.
            ids = core.encode_ordinary("Ça marche")
            assert core.decode_bytes(ids) == "Ça marche".encode()


def test_other_methods_complete_the_vocabulary(vocabulary: Vocabulary) -> None:
    core = vocabulary.growing()
    core.encode_ordinary("hello")
    assert core.growing
    assert core.encode_single_token(b"hello") == vocabulary.ranks[b"hello"]
    assert not core.growing


def test_forking_completes_growing_vocabularies(vocabulary: Vocabulary) -> None:
    core = vocabulary.growing()
    core.encode_ordinary("before the fork")
    assert core.growing
    pid = os.fork()
    if pid == 0:  # the child: nothing to do
        os._exit(0)
    os.waitpid(pid, 0)
    assert not core.growing  # forked children share the whole vocabulary's tables


def test_the_bundled_encoding_is_a_whole_tiktoken_encoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vocabulary: Vocabulary
) -> None:
    monkeypatch.setenv("FTPREP_CACHE_DIR", str(tmp_path))
    first = encodings.BundledEncoding(NAME)  # writes the finder to the cache
    (finder_entry,) = tmp_path.rglob("*.finder")
    second = encodings.BundledEncoding(NAME)  # reads it
    plain = tiktoken.Encoding(
        NAME, pat_str=vocabulary.pattern, mergeable_ranks={b"a": 0}, special_tokens={}
    )
    for encoding in (first, second):
        assert isinstance(encoding._core_bpe, GrowingCore) and encoding.growing
        assert set(vars(encoding)) == set(vars(plain))  # what tiktoken's constructor sets
        top = max(len(vocabulary.ranks) - 1, *vocabulary.special.values())
        assert encoding.max_token_value == top and encoding.n_vocab == top + 1
        text = "Ça marche: 12,345 tokens <|endoftext|>"
        assert encoding.encode(text, allowed_special="all") == vocabulary.reference.encode(
            text, {"<|endoftext|>"}
        )
    # A damaged finder is ignored and made again.
    finder_entry.write_bytes(finder_entry.read_bytes()[:-10])
    third = encodings.BundledEncoding(NAME)
    assert third.encode_ordinary("again") == vocabulary.reference.encode_ordinary("again")
    assert finder_entry.stat().st_size > 1_000_000


def test_the_counter_covers_a_batch_in_one_build(monkeypatch: pytest.MonkeyPatch) -> None:
    from ftprep.model import Example

    monkeypatch.setattr(encodings, "_LOADED", {})
    counter = TiktokenChatCounter(NAME)
    core = counter._encoding._core_bpe
    assert isinstance(core, GrowingCore)
    path = FIXTURES / "drone" / "drone_training.jsonl"
    lines = path.read_bytes().splitlines()[:20]
    examples = [Example.model_validate(orjson.loads(line)) for line in lines]
    assert all(e.tools for e in examples)  # tool definitions: texts made by the counter
    builds = core._builds
    batch = counter.count_batch(examples)
    assert core.growing and core._builds == builds + 1  # tools, names, roles, texts at once
    core.whole()
    assert not core.growing
    again = TiktokenChatCounter(NAME)  # the same encoding, now over the whole vocabulary
    assert again._encoding is counter._encoding
    assert [again.count(e) for e in examples] == batch


def test_a_finder_reads_back_and_rejects_other_data(vocabulary: Vocabulary) -> None:
    data = "Ça marche: 12,345 tokens".encode()
    again = TokenFinder.from_bytes(vocabulary.finder.to_bytes())
    assert again.ranks_in(data).tolist() == vocabulary.finder.ranks_in(data).tolist()
    for other in (b"", b"junk", marshal.dumps([1, 2]), marshal.dumps({"blob": b""})):
        with pytest.raises(ValueError, match="not a token finder"):
            TokenFinder.from_bytes(other)


def test_without_a_cache_the_encoding_is_the_same(
    monkeypatch: pytest.MonkeyPatch, vocabulary: Vocabulary
) -> None:
    monkeypatch.setenv("FTPREP_NO_CACHE", "1")
    encoding = encodings.BundledEncoding(NAME)
    text = (FIXTURES / "drone" / "drone_training.jsonl").read_text(encoding="utf-8")[:20_000]
    assert encoding.growing
    assert encoding.encode_ordinary(text) == vocabulary.reference.encode_ordinary(text)


def test_a_core_not_set_up_has_no_attributes() -> None:
    bare = GrowingCore.__new__(GrowingCore)  # as copy or pickle would make it
    with pytest.raises(AttributeError):
        bare.encode_single_token(b"a")
