"""Benchmark: near-duplicate precision and recall against brute-force Jaccard.

Takes real texts from ``../shared/realdata/`` (Alpaca, GPTeacher roleplay and GSM8K answers of
80 words or more), plants near duplicates of some of them (word substitutions, deletions and
insertions, punctuation and case changes, sentence reordering, in varying amounts, some
variants of variants), format-only copies (case, punctuation and doubled spaces changed,
nothing else) and partial-overlap decoys (two thirds of a text followed by words of
another), and shuffles everything into one corpus. Texts are read as the words of their
normalised form (NFKC, case folded, punctuation- and space-insensitive) and shingled exactly
as ftprep's signer does; the true Jaccard similarity of every pair of documents is then
computed by brute force on the same shingle sets (a sparse matrix product), and compared with
what ftprep's near-duplicate search reports:

- recall: the share of pairs with true Jaccard >= 0.85 (and >= the threshold) that end up in
  one cluster (X002 reports each member against the cluster's first occurrence; exactly
  identical shingle sets are found without pairing every copy with every other);
- precision: the share of confirmed pairs (what X002 names as similar) whose true Jaccard
  reaches the threshold ("prec"), or the threshold minus 0.05 ("prec-.05": the estimate's
  standard error at 128 permutations is about 0.035, so pairs just under the threshold are
  reported now and then);
- members: the share of cluster members whose true Jaccard with the cluster's first
  occurrence reaches the threshold minus 0.05 (chaining through clusters would show here);
- format: the share of format-only copies found in one cluster with their original (all of
  them must be);
- decoys: the share of partial-overlap decoys (true Jaccard with their original <= 0.5)
  reported as a near duplicate of it.

It prints one line per setting (the default, other thresholds, and datasketch's own (b, r)
choice for 0.8), then the detection rate per true-Jaccard bin for the default.

    python bench/dedup_accuracy.py            # 2,000 texts + 1,200 planted variants
    python bench/dedup_accuracy.py --smoke    # a small corpus, to keep the script working
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy import sparse

from ftprep.config import DedupConfig
from ftprep.dedup.clusters import SignatureStore, merge_sets, near_pairs
from ftprep.dedup.index import lsh_params
from ftprep.dedup.signatures import Signer, shingle_hashes, word_ids

REALDATA = Path(__file__).resolve().parent.parent.parent / "shared" / "realdata"
SOURCES = (
    "stanford_alpaca_pr152/alpaca_5000.json",
    "alpaca_cleaned_extensions/GPTeacher/Roleplay/roleplay-simple-deduped-roleplay-dataset.json",
    "alpaca_cleaned_extensions/gsm_8k/gsm_8k_train.json",
)
MIN_WORDS = 80
SENTENCE = re.compile(r"(?<=[.!?])\s+")
BINS = (0.0, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0001)


def real_texts(limit: int, rng: random.Random) -> list[str]:
    """``limit`` distinct answers of MIN_WORDS words or more, sampled across the sources."""
    texts: list[str] = []
    for source in SOURCES:
        rows = json.loads((REALDATA / source).read_text(encoding="utf-8"))
        texts.extend(r["output"] for r in rows if len(r["output"].split()) >= MIN_WORDS)
    texts = sorted(set(texts))
    rng.shuffle(texts)
    return texts[:limit]


def perturb(text: str, rng: random.Random, vocabulary: Sequence[str]) -> str:
    """A near duplicate of ``text``: one kind of edit (sometimes two), 1 to 6 times."""
    words = text.split(" ")
    kinds = ("substitute", "delete", "insert", "punctuate", "case", "reorder")
    for kind in rng.sample(kinds, rng.choice((1, 1, 2))):
        for _ in range(rng.randint(1, 6)):
            i = rng.randrange(len(words))
            if kind == "substitute":
                words[i] = rng.choice(vocabulary)
            elif kind == "delete" and len(words) > 10:
                del words[i]
            elif kind == "insert":
                words.insert(i, rng.choice(vocabulary))
            elif kind == "punctuate":
                words[i] = words[i][:-1] if words[i][-1:] in ",.;:!?" else words[i] + ","
            elif kind == "case":
                word = words[i]
                words[i] = word.lower() if word[:1].isupper() else word.capitalize()
            elif kind == "reorder":
                sentences = SENTENCE.split(" ".join(words))
                if len(sentences) > 2:
                    j = rng.randrange(len(sentences) - 1)
                    sentences[j], sentences[j + 1] = sentences[j + 1], sentences[j]
                words = " ".join(sentences).split(" ")
    return " ".join(words)


def reformat(text: str, rng: random.Random) -> str:
    """``text`` with only its format changed: some words' case, punctuation at word ends
    added or removed, some spaces doubled; the same words to a reader."""
    words = text.split(" ")
    for i in rng.sample(range(len(words)), max(1, len(words) // 4)):
        word = words[i]
        change = rng.choice(("case", "upper", "punctuate", "space"))
        if change == "case":
            words[i] = word.lower() if word[:1].isupper() else word.capitalize()
        elif change == "upper":
            words[i] = word.upper()
        elif change == "punctuate":
            words[i] = word[:-1] if word[-1:] in ",.;:!?" else word + rng.choice(",.;!")
        else:
            words[i] = word + " "
    return " ".join(words)


def decoy(text: str, other: str) -> str:
    """The first two thirds of ``text``'s words followed by as many words of ``other`` as
    were cut: a partial overlap, true Jaccard about 0.5."""
    words = text.split(" ")
    keep = 2 * len(words) // 3
    return " ".join(words[:keep] + other.split(" ")[: len(words) - keep])


@dataclass
class Corpus:
    """The documents, and the planted format-only copies and decoys as ``(original, copy)``
    document pairs."""

    docs: list[str]
    formatted: list[tuple[int, int]]
    decoys: list[tuple[int, int]]


def build_corpus(bases: int, variants: int, seed: int) -> Corpus:
    """Real texts plus planted variants (a quarter of them variants of variants), format-only
    copies and decoys (a tenth as many as variants each), shuffled."""
    rng = random.Random(seed)
    docs = real_texts(bases, rng)
    vocabulary = sorted({w for d in docs for w in d.split() if w.isalpha()})
    for _ in range(variants):
        docs.append(perturb(rng.choice(docs), rng, vocabulary))
    planted: dict[str, list[tuple[int, int]]] = {"formatted": [], "decoys": []}
    for _ in range(max(variants // 10, 1)):
        original = rng.randrange(bases)
        planted["formatted"].append((original, len(docs)))
        docs.append(reformat(docs[original], rng))
        original = rng.randrange(bases)
        planted["decoys"].append((original, len(docs)))
        docs.append(decoy(docs[original], docs[rng.randrange(bases)]))
    order = list(range(len(docs)))
    rng.shuffle(order)
    place = {old: new for new, old in enumerate(order)}
    return Corpus(
        [docs[i] for i in order],
        *(sorted((place[a], place[b]) for a, b in pairs) for pairs in planted.values()),
    )


def true_jaccard(
    shingles: list[npt.NDArray[np.uint32]], floor: float
) -> dict[tuple[int, int], float]:
    """Jaccard similarity of every pair of shingle sets reaching ``floor``, by brute force."""
    universe, columns = np.unique(np.concatenate(shingles), return_inverse=True)
    sizes = np.array([len(s) for s in shingles])
    rows = np.repeat(np.arange(len(shingles)), sizes)
    matrix = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.int32), (rows, columns.reshape(-1))),
        shape=(len(shingles), len(universe)),
    )
    inter = sparse.triu(matrix @ matrix.T, k=1).tocoo()
    jaccard = inter.data / (sizes[inter.row] + sizes[inter.col] - inter.data)
    keep = jaccard >= floor
    return {
        (int(i), int(j)): float(v)
        for i, j, v in zip(inter.row[keep], inter.col[keep], jaccard[keep], strict=True)
    }


@dataclass
class Result:
    """One setting's scores."""

    label: str
    bands: int
    rows: int
    reported: int
    precision: float
    precision_tolerant: float
    recall_85: float
    recall_t: float
    member_precision: float
    format_found: float
    decoys_reported: float
    seconds: float


def _share(hits: int, total: int) -> float:
    return hits / total if total else 1.0


def evaluate(
    label: str,
    config: DedupConfig,
    signatures: npt.NDArray[np.uint32],
    truth: dict[tuple[int, int], float],
    corpus: Corpus,
) -> tuple[Result, npt.NDArray[np.int64]]:
    """Run ftprep's near-duplicate search under ``config`` and score it against ``truth``;
    also return the cluster root of every document."""
    started = time.perf_counter()
    rows = np.arange(len(signatures), dtype=np.int64)
    pairs = near_pairs(SignatureStore(signatures), rows, config)
    roots = merge_sets(rows, pairs.left, pairs.right)
    seconds = time.perf_counter() - started
    found = list(zip(pairs.left.tolist(), pairs.right.tolist(), strict=True))
    t = config.threshold
    members = [(int(r), i) for i, r in enumerate(roots.tolist()) if r != i]
    above_85 = [p for p, j in truth.items() if j >= 0.85]
    above_t = [p for p, j in truth.items() if j >= t]
    bands, band_rows = lsh_params(config)
    result = Result(
        label=label,
        bands=bands,
        rows=band_rows,
        reported=len(found),
        precision=_share(sum(truth.get(p, 0.0) >= t for p in found), len(found)),
        precision_tolerant=_share(sum(truth.get(p, 0.0) >= t - 0.05 for p in found), len(found)),
        recall_85=_share(sum(roots[i] == roots[j] for i, j in above_85), len(above_85)),
        recall_t=_share(sum(roots[i] == roots[j] for i, j in above_t), len(above_t)),
        member_precision=_share(sum(truth.get(p, 0.0) >= t - 0.05 for p in members), len(members)),
        format_found=_share(
            sum(roots[a] == roots[b] for a, b in corpus.formatted), len(corpus.formatted)
        ),
        decoys_reported=_share(
            len({tuple(sorted(p)) for p in corpus.decoys} & set(found)), len(corpus.decoys)
        ),
        seconds=seconds,
    )
    return result, roots


def run(bases: int, variants: int, seed: int) -> list[Result]:
    """Build the corpus, sign it, and print the scores of each setting."""
    corpus = build_corpus(bases, variants, seed)
    docs = corpus.docs
    ids = [np.frombuffer(word_ids([d]), dtype=np.uint32) for d in docs]
    default = DedupConfig()
    signer = Signer.from_config(default)
    signatures = signer.sign_many(ids)
    shingles = [shingle_hashes(i, default.shingle) for i in ids]
    truth = true_jaccard(shingles, 0.3)
    words = sum(len(i) for i in ids)
    decoy_jaccard = max((truth.get(p, 0.0) for p in corpus.decoys), default=0.0)
    print(
        f"corpus: {len(docs)} documents ({bases} real texts + {variants} planted variants + "
        f"{len(corpus.formatted)} format-only copies + {len(corpus.decoys)} decoys, true "
        f"Jaccard <= {decoy_jaccard:.2f}), {words / len(docs):.0f} words each on average; "
        f"{sum(j >= 0.85 for j in truth.values())} pairs with true Jaccard >= 0.85, "
        f"{sum(j >= 0.8 for j in truth.values())} >= 0.8"
    )
    settings = [
        ("default (0.8)", default),
        ("threshold 0.7", DedupConfig(threshold=0.7)),
        ("threshold 0.9", DedupConfig(threshold=0.9)),
        ("0.8, datasketch's 9x13", DedupConfig(bands=9, rows=13)),
    ]
    print(
        f"{'setting':<24} {'b x r':>6} {'pairs':>6} {'prec':>6} {'prec-.05':>8} "
        f"{'rec>=.85':>8} {'rec>=t':>7} {'members':>8} {'format':>7} {'decoys':>7} "
        f"{'seconds':>8}"
    )
    results = []
    default_roots = np.arange(len(docs))
    for label, config in settings:
        result, roots = evaluate(label, config, signatures, truth, corpus)
        if config is default:
            default_roots = roots
        results.append(result)
        print(
            f"{label:<24} {result.bands:>2}x{result.rows:<3} {result.reported:>6} "
            f"{result.precision:>6.3f} {result.precision_tolerant:>8.3f} "
            f"{result.recall_85:>8.3f} {result.recall_t:>7.3f} "
            f"{result.member_precision:>8.3f} {result.format_found:>7.3f} "
            f"{result.decoys_reported:>7.3f} {result.seconds:>8.3f}"
        )
    print("\ndefault setting, share of pairs found in one cluster, per true-Jaccard bin:")
    for low, high in itertools.pairwise(BINS):
        in_bin = [p for p, j in truth.items() if low <= j < high]
        if low < 0.3 or not in_bin:
            continue
        share = _share(sum(default_roots[i] == default_roots[j] for i, j in in_bin), len(in_bin))
        closing = ")" if high < 1 else "]"
        print(f"  [{low:.2f}, {min(high, 1.0):.2f}{closing}: {share:6.3f} of {len(in_bin)}")
    return results


def main(argv: Sequence[str] | None = None) -> list[Result]:
    """Command-line entry point; returns the scores."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bases", type=int, default=2000, help="real texts")
    parser.add_argument("--variants", type=int, default=1200, help="planted near duplicates")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="a small corpus")
    args = parser.parse_args(argv)
    if args.smoke:
        args.bases, args.variants = 200, 120
    return run(args.bases, args.variants, args.seed)


if __name__ == "__main__":
    main()
