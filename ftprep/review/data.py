"""A check's findings with a review applied: what ``check --review`` reports and what
``prepare --review`` plans with.

Accepted findings are left out (as a baseline leaves them out), rejected records are marked
for ``rejected.jsonl`` with the reviewer's reason, and edited records are checked again as
edited: written by the target's writer into a temporary file, checked with the same
configuration, and their record-level findings replaced by those of the edited text
(findings that relate records, such as duplicates, stay those of the record as it was read).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ftprep.config import Config
from ftprep.dialects import DialectOptions, get_dialect
from ftprep.findings import Finding, Location, display_path
from ftprep.load import Loaded, load_path
from ftprep.model import Example, Message
from ftprep.review.store import Review, ReviewError
from ftprep.validate.check import CheckResult

REVIEW = "review"
"""The ``reasons`` key of a record the reviewer rejected (``{"review": "reject", ...}``)."""


def default_review_path(paths: Sequence[str]) -> str:
    """The review file beside the data: ``<file>.review`` for a file (``train.jsonl.review``;
    not ``.jsonl``, so that a folder input never reads it as data), ``<folder>/ftprep.review``
    for a folder."""
    first = Path(paths[0]) if paths else Path()
    if first.is_dir():
        return str(first / "ftprep.review")
    return str(first.with_name(first.name + ".review"))


def fingerprints(check: CheckResult) -> list[str]:
    """The fingerprint of each fact-table row, as the review file writes it."""
    return [f"{v:016x}" for v in check.facts.fingerprint.tolist()]


def cluster_rows(check: CheckResult) -> dict[int, list[int]]:
    """For each row in a duplicate cluster of two or more, the rows of its cluster."""
    from ftprep.dedup.clusters import duplicate_clusters

    unit = duplicate_clusters(check.facts, check.config.dedup)
    members: dict[int, list[int]] = {}
    for row, rep in enumerate(unit.tolist()):
        members.setdefault(rep, []).append(row)
    return {row: rows for rows in members.values() if len(rows) > 1 for row in rows}


def edited_example(example: Example, edits: dict[str, str]) -> Example:
    """``example`` with the text of the turns in ``edits`` (``field/index``) replaced;
    raises :class:`ReviewError` for a turn it does not have."""
    updates: dict[str, Any] = {}
    for turn, text in edits.items():
        name, _, index = turn.partition("/")
        messages = updates.get(name, getattr(example, name))
        position = int(index)
        if not isinstance(messages, list) or position >= len(messages):
            raise ReviewError(f"the record has no turn {turn}")
        message = messages[position]
        if not isinstance(message, Message):
            raise ReviewError(f"turn {turn} of the record is not a message")
        updates[name] = [
            *messages[:position],
            message.model_copy(update={"content": text}),
            *messages[position + 1 :],
        ]
    return example.model_copy(update=updates)


def load_rows(check: CheckResult, rows: Sequence[int]) -> Iterator[tuple[int, Loaded]]:
    """Load the records of ``rows`` again (each file read once, only files holding one)."""
    facts, config = check.facts, check.config
    wanted = sorted(set(rows))
    for index, path in enumerate(check.paths):
        in_file = np.flatnonzero(facts.path == index)
        targets = {int(in_file.searchsorted(r)): r for r in wanted if facts.path[r] == index}
        if not targets:
            continue
        loaded = load_path(
            path,
            dialect=config.dialect,
            options=DialectOptions.from_config(config),
            max_line_bytes=config.max_line_bytes,
        )
        for position, item in enumerate(loaded):
            if position in targets:
                yield targets[position], item


@dataclass(slots=True)
class Reviewed:
    """A check with a review applied."""

    check: CheckResult
    """The check, its findings less the accepted ones, edited records' findings replaced."""
    rejected: dict[int, dict[str, Any]] = field(default_factory=dict)
    """The reviewer's reason (a rejects-file reason) for each rejected row."""
    edits: dict[int, dict[str, str]] = field(default_factory=dict)
    """The edited turns of each edited row."""
    suppressed: int = 0
    """Findings an ``accept`` suppressed."""
    applied: dict[str, int] = field(default_factory=dict)
    """Records of the check each kind of decision applied to."""

    review: Review | None = None
    """The review file applied."""

    def edited(self, row: int, example: Example) -> Example:
        """``example`` (the record of ``row``) as the reviewer edited it."""
        edits = self.edits.get(row)
        return edited_example(example, edits) if edits else example

    def manifest_entry(self) -> dict[str, Any]:
        """The manifest's ``review``: the review file, its sha256, its decisions, and how many
        records of this run each kind applied to (and the findings accepts suppressed)."""
        review = self.review
        return {
            "path": None if review is None else display_path(str(review.path)),
            "sha256": None if review is None else review.sha256(),
            "decisions": {} if review is None else review.counts(),
            "applied": {**self.applied, "suppressed_findings": self.suppressed},
        }


def apply_review(check: CheckResult, review: Review) -> Reviewed:
    """``check`` with the decisions of ``review`` applied (see the module documentation)."""
    if not review.path.is_file():
        raise ReviewError(f"review file not found: {review.path}")
    decisions = review.decisions()
    prints = fingerprints(check)
    by_row = {row: decisions[fp] for row, fp in enumerate(prints) if fp in decisions}
    applied = dict.fromkeys(("accept", "reject", "edit"), 0)
    for made in by_row.values():
        applied[made.decision] += 1
    rejected = {
        row: {REVIEW: "reject", "message": d.reason or "rejected by the reviewer"}
        for row, d in by_row.items()
        if d.decision == "reject"
    }
    edits = {row: d.edits for row, d in by_row.items() if d.decision == "edit" and d.edits}
    kept: list[Finding] = []
    suppressed = 0
    accepted = {prints[row]: d for row, d in by_row.items() if d.decision == "accept"}
    for finding in check.findings:
        decision = accepted.get(finding.fingerprint or "")
        if decision is not None and decision.accepts(finding.code):
            suppressed += 1
        else:
            kept.append(finding)
    if edits:
        kept = _recheck(check, kept, edits)
    return Reviewed(replace(check, findings=kept), rejected, edits, suppressed, applied, review)


def _recheck(
    check: CheckResult, findings: list[Finding], edits: dict[int, dict[str, str]]
) -> list[Finding]:
    """``findings`` with the record-level findings of each edited row replaced by those of
    its edited text."""
    from ftprep.rules.registry import record_rules
    from ftprep.targets import get_target
    from ftprep.validate.check import run_check
    from ftprep.write.encode import encode

    config = check.config
    per_record = {r.code for r in record_rules(config)}
    prints = fingerprints(check)
    edited_prints = {prints[row] for row in edits}
    kept = [f for f in findings if f.fingerprint not in edited_prints or f.code not in per_record]
    target = get_target(config.target)
    lines: dict[str, list[tuple[int, bytes]]] = {}
    for row, item in load_rows(check, list(edits)):
        if item.example is None:
            continue
        example = edited_example(item.example, edits[row])
        name = target.dialect_for(example)
        line, _problems = encode(get_dialect(name, DialectOptions.from_config(config)), example)
        if line is not None:  # what the writer cannot express, prepare's pass 2 rejects
            lines.setdefault(name, []).append((row, line))
    with tempfile.TemporaryDirectory(prefix="ftprep-review-") as folder:
        for name, written in lines.items():
            temp = Path(folder) / f"{name}.jsonl"
            temp.write_bytes(b"".join(line for _row, line in written))
            again = run_check([str(temp)], _record_only(config, name))
            for finding in again.findings:
                record = finding.location.record
                if finding.code not in per_record or record is None:
                    continue
                row = written[record][0]
                kept.append(_moved(finding, check, row, prints[row]))
    kept.sort(key=Finding.sort_key)
    return kept


def _record_only(config: Config, dialect: str) -> Config:
    """``config`` for checking edited records written in ``dialect``, on one worker."""
    return config.with_overrides(dialect=dialect, workers=1, engine="local")


def _moved(finding: Finding, check: CheckResult, row: int, fingerprint: str) -> Finding:
    """A finding of the re-check placed at the edited record's own location."""
    facts = check.facts
    record = int(facts.record[row])
    where = Location(
        path=check.paths[int(facts.path[row])],
        line=int(facts.line[row]),
        record=record if record >= 0 else None,
        message=finding.location.message,
        pointer=finding.location.pointer,
    )
    return replace(finding, location=where, fingerprint=fingerprint, related=())
