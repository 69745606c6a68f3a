"""Counts of ASCII text without ``tokenizers``' pipeline (:mod:`ftprep.tokens.bytelevel`)
equal ``tokenizers``' own, on real datasets' texts and on random strings: for two real
pretrained tokenizers (``fixtures/tokenizers/real``: MiniMind's, SmolLM2's) and for BPEs
trained here with real pre-tokenizer patterns (GPT-2's, cl100k's as Llama 3 ships it, and as
OLMo 2 splits with it, o200k's)."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path
from typing import Any

import needs
import pytest
from tokenizer_fixtures import CORPUS, FIXTURES, SPECIALS

from ftprep.tokens import bytelevel
from ftprep.tokens.bytelevel import PieceCounter, UnsupportedPattern, ascii_pattern
from ftprep.tokens.encodings import get_encoding

tokenizers = needs.module("tokenizers", "hf")

#: Files whose texts are counted both ways (most ASCII, some not).
REAL_FILES = (
    needs.REALDATA / "stanford_alpaca_pr152" / "alpaca_5000.json",
    needs.REALDATA / "llamafactory" / "identity.json",
    needs.REALDATA / "llamafactory" / "dpo_en_demo.json",
    needs.REALDATA / "llamafactory" / "glaive_toolcall_en_demo.json",
    needs.REALDATA / "alpaca_cleaned_extensions" / "gsm_8k" / "gsm_8k_train.json",
)


def _texts_of(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _texts_of(v)]
    if isinstance(value, list):
        return [t for v in value for t in _texts_of(v)]
    return []


def real_texts() -> list[str]:
    """Every string of the real files, and each fixture message wrapped in ChatML."""
    texts = []
    for path in REAL_FILES:
        texts += _texts_of(json.loads(path.read_text(encoding="utf-8")))
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        for message in json.loads(line)["messages"]:
            texts.append(f"<|im_start|>{message['role']}\n{message['content']}<|im_end|>\n")
    return texts


def trained(pre_tokenizer: Any, **options: Any) -> Any:
    """A 600-token BPE with ``pre_tokenizer`` trained on the fixture's texts."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE(unk_token=None, **options))
    tokenizer.pre_tokenizer = pre_tokenizer
    trainer = trainers.BpeTrainer(
        vocab_size=600,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    texts = [t for line in CORPUS.read_text().splitlines() for t in _texts_of(json.loads(line))]
    tokenizer.train_from_iterator(texts, trainer)
    return tokenizer


def split_then_bytes(pattern: str) -> Any:
    from tokenizers import Regex, pre_tokenizers

    return pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(pattern), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )


#: The pre-tokenizer pattern of Llama 3's tokenizer.json (cl100k's, as tiktoken had it then).
LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def llama3_shaped() -> Any:
    """Llama 3's pre-tokenizer, with ``ignore_merges`` as Llama 3 has it."""
    return trained(split_then_bytes(LLAMA3_PATTERN), ignore_merges=True)


def o200k_normalized() -> Any:
    """o200k's pattern, an NFC normalizer and an added token matched after normalizing."""
    from tokenizers import AddedToken, normalizers

    tokenizer = trained(split_then_bytes(get_encoding("o200k_base")._pat_str))
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFC()])
    tokenizer.add_tokens(
        [AddedToken("<tool>", normalized=True), AddedToken("ion", normalized=False)]
    )
    return tokenizer


REAL = FIXTURES / "tokenizers" / "real"


def real(name: str) -> Any:
    """A real pretrained tokenizer of ``fixtures/tokenizers/real`` (see its README)."""
    data = gzip.decompress((REAL / name / "tokenizer.json.gz").read_bytes())
    return tokenizers.Tokenizer.from_str(data.decode("utf-8"))


def olmo2_shaped() -> Any:
    """OLMo 2's pre-tokenizer: Llama 3's pattern, its matches kept (``Removed``, inverted)."""
    from tokenizers import Regex, pre_tokenizers

    split = pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="removed", invert=True)
    return trained(
        pre_tokenizers.Sequence(
            [split, pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]
        )
    )


TOKENIZERS = {
    "minimind": lambda: real("minimind"),
    "smollm2": lambda: real("smollm2-135m-instruct"),
    "gpt2": lambda: tokenizers.Tokenizer.from_file(
        str(FIXTURES / "tokenizers" / "bpe" / "tokenizer.json")
    ),
    "llama3": llama3_shaped,
    "olmo2": olmo2_shaped,
    "o200k-nfc": o200k_normalized,
}


def counter_of(tokenizer: Any) -> PieceCounter:
    counter = PieceCounter.of(tokenizer, json.loads(tokenizer.to_str()))
    assert counter is not None
    return counter


def theirs(tokenizer: Any) -> Any:
    def encode(texts: list[str]) -> list[int]:
        return [len(e) for e in tokenizer.encode_batch(texts, add_special_tokens=False)]

    return encode


@pytest.mark.parametrize("name", list(TOKENIZERS))
def test_counts_of_real_texts_are_the_tokenizers_own(name: str) -> None:
    tokenizer = TOKENIZERS[name]()
    counter = counter_of(tokenizer)
    texts = real_texts()
    assert sum(t.isascii() for t in texts) > 10_000 and sum(not t.isascii() for t in texts) > 500
    sent: list[str] = []

    def encode(others: list[str]) -> list[int]:
        sent.extend(others)
        return theirs(tokenizer)(others)

    assert counter.sizes(texts, encode) == theirs(tokenizer)(texts)
    assert sent == [t for t in texts if not t.isascii()]  # ASCII texts were counted here


@pytest.mark.parametrize("name", list(TOKENIZERS))
def test_counts_of_random_ascii_strings_are_the_tokenizers_own(name: str) -> None:
    tokenizer = TOKENIZERS[name]()
    counter = counter_of(tokenizer)
    rng = random.Random(23)
    alphabet = [*map(chr, range(128)), *["a", "Z", "s", "'", " ", "\n", "0", "<tool>", "ion"] * 8]
    own = [token["content"] for token in _spec(tokenizer)["added_tokens"]]
    alphabet += [*SPECIALS, *own, "'S", "'ll", "  ", "\r\n", "\x0b", "\x1c", "123456"]
    texts = ["".join(rng.choices(alphabet, k=rng.randrange(40))) for _ in range(4000)]
    assert counter.sizes(texts, theirs(tokenizer)) == theirs(tokenizer)(texts)


def test_text_between_a_patterns_matches_is_a_piece_too() -> None:
    tokenizer = trained(split_then_bytes(r"[A-Za-z]+|\d"))
    counter = counter_of(tokenizer)
    texts = [*real_texts()[:3000], "", "  ,;  x", "12 ab-cd!!"]
    assert counter.sizes(texts, theirs(tokenizer)) == theirs(tokenizer)(texts)


def test_splits_in_sequence_split_each_others_pieces() -> None:
    from tokenizers import Regex, pre_tokenizers

    tokenizer = trained(
        pre_tokenizers.Sequence(
            [
                pre_tokenizers.Digits(individual_digits=False),
                pre_tokenizers.Split(Regex(r"\s+"), behavior="isolated"),
                pre_tokenizers.Split(
                    Regex(r"[A-Za-z]+|[^A-Za-z]"), behavior="removed", invert=True
                ),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
            ]
        )
    )
    counter = counter_of(tokenizer)
    texts = [*real_texts()[:3000], "", "a 12 b  345\n\nc", "x1y22z"]
    assert counter.sizes(texts, theirs(tokenizer)) == theirs(tokenizer)(texts)


def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """In pieces, and in their length: a long piece (a base64 blob) is counted, not kept."""
    monkeypatch.setattr(bytelevel, "CACHE_LIMIT", 50)
    tokenizer = TOKENIZERS["gpt2"]()
    counter = counter_of(tokenizer)
    blob = "QUJD" * 100
    texts = [*[t for t in real_texts() if t.isascii()][:2000], f"key: {blob}", blob]
    assert counter.sizes(texts, theirs(tokenizer)) == theirs(tokenizer)(texts)
    assert len(counter._cache) <= 50 + max(len(counter._split(t)) for t in texts)
    assert max(map(len, counter._cache)) <= bytelevel.CACHED_PIECE


def _spec(tokenizer: Any) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(tokenizer.to_str())
    return spec


def test_tokenizers_it_cannot_follow_get_none() -> None:
    from tokenizers import AddedToken, Regex, normalizers, pre_tokenizers

    tokenizer = TOKENIZERS["gpt2"]()
    assert PieceCounter.of(tokenizer, _spec(tokenizer)) is not None
    stripping = TOKENIZERS["gpt2"]()
    stripping.add_tokens([AddedToken("<x>", lstrip=True)])
    lowercase = TOKENIZERS["gpt2"]()
    lowercase.normalizer = normalizers.Lowercase()
    metaspace = TOKENIZERS["gpt2"]()
    metaspace.pre_tokenizer = pre_tokenizers.Metaspace()
    prefix = TOKENIZERS["gpt2"]()
    prefix.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    boundary = TOKENIZERS["gpt2"]()
    boundary.pre_tokenizer = split_then_bytes(r"\b\w+\b|\s+")
    merged = TOKENIZERS["gpt2"]()
    merged.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(r"\d"), behavior="merged_with_previous"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    for other in (stripping, lowercase, metaspace, prefix, boundary, merged):
        assert PieceCounter.of(other, _spec(other)) is None
    dropout = _spec(tokenizer)
    dropout["model"]["dropout"] = 0.1
    assert PieceCounter.of(tokenizer, dropout) is None


@pytest.mark.parametrize(
    ("pattern", "behavior", "followed"),
    [
        (r"(?i:e[^e])|[a-z]", "isolated", True),  # folded before negated
        (r"(?i:x[^x])|.", "isolated", True),
        ("(?i:[\u212a]n)|[a-z]", "isolated", False),  # the Kelvin sign folds to k
        ("(?i:[\ufb00])|[a-z]", "isolated", False),  # the ff ligature folds to ff
        (r"(?=zq)|\S+|\s+", "removed", True),  # empty matches, as Oniguruma skips them
        (r"(?=zq)|\S+|\s+", "isolated", True),
        (r"a*", "isolated", True),
    ],
)
def test_case_folding_and_empty_matches_split_as_oniguruma_does(
    pattern: str, behavior: str, followed: bool
) -> None:
    from tokenizers import Regex, pre_tokenizers

    tokenizer = TOKENIZERS["gpt2"]()
    split = pre_tokenizers.Split(Regex(pattern), behavior=behavior, invert=behavior == "removed")
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [split, pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]
    )
    counter = PieceCounter.of(tokenizer, _spec(tokenizer))
    assert (counter is not None) == followed
    if counter is None:
        return
    rng = random.Random(5)
    texts = ["seen", "needle", "kn", "know", "off", "zq", "a zq", "zqzq z q", "aaa b", "xXx"]
    texts += ["".join(rng.choices("eExXzqkn aA.\n", k=rng.randrange(12))) for _ in range(3000)]
    assert counter.sizes(texts, theirs(tokenizer)) == theirs(tokenizer)(texts)


def test_a_translation_that_splits_otherwise_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The probe text compares the translated pattern's pieces with the pre-tokenizer's."""
    tokenizer = TOKENIZERS["gpt2"]()
    monkeypatch.setattr(bytelevel, "ascii_pattern", lambda _: r"\S+|\s+")
    assert PieceCounter.of(tokenizer, _spec(tokenizer)) is None


@pytest.mark.parametrize(
    ("pattern", "text", "pieces"),
    [
        (r"\p{L}+|\s", "ab 1\x1c", ["ab", " "]),
        (r"[^\s\p{L}\p{N}]+", "a,;\x1c 1.", [",;\x1c", "."]),
        (r"(?i:'s|x)", "'S X", ["'S", "X"]),
        (r"\s+$", "a  \n b  ", ["  ", "  "]),
        (r"\p{Lt}|\P{L}", "aB1", ["1"]),
        (r"(a)(?:b)", "ab", ["ab"]),
    ],
)
def test_ascii_pattern_translations(pattern: str, text: str, pieces: list[str]) -> None:
    import re

    assert re.findall(ascii_pattern(pattern), text, re.ASCII) == pieces


@pytest.mark.parametrize(
    "pattern",
    [
        r"\p{Han}",
        r"(?<name>a)",
        r"^a",
        r"\d{2}+",
        r"[[:alpha:]]",
        r"\bx",
        r"é",
        r"\xe9",
        r"(?i:\p{L})",
    ],
)
def test_ascii_pattern_refuses_what_could_mean_otherwise(pattern: str) -> None:
    with pytest.raises(UnsupportedPattern):
        ascii_pattern(pattern)


def test_a_chat_tokenizer_counts_whole_texts_whatever_its_saved_settings(tmp_path: Path) -> None:
    """A tokenizer.json saved with truncation and padding: each rendering is counted whole
    and alone, here (ASCII) and by ``tokenizers`` (the rest)."""
    from tokenizer_fixtures import write_model

    from ftprep.model import Example
    from ftprep.tokens.hf import HFChatTokenizer

    tokenizer = TOKENIZERS["gpt2"]()
    tokenizer.enable_truncation(max_length=8)
    tokenizer.enable_padding(length=64)
    folder = write_model(tmp_path / "model", "chatml_generation.jinja", tokenizer=tokenizer)
    chat = HFChatTokenizer(folder)
    examples = [
        Example.model_validate(
            {
                "messages": [
                    {"role": "user", "content": question},
                    {"role": "assistant", "content": answer},
                ]
            }
        )
        for question, answer in [
            ("How far is the Moon from Earth?", "About 384,400 km."),
            ("¿Qué hora es?", "Son las tres y cuarto de la tarde."),
        ]
    ]
    counts = chat.count_batch(examples)
    assert isinstance(chat._counter, PieceCounter)
    whole = TOKENIZERS["gpt2"]()
    for example, count in zip(examples, counts, strict=True):
        text = chat.rendering(example).whole
        assert count.total == len(whole.encode(text, add_special_tokens=False).ids) > 8


def test_a_real_model_folder_counts_as_tokenizers_alone_would(tmp_path: Path) -> None:
    """MiniMind's tokenizer and its own chat template (Qwen-style, with tools): what a
    check counts, trained tokens and runs included, is what encoding every text with
    ``tokenizers`` gives."""
    from ftprep.api import load
    from ftprep.model import Example
    from ftprep.tokens.hf import HFChatTokenizer

    folder = tmp_path / "minimind"
    folder.mkdir()
    (folder / "tokenizer.json").write_bytes(
        gzip.decompress((REAL / "minimind" / "tokenizer.json.gz").read_bytes())
    )
    (folder / "tokenizer_config.json").write_bytes(
        (REAL / "minimind" / "tokenizer_config.json").read_bytes()
    )
    sources = [
        needs.REALDATA / "llamafactory" / "glaive_toolcall_en_demo.json",
        needs.REALDATA / "mlx_examples" / "wwdc25_data_train.jsonl",
        CORPUS,
    ]
    examples = [e for path in sources for e in load(path) if isinstance(e, Example)]
    fast, plain = HFChatTokenizer(folder, window=256), HFChatTokenizer(folder, window=256)
    assert isinstance(fast._counter, PieceCounter)
    plain.__dict__["_counter"] = None  # everything through tokenizers
    counted = fast.count_batch(examples)
    assert len(counted) > 1000 and sum(c.segments is not None for c in counted) > 100
    assert counted == plain.count_batch(examples)
