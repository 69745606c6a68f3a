"""X: Duplicates, contradictions and holdout leakage.

Dataset rules over the fact table: exact duplicates by content key, near duplicates by MinHash
LSH (:mod:`ftprep.dedup`), contradictions by prompt and answer keys, leakage against the
``--against`` holdout files. Every finding sits on the later example and points at the earlier
one (or, for leakage, at the training example) in ``related``.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import repeat
from typing import Any

import numpy as np

from ftprep.dedup.clusters import (
    BOOL,
    NearPairs,
    SignatureStore,
    find_duplicates,
    first_with_key,
    near_pairs,
    with_signature,
)
from ftprep.dedup.conflicts import find_conflicts
from ftprep.dedup.containment import NGRAM, EvalIndex, Hit, find_contained
from ftprep.dedup.index import I64, U64, matches
from ftprep.dialects.base import DialectOptions
from ftprep.facts import FactTable
from ftprep.findings import Finding, Location, Severity
from ftprep.load import load_path
from ftprep.rules.base import DatasetRule
from ftprep.rules.context import DatasetContext


class _FactRule(DatasetRule):
    """A rule relating records to each other, with helpers to place findings on rows of a
    fact table."""

    relates_records = True

    @staticmethod
    def location(ctx: DatasetContext, facts: FactTable, row: int) -> Location:
        """Where row ``row`` of ``facts`` came from."""
        # ``item`` reads a Python int straight from the array, without a numpy scalar.
        record: int = facts.record.item(row)
        return Location(
            path=ctx.paths[facts.path.item(row)],
            line=facts.line.item(row),
            record=record if record >= 0 else None,
        )

    @classmethod
    def describe(cls, here: Location, there: Location) -> str:
        """``line N`` of ``there``, naming its file when it is not ``here``'s."""
        return f"line {there.line}" + ("" if there.path == here.path else f" of {there.path}")

    def at_row(
        self,
        ctx: DatasetContext,
        facts: FactTable,
        row: int,
        message: str,
        *,
        related: tuple[Location, ...] = (),
        hint: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> Finding:
        """A finding on row ``row``, stamped with the record's fingerprint (for baselines)."""
        return self.finding(
            self.location(ctx, facts, row),
            message,
            related=related,
            hint=hint,
            data=data,
            fingerprint=f"{facts.fingerprint.item(row):016x}",
        )


def _best_partners(pairs: NearPairs, n: int) -> tuple[I64, I64]:
    """For each row, its most similar confirmed partner (ties: the earliest) and the equal
    signature values they share; ``-1`` and ``0`` for rows without a partner."""
    rows = np.concatenate((pairs.left, pairs.right))
    partners = np.concatenate((pairs.right, pairs.left))
    equal = np.concatenate((pairs.matches, pairs.matches))
    order = np.lexsort((partners, -equal, rows))
    rows, partners, equal = rows[order], partners[order], equal[order]
    first = np.concatenate(([True], rows[1:] != rows[:-1])) if len(rows) else rows.astype(bool)
    best = np.full(n, -1, dtype=np.int64)
    best_equal = np.zeros(n, dtype=np.int64)
    best[rows[first]] = partners[first]
    best_equal[rows[first]] = equal[first]
    return best, best_equal


class ExactDuplicate(_FactRule):
    """An example repeats an earlier one exactly: the same turns with the same roles, after
    Unicode NFC and collapsing whitespace (and folding case with ``dedup.case-sensitive =
    false``).

    repeated examples are trained on several times, which over-weights them,
    skews the dataset towards whatever was copied, and wastes training tokens; an example
    repeated across a train/validation split also inflates validation scores.

    Fix: remove the later copies (``ftprep prepare`` keeps the first occurrence when
    ``dedup.drop`` is on). If the repetition is deliberate up-weighting, raise the epochs or
    ignore this rule for the file instead.
    """

    code = "X001"
    name = "exact-duplicate"
    severity = Severity.WARNING
    summary = "Example repeats an earlier example exactly"
    fixable = True
    unsafe_fix = True

    def check_dataset(self, ctx: DatasetContext) -> list[Finding]:
        """One finding per later copy, pointing at the first occurrence."""
        found: list[Finding] = []
        facts = ctx.facts
        first = first_with_key(facts.exact_key, facts.loaded)
        for row in np.flatnonzero(first != np.arange(len(facts))).tolist():
            here = self.location(ctx, facts, row)
            there = self.location(ctx, facts, int(first[row]))
            found.append(
                self.at_row(
                    ctx,
                    facts,
                    row,
                    f"exact duplicate of {self.describe(here, there)}",
                    related=(there,),
                    hint="remove the copy; prepare keeps the first occurrence",
                    data={"duplicate_of": there.line, "similarity": 1.0},
                )
            )
        return found


class NearDuplicate(_FactRule):
    """An example is nearly the same as an earlier one: the estimated Jaccard similarity of
    their word shingles (MinHash over ``dedup.shingle``-word runs of the normalised text of the
    compared side, ``dedup.compare``: the conversation without system prompts by default;
    case, punctuation and spacing do not count; tools and tool calls do) reaches
    ``dedup.threshold`` (0.8).

    Each example is a duplicate of the first earlier example it is similar to that is not
    itself a duplicate (its cluster's representative, the one ``prepare`` keeps), and the
    finding points at it with the similarity between the two. A duplicate of a duplicate is
    not chained to the first: an example similar only to a member through shared boilerplate
    is its own representative. Exact copies are reported by X001 instead. Candidates come
    from LSH band keys (16 bands x 8 rows by default, chosen for recall) and are all
    confirmed on their signatures before reporting.

    templated or lightly edited copies over-weight one pattern as much as
    exact copies do, and are much harder to see by eye.

    Fix: keep one example per cluster (``ftprep prepare`` keeps the first), or make the
    variants genuinely different. Raise ``dedup.threshold`` if the variants are intended.
    """

    code = "X002"
    name = "near-duplicate"
    severity = Severity.WARNING
    summary = "Example is a near duplicate of an earlier example"

    def check_dataset(self, ctx: DatasetContext) -> list[Finding]:
        """One finding per example that is a near duplicate of its representative."""
        reported: list[Finding] = []
        facts = ctx.facts
        dedup = ctx.config.dedup
        found = find_duplicates(facts, dedup)
        rows = np.arange(len(facts))
        # The first occurrence of the representative's exact group (copies are X001's).
        representative = found.exact_of[found.representative]
        members = np.flatnonzero((representative != found.exact_of) & (found.exact_of == rows))
        if not len(members):
            return reported
        representative = representative[members]
        equal = matches(SignatureStore(facts.signatures).take, members, representative)
        # Members that point at the same row with the same similarity get the same message:
        # taken in that order, consecutive findings share one message, data and related.
        order = np.lexsort((equal, representative))
        members, representative, equal = members[order], representative[order], equal[order]
        # On templated data most records are cluster members: their locations are read from
        # the columns in bulk, each row once.
        locations, (member_at, representative_at) = _row_locations(
            ctx, facts, members, representative
        )
        num_perm = dedup.num_perm
        # Similarities are k / num_perm: their texts are made once, not per finding.
        shown = [f"{k / num_perm:.2f}" for k in range(num_perm + 1)]
        hint = "keep one example per cluster; prepare keeps the first"
        # What the last finding said (set on the first member), and what it pointed at:
        message = ""
        related: tuple[Location, ...] = ()
        data: dict[str, Any] = {}
        said: tuple[int, int, str] | None = None
        for at, rep_at, rep_equal, fingerprint in zip(
            member_at,
            representative_at,
            equal.tolist(),
            _hex(facts.fingerprint[members]),
            strict=True,
        ):
            here = locations[at]
            if said != (rep_at, rep_equal, here.path):
                said = (rep_at, rep_equal, here.path)
                there = locations[rep_at]
                message = (
                    f"near duplicate of {self.describe(here, there)} "
                    f"(similarity {shown[rep_equal]})"
                )
                related = (there,)
                data = {"duplicate_of": there.line, "similarity": rep_equal / num_perm}
            reported.append(
                Finding(
                    self.code,
                    self.effective_severity,
                    message,
                    here,
                    hint,
                    related,
                    fingerprint,
                    data,
                )
            )
        return reported


def _row_locations(
    ctx: DatasetContext, facts: FactTable, *rows: I64
) -> tuple[list[Location], list[list[int]]]:
    """The locations of the rows of ``facts`` named in the ``rows`` arrays, read from the
    columns in one go, one per distinct row; and for each array, the position of each of its
    rows' location in that list (``-1`` for a negative row)."""
    wanted = np.zeros(len(facts), dtype=bool)
    for some in rows:
        wanted[some[some >= 0]] = True
    distinct = np.flatnonzero(wanted)
    slot = np.full(len(facts), -1, dtype=np.int64)
    slot[distinct] = np.arange(len(distinct))
    paths = [ctx.paths[i] for i in facts.path[distinct].tolist()]
    records = [r if r >= 0 else None for r in facts.record[distinct].tolist()]
    lines = facts.line[distinct].tolist()
    locations = list(map(Location, paths, lines, repeat(None), records))
    return locations, [np.where(some >= 0, slot[some], -1).tolist() for some in rows]


def _hex(values: U64) -> list[str]:
    """Each value as 16 hex digits (the findings' fingerprints), formatted in one go."""
    if not len(values):
        return []
    return values.astype(">u8").tobytes().hex(" ", 8).split(" ")


class ConflictingAnswers(_FactRule):
    """The same prompt is answered differently: two examples share every turn before the
    answer (normalised as for exact duplicates: system prompt included) but their answers
    differ beyond case and whitespace. Reported on the first example of each different answer,
    pointing at the first example with that prompt.

    Only exactly equal prompts count. Near-same prompts with different answers are not
    contradictions: prompts one word apart ("2 + 3" / "2 + 4", "is" / "is not") often need
    different answers, and token similarity cannot tell such an edit from noise; when the
    whole examples are alike they are reported as near duplicates (X002). Preference and
    labelled data (chosen/rejected, KTO labels) are skipped: different answers to one prompt
    are their point.

    Some datasets give several answers per prompt on purpose (several sampled or paraphrased
    completions per question, as mlx-examples' ``wwdc25`` data does: 271 prompts, most with 3
    to 36 answers). When at least 3 prompts have several answers and they are more than
    ``dedup.multi-answer-share`` (half) of all distinct prompts, or at least a tenth of them
    with 3 or more answers on average (sampled completions), this rule stays quiet and X005
    says once that the data looks multi-answer by design. A few conflicting prompts among
    many are reported one by one. Answers with ``weight: 0`` are not trained on and never
    conflict.

    training on contradictory targets teaches the model that either answer is
    right, so it hedges or picks at random; a corrected answer next to the stale one is a
    common cause.

    An info, not a warning: on the precision benchmark (bench/precision) most prompts asked
    twice with different answers were open-ended tasks whose answers are all right
    (rewrites, synonyms, generated molecules), 2 true in 26 labelled; text alone cannot tell
    a stale answer from a valid alternative. Read the findings with ``--severity info``.

    Fix: keep the correct answer and remove the other examples, or make the prompts
    say what distinguishes them.
    """

    code = "X003"
    name = "conflicting-answers"
    severity = Severity.INFO
    summary = "Same prompt as an earlier example but a different answer"

    def check_dataset(self, ctx: DatasetContext) -> list[Finding]:
        """One finding per different answer to a repeated prompt."""
        found: list[Finding] = []
        facts = ctx.facts
        conflicts = ctx.shared("conflicts", lambda: find_conflicts(facts, ctx.config.dedup))
        if conflicts.multi_answer:
            return found
        for row, first, answers in zip(
            conflicts.rows.tolist(),
            conflicts.first.tolist(),
            conflicts.answers.tolist(),
            strict=True,
        ):
            here = self.location(ctx, facts, row)
            there = self.location(ctx, facts, first)
            found.append(
                self.at_row(
                    ctx,
                    facts,
                    row,
                    f"same prompt as {self.describe(here, there)} but a different answer "
                    f"({answers} different answers to this prompt)",
                    related=(there,),
                    hint="keep the correct answer, or make the prompts say what differs",
                    data={"prompt_of": there.line, "answers": answers},
                )
            )
        return found


class MultiAnswerPrompts(_FactRule):
    """Many prompts have several different answers (more than ``dedup.multi-answer-share`` of
    all distinct prompts, or a tenth of them with 3 or more answers on average), so the
    dataset looks like several answers per prompt by design (sampled or paraphrased
    completions), and
    contradictions (X003) are not reported example by example. Reported once, on the first
    example with a second answer.

    several answers per prompt are fine for data augmentation, but if they
    were not intended they are contradictions the model will learn to hedge between.

    Fix: nothing, if the answers are meant as alternatives. Otherwise set
    ``dedup.multi-answer-share = 1`` to see every conflicting example (X003).
    """

    code = "X005"
    name = "multi-answer-prompts"
    severity = Severity.INFO
    summary = "Many prompts have several different answers, by design it seems"

    def check_dataset(self, ctx: DatasetContext) -> list[Finding]:
        """One summary finding when the data looks multi-answer by design."""
        found: list[Finding] = []
        facts = ctx.facts
        conflicts = ctx.shared("conflicts", lambda: find_conflicts(facts, ctx.config.dedup))
        if not conflicts.multi_answer:
            return found
        row = int(conflicts.rows[0])
        there = self.location(ctx, facts, int(conflicts.first[0]))
        found.append(
            self.at_row(
                ctx,
                facts,
                row,
                f"{conflicts.conflicting} of {conflicts.prompts} distinct prompts have several "
                f"different answers ({conflicts.mean_answers:.1f} on average, up to "
                f"{int(conflicts.answers.max())}); treated as several answers per prompt by "
                "design, so X003 does not report them one by one",
                related=(there,),
                hint="set dedup.multi-answer-share = 1 to report every conflicting answer",
                data={
                    "conflicting": conflicts.conflicting,
                    "prompts": conflicts.prompts,
                    "repeated": conflicts.repeated,
                },
            )
        )
        return found


class HoldoutLeakage(_FactRule):
    """A holdout example (from the files given with ``--against``) also appears in the
    training data: as an exact copy, with the same prompt (the same turns before the answer,
    answered differently or not at all), or as a near duplicate (estimated similarity at
    least ``dedup.threshold``, as for X002), checked in that order. Reported once per holdout
    example, pointing at the training example.

    evaluation on examples the model was trained on measures memorisation,
    not generalisation; validation loss and scores come out better than they are.

    Fix: remove the example from the holdout set (or from the training set), and
    split by prompt so that one prompt never lands on both sides (``ftprep prepare`` does).
    """

    code = "X004"
    name = "holdout-leakage"
    severity = Severity.ERROR
    summary = "Holdout example also appears in the training data"

    def check_dataset(self, ctx: DatasetContext) -> list[Finding]:
        """One finding per leaked holdout example."""
        found: list[Finding] = []
        train, holdout = ctx.facts, ctx.against
        if holdout is None or not len(holdout) or not len(train):
            return found
        found.extend(self._leaks(ctx, train, holdout))
        return found

    def _leaks(
        self, ctx: DatasetContext, train: FactTable, holdout: FactTable
    ) -> Iterator[Finding]:
        n = len(train)
        train_mask = train.loaded
        holdout_mask = holdout.loaded
        exact = _lookup(train.exact_key, train_mask, holdout.exact_key, holdout_mask)
        prompt = _lookup(train.prompt_key, train_mask, holdout.prompt_key, holdout_mask)
        # Near copies: the first of each exact-duplicate group in training is enough.
        train_rows = np.flatnonzero(
            train_mask & (first_with_key(train.exact_key, train_mask) == np.arange(n))
        )
        train_rows = with_signature(train.signatures, train_rows)
        holdout_rows = np.flatnonzero(holdout_mask)
        holdout_rows = with_signature(holdout.signatures, holdout_rows)
        pairs = near_pairs(
            SignatureStore(train.signatures, holdout.signatures),
            np.concatenate((train_rows, holdout_rows + n)),
            ctx.config.dedup,
            split=n,
        )
        best, best_equal = _best_partners(pairs, n + len(holdout))
        num_perm = ctx.config.dedup.num_perm
        for row in np.flatnonzero(holdout_mask).tolist():
            near = int(best[n + row])
            here = self.location(ctx, holdout, row)
            if exact[row] >= 0:
                there = self.location(ctx, train, int(exact[row]))
                kind, message = "exact", f"exact copy of training {self.describe(here, there)}"
                similarity = 1.0
            elif prompt[row] >= 0:
                there = self.location(ctx, train, int(prompt[row]))
                kind, message = "prompt", f"same prompt as training {self.describe(here, there)}"
                similarity = None
            elif near >= 0:
                there = self.location(ctx, train, near)
                similarity = int(best_equal[n + row]) / num_perm
                kind = "near"
                message = (
                    f"near copy of training {self.describe(here, there)} "
                    f"(similarity {similarity:.2f})"
                )
            else:
                continue
            yield self.at_row(
                ctx,
                holdout,
                row,
                message,
                related=(there,),
                hint="remove it from the holdout (or training) set; split by prompt",
                data={"kind": kind, "training_line": there.line, "similarity": similarity},
            )


def _lookup(keys: U64, mask: BOOL, queries: U64, query_mask: BOOL) -> I64:
    """For each query key (under ``query_mask``, non-zero), the first row under ``mask`` with
    that key; ``-1`` when there is none."""
    out = np.full(len(queries), -1, dtype=np.int64)
    rows = np.flatnonzero(mask & (keys != 0))
    if not len(rows):
        return out
    unique, index = np.unique(keys[rows], return_index=True)
    asked = np.flatnonzero(query_mask & (queries != 0))
    position = np.minimum(np.searchsorted(unique, queries[asked]), len(unique) - 1)
    hit = unique[position] == queries[asked]
    out[asked[hit]] = rows[index[position[hit]]]
    return out


class Contamination:
    """What :func:`ftprep.dedup.containment.find_contained` found for a check with
    ``--against``: the hits as ``(training row, hit)``, the evaluation index, and the
    training examples searched."""

    def __init__(self, ctx: DatasetContext):
        config = ctx.config
        options = DialectOptions.from_config(config)
        facts, against = ctx.facts, ctx.against
        assert against is not None

        def examples(table: FactTable) -> Iterator[tuple[int, int, int, Any]]:
            # The files are read again: the record pass keeps facts, not texts.
            for path in np.unique(table.path).tolist():
                name = ctx.paths[path]
                if name == "-":
                    continue
                dialect = ctx.dialects[path] if path < len(ctx.dialects) else "auto"
                for item in load_path(
                    name,
                    dialect=dialect if dialect != "auto" else config.dialect,
                    options=options,
                    max_line_bytes=config.max_line_bytes,
                ):
                    if item.example is not None and item.raw.index is not None:
                        yield path, item.raw.line, item.raw.index, item.example

        self.index = EvalIndex.build((p, line, ex) for p, line, _i, ex in examples(against))
        places: list[tuple[int, int]] = []

        def training() -> Iterator[Any]:
            for path, _line, record, example in examples(facts):
                places.append((path, record))
                yield example

        hits = list(find_contained(self.index, training()))
        self.searched = len(places)
        lookup = {
            (p, r): row
            for row, (p, r) in enumerate(
                zip(facts.path.tolist(), facts.record.tolist(), strict=True)
            )
        }
        self.hits: list[tuple[int, Hit]] = [
            (lookup[places[h.example]], h) for h in hits if places[h.example] in lookup
        ]


def _contamination(ctx: DatasetContext) -> Contamination | None:
    if ctx.against is None or not len(ctx.against) or not len(ctx.facts):
        return None
    return ctx.shared("contamination", lambda: Contamination(ctx))


class ContainedEvalItem(_FactRule):
    """A training example holds an evaluation item (a prompt or an answer of the
    ``--against`` files) verbatim inside a longer text: at least half of the item's word
    13-grams, on the normalised text (case, punctuation and spacing do not count), occur in
    one of its turns, as published decontamination checks it. Reported once per item found
    in the example, with the evaluation file and line and the span of the example's turn
    that holds it. Items of fewer than 13 words are not compared. An evaluation file may
    hold prompts only.

    a model trained on the evaluation's questions or answers scores what it memorised, not
    what it learned; copies inside longer texts escape exact and near-duplicate checks.

    Fix: remove the example from the training data (or the item from the evaluation).
    """

    code = "X006"
    name = "contains-eval-item"
    severity = Severity.ERROR
    summary = "Training example holds an evaluation item verbatim"

    def check_dataset(self, ctx: DatasetContext) -> list[Finding]:
        """One finding per (training example, evaluation item) found."""
        found: list[Finding] = []
        contamination = _contamination(ctx)
        if contamination is None:
            return found
        facts = ctx.facts
        for row, hit in contamination.hits:
            item = contamination.index.items[hit.item]
            there = Location(ctx.paths[item.path], item.line)
            start, end = hit.span
            excerpt = item.text if len(item.text) <= 80 else item.text[:77] + "..."
            finding = self.at_row(
                ctx,
                facts,
                row,
                f"holds the evaluation {item.side} of {there.path}:{there.line} "
                f"({hit.share:.0%} of its {NGRAM}-word runs, characters {start}-{end} of "
                f"message {hit.message}): {excerpt!r}",
                related=(there,),
                hint="remove the example from the training data, or the item from the evaluation",
                data={
                    "eval_path": there.path,
                    "eval_line": there.line,
                    "side": item.side,
                    "message": hit.message,
                    "span": [start, end],
                    "share": round(hit.share, 3),
                },
            )
            found.append(finding)
        return found


class ContaminationRate(_FactRule):
    """With ``--against``, the share of training examples holding an item of each
    evaluation file (see X006), said once per evaluation file that has any: the
    contamination rate to quote next to that evaluation's scores.

    a contaminated evaluation overstates what the model can do by about the share of its
    items the model has seen.

    Fix: remove the examples X006 lists, or report scores on the clean items only.
    """

    code = "X007"
    name = "contamination-rate"
    severity = Severity.INFO
    summary = "Share of training examples holding items of an evaluation file"

    def check_dataset(self, ctx: DatasetContext) -> list[Finding]:
        """One summary per evaluation file with items found in training."""
        found: list[Finding] = []
        contamination = _contamination(ctx)
        if contamination is None or not contamination.hits:
            return found
        by_file: dict[int, tuple[set[int], set[int]]] = {}
        for row, hit in contamination.hits:
            item = contamination.index.items[hit.item]
            rows, items = by_file.setdefault(item.path, (set(), set()))
            rows.add(row)
            items.add(hit.item)
        total_items: dict[int, int] = {}
        for item in contamination.index.items:
            total_items[item.path] = total_items.get(item.path, 0) + 1
        for path, (rows, items) in sorted(by_file.items()):
            rate = len(rows) / max(contamination.searched, 1)
            found.append(
                self.finding(
                    Location(ctx.paths[path], None),
                    f"{len(rows)} of {contamination.searched} training examples ({rate:.2%}) "
                    f"hold items of this evaluation file ({len(items)} of its "
                    f"{total_items[path]} comparable items)",
                    hint="see X006 for each example",
                    data={
                        "examples": len(rows),
                        "searched": contamination.searched,
                        "rate": rate,
                        "items": len(items),
                        "comparable_items": total_items[path],
                    },
                )
            )
        return found


RULES: tuple[type[DatasetRule], ...] = (
    ExactDuplicate,
    NearDuplicate,
    ConflictingAnswers,
    HoldoutLeakage,
    MultiAnswerPrompts,
    ContainedEvalItem,
    ContaminationRate,
)
