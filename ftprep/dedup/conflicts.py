"""Contradictions: one prompt, several different answers, found from the prompt and answer
keys of the fact table.

Some datasets hold several answers per prompt on purpose (several sampled or paraphrased
completions per question, as mlx-examples' ``wwdc25`` data does). :func:`find_conflicts` tells
them apart from accidental contradictions by how common conflicting prompts are among all
distinct prompts, and how many answers they have: a few contradictions among hundreds of
prompts are reported, many prompts with many answers each are a design.
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
#: Sampled completions: when at least SAMPLED_SHARE of all distinct prompts have several
#: answers, SAMPLED_ANSWERS or more on average, the data is multi-answer by design even if
#: fewer than ``dedup.multi-answer-share`` of its prompts have several.
SAMPLED_SHARE = 0.1
SAMPLED_ANSWERS = 3.0


@dataclass(frozen=True, slots=True)
class Conflicts:
    """Conflicting answers of a fact table.

    ``rows`` are the first examples of each answer that differs from the first answer to its
    prompt, ``first`` the first example with that prompt (per entry of ``rows``), ``answers``
    the number of different answers to that prompt. ``prompts`` counts the distinct prompts,
    ``repeated`` those asked more than once, ``conflicting`` those with several different
    answers, ``mean_answers`` their average number of answers; ``multi_answer`` says the data
    looks like several answers per prompt by design.
    """

    rows: I64
    first: I64
    answers: I64
    prompts: int
    repeated: int
    conflicting: int
    mean_answers: float
    multi_answer: bool


def find_conflicts(facts: FactTable, config: DedupConfig) -> Conflicts:
    """Prompts (exact prompt keys: the same turns before the answer, normalised as for exact
    duplicates) answered differently by loaded examples with a single supervised answer.

    The data is multi-answer by design when at least ``MIN_MULTI_ANSWER_PROMPTS`` prompts
    conflict and either more than ``config.multi_answer_share`` of all distinct prompts do,
    or at least ``SAMPLED_SHARE`` of them do with ``SAMPLED_ANSWERS`` answers or more on
    average (sampled completions); never when the share is 1."""
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
    distinct = int(np.count_nonzero(asked))
    repeated = int(np.count_nonzero(asked >= 2))
    several = answers[answers >= 2]
    conflicting = len(several)
    mean_answers = float(several.mean()) if conflicting else 0.0
    differing = answer_first[answer_first != prompt_first[answer_first]]
    share = config.multi_answer_share
    sampled = conflicting >= SAMPLED_SHARE * distinct and mean_answers >= SAMPLED_ANSWERS
    multi_answer = (
        conflicting >= MIN_MULTI_ANSWER_PROMPTS
        and share < 1
        and (conflicting > share * distinct or sampled)
    )
    first = prompt_first[differing]
    return Conflicts(
        differing,
        first,
        answers[first],
        distinct,
        repeated,
        conflicting,
        mean_answers,
        multi_answer,
    )
