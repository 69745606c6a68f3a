"""The check engine: a record pass (load, record rules, token counts, content keys, MinHash
signatures) over units of input, then a dataset pass (duplicates, leakage, dataset
composition) over the compact facts of every record.

The record pass is a pure function of a unit of input (a shard of a JSON Lines file, or a
whole file), so the same code runs on any :class:`Executor` (:mod:`ftprep.engines`: in this
process, a process pool or Ray); the engine never chooses one.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np
import xxhash

from ftprep.config import Config
from ftprep.dedup.keys import KeyColumns
from ftprep.dedup.signatures import Signer
from ftprep.dialects import Dialect, DialectOptions, get_dialect
from ftprep.facts import CountColumns, FactTable, FactTableBuilder
from ftprep.findings import Finding, Location, Severity
from ftprep.load import DialectDetector, Loaded, detect_dialect, load_raw
from ftprep.load.containers import (
    RawRecord,
    Shard,
    plan_shards,
    read_records,
    read_shard,
    shard_lines,
)
from ftprep.load.paths import input_bytes, is_regular_file
from ftprep.load.trainer_config import load_trainer_config, remapped
from ftprep.log import stage
from ftprep.model import Example
from ftprep.rules.base import RecordRule
from ftprep.rules.context import DatasetContext, RecordContext
from ftprep.rules.registry import (
    ProblemRules,
    dataset_rules,
    record_rules,
    rule_codes,
)
from ftprep.targets import get_target
from ftprep.tokens import make_tokenizer
from ftprep.tokens.chat import ExampleTokens
from ftprep.validate.aggregate import Aggregator
from ftprep.validate.prefilter import Prefilter
from ftprep.view import ExampleView, Hits, Traits

SHARD_BYTES = 2 << 20
#: The end of a file is cut in shards a quarter that size, over this many shards' worth.
TAIL_SHARDS = 4
#: Records counted in one batch by the record pass.
BATCH_RECORDS = 256


@dataclass(frozen=True, slots=True)
class Unit:
    """A piece of input the record pass handles in one go."""

    path_index: int
    path: str
    dialect: str
    shard: Shard | None = None
    aggregate: bool = True
    """Whether repeated findings are folded into one (:mod:`ftprep.validate.aggregate`);
    ``prepare`` keeps every finding, to give each record it rejects its reasons."""


@dataclass(slots=True)
class UnitResult:
    """What the record pass returns for one unit."""

    findings: list[Finding]
    facts: FactTable
    indexed: int
    """Records that got a record index (every record but blank lines)."""
    lines: int = 0
    """Line breaks in the unit's shard (0 for a whole file): how far the next shard of the
    same file is shifted."""
    columns: dict[int, int] = field(default_factory=dict)
    """The column each record of a JSON array starts at, by record index (empty for JSON
    Lines): the dataset rules' findings are placed there too."""


class Executor(Protocol):
    """Where the record pass runs (:mod:`ftprep.engines`): maps units to their results, in
    unit order. The engine hands it units and reads results; it never picks one."""

    def map(self, units: Sequence[Unit], config: Config) -> Iterator[UnitResult]:
        """Run :meth:`RecordPass.run_unit` on every unit (one pass per process, built from
        ``config``), yielding the results in unit order."""


class RecordPass:
    """Everything the record pass needs, built once per process."""

    def __init__(self, config: Config):
        self.config = config
        self.target = get_target(config.target)
        self.model = self.target.spec_for(config)
        self.tokenizer = make_tokenizer(config, self.model)
        self.rules = record_rules(config)
        self.prefilter = Prefilter(self.rules)
        self.problems = ProblemRules(config)
        #: Rules whose errors leave the record in (about the file or the dataset as a whole).
        self.keep_record = rule_codes(rejects_record=False)
        self.signer = Signer.from_config(config.dedup)
        self.options = DialectOptions.from_config(config)
        self.trainer_config = load_trainer_config(config)
        self.dialects: dict[str, Dialect] = {}
        self.file_wide = rule_codes(per_file_summary=True)

    def run_unit(self, unit: Unit) -> UnitResult:
        """Load and check one unit (through the trainer's mapping of its file, when the
        ``trainer-config`` names it)."""
        raws: Iterator[RawRecord]
        if unit.shard is not None:
            raws = read_shard(unit.shard, max_line_bytes=self.config.max_line_bytes)
        else:
            raws = read_records(unit.path, max_line_bytes=self.config.max_line_bytes)
        dialect = unit.dialect
        mapping = self.trainer_config and self.trainer_config.for_path(unit.path)
        if mapping:
            raws, dialect = remapped(raws, mapping), mapping.dialect
        detector = DialectDetector(dialect, self.options)
        result = self.run(
            load_raw(raws, detector), unit.path_index, unit.path, aggregate=unit.aggregate
        )
        if unit.shard is not None:
            result.lines = shard_lines(unit.shard)
        return result

    def _choose(
        self, rules: list[RecordRule], traits: Traits, bits: int, ctx: RecordContext
    ) -> tuple[list[RecordRule], Hits]:
        """The rules that can find anything in an example of these traits and trigger bits,
        and the triggers' hits (decided once per distinct pair)."""
        prefilter = self.prefilter
        can_find = [
            r for r in rules if r.relevant(traits, ctx) and prefilter.may_find(r, traits, bits)
        ]
        return can_find, prefilter.hits(bits)

    def with_fields(self, example: Example, findings: list[Finding]) -> list[Finding]:
        """``findings`` with the user's own field beside each canonical pointer, where the
        example's dialect names it differently (:meth:`Dialect.field_of`)."""
        dialect = self.dialects.get(example.dialect)
        if dialect is None:
            dialect = self.dialects[example.dialect] = get_dialect(example.dialect, self.options)
        placed = []
        for finding in findings:
            loc = finding.location
            own = dialect.field_of(example, loc.pointer) if loc.pointer else None
            if own is not None and loc.record is not None:
                finding = replace(finding, location=replace(loc, field=f"/{loc.record}{own}"))
            placed.append(finding)
        return placed

    def count_batch(self, examples: Sequence[Example]) -> list[ExampleTokens]:
        """Token counts of ``examples``, in one batch when the tokenizer counts in batches
        (a Rust tokenizer then encodes the whole batch at once)."""
        batch = getattr(self.tokenizer, "count_batch", None)
        if batch is not None:
            counted: list[ExampleTokens] = batch(examples)
            return counted
        count = self.tokenizer.count
        return [count(example) for example in examples]

    def run(
        self, stream: Iterable[Loaded], path_index: int, path: str, *, aggregate: bool = True
    ) -> UnitResult:
        """Check a stream of loaded records of one file.

        Records go through in batches of :data:`BATCH_RECORDS`: the batch is counted at once,
        then each record's rules run in input order. Only the rules that can find anything in
        the example run: its :class:`~ftprep.view.Traits` and the triggers the
        :class:`~ftprep.validate.prefilter.Prefilter` finds in its texts decide, once per
        distinct pair. With ``aggregate``, each record's findings stream through an
        :class:`~ftprep.validate.aggregate.Aggregator`, so repeats never pile up. The cyclic
        garbage collector is paused meanwhile: the pass makes and drops millions of small
        acyclic objects, and collections would rescan them.
        """
        with paused_gc():
            return self._run(stream, path_index, path, aggregate)

    def _run(
        self, stream: Iterable[Loaded], path_index: int, path: str, aggregate: bool
    ) -> UnitResult:
        config = self.config
        rules = [r for r in self.rules if not config.is_ignored_for(r.code, path)]
        problems, keep_record = self.problems, self.keep_record
        ctx = RecordContext(self.target, self.model, config)
        prefilter = self.prefilter
        chosen: dict[tuple[Traits, int], tuple[list[RecordRule], Hits]] = {}
        builder = FactTableBuilder(
            self.signer.num_perm,
            (CountColumns(), KeyColumns(case_sensitive=config.dedup.case_sensitive)),
        )
        signatures = self.signer.batch()
        findings: list[Finding] = []
        columns: dict[int, int] = {}
        folder = Aggregator(self.file_wide) if aggregate else None
        indexed = 0
        row = 0
        records = iter(stream)
        while batch := list(itertools.islice(records, BATCH_RECORDS)):
            counted = iter(self.count_batch([i.example for i in batch if i.example is not None]))
            for item in batch:
                raw = item.raw
                if raw.index is not None:
                    indexed += 1
                    if raw.column is not None:
                        columns[raw.index] = raw.column
                fingerprint = xxhash.xxh3_64_intdigest(raw.raw)
                record_findings = problems.findings(item.problems, path) if item.problems else []
                example = item.example
                if example is None:
                    builder.add(
                        path=path_index,
                        line=raw.line,
                        record=-1 if raw.index is None else raw.index,
                        fingerprint=fingerprint,
                    )
                else:
                    tokens = next(counted)
                    ctx.tokens = tokens
                    view = ctx.view = ExampleView.of(example)
                    traits = view.traits
                    bits = prefilter.scan(view.texts)
                    choice = chosen.get((traits, bits))
                    if choice is None:
                        choice = chosen[traits, bits] = self._choose(rules, traits, bits, ctx)
                    active, view.hits = choice
                    for rule in active:
                        try:
                            record_findings.extend(rule.check(example, ctx))
                        except Exception as err:
                            record_findings.append(rule_crash(rule, example, err))
                    if record_findings:
                        record_findings = self.with_fields(example, record_findings)
                    builder.add(
                        path=path_index,
                        line=raw.line,
                        record=raw.index or 0,
                        fingerprint=fingerprint,
                        rejected=bool(record_findings)
                        and any(
                            f.severity is Severity.ERROR and f.code not in keep_record
                            for f in record_findings
                        ),
                        view=view,
                        tokens=tokens,
                    )
                    signatures.add(row, view)
                if record_findings:
                    stamp = f"{fingerprint:016x}"
                    stamped = [replace(f, fingerprint=stamp) for f in record_findings]
                    findings.extend(stamped if folder is None else folder.add(stamped))
                row += 1
        findings.extend(() if folder is None else folder.finish())
        facts = builder.build()
        signatures.fill(facts.signatures)
        return UnitResult(findings, facts, indexed, columns=columns)


def rule_crash(rule: RecordRule, example: Example, err: Exception) -> Finding:
    """A rule that raised on a record becomes an error of that rule on the record (never
    passed as clean, never the end of the run); under ``FTPREP_DEBUG=1`` it is re-raised."""
    if os.environ.get("FTPREP_DEBUG") == "1":
        raise err
    finding = rule.finding(
        example,
        f"{rule.name} could not check this record ({type(err).__name__}: {err})",
        hint="a bug in ftprep: please report it (FTPREP_DEBUG=1 shows the traceback)",
        data={"internal_error": type(err).__name__},
    )
    return replace(finding, severity=Severity.ERROR)


def plan_units(
    paths: Sequence[str], config: Config, first_index: int = 0, *, aggregate: bool = True
) -> list[Unit]:
    """Cut the input into units: shards of plain JSON Lines files, whole files otherwise.
    ``aggregate``: fold repeated findings (:attr:`Unit.aggregate`)."""
    options = DialectOptions.from_config(config)
    units: list[Unit] = []
    for offset, path in enumerate(paths):
        index = first_index + offset
        dialect = config.dialect
        # Stdin and FIFOs are read once, as a stream: no look ahead, no shards.
        regular = is_regular_file(path)
        if dialect == "auto" and regular:
            dialect = (
                detect_dialect(path, options=options, max_line_bytes=config.max_line_bytes)
                or "auto"
            )
        shards = (
            plan_shards(path, SHARD_BYTES, tail_bytes=TAIL_SHARDS * SHARD_BYTES)
            if regular
            else None
        )
        if shards and len(shards) > 1:
            units.extend(Unit(index, path, dialect, shard, aggregate) for shard in shards)
        else:
            units.append(Unit(index, path, dialect, aggregate=aggregate))
    return units


@dataclass(slots=True)
class RecordPassResult:
    """The record pass over a set of files: findings in input order and the fact table."""

    findings: list[Finding] = field(default_factory=list)
    facts: FactTable = field(default_factory=FactTable.empty)
    columns: dict[int, dict[int, int]] = field(default_factory=dict)
    """Per path index, the column each record of a JSON array starts at."""


def unit_bytes(unit: Unit) -> int:
    """The input bytes a unit covers (0 for stdin or an unreadable file)."""
    if unit.shard is not None:
        return unit.shard.end - unit.shard.start
    return input_bytes([unit.path])


Progress = Callable[[int], None]
"""Called after each unit of the record pass with the input bytes it covered."""


def record_pass(
    units: list[Unit],
    config: Config,
    executor: Executor,
    progress: Progress | None = None,
) -> RecordPassResult:
    """Run the record pass over ``units`` on ``executor`` and stitch the units back together
    per file: line numbers and record indices of shards (local to each) renumbered in file
    order, a finding of a rule reported once per file (CRLF line endings) kept once, and
    the folded findings of the shards of a file folded again (a run across a shard border is
    one run; a file-wide condition is summed over the file)."""
    findings: list[Finding] = []
    folders: dict[int, Aggregator] = {}
    file_wide = rule_codes(per_file_summary=True)
    tables: list[FactTable] = []
    columns: dict[int, dict[int, int]] = {}
    indexed_before: dict[int, int] = {}
    lines_before: dict[int, int] = {}
    once_per_file = rule_codes(once_per_file=True)
    seen_once: set[tuple[int, str]] = set()
    for unit, result in zip(units, executor.map(units, config), strict=True):
        offset = indexed_before.get(unit.path_index, 0)
        indexed_before[unit.path_index] = offset + result.indexed
        line_offset = lines_before.get(unit.path_index, 0)
        lines_before[unit.path_index] = line_offset + result.lines
        facts = result.facts
        if offset:
            facts.record = np.where(facts.record >= 0, facts.record + offset, facts.record)
        if line_offset:
            facts.line = facts.line + line_offset  # (Ray hands out read-only arrays)
        placed: list[Finding] = []
        for finding in result.findings:
            if finding.code in once_per_file:
                if (unit.path_index, finding.code) in seen_once:
                    continue
                seen_once.add((unit.path_index, finding.code))
            if offset or line_offset:
                finding = finding.shifted(records=offset, lines=line_offset)
            placed.append(finding)
        if unit.aggregate:
            folder = folders.setdefault(unit.path_index, Aggregator(file_wide))
            placed.sort(key=lambda f: f.line or 0)
            findings.extend(folder.add(placed))
        else:
            findings.extend(placed)
        tables.append(facts)
        if result.columns:
            columns.setdefault(unit.path_index, {}).update(result.columns)
        if progress is not None:
            progress(unit_bytes(unit))
    for folder in folders.values():
        findings.extend(folder.finish())
    return RecordPassResult(findings, FactTable.gather(tables), columns)


def dataset_pass(
    main: RecordPassResult,
    against: RecordPassResult | None,
    config: Config,
    paths: Sequence[str],
    units: Sequence[Unit],
) -> list[Finding]:
    """The findings of the dataset rules (duplicates, leakage, composition) over the facts of
    the record pass, added to the record pass's own, all in report order. ``paths`` are the
    checked files then the ``against`` files; ``units`` those of both record passes."""
    findings = list(main.findings)
    if against is not None:
        findings.extend(against.findings)
    target = get_target(config.target)
    ctx = DatasetContext(
        target=target,
        model=target.spec_for(config),
        config=config,
        facts=main.facts,
        paths=list(paths),
        against=None if against is None else against.facts,
        dialects=_dialects_by_path(len(paths), units),
    )
    with paused_gc():  # one finding per near duplicate: many objects, none cyclic
        for rule in dataset_rules(config):
            with stage(f"dataset rule {rule.code}"):
                found = rule.check_dataset(ctx)
                if config.per_file_ignores:
                    found = [f for f in found if not config.is_ignored_for(f.code, f.path)]
                findings.extend(placed_in_arrays(found, paths, main, against))
        with stage("sort findings"):
            order = {name: i for i, name in enumerate(ctx.paths)}
            findings.sort(key=lambda f: (order.get(f.path, len(order)), *f.sort_key()))
    return findings


def placed_in_arrays(
    findings: list[Finding],
    paths: Sequence[str],
    main: RecordPassResult,
    against: RecordPassResult | None,
) -> list[Finding]:
    """``findings`` (made from the fact table, which has no columns) with the column of each
    record of a JSON array that they or their related locations point at."""
    columns = {**main.columns, **(against.columns if against is not None else {})}
    if not columns:
        return findings
    by_path = {paths[i]: c for i, c in columns.items() if i < len(paths)}

    def place(where: Location) -> Location:
        known = by_path.get(where.path)
        if known is None or where.record is None or where.column is not None:
            return where
        return replace(where, column=known.get(where.record))

    return [
        replace(f, location=place(f.location), related=tuple(place(r) for r in f.related))
        for f in findings
    ]


def _dialects_by_path(count: int, units: Sequence[Unit]) -> list[str]:
    dialects = ["auto"] * count
    for unit in units:
        dialects[unit.path_index] = unit.dialect
    return dialects


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block (as it was before, after it).

    The passes make and keep or drop millions of small acyclic objects; collections would
    rescan every live one again and again (at 4x, a fifth of the dataset pass).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
