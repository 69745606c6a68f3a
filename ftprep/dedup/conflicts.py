"""Contradictions: one prompt, several different answers, found from the prompt and answer
keys of the fact table.

Some datasets hold several answers per prompt on purpose (several sampled or paraphrased
completions per question, as mlx-examples' ``wwdc25`` data does). :func:`find_conflicts` tells
them apart from accidental contradictions by how common conflicting prompts are among
repeated prompts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ftprep.config import DedupConfig
from ftprep.dedup.clusters import first_with_key
from ftprep.dedup.index import I64
from ftprep.facts import FactTable

#: Fewer conflicting prompts than this are never taken for a multi-answer design.
MIN_MULTI_ANSWER_PROMPTS = 3


@dataclass(frozen=True, slots=True)
class Conflicts:
    """Conflicting answers of a fact table.

    ``rows`` are the first examples of each answer that differs from the first answer to its
    prompt, ``first`` the first example with that prompt (per entry of ``rows``), ``answers``
    the number of different answers to that prompt. ``repeated`` counts prompts asked more
    than once, ``conflicting`` those with several different answers; ``multi_answer`` says
    the data looks like several answers per prompt by design.
    """

    rows: I64
    first: I64
    answers: I64
    repeated: int
    conflicting: int
    multi_answer: bool


def find_conflicts(facts: FactTable, config: DedupConfig) -> Conflicts:
    """Prompts (exact prompt keys: the same turns before the answer, normalised as for exact
    duplicates) answered differently by loaded examples with a single supervised answer."""
    n = len(facts)
    mask = facts.loaded & (facts.prompt_key != 0) & (facts.answer_key != 0)
    prompt_first = first_with_key(facts.prompt_key, mask)
    rows = np.flatnonzero(mask)
    prompts, answers_of = facts.prompt_key[rows], facts.answer_key[rows]
    # The first row of each distinct (prompt, answer): sorted by both keys, then by row.
    order = np.lexsort((rows, answers_of, prompts))
    prompts, answers_of = prompts[order], answers_of[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (prompts[1:] != prompts[:-1]) | (answers_of[1:] != answers_of[:-1])
    answer_first = np.sort(rows[order[new]])
    answers = np.bincount(prompt_first[answer_first], minlength=n)
    asked = np.bincount(prompt_first[rows], minlength=n)
    repeated = int(np.count_nonzero(asked >= 2))
    conflicting = int(np.count_nonzero(answers >= 2))
    differing = answer_first[answer_first != prompt_first[answer_first]]
    multi_answer = (
        conflicting >= MIN_MULTI_ANSWER_PROMPTS
        and conflicting > config.multi_answer_share * repeated
    )
    first = prompt_first[differing]
    return Conflicts(differing, first, answers[first], repeated, conflicting, multi_answer)
