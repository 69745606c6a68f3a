"""``prepare``: raw records in, upload-ready files out, in two passes with flat memory.

Pass 1 is the check engine (:func:`~ftprep.validate.check.run_check`): findings plus one row
of compact facts per input record. From those facts alone :func:`plan` decides every record's
destination: rejected (with the findings or fix that excluded it), train or holdout. Pass 2
reads the inputs again with the same loaders and streams each record to its destination:
safe fixes, then the target dialect's writer (what it cannot express rejects the record with
its O finding), into staged files that are moved into place together, the manifest last.

Every input record ends in exactly one of ``train``, ``holdout`` or ``rejected``; the counts
are checked before anything is moved into place (:class:`AccountingError` otherwise).

What the target cannot express is normally found in pass 1 (the O001 rule runs the same
writer), so the split is made among writable records. With O001 switched off or lowered, the
writer still rejects such a record in pass 2 (never a silent drop); the holdout is then short
by those records and ``--holdout-count`` is not topped up.

Output folder layout: ``train.jsonl``, ``holdout.jsonl`` (``train-00001.jsonl``... above the
target's ``max_file_bytes``), ``rejected.jsonl``, ``holdout.eval.jsonl`` when asked for, and
``manifest.json``, written last. A folder without a manifest is an interrupted run. The
Python API and the command line add ``report.html`` (see :mod:`ftprep.api`).
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import orjson
import xxhash

from ftprep._version import __version__
from ftprep.config import Config
from ftprep.dedup.clusters import find_duplicates
from ftprep.dialects import Dialect, DialectOptions, get_dialect
from ftprep.dialects.base import messages_to_dicts
from ftprep.facts import FactTable
from ftprep.findings import Finding, Location, Severity, display_path
from ftprep.load import STDIN, Loaded
from ftprep.load.paths import is_regular_file
from ftprep.load.trainer_config import load_configured, load_trainer_config
from ftprep.log import stage
from ftprep.model import Example, Message
from ftprep.rules.dataset import TooFewExamples
from ftprep.rules.duplicates import ContainedEvalItem, HoldoutLeakage
from ftprep.rules.load import UnreadableFile
from ftprep.rules.privacy import redaction_labels
from ftprep.rules.registry import ProblemRules, dataset_rules, default_rejects, rule_codes
from ftprep.split import (
    SplitSpec,
    assign_holdout,
    read_strata,
    split_hashes,
    split_warnings,
    unit_hashes,
)
from ftprep.targets import get_target
from ftprep.tokens import Tokenizer, make_tokenizer
from ftprep.validate.check import CheckResult, Flag, run_check
from ftprep.validate.engine import Progress
from ftprep.write.encode import encode
from ftprep.write.errors import AccountingError, PrepareError
from ftprep.write.files import OutputFile, SplitFile, Staging, write_bytes
from ftprep.write.fixes import apply_fixes
from ftprep.write.manifest import (
    MANIFEST,
    commit_with_manifest,
    config_entries,
    input_entry,
    is_prepare_output,
    output_entry,
)
from ftprep.write.redact import redact_example
from ftprep.write.rejects import drop_reason, reason, reject_line

TRAIN, HOLDOUT, REJECTED = 0, 1, 2
SPLITS = ("train", "holdout", "rejected")
EVAL = "holdout.eval"


#: Makes extra output files (name to bytes) from the check and the facts of each split.
Attachments = Callable[[CheckResult, dict[str, FactTable]], dict[str, bytes]]


class Reviewed(Protocol):
    """A person's decisions applied to pass 1 (:class:`ftprep.review.data.Reviewed`)."""

    check: CheckResult
    """The check with the findings the decisions settle left out or replaced."""
    rejected: dict[int, dict[str, Any]]
    """The reviewer's reason for each rejected row."""
    edits: dict[int, dict[str, str]]
    """The edited turns of each edited row."""

    def edited(self, row: int, example: Example) -> Example:
        """``example`` (the record of ``row``) as the reviewer edited it."""
        ...

    def manifest_entry(self) -> dict[str, Any]:
        """The manifest's ``review`` entry."""
        ...


#: Applies a review to pass 1's check (``prepare --review``).
ReviewStep = Callable[[CheckResult], Reviewed]


def unreadable(path: str, reason: str) -> PrepareError:
    """The error of a run whose input ``path`` could not be read to its end (an
    :class:`~ftprep.rules.load.UnreadableFile` problem, ``reason``): outputs that silently
    leave out the rest of a file would claim an accounting the run did not do."""
    return PrepareError(f"cannot read {path} to its end: {reason}; nothing was written")


@dataclass(slots=True)
class Plan:
    """Pass 1's decision for every input record (one entry per fact-table row)."""

    destination: npt.NDArray[np.int8]
    reasons: dict[int, list[dict[str, Any]]]
    """Why each rejected row was left out."""
    dropped_duplicates: int = 0
    strata: list[str] = field(default_factory=list)
    stratum: npt.NDArray[np.int64] | None = None
    dataset_findings: list[Finding] = field(default_factory=list)
    """Findings that point at no single record (they reject nothing)."""
    asked: float = 0.0
    """The holdout size asked of the kept records (:meth:`SplitSpec.asked`)."""
    carried: dict[int, list[str]] = field(default_factory=dict)
    """The codes of the findings each row with findings carries (for the kept ones)."""
    redact: set[int] = field(default_factory=set)
    """Rows kept with their secrets redacted (``prepare.redact``)."""


def _row_lookup(facts: FactTable, paths: Sequence[str]) -> dict[tuple[int, str, int], int]:
    """Map ``(path index, "r", record)`` and ``(path index, "l", line)`` to rows."""
    lookup: dict[tuple[int, str, int], int] = {}
    for row, (p, line, record) in enumerate(
        zip(facts.path.tolist(), facts.line.tolist(), facts.record.tolist(), strict=True)
    ):
        if record >= 0:
            lookup[(p, "r", record)] = row
        lookup.setdefault((p, "l", line), row)
    return lookup


def _findings_by_row(
    check: CheckResult,
) -> tuple[dict[int, list[Finding]], list[Finding]]:
    """Findings by the row they are about, and those about no single record: findings of
    the dataset-composition rules are located at an example for the reader's sake but
    describe the whole dataset, so they never reject that example."""
    lookup = _row_lookup(check.facts, check.paths)
    path_index = {p: i for i, p in enumerate(check.paths)}
    whole_dataset = rule_codes(rejects_record=False)
    evaluation = set(check.against_paths)
    by_row: dict[int, list[Finding]] = {}
    unplaced: list[Finding] = []
    for found in check.findings:
        # Findings in the evaluation files are about them, not about the data written; a
        # leak is about the training record it names, which it rejects.
        finding = _leak_in_training(found, path_index) if found.path in evaluation else found
        if finding is None:
            continue
        loc = finding.location
        p = path_index.get(loc.path)
        row = None
        if p is not None and finding.code not in whole_dataset:
            if loc.record is not None:
                row = lookup.get((p, "r", loc.record))
            elif loc.line is not None or loc.column is None:
                row = lookup.get((p, "l", loc.line or 0))
        if row is None:
            unplaced.append(finding)
        else:
            by_row.setdefault(row, []).append(finding)
    return by_row, unplaced


def _leak_in_training(finding: Finding, inputs: Collection[str]) -> Finding | None:
    """An X004 finding (an evaluation example that is also in the training data) moved onto
    the training record it names; ``None`` for any other finding in an evaluation file."""
    if (
        finding.code != HoldoutLeakage.code
        or not finding.related
        or finding.related[0].path not in inputs
    ):
        return None
    here = finding.location
    return dataclasses.replace(
        finding,
        message=f"evaluation example {display_path(here.path)}:{here.line}: {finding.message}",
        location=finding.related[0],
        related=(here,),
        fingerprint=None,
    )


def contamination(check: CheckResult) -> list[dict[str, Any]]:
    """Each evaluation file of a check with ``against`` for the manifest: path, sha256,
    records, and the training examples holding any of its items (X006) with their share of
    the examples searched (``contaminated`` is ``None`` when X006 is switched off)."""
    names = check.against_paths
    if not names:
        return []
    facts = check.against_facts
    first = len(check.paths)
    records = [0] * len(names)
    if facts is not None:
        records = np.bincount(facts.path - first, minlength=len(names)).tolist()
    holding: dict[str, set[tuple[str, int | None, int | None]]] = {n: set() for n in names}
    for finding in check.findings:
        eval_path = finding.data.get("eval_path")
        if finding.code == ContainedEvalItem.code and eval_path in holding:
            holding[eval_path].add((finding.path, finding.location.record, finding.line))
    checked = any(r.code == ContainedEvalItem.code for r in dataset_rules(check.config))
    searched = check.loaded
    entries = []
    for name, count in zip(names, records, strict=True):
        held = len(holding[name]) if checked else None
        entries.append(
            {
                **input_entry(name, count),
                "searched": searched,
                "contaminated": held,
                "rate": None if held is None else round(held / max(searched, 1), 6),
            }
        )
    return entries


def _where(facts: FactTable, paths: Sequence[str], row: int) -> Location:
    record = int(facts.record[row])
    return Location(
        path=paths[int(facts.path[row])],
        line=int(facts.line[row]),
        record=record if record >= 0 else None,
    )


def plan(
    check: CheckResult,
    spec: SplitSpec,
    *,
    seed: int = 0,
    stratify: str | None = None,
    rejected: dict[int, dict[str, Any]] | None = None,
) -> Plan:
    """Decide every record's destination from pass 1's findings and facts.

    Rejected: records that did not load and records with a finding the reject policy
    (``prepare.reject``, :class:`~ftprep.config.RejectPolicy`) rejects on (a finding about the
    whole dataset, such as D001 or D005, rejects nothing), and the rows a reviewer rejected
    (``rejected``, with the reason, whatever their findings); then (with ``dedup.drop``) every
    duplicate of a kept representative (the first clean record it is similar to,
    :func:`~ftprep.dedup.clusters.find_duplicates`). The rest is split by
    :func:`~ftprep.split.assign_holdout`, every group of similar records as one unit.
    """
    facts, config = check.facts, check.config
    n = len(facts)
    by_row, unplaced = _findings_by_row(check)
    clean = facts.loaded.copy()
    reasons: dict[int, list[dict[str, Any]]] = {}
    redact = _reject(check, by_row, clean, reasons, rejected or {})

    # A record is dropped for the representative it is similar to; the split keeps whole
    # components (every similar pair joined) on one side, so no variant leaks.
    duplicates = find_duplicates(facts, config.dedup)
    unit, keeper = duplicates.first, duplicates.representative
    kept = clean.copy()
    clean_rows = np.flatnonzero(clean)
    dropped = 0
    relating = rule_codes(relates_records=True)
    if config.dedup.drop:
        # Only for a representative that is kept: a copy of one left out stays.
        copies = clean_rows[(keeper[clean_rows] != clean_rows) & clean[keeper[clean_rows]]]
        for row in copies.tolist():
            kept[row] = False
            dropped += 1
            kept_row = int(keeper[row])
            kept_at = _where(facts, check.paths, kept_row)
            reasons[row] = [
                drop_reason(
                    "drop-duplicate",
                    f"duplicate of {kept_at.path}:{kept_at.line}, which is kept",
                    kept_at,
                ),
                *(reason(f) for f in by_row.get(row, []) if f.code in relating),
            ]

    content = np.where(facts.exact_key != 0, facts.exact_key, facts.fingerprint)
    hashes = unit_hashes(split_hashes(content, seed), unit, facts.loaded)
    strata: list[str] = []
    stratum = None
    if stratify:
        strata, stratum = read_strata(check.paths, stratify, max_line_bytes=config.max_line_bytes)
        if len(stratum) != n:
            raise PrepareError("the inputs changed while prepare was reading them")
    held = assign_holdout(hashes, unit, kept, spec, stratum)
    destination = np.full(n, REJECTED, dtype=np.int8)
    destination[kept] = TRAIN
    destination[held] = HOLDOUT
    carried = {row: sorted({f.code for f in found}) for row, found in by_row.items()}
    asked = spec.asked(int(np.count_nonzero(kept)))
    return Plan(destination, reasons, dropped, strata, stratum, unplaced, asked, carried, redact)


def _reject(
    check: CheckResult,
    by_row: dict[int, list[Finding]],
    clean: npt.NDArray[np.bool_],
    reasons: dict[int, list[dict[str, Any]]],
    rejected: dict[int, dict[str, Any]],
) -> set[int]:
    """Mark the rows the reject policy, a failed load or the reviewer (``rejected``) leaves
    out (``clean`` false, their ``reasons`` filled); return the rows kept redacted instead
    (``prepare.redact``: their only findings to reject on are values it redacts)."""
    facts, config = check.facts, check.config
    policy = config.prepare.reject
    defaults = default_rejects()
    dialects = check.dialects or ["auto"] * len(check.paths)
    for row in np.flatnonzero(~facts.loaded).tolist():
        found = by_row.get(row, [])
        reasons[row] = [reason(f) for f in found] or [
            drop_reason("not-loaded", "the record did not load (its load rule is switched off)")
        ]
    redactable = redacted_codes(config)
    redact: set[int] = set()
    for row, found in by_row.items():
        if redactable and any(f.code in redactable for f in found):
            redact.add(row)
        dialect = dialects[int(facts.path[row])]
        refusing = [
            f
            for f in found
            if f.code not in redactable
            and policy.rejects(f.code, f.severity.value, dialect, defaults)
        ]
        if refusing and clean[row]:
            clean[row] = False
            reasons[row] = [reason(f) for f in refusing]
    for row, why in rejected.items():
        clean[row] = False
        reasons[row] = [why, *reasons.get(row, [])]
    return redact


def redacted_codes(config: Config) -> frozenset[str]:
    """The codes of the privacy rules whose values ``prepare.redact`` replaces."""
    return frozenset(c for c in rule_codes(redactable=True) if config.prepare.redacts(c))


def eval_entry(example: Example) -> dict[str, Any] | None:
    """The evaluation record of a holdout example, or ``None`` when it has no answer.

    Shape: ``{"messages": [...the prompt turns...], "ideal": "<answer text>"}``, plus
    ``"ideal_tool_calls"`` when the answer calls tools and ``"tools"`` when the example
    defines them. The prompt is every turn before the last assistant turn (for preference
    data: the prompt turns, and the ``chosen`` answer is the ideal).
    """
    conversation = example.conversation()
    if isinstance(example.chosen, list) and example.chosen:
        prompt: list[Message] = conversation
        answers = [m for m in example.chosen if isinstance(m, Message)]
    else:
        last = max((i for i, m in enumerate(conversation) if m.role == "assistant"), default=-1)
        if last < 0:
            return None
        prompt, answers = conversation[:last], conversation[last:]
    answer = next((m for m in reversed(answers) if m.role == "assistant"), None)
    if answer is None or not prompt:
        return None
    entry: dict[str, Any] = {"messages": messages_to_dicts(prompt), "ideal": answer.text()}
    if isinstance(answer.tool_calls, list) and answer.tool_calls:
        entry["ideal_tool_calls"] = messages_to_dicts([answer])[0].get("tool_calls")
    if example.tools is not None:
        entry["tools"] = example.tools
    return entry


@dataclass(slots=True)
class _Tally:
    records: Counter[str] = field(default_factory=Counter)
    tokens: Counter[str] = field(default_factory=Counter)
    trained: Counter[str] = field(default_factory=Counter)
    fixes: Counter[str] = field(default_factory=Counter)
    redactions: Counter[str] = field(default_factory=Counter)
    redacted_by: Counter[str] = field(default_factory=Counter)
    """Values redacted per code of the rule that finds them."""
    rejected_by: Counter[str] = field(default_factory=Counter)
    writer_findings: Counter[str] = field(default_factory=Counter)
    eval_skipped: int = 0
    kept_with_findings: int = 0
    kept_findings: Counter[str] = field(default_factory=Counter)
    """Records written to train or holdout per code of a finding they still carry."""
    strata: dict[str, Counter[str]] = field(default_factory=dict)


class _Pass2:
    """Streams every input record to its destination according to a :class:`Plan`."""

    def __init__(
        self,
        check: CheckResult,
        the_plan: Plan,
        dialect: Dialect,
        staging: Staging,
        *,
        max_file_bytes: int | None,
        eval_file: bool,
        reviewed: Reviewed | None = None,
    ):
        self.check = check
        self.plan = the_plan
        self.dialect = dialect
        self.config = check.config
        self.target = get_target(self.config.target)
        self.writers = {dialect.name: dialect}
        self.files = {
            TRAIN: SplitFile(staging, "train", max_file_bytes),
            HOLDOUT: SplitFile(staging, "holdout", max_file_bytes),
            REJECTED: SplitFile(staging, "rejected"),
        }
        self.eval = SplitFile(staging, EVAL, max_file_bytes) if eval_file else None
        self.tally = _Tally()
        self.reviewed = reviewed
        self.problems = ProblemRules(self.config)
        self.redacting = redaction_labels(redacted_codes(self.config))
        self.redacted_labels = frozenset(self.redacting)
        self._tokenizer: Tokenizer | None = None
        self._trainer_config = load_trainer_config(self.config)

    def _dialect_for(self, example: Example) -> Dialect:
        """The target's writer for ``example`` (its DPO format for preference pairs)."""
        name = self.target.dialect_for(example)
        if name not in self.writers:
            self.writers[name] = get_dialect(name, DialectOptions.from_config(self.config))
        return self.writers[name]

    def tokenizer(self) -> Tokenizer:
        if self._tokenizer is None:
            target = get_target(self.config.target)
            self._tokenizer = make_tokenizer(self.config, target.spec_for(self.config))
        return self._tokenizer

    def run(self) -> list[OutputFile]:
        facts = self.check.facts
        for index, path in enumerate(self.check.paths):
            rows = np.flatnonzero(facts.path == index)
            seen = 0
            for item in self._load(path):
                if seen >= len(rows):
                    raise PrepareError(f"{path} changed while prepare was reading it")
                self._route(item, int(rows[seen]))
                seen += 1
            if seen != len(rows):
                raise PrepareError(f"{path} changed while prepare was reading it")
        outputs = [o for f in self.files.values() for o in f.close()]
        if self.eval is not None:
            outputs.extend(self.eval.close())
        self._check_accounting()
        return outputs

    def _load(self, path: str) -> Iterator[Loaded]:
        # Through the trainer's mapping of the file, as the check read it.
        return load_configured(path, self.config, self._trainer_config)

    def _route(self, item: Loaded, row: int) -> None:
        facts = self.check.facts
        raw = item.raw
        if raw.error is not None and raw.error.kind == UnreadableFile.name:
            raise unreadable(raw.error.location.path, raw.error.message)
        if (
            raw.line != facts.line[row]
            or xxhash.xxh3_64_intdigest(raw.raw) != facts.fingerprint[row]
        ):
            raise PrepareError(f"{raw.path} changed while prepare was reading it")
        destination = int(self.plan.destination[row])
        if destination == REJECTED or item.example is None:
            self._reject(item, self.plan.reasons.get(row, []))
            return
        example = item.example
        edited = self.reviewed is not None and row in self.reviewed.edits
        if self.reviewed is not None and edited:
            example = self.reviewed.edited(row, example)
        fixed = apply_fixes(example, self.config.prepare.fixes)
        if row in self.plan.redact:
            redacted = redact_example(example, self.redacted_labels)
            self.tally.redactions.update(redacted)
            for label, count in redacted.items():
                self.tally.redacted_by[self.redacting[label]] += count
            if redacted:
                fixed.append("redact")
        line, problems = encode(self._dialect_for(example), example)
        if line is None:
            self._reject(item, [reason(self.problems.finding(p)) for p in problems])
            return
        for problem in problems:
            self.tally.writer_findings[self.problems.rule(problem.kind).code] += 1
        split = SPLITS[destination]
        self.files[destination].write(line)
        self.tally.fixes.update(name for name in fixed if name != "redact")
        carried = self.plan.carried.get(row)
        if carried:
            self.tally.kept_with_findings += 1
            self.tally.kept_findings.update(carried)
        self._count_tokens(split, example, row, bool(fixed) or edited)
        if self.plan.stratum is not None:
            name = self.plan.strata[int(self.plan.stratum[row])]
            self.tally.strata.setdefault(name, Counter())[split] += 1
        if destination == HOLDOUT and self.eval is not None:
            entry = eval_entry(example)
            if entry is None:
                self.tally.eval_skipped += 1
            else:
                self.eval.write(orjson.dumps(entry, default=str, option=orjson.OPT_APPEND_NEWLINE))

    def _count_tokens(self, split: str, example: Example, row: int, fixed: bool) -> None:
        facts = self.check.facts
        if fixed:
            counted = self.tokenizer().count(example)
            total, trained = counted.total, counted.trained
        else:
            total, trained = int(facts.tokens[row]), int(facts.trained[row])
        self.tally.records[split] += 1
        self.tally.tokens[split] += total
        self.tally.trained[split] += trained

    def _reject(self, item: Loaded, reasons: list[dict[str, Any]]) -> None:
        self.files[REJECTED].write(reject_line(item.raw, reasons))
        self.tally.records["rejected"] += 1
        # A reviewer's rejection counts under "review", beside the codes and fixes.
        codes = (str(r.get("code") or r.get("fix") or "review") for r in reasons)
        for code in dict.fromkeys(codes):
            self.tally.rejected_by[code] += 1

    def _check_accounting(self) -> None:
        records = len(self.check.facts)
        written = [self.files[d].records for d in (TRAIN, HOLDOUT, REJECTED)]
        tallied = [self.tally.records[s] for s in SPLITS]
        if sum(written) != records or written != tallied:
            raise AccountingError(
                f"{records} records in, but {written[0]} train + {written[1]} holdout + "
                f"{written[2]} rejected out"
            )


@dataclass(slots=True)
class PrepareResult:
    """What a prepare run wrote: the output folder, its files, the manifest and the check."""

    out_dir: Path
    outputs: list[OutputFile]
    manifest: dict[str, Any]
    check: CheckResult
    dataset_findings: list[Finding] = field(default_factory=list)
    """Findings about the written data as a whole (D001 counts the written train split)."""

    @property
    def warnings(self) -> list[str]:
        """What the split written differs in from what was asked (an empty holdout...)."""
        return list(self.manifest["warnings"])

    @property
    def failed(self) -> Flag:
        """Whether the written data cannot be used as it is (``if result.failed:``; calling
        it, ``result.failed()``, says the same): a dataset finding of error severity (too few
        training examples...) or an empty train split."""
        return Flag(
            self.counts["train"] == 0
            or any(f.severity is Severity.ERROR for f in self.dataset_findings)
        )

    def examples(self, split: str = "train", as_: str = "list") -> Any:
        """The examples written to ``split`` (``train``, ``holdout``, ``rejected``), in the
        target's format: a list of dicts (``as_="list"``), a pandas DataFrame
        (``"pandas"``) or a Hugging Face Dataset (``"dataset"``)."""
        records = [
            orjson.loads(line)
            for path in self.paths(split)
            for line in path.read_bytes().splitlines()
            if line.strip()
        ]
        if as_ == "list":
            return records
        if as_ == "pandas":
            import pandas

            return pandas.DataFrame.from_records(records)
        if as_ == "dataset":
            import datasets  # the Hugging Face datasets package, when installed

            return datasets.Dataset.from_list(records)
        raise ValueError(f"as_ must be list, pandas or dataset, not {as_!r}")

    @property
    def counts(self) -> dict[str, int]:
        """``input``, ``train``, ``holdout`` and ``rejected`` record counts."""
        return dict(self.manifest["counts"])

    def summary_lines(self) -> list[str]:
        """What a person should read besides the counts: the holdout asked and achieved,
        and the kept records that still carry findings (per code, and where to see them)."""
        split = self.manifest["split"]
        asked = split["asked"]
        asked_text = f"{asked:,}" if isinstance(asked, int) else f"about {asked:,.1f}"
        lines = [
            f"holdout: {split['achieved']:,} examples ({split['achieved_fraction']:.1%}), "
            f"{asked_text} asked"
        ]
        for entry in self.manifest.get("against", []):
            held = entry["contaminated"]
            lines.append(
                f"against {entry['path']}: X006 is switched off, contamination not searched"
                if held is None
                else f"against {entry['path']}: {held:,} of {entry['searched']:,} training "
                f"examples ({entry['rate']:.2%}) hold its items (X006)"
            )
        kept = self.manifest["kept_with_findings"]
        if kept["records"]:
            codes = ", ".join(f"{code} {n:,}" for code, n in kept["by_code"].items())
            lines.append(
                f"{kept['records']:,} kept examples still carry findings ({codes}): see "
                f"{kept['see']}"
            )
        return lines

    def paths(self, split: str) -> list[Path]:
        """The files of ``split`` (``train``, ``holdout``, ``rejected``, ``holdout.eval``)."""
        return [self.out_dir / o.name for o in self.outputs if o.split == split]


def prepare_files(
    paths: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    config: Config,
    *,
    spec: SplitSpec,
    seed: int = 0,
    stratify: str | None = None,
    eval_file: bool = False,
    max_file_bytes: int | None = None,
    attachments: Attachments | None = None,
    progress: Progress | None = None,
    review: ReviewStep | None = None,
    against: Sequence[str | os.PathLike[str]] = (),
) -> PrepareResult:
    """Check, fix, split and write ``paths`` into ``out_dir`` under ``config``.

    ``max_file_bytes`` overrides the target's per-file limit (outputs are cut into
    ``train-00001.jsonl``, ... above it). ``attachments`` makes further files from the check
    and the facts of each split (the HTML report); they are staged, hashed in the manifest and
    moved into place with the data. ``progress`` is called with the input bytes checked, as
    by :func:`~ftprep.validate.check.run_check`. ``review`` applies a person's decisions to
    the check (:func:`ftprep.review.data.apply_review`: accepted findings suppressed, rejected
    records rejected with the reviewer's reason, edited records checked and written edited).
    ``against``: evaluation files, as for ``check --against`` (:func:`contamination`).

    Raises :class:`PrepareError` for stdin or a FIFO (read twice), an input inside
    ``out_dir`` or another prepare output, an evaluation file that is also an input, an input
    that cannot be read to its end or that changes between the passes;
    :class:`~ftprep.write.files.OutputError` when ``out_dir`` cannot be written (or another
    run is writing to it); :class:`AccountingError` if records do not add up.
    """
    names = [str(p) for p in paths]
    for name in names:
        if name == STDIN or (Path(name).exists() and not is_regular_file(name)):
            what = "stdin" if name == STDIN else name
            raise PrepareError(f"prepare reads its inputs twice: save {what} to a file first")
    if not -(2**63) <= seed < 2**63:
        raise PrepareError(f"the seed must be a 64-bit integer, not {seed}")
    _refuse_outputs_as_inputs(names, Path(out_dir))
    target = get_target(config.target)
    dialect = get_dialect(target.dialect, DialectOptions.from_config(config))
    with Staging(out_dir) as staging:
        check, reviewed = _pass1(names, against, config, progress, review)
        with stage("split plan"):
            rejected = reviewed.rejected if reviewed else None
            the_plan = plan(check, spec, seed=seed, stratify=stratify, rejected=rejected)
        writer = _Pass2(
            check,
            the_plan,
            dialect,
            staging,
            max_file_bytes=max_file_bytes if max_file_bytes is not None else target.max_file_bytes,
            eval_file=eval_file,
            reviewed=reviewed,
        )
        with stage("write outputs"):
            outputs = writer.run()
        if attachments is not None:
            outputs.extend(_attach(attachments, check, the_plan, staging))
        tally = writer.tally
        findings = [
            *(f for f in the_plan.dataset_findings if f.code != TooFewExamples.code),
            *_train_minimum(config, names, tally.records["train"]),
        ]
        manifest = _manifest(
            check,
            the_plan,
            tally,
            outputs,
            findings,
            spec=spec,
            seed=seed,
            stratify=stratify,
            eval_file=eval_file,
        )
        if reviewed is not None:
            manifest["review"] = reviewed.manifest_entry()
        commit_with_manifest(staging, manifest, outputs, stems=(*SPLITS, EVAL))
    return PrepareResult(Path(out_dir), outputs, manifest, check, findings)


def _pass1(
    names: list[str],
    against: Sequence[str | os.PathLike[str]],
    config: Config,
    progress: Progress | None,
    review: ReviewStep | None,
) -> tuple[CheckResult, Reviewed | None]:
    """Pass 1: the check of ``names`` against the evaluation files ``against`` (an
    evaluation file that is also an input, or an input that could not be read to its end,
    raises), with the ``review`` applied when there is one.

    A training record holding an evaluation item (X006) or copying an evaluation example
    (X004) is rejected by the default policy; nothing else found in the evaluation files
    affects the outputs (:func:`_findings_by_row`)."""
    evaluation = [str(p) for p in against]
    inputs = {Path(n).resolve() for n in names}
    for name in evaluation:
        if Path(name).resolve() in inputs:
            raise PrepareError(f"{name} is both an input and an evaluation file (--against)")
    check = run_check(names, config, against=evaluation, progress=progress, aggregate=False)
    for finding in check.findings:
        if finding.code == UnreadableFile.code:
            raise unreadable(finding.path, finding.message)
    if review is None:
        return check, None
    with stage("review"):
        reviewed = review(check)
    return reviewed.check, reviewed


def _attach(
    attachments: Attachments, check: CheckResult, the_plan: Plan, staging: Staging
) -> list[OutputFile]:
    """Stage the files ``attachments`` makes from the check and the facts of each split."""
    facts = check.facts
    splits = {
        name: facts.select(the_plan.destination == index) for index, name in enumerate(SPLITS)
    }
    staged = []
    for name, data in attachments(check, splits).items():
        part = staging.open(name)
        write_bytes(part, data)
        staged.append(staging.close(part, name))
    return staged


def _manifest(
    check: CheckResult,
    the_plan: Plan,
    tally: _Tally,
    outputs: list[OutputFile],
    findings: list[Finding],
    *,
    spec: SplitSpec,
    seed: int,
    stratify: str | None,
    eval_file: bool,
) -> dict[str, Any]:
    """The manifest of a prepare run: what went in, where it went and why, and every output
    file with its hash."""
    config, names = check.config, check.paths
    target = get_target(config.target)
    model = target.spec_for(config)
    records_per_path = np.bincount(check.facts.path, minlength=len(names)).tolist()
    settings, run = config_entries(config)
    manifest: dict[str, Any] = {
        "ftprep": __version__,
        "command": "prepare",
        "target": target.name,
        "model": model.name,
        "dialect": target.dialect,
        "tokenizer": config.tokenizer or model.encoding,
        "seed": seed,
        "split": {
            **spec.describe(),
            "stratify": stratify,
            "asked": the_plan.asked,
            "achieved": tally.records["holdout"],
            "achieved_fraction": _fraction(tally.records["holdout"], tally.records["train"]),
        },
        "inputs": [input_entry(p, c) for p, c in zip(names, records_per_path, strict=True)],
        "counts": {
            "input": len(check.facts),
            **{s: tally.records[s] for s in SPLITS},
        },
        "tokens": {
            s: {
                "records": tally.records[s],
                "total": tally.tokens[s],
                "trained": tally.trained[s],
            }
            for s in SPLITS[:2]
        },
        "fixes": {
            **{name: tally.fixes[name] for name in config.prepare.fixes},
            "drop-duplicate": the_plan.dropped_duplicates,
        },
        "rejected_by": dict(sorted(tally.rejected_by.items())),
        "kept_with_findings": kept_with_findings(tally, names),
        "writer_findings": dict(sorted(tally.writer_findings.items())),
        "dataset_findings": [f.to_dict() for f in findings],
        "warnings": split_warnings(spec, tally.records["train"], tally.records["holdout"]),
        "config": settings,
        "run": run,
        "outputs": [output_entry(o) for o in outputs],
    }
    if check.against_paths:
        manifest["against"] = contamination(check)
    if config.prepare.redact:
        manifest["redactions"] = dict(sorted(tally.redactions.items()))
        manifest["redactions_by_code"] = dict(sorted(tally.redacted_by.items()))
    if stratify:
        manifest["strata"] = {
            name: {s: tally.strata.get(name, Counter())[s] for s in SPLITS[:2]}
            for name in the_plan.strata
        }
    if eval_file:
        manifest["eval"] = {
            "records": sum(o.records for o in outputs if o.split == EVAL),
            "skipped_without_answer": tally.eval_skipped,
        }
    return manifest


def _fraction(holdout: int, train: int) -> float:
    written = holdout + train
    return round(holdout / written, 6) if written else 0.0


def kept_with_findings(tally: _Tally, names: Sequence[str]) -> dict[str, Any]:
    """How many records written to train or holdout still carry findings (warnings or notes
    the reject policy keeps), per code, and how to see them: nothing is kept silently."""
    shown = [display_path(n) for n in names]
    if not tally.kept_with_findings:
        see = None
    elif any(n.startswith("<") for n in shown):  # in-memory records
        see = "report.html, or result.check.examples(code=...) in Python"
    else:
        see = f"report.html, or: ftprep check {' '.join(shown)}"
    return {
        "records": tally.kept_with_findings,
        "by_code": dict(sorted(tally.kept_findings.items())),
        "see": see,
    }


def _refuse_outputs_as_inputs(names: Sequence[str], out_dir: Path) -> None:
    """Raise :class:`PrepareError` for an input inside ``out_dir`` or inside the output
    folder of any prepare run: reading outputs back would count last run's rejects and
    holdout as new input (as ``prepare data/ --out data/out`` run twice would)."""
    out = out_dir.resolve()
    is_output: dict[Path, bool] = {}
    for name in names:
        path = Path(name).resolve()
        if path.is_relative_to(out):
            raise PrepareError(
                f"{name} is inside the output folder {out_dir}: prepare would read its own "
                "outputs; write to a folder outside the inputs"
            )
        for folder in path.parents:
            if folder not in is_output:
                is_output[folder] = is_prepare_output(folder)
            if is_output[folder]:
                raise PrepareError(
                    f"{name} is inside {folder}, the output folder of an earlier prepare run "
                    f"(it holds {MANIFEST}); give the original inputs, or move it out"
                )


def _train_minimum(config: Config, paths: Sequence[str], train: int) -> list[Finding]:
    """D001 on the train split as written: the provider counts what is uploaded, and
    holding out or rejecting records can take a dataset below its minimum."""
    target = get_target(config.target)
    rule = next((r for r in dataset_rules(config) if isinstance(r, TooFewExamples)), None)
    where = Location(path=paths[0] if paths else "<memory>")
    if rule is None or train >= target.min_examples or config.is_ignored_for(rule.code, where.path):
        return []
    minimum = target.min_examples
    finding = rule.finding(
        where,
        f"the train split has {train:,} examples; {target.name} requires at least {minimum:,}",
        hint=f"add at least {minimum - train:,} more examples, or hold out fewer",
        data={"examples": train, "minimum": minimum, "split": "train"},
    )
    return [finding]
