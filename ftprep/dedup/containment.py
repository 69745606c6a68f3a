"""Contamination by containment: training examples that hold an evaluation item (a prompt or
an answer of the ``--against`` files) verbatim inside a longer text.

As published decontamination does (GPT-3, Llama), items are compared as word n-grams
(``NGRAM`` = 13 words) of the normalised text (NFKC, case folded, punctuation- and
whitespace-insensitive: the words of :func:`ftprep.dedup.signatures.word_ids`). An item is
held by a training example when at least ``MIN_SHARE`` of the item's distinct n-grams occur in
the example's text, so a benchmark question pasted into a longer prompt is found, and a
common 13-word phrase shared by two unrelated texts is not. Items of fewer than ``NGRAM``
words are not compared (they are too short to tell a copy from a coincidence). An evaluation
file may hold prompts only.

The n-grams are 64-bit polynomial hashes of word ids: the evaluation side's are kept sorted in
memory (8 bytes per n-gram), the training side's are computed a batch of examples at a time
and looked up with one ``searchsorted``, so 100k training examples against 10k evaluation
items take seconds.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ftprep.dedup.keys import sides
from ftprep.dedup.signatures import word_ids
from ftprep.model import SYSTEM_ROLES, Example

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

NGRAM = 13
"""Words per n-gram."""
MIN_SHARE = 0.5
"""Share of an item's distinct n-grams a training example must hold."""
BATCH = 2048
"""Training examples whose n-grams are looked up at a time."""
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
_WORD = re.compile(r"\w+")


def ngram_hashes(ids: npt.NDArray[np.uint32], n: int = NGRAM) -> U64:
    """64-bit hashes of every run of ``n`` consecutive word ids, in order (none when there
    are fewer than ``n``)."""
    count = len(ids) - n + 1
    if count <= 0:
        return np.zeros(0, dtype=np.uint64)
    words = ids.astype(np.uint64)
    h = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            h = h * _MULTIPLIER + words[k : k + count] + np.uint64(1)
    return h


def _ids(texts: Iterable[str]) -> npt.NDArray[np.uint32]:
    return np.frombuffer(word_ids(list(texts)), dtype=np.uint32)


@dataclass(frozen=True, slots=True)
class Item:
    """One evaluation item: where it is (file index, line), which side it is (``prompt`` or
    ``answer``), its text, and how many distinct n-grams it has."""

    path: int
    line: int
    side: str
    text: str
    ngrams: int


def item_texts(example: Example) -> Iterator[tuple[str, str]]:
    """``(side, text)`` of an evaluation example: its prompt (the user turns before the
    answer, joined) and its answer (see :func:`ftprep.dedup.keys.sides`)."""
    entries = list(example.iter_messages())
    fields = [f for f, _i, _m in entries]
    roles = [m.role if isinstance(m.role, str) else "" for _f, _i, m in entries]
    prompt, answer = sides(fields, roles)
    question = "\n".join(
        entries[i][2].text() for i in prompt if roles[i] not in SYSTEM_ROLES and roles[i]
    )
    if question.strip():
        yield "prompt", question
    if answer >= 0 and entries[answer][2].text().strip():
        yield "answer", entries[answer][2].text()


class EvalIndex:
    """The n-grams of evaluation items, sorted, each with the item it belongs to."""

    def __init__(self, items: list[Item], grams: U64, owner: I64):
        self.items = items
        order = np.argsort(grams, kind="stable")
        self.grams = grams[order]
        self.owner = owner[order]

    @classmethod
    def build(cls, examples: Iterable[tuple[int, int, Example]]) -> EvalIndex:
        """Index the items of ``(file index, line, example)``; an n-gram shared by several
        items counts for each."""
        found: list[tuple[int, int, str, str]] = []
        ids: list[npt.NDArray[np.uint32]] = []
        for path, line, example in examples:
            for side, text in item_texts(example):
                found.append((path, line, side, text))
                ids.append(_ids([text]))
        every, owner = _ngrams(ids)
        # Each item's distinct n-grams, in one sort.
        order = np.lexsort((every, owner))
        every, owner = every[order], owner[order]
        new = np.ones(len(every), dtype=bool)
        new[1:] = (every[1:] != every[:-1]) | (owner[1:] != owner[:-1])
        every, owner = every[new], owner[new]
        counts = np.bincount(owner, minlength=len(found))
        kept = np.flatnonzero(counts)
        renumber = np.full(len(found), -1, dtype=np.int64)
        renumber[kept] = np.arange(len(kept))
        items = []
        for i in kept.tolist():
            path, line, side, text = found[i]
            items.append(Item(path, line, side, text, int(counts[i])))
        return cls(items, every, renumber[owner])

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True, slots=True)
class Hit:
    """A training example (by its position in the stream searched) holding an item: the
    message index and the character span of the match in that message's text, and the share
    of the item's n-grams found."""

    example: int
    item: int
    message: int
    span: tuple[int, int]
    share: float


def find_contained(index: EvalIndex, examples: Iterable[Example]) -> Iterator[Hit]:
    """The hits of ``examples`` (every turn's text, tool calls excepted), best item first per
    example, items each once per example."""
    if not len(index):
        return
    batch: list[tuple[int, Example]] = []
    for number, example in enumerate(examples):
        batch.append((number, example))
        if len(batch) >= BATCH:
            yield from _batch_hits(index, batch)
            batch = []
    if batch:
        yield from _batch_hits(index, batch)


def _ngrams(ids: list[npt.NDArray[np.uint32]]) -> tuple[U64, I64]:
    """The n-grams of several word-id sequences at once, and the sequence of each: over the
    concatenated ids, a window is kept when it starts and ends in one sequence."""
    lengths = np.fromiter((len(i) for i in ids), dtype=np.int64, count=len(ids))
    if not len(ids) or int(lengths.max()) < NGRAM:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    of_word = np.repeat(np.arange(len(ids), dtype=np.int64), lengths)
    hashes = ngram_hashes(np.concatenate(ids))
    within = of_word[: len(hashes)] == of_word[NGRAM - 1 :]
    return hashes[within], of_word[: len(hashes)][within]


def _batch_hits(index: EvalIndex, batch: list[tuple[int, Example]]) -> Iterator[Hit]:
    texts_of: list[list[str]] = []
    ids: list[npt.NDArray[np.uint32]] = []
    slot_of_text: list[int] = []
    for slot, (_number, example) in enumerate(batch):
        texts = [m.text() for _f, _i, m in example.iter_messages()]
        texts_of.append(texts)
        for text in texts:
            ids.append(_ids([text]))
            slot_of_text.append(slot)
    every, turn = _ngrams(ids)
    if not len(every):
        return
    slots = np.asarray(slot_of_text, dtype=np.int64)[turn]
    at = np.minimum(np.searchsorted(index.grams, every), len(index.grams) - 1)
    found = index.grams[at] == every
    if not found.any():
        return
    # Every item an n-gram belongs to (equal n-grams sit side by side in the index).
    pairs: set[tuple[int, int, int]] = set()
    for gram, slot in zip(every[found].tolist(), slots[found].tolist(), strict=True):
        lo = int(np.searchsorted(index.grams, gram, side="left"))
        hi = int(np.searchsorted(index.grams, gram, side="right"))
        for owner in index.owner[lo:hi].tolist():
            pairs.add((slot, owner, gram))
    counts: dict[tuple[int, int], int] = {}
    for slot, owner, _gram in pairs:
        counts[slot, owner] = counts.get((slot, owner), 0) + 1
    for (slot, owner), count in sorted(counts.items(), key=lambda kv: (kv[0][0], -kv[1])):
        item = index.items[owner]
        share = count / item.ngrams
        if share < MIN_SHARE:
            continue
        message, span = _span(texts_of[slot], item.text)
        yield Hit(batch[slot][0], owner, message, span, share)


def _span(texts: list[str], item: str) -> tuple[int, tuple[int, int]]:
    """The message holding most of ``item``'s n-grams and the character span in it from the
    first to the last word of its first and last shared n-gram."""
    wanted = set(ngram_hashes(_ids([item])).tolist())
    best = (0, 0, (0, 0))
    for message, text in enumerate(texts):
        hashes = ngram_hashes(_ids([text])).tolist()
        shared = [i for i, h in enumerate(hashes) if h in wanted]
        if len(shared) > best[0]:
            words = _word_offsets(text)
            if len(words) == len(hashes) + NGRAM - 1:
                span = (words[shared[0]][0], words[shared[-1] + NGRAM - 1][1])
            else:  # normalisation changed the word count: the whole text
                span = (0, len(text))
            best = (len(shared), message, span)
    return best[1], best[2]


def _word_offsets(text: str) -> list[tuple[int, int]]:
    """Character offsets of the normalised words of ``text`` (exact for texts whose
    normalisation keeps their length, as ASCII)."""
    if text.isascii():
        return [m.span() for m in _WORD.finditer(text)]
    normal = unicodedata.normalize("NFKC", text).casefold()
    if len(normal) != len(text):
        return []
    return [m.span() for m in _WORD.finditer(normal)]
