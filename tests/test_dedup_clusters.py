"""Duplicate clusters from the fact table (the function ``prepare`` drops duplicates with)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ftprep.config import Config, parse_config
from ftprep.dedup import index as index_module
from ftprep.dedup.clusters import (
    NearPairs,
    SignatureStore,
    duplicate_clusters,
    find_duplicates,
    greedy_representatives,
    identical_signatures,
)
from ftprep.dedup.index import MemoryIndex, band_keys, candidate_pairs
from ftprep.validate.check import run_check

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"


def chat(user: str, assistant: str, system: str | None = None) -> str:
    messages = [{"role": "system", "content": system}] if system else []
    messages += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    return json.dumps({"messages": messages})


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


ALPACA_EN_DEMO = REALDATA / "llamafactory" / "alpaca_en_demo.json"


def test_alpaca_en_demo_has_fourteen_duplicate_rows() -> None:
    config = Config()
    result = run_check([ALPACA_EN_DEMO], config)
    facts = result.facts
    clusters = duplicate_clusters(facts, config.dedup)
    assert clusters.dtype == np.int64
    duplicates = np.flatnonzero(clusters != np.arange(len(facts)))
    assert len(duplicates) == 14
    # Each duplicate points at an earlier row with the same content.
    assert (clusters[duplicates] < duplicates).all()
    assert (facts.exact_key[duplicates] == facts.exact_key[clusters[duplicates]]).all()
    # X001 reports the same 14 rows, each with the line of its first occurrence.
    reported = [(f.line, f.related[0].line) for f in result.findings if f.code == "X001"]
    assert reported == [(int(facts.line[d]), int(facts.line[clusters[d]])) for d in duplicates]
    assert reported[0] == (1377, 587)


def test_exact_and_near_duplicates_merge_into_one_cluster(tmp_path: Path) -> None:
    text = (
        "The quick brown fox jumps over the lazy dog while the farmer watches from the porch "
        "and the sun sets slowly behind the hills, painting the sky in shades of orange."
    )
    data = write(
        tmp_path / "data.jsonl",
        [
            chat("Describe the evening.", text),
            '{"messages": 3}',
            chat("Describe the evening.", text.replace("orange", "red")),
            chat("Something else entirely", "A different answer with other words in it."),
            chat("describe   the EVENING.", text),
            chat("Describe the evening.", text, system="You are terse."),
        ],
    )
    config = parse_config({"dedup": {"case-sensitive": False}})
    clusters = duplicate_clusters(run_check([data], config).facts, config.dedup)
    # line 2 did not load; line 5 is an exact duplicate of line 1 after normalisation (case
    # folded, as configured); lines
    # 3 and 6 are near duplicates (one word changed; a system prompt added).
    assert clusters.tolist() == [0, 1, 0, 3, 0, 0]


def test_clusters_are_deterministic() -> None:
    config = Config()
    first = duplicate_clusters(run_check([ALPACA_EN_DEMO], config).facts, config.dedup)
    again = duplicate_clusters(run_check([ALPACA_EN_DEMO], config).facts, config.dedup)
    assert np.array_equal(first, again)


def test_the_kept_representative_is_the_first_clean_copy(tmp_path: Path) -> None:
    # A top-level key the target drops (S011, made an error here) is not trained on.
    broken = {
        "messages": [
            {"role": "user", "content": "Name a prime number."},
            {"role": "assistant", "content": "7"},
        ],
        "comment": "draft",
    }
    data = write(
        tmp_path / "data.jsonl",
        [json.dumps(broken), chat("Name a prime number.", "7"), chat("Name a prime number.", "7")],
    )
    config = Config(severity={"S011": "error"})
    facts = run_check([data], config).facts
    assert facts.rejected.tolist() == [True, False, False]
    # Line 1 is dropped for its error anyway: keep line 2, not nothing.
    assert duplicate_clusters(facts, config.dedup).tolist() == [1, 1, 1]


def _smallest_member_by_search(first: list[int], pairs: list[tuple[int, int]]) -> list[int]:
    """Components by graph search, each labelled with its smallest member."""
    n = len(first)
    neighbours: list[set[int]] = [set() for _ in range(n)]
    for i, f in enumerate(first):
        neighbours[i].add(f)
        neighbours[f].add(i)
    for a, b in pairs:
        neighbours[a].add(b)
        neighbours[b].add(a)
    label = [-1] * n
    for start in range(n):
        if label[start] >= 0:
            continue
        seen, stack = {start}, [start]
        while stack:
            for other in neighbours[stack.pop()] - seen:
                seen.add(other)
                stack.append(other)
        for member in seen:
            label[member] = min(seen)
    return label


@given(
    st.integers(1, 60).flatmap(
        lambda n: st.tuples(
            st.lists(st.integers(0, n - 1), min_size=n, max_size=n),
            st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=80),
        )
    )
)
def test_merge_sets_matches_a_graph_search(case: tuple[list[int], list[tuple[int, int]]]) -> None:
    from ftprep.dedup.clusters import merge_sets

    raw_first, pairs = case
    # Starting sets as the record pass makes them: each row points at an earlier-or-same row
    # that points at itself (the first row with the same exact key).
    first = [min(i, f) for i, f in enumerate(raw_first)]
    first = [f if first[f] == f else i for i, f in enumerate(first)]
    left = np.array([a for a, _b in pairs], dtype=np.int64)
    right = np.array([b for _a, b in pairs], dtype=np.int64)
    got = merge_sets(np.array(first, dtype=np.int64), left, right)
    assert got.tolist() == _smallest_member_by_search(first, pairs)


def test_merge_sets_joins_a_long_chain_in_few_rounds() -> None:
    from ftprep.dedup.clusters import merge_sets

    n = 100_000
    rows = np.arange(n, dtype=np.int64)
    # Pairs of a path given back to front: the worst order for naive label propagation.
    got = merge_sets(rows, rows[:-1][::-1].copy(), rows[1:][::-1].copy())
    assert not got.any()


def test_candidate_pairs_deduplicated_along_the_way_equal_deduplicated_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(7)
    # 300 records in 30 groups: within a group most band values are shared, so pairs repeat
    # across bands, which is what the periodic deduplication has to fold.
    base = rng.integers(0, 1 << 32, size=(30, 128), dtype=np.uint32)
    signatures = base[np.arange(300) % 30].copy()
    noise = rng.random(signatures.shape) < 0.05
    signatures[noise] = rng.integers(0, 1 << 32, size=int(noise.sum()), dtype=np.uint32)
    index = MemoryIndex(16, 8)
    index.insert(np.arange(300, dtype=np.int64), signatures)
    once = candidate_pairs(index)
    monkeypatch.setattr(index_module, "PAIRS_PENDING", 10)
    along = candidate_pairs(index)
    assert len(once) > 300
    assert np.array_equal(once, along)
    assert (np.diff(once.astype(np.int64)) > 0).all()


@pytest.mark.parametrize("num_perm", [128, 17])
def test_band_keys_tell_identical_signatures_from_different_ones(num_perm: int) -> None:
    rng = np.random.default_rng(3)
    distinct = rng.integers(0, 1 << 32, size=(500, num_perm), dtype=np.uint32)
    distinct[1] = distinct[0]
    distinct[1, -1] ^= np.uint32(1 << 31)  # one bit apart from row 0
    rows = np.concatenate((distinct, distinct[::-1]))
    keys = band_keys(rows, 1, num_perm)[:, 0]
    assert len(np.unique(keys[:500])) == 500
    assert np.array_equal(keys[500:], keys[:500][::-1])
    first = identical_signatures(SignatureStore(rows), np.arange(1000, dtype=np.int64))
    assert np.array_equal(first, np.concatenate((np.arange(500), np.arange(500)[::-1])))


def test_near_pairs_look_up_their_matches() -> None:
    left = np.array([0, 0, 3, 7], dtype=np.int64)
    right = np.array([2, 5, 4, 9], dtype=np.int64)
    pairs = NearPairs(left, right, np.array([128, 110, 120, 105], dtype=np.int64), 128)
    asked_left = np.array([3, 0, 7, 0, 9, 2], dtype=np.int64)
    asked_right = np.array([4, 5, 9, 3, 10, 0], dtype=np.int64)
    assert pairs.matches_of(asked_left, asked_right).tolist() == [120, 110, 105, -1, -1, -1]
    none = NearPairs(left[:0], right[:0], left[:0], 128)
    assert none.matches_of(asked_left, asked_right).tolist() == [-1] * 6


def test_members_are_similar_to_their_representative_not_chained(tmp_path: Path) -> None:
    # Six answers sliding over real words, ten words apart: each is similar to its
    # neighbours (true Jaccard 0.90), the first and the last are not (0.59). All six are one
    # unit of the split, but no record is dropped for one it is not similar to.
    rows = json.loads(ALPACA_EN_DEMO.read_text(encoding="utf-8"))
    words = " ".join(r["output"] for r in rows).split()[:260]
    lines = [chat("Go on.", " ".join(words[10 * i : 10 * i + 200])) for i in range(6)]
    config = Config()
    facts = run_check([write(tmp_path / "data.jsonl", lines)], config).facts
    found = find_duplicates(facts, config.dedup)
    assert found.first.tolist() == [0] * 6
    representative = found.representative.tolist()
    assert representative[0] == 0 and representative[1] == 0 and representative[5] != 0
    for member, kept in enumerate(representative):
        shift = 10 * abs(member - kept)
        assert (196 - shift) / (196 + shift) >= 0.8  # the true Jaccard of the two


def test_greedy_representatives_take_elements_in_rank_order() -> None:
    # A chain 0-1-2-3-4 of similar pairs, taken in order and in reverse order.
    pairs = NearPairs(
        np.array([0, 1, 2, 3]), np.array([1, 2, 3, 4]), np.array([100, 110, 120, 90]), 128
    )
    assert greedy_representatives(np.arange(5), pairs).tolist() == [0, 0, 2, 2, 4]
    assert greedy_representatives(np.arange(5)[::-1].copy(), pairs).tolist() == [0, 2, 2, 4, 4]
    # A member joins its most similar representative.
    star = NearPairs(np.array([0, 1]), np.array([2, 2]), np.array([100, 120]), 128)
    assert greedy_representatives(np.arange(3), star).tolist() == [0, 1, 1]
