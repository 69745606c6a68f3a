"""Signatures, LSH parameters and the X rules on real data."""

from __future__ import annotations

import itertools
import json
import unicodedata
from collections import Counter
from pathlib import Path

import datasketch
import numpy as np
import pytest
from backends import BUILT, backend
from hypothesis import given
from hypothesis import strategies as st

from ftprep.config import Config, DedupConfig
from ftprep.dedup import keys
from ftprep.dedup.index import MemoryIndex, candidate_pairs, candidate_probability, lsh_params
from ftprep.dedup.signatures import (
    MAX_HASH,
    Signer,
    normalised_words,
    permutations,
    shingle_hashes,
    word_ids,
)
from ftprep.findings import Finding
from ftprep.model import Example
from ftprep.tokens.chat import TiktokenChatCounter
from ftprep.validate.check import CheckResult, run_check
from ftprep.view import ExampleView

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
MLX = REALDATA / "mlx_examples"


def _identity(value: int) -> int:
    return value


MASK = 0xFFFFFFFF


def _fmix32(h: int) -> int:
    h ^= h >> 16
    h = h * 0x85EBCA6B & MASK
    h ^= h >> 13
    h = h * 0xC2B2AE35 & MASK
    return h ^ (h >> 16)


def _reference_hashes(ids: list[int], width: int) -> list[int]:
    """Shingle hashes, straight from their definition."""
    hashes = []
    for pos in range(max(len(ids) - width + 1, 1) if ids else 0):
        h = 0
        for k in range(min(width, len(ids))):
            h = _fmix32(h ^ ids[pos + k] ^ (k * 0x9E3779B9 & MASK))
        hashes.append(h)
    return hashes


def _reference_signature(ids: list[int], width: int, num_perm: int, seed: int) -> list[int]:
    """A MinHash signature, straight from its definition (all MAX_HASH when empty)."""
    mixed = [_fmix32(h) for h in _reference_hashes(ids, width)]
    a, b = permutations(num_perm, seed)
    return [
        min(((int(ap) * x + int(bp)) & MASK for x in mixed), default=MASK)
        for ap, bp in zip(a, b, strict=True)
    ]


@pytest.mark.parametrize("backend_name", BUILT)
@pytest.mark.parametrize(("num_perm", "seed"), [(128, 1), (64, 42)])
def test_signature_equals_datasketch_minhash(backend_name: str, num_perm: int, seed: int) -> None:
    """A signature is datasketch's affine32 MinHash of the same 32-bit shingle hashes."""
    with backend(backend_name):
        counter = TiktokenChatCounter()
        signer = Signer(num_perm, seed, 5, "conversation")
        lines = (MLX / "wwdc25_data_valid.jsonl").read_text(encoding="utf-8").splitlines()[:20]
        for line in lines:
            row = json.loads(line)
            text = f"{row['prompt']}{row['completion']}"
            ids = counter.encode(text)
            hashes = shingle_hashes(ids, 5)
            reference = datasketch.MinHash(num_perm=num_perm, seed=seed, hashfunc=_identity)
            reference.update_batch(hashes.tolist())
            assert reference.scheme == "affine32"
            assert np.array_equal(signer.sign_many([ids])[0], reference.hashvalues)
            # A uint32 array signs as the list of ints does.
            as_array = np.array(ids, np.uint32)
            assert np.array_equal(signer.sign_many([as_array])[0], reference.hashvalues)


@pytest.mark.parametrize("backend_name", BUILT)
@given(
    ids=st.lists(st.integers(0, MASK), max_size=40),
    cuts=st.lists(st.integers(0, 40), max_size=4),
    width=st.integers(1, 8),
    num_perm=st.sampled_from([1, 7, 64, 65, 130]),
    seed=st.integers(0, 2**31),
)
def test_signature_equals_its_definition(
    backend_name: str, ids: list[int], cuts: list[int], width: int, num_perm: int, seed: int
) -> None:
    """Any id sequence, cut into any parts (lists and uint32 arrays), signs as the formula
    says, whatever the number of permutations (whole vector blocks or not)."""
    with backend(backend_name):
        signer = Signer(num_perm, seed, width, "conversation")
        bounds = [0, *sorted(min(c, len(ids)) for c in cuts), len(ids)]
        parts: list[list[int] | np.ndarray] = [ids[i:j] for i, j in itertools.pairwise(bounds)]
        parts[::2] = [np.array(part, dtype=np.uint32) for part in parts[::2]]
        expected = _reference_signature(ids, width, num_perm, seed)
        signature = signer.signature(parts)
        if ids:
            assert signature is not None
            assert np.frombuffer(signature, dtype=np.uint32).tolist() == expected
        else:
            assert signature is None and expected == [MASK] * num_perm
        assert signer.sign_many([ids])[0].tolist() == expected
        assert shingle_hashes(ids, width).tolist() == sorted(set(_reference_hashes(ids, width)))


@pytest.mark.parametrize("backend_name", BUILT)
def test_short_and_empty_sequences(backend_name: str) -> None:
    with backend(backend_name):
        signer = Signer(128, 1, 5, "conversation")
        # Shorter than a shingle: the whole sequence is the one shingle.
        for ids in ([7], [7, 8], [7, 8, 9, 10]):
            assert len(shingle_hashes(ids, 5)) == 1
            assert signer.sign_many([ids])[0].tolist() == _reference_signature(ids, 5, 128, 1)
        assert len({shingle_hashes(ids, 5)[0] for ids in ([7], [7, 8], [8, 7])}) == 3
        # Exactly one shingle, then two.
        assert len(shingle_hashes([1, 2, 3, 4, 5], 5)) == 1
        assert len(shingle_hashes([1, 2, 3, 4, 5, 6], 5)) == 2
        # Nothing to compare: no shingles, no signature, an all-MAX_HASH row.
        assert len(shingle_hashes([], 5)) == 0
        assert signer.signature([]) is None and signer.signature([[], []]) is None
        signatures = signer.sign_many([[], [1, 2, 3], []])
        assert (signatures[[0, 2]] == MAX_HASH).all()
        assert (signatures[1] != MAX_HASH).any()


@pytest.mark.parametrize("backend_name", BUILT)
def test_messages_are_signed_as_one_sequence(backend_name: str) -> None:
    """The compared messages' ids are concatenated: shingles run across message boundaries."""
    with backend(backend_name):
        signer = Signer(128, 1, 5, "conversation")
        first, second = list(range(100, 107)), list(range(200, 203))
        joined = signer.sign_many([first + second])[0].tobytes()
        assert signer.signature([first, second]) == joined
        assert signer.signature([first, [], second, []]) == joined
        assert signer.signature([second, first]) != joined
        # Not the union of the messages' own shingles.
        assert signer.signature([first]) != joined
        # The counter's compact ids (native uint32 bytes) and arrays sign alike.
        compact = np.array(second, dtype=np.uint32)
        assert signer.signature([first, compact.tobytes()]) == joined
        assert signer.signature([np.array(first, dtype=np.uint32), compact]) == joined


@pytest.mark.parametrize("backend_name", BUILT)
def test_bad_token_ids_are_refused(backend_name: str) -> None:
    with backend(backend_name):
        signer = Signer(16, 1, 5, "conversation")
        with pytest.raises(OverflowError):
            signer.signature([[1, -1]])
        with pytest.raises(OverflowError):
            signer.signature([[1 << 32]])
        with pytest.raises(TypeError):
            signer.signature([np.array([1, 2], dtype=np.int64)])
        with pytest.raises(TypeError, match="uint32"):
            signer.signature([b"\x01\x00\x00"])  # not a whole number of ids


def test_batch_fills_the_rows_it_signed() -> None:
    """SignatureBatch writes each signed record's row and leaves the rows of records with
    nothing to compare (here a system prompt alone) as they are (all MAX_HASH in a fact
    table)."""
    signer = Signer(128, 1, 5, "conversation")
    texts = [["Be brief."], ["Be brief.", "Name a prime.", "Seven."], ["Hi", "Hello there."]]
    examples = [
        Example.model_validate(
            {
                "messages": [
                    {"role": ("system", "user", "assistant")[i], "content": text}
                    for i, text in enumerate(conversation)
                ]
            }
        )
        for conversation in texts
    ]
    batch = signer.batch()
    for row, example in zip((4, 0, 2), examples, strict=True):
        batch.add(row, ExampleView.of(example))
    signatures = np.zeros((5, 128), dtype=np.uint32)
    batch.fill(signatures)
    assert (signatures[[1, 3, 4]] == 0).all()
    for row, conversation in ((0, texts[1]), (2, texts[2])):
        ids = np.frombuffer(word_ids(conversation[1:]), dtype=np.uint32)
        assert np.array_equal(signatures[row], signer.sign_many([ids])[0])


def test_words_are_read_from_the_normalised_text() -> None:
    # Case, punctuation, spacing and compatibility forms (NFKC) change no word.
    fullwidth = "\uff28\uff45\uff4c\uff4c\uff4f"  # Hello
    words = normalised_words(f"Hello,  WORLD! {fullwidth} \ufb01ne don't x_y 3.5")
    assert words == ["hello", "world", "hello", "fine", "don", "t", "x_y", "3", "5"]
    assert word_ids(["Hello,  world!"]) == word_ids(["hello world"]) == word_ids(["hello", "world"])
    assert word_ids(["hello world"], 1) != word_ids(["hello world"])
    signer = Signer(128, 1, 5, "conversation")
    text = "The quick brown fox jumps over the lazy dog near the river bank today."
    assert signer.sign_texts([text]) == signer.sign_texts([text.upper().replace(" ", "   ")])
    assert signer.sign_texts([text], 1) != signer.sign_texts([text])
    assert signer.sign_texts(["...", " "]) is None


def test_compared_sides() -> None:
    example = Example.model_validate(
        {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Name a prime number."},
                {"role": "assistant", "content": "Seven."},
            ]
        }
    )
    view = ExampleView.of(example)

    def texts(compare: str) -> list[str]:
        return Signer(128, 1, 5, compare).compared_texts(view)[0]

    assert texts("prompt") == ["Name a prime number."]
    assert texts("answer") == ["Seven."]
    assert texts("conversation") == texts("prompt") + texts("answer")


def test_default_lsh_parameters_favour_recall() -> None:
    assert lsh_params(DedupConfig()) == (16, 8)
    assert lsh_params(DedupConfig(bands=9, rows=13)) == (9, 13)
    for threshold in (0.5, 0.7, 0.8, 0.9):
        bands, rows = lsh_params(DedupConfig(threshold=threshold))
        assert bands * rows <= 128
        assert candidate_probability(min(threshold + 0.05, 1.0), bands, rows) >= 0.99
    # datasketch's own choice for 0.8 (9 x 13) finds a pair at 0.8 only ~40% of the time.
    assert candidate_probability(0.8, 9, 13) < 0.5 < candidate_probability(0.8, 16, 8)


def test_windowed_pairs_join_large_buckets() -> None:
    index = MemoryIndex(16, 8)
    signatures = np.zeros((200, 128), dtype=np.uint32)  # 200 identical signatures
    index.insert(np.arange(200, dtype=np.int64), signatures)
    pairs = candidate_pairs(index)
    left, right = pairs >> np.uint64(32), pairs & np.uint64(0xFFFFFFFF)
    assert (left < right).all()
    assert ((right - left) <= 64).all()
    assert len(pairs) == sum(min(64, 199 - i) for i in range(200))


def _x(findings: list[Finding], code: str) -> list[Finding]:
    return [f for f in findings if f.code == code]


def _check_wwdc25() -> CheckResult:
    return run_check(
        [MLX / "wwdc25_data_train.jsonl"], Config(), against=[MLX / "wwdc25_data_valid.jsonl"]
    )


@pytest.fixture(scope="module")
def wwdc25() -> CheckResult:
    """mlx-examples' wwdc25 training data checked against its validation data."""
    return _check_wwdc25()


def test_wwdc25_is_multi_answer_by_design(wwdc25: CheckResult) -> None:
    result = wwdc25
    counts = Counter(f.code for f in result.findings if f.code[0] == "X")
    assert counts["X003"] == 0
    assert counts["X005"] == 1
    (summary,) = _x(result.findings, "X005")
    assert "265 of 271 distinct prompts have several different answers" in summary.message
    # Exact repeats are still duplicates: 437 rows repeat an earlier (prompt, completion)
    # up to whitespace.
    assert counts["X001"] == 437


def test_case_folding_applies_only_where_configured() -> None:
    # Folding case (dedup.case-sensitive = false) finds 40 more exact repeats in wwdc25 and
    # merges prompts that differ only in case.
    config = Config(dedup=DedupConfig(case_sensitive=False))
    result = run_check([MLX / "wwdc25_data_train.jsonl"], config)
    assert Counter(f.code for f in result.findings)["X001"] == 477
    (summary,) = _x(result.findings, "X005")
    assert "216 of 218 distinct prompts have several different answers" in summary.message


def test_contradictions_are_reported_when_multi_answer_detection_is_off() -> None:
    config = Config(dedup=DedupConfig(multi_answer_share=1.0))
    result = run_check([MLX / "wwdc25_data_valid.jsonl"], config)
    conflicts = _x(result.findings, "X003")
    assert conflicts and not _x(result.findings, "X005")
    first = conflicts[0]
    assert first.related and first.related[0].line < first.line
    assert "different answer" in first.message


def test_leakage_across_two_files(wwdc25: CheckResult) -> None:
    leaks = _x(wwdc25.findings, "X004")
    valid = str(MLX / "wwdc25_data_valid.jsonl")
    train = str(MLX / "wwdc25_data_train.jsonl")
    assert {f.path for f in leaks} == {valid}
    assert all(f.related[0].path == train for f in leaks)
    kinds = Counter(f.data["kind"] for f in leaks)
    assert kinds["exact"] >= 10 and kinds["prompt"] >= 10
    # Reported once per holdout line, in line order.
    lines = [f.line for f in leaks]
    assert lines == sorted(set(lines))
    # The first valid record is in training verbatim.
    assert leaks[0].line == 1 and leaks[0].data["kind"] == "exact"


def test_no_leakage_without_a_holdout_and_none_between_unrelated_files() -> None:
    result = run_check(
        [MLX / "lora_data_train.jsonl"], Config(), against=[MLX / "wwdc25_data_valid.jsonl"]
    )
    assert _x(result.findings, "X004") == []


def test_findings_are_deterministic(wwdc25: CheckResult) -> None:
    def x_findings(result: CheckResult) -> list[tuple[object, ...]]:
        return [
            (f.code, f.path, f.line, f.message, f.related, f.fingerprint)
            for f in result.findings
            if f.code[0] == "X"
        ]

    first = x_findings(wwdc25)
    assert first == x_findings(_check_wwdc25())
    assert {"X001", "X002", "X004", "X005"} <= {code for code, *_ in first}


def test_near_duplicates_in_real_data_point_at_the_first_member(wwdc25: CheckResult) -> None:
    near = _x(wwdc25.findings, "X002")
    assert near
    for finding in near:
        assert finding.related[0].line < finding.line
        assert finding.data["similarity"] > 0.5
        assert "similarity" in finding.message
    # Each member is reported once.
    assert len({f.line for f in near}) == len(near)


def _normalized(text: str, case_sensitive: bool) -> str:
    """The normalisation content keys promise, written plainly: NFC, whitespace collapsed
    and trimmed, case folded unless case-sensitive."""
    text = " ".join(unicodedata.normalize("NFC", text).split())
    return text if case_sensitive else text.casefold()


# Every kind of whitespace str.split() knows, combining marks (NFC), case pairs (ß, İ, Σ),
# non-BMP characters and a lone surrogate.
_KEY_TEXT = st.text(
    alphabet=st.sampled_from(
        list("aZ .:/\t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u2000\u2028\u3000e\u0301ßİΣς😀\ud800")
    ),
    max_size=30,
)


@pytest.mark.parametrize("backend_name", BUILT)
@given(
    st.lists(
        st.tuples(st.sampled_from(["messages", "chosen", "rejected"]), _KEY_TEXT, _KEY_TEXT),
        max_size=5,
    ),
    st.booleans(),
)
def test_key_text_is_the_normalised_turns_joined(
    backend_name: str, turns: list[tuple[str, str, str]], case_sensitive: bool
) -> None:
    with backend(backend_name):
        fields = [field for field, _role, _text in turns]
        roles = [role for _field, role, _text in turns]
        texts = [text for _field, _role, text in turns]
        data, bounds = keys._joined(fields, roles, texts, case_sensitive)
        parts = [
            (
                f"{role}:" if field == "messages" else f"{field}/{role}:",
                _normalized(text, case_sensitive),
            )
            for field, role, text in turns
        ]
        expected = "\x1f".join(prefix + text for prefix, text in parts)
        assert data == expected.encode("utf-8", "surrogatepass")
        for i, (_prefix, text) in enumerate(parts):
            assert data[bounds[2 * i] : bounds[2 * i + 1]] == text.encode("utf-8", "surrogatepass")
