"""The check engine: a record pass (load, record rules, token counts, content keys, MinHash
signatures) over units of input, in worker processes where it pays, then a dataset pass
(duplicates, leakage, dataset composition) over the compact facts of every record.

The record pass is a pure function of a unit of input (a shard of a JSON Lines file, or a
whole file), so the same code runs in-process, in a process pool or on Ray.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import multiprocessing
import os
import pickle
import queue
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from multiprocessing.sharedctypes import Synchronized

import numpy as np
import xxhash

from ftprep.config import Config
from ftprep.dedup.keys import record_keys
from ftprep.dedup.signatures import Signer
from ftprep.dialects import DialectOptions
from ftprep.findings import Finding, Severity, plural
from ftprep.load import STDIN, Loaded, ShapeDetector, detect_dialect, load_raw
from ftprep.load.containers import (
    RawRecord,
    Shard,
    plan_shards,
    read_records,
    read_shard,
    shard_lines,
)
from ftprep.load.paths import input_bytes
from ftprep.log import logger, stage
from ftprep.model import Example
from ftprep.rules.base import RecordRule
from ftprep.rules.context import DatasetContext, RecordContext
from ftprep.rules.registry import dataset_rules, enabled_rules, record_rules
from ftprep.rules.structure import Traits, shape_of
from ftprep.targets import get_target
from ftprep.tokens import make_tokenizer
from ftprep.tokens.chat import ExampleTokens
from ftprep.tokens.encodings import transient_encodings
from ftprep.validate.facts import FactTable, FactTableBuilder

#: Below this many input bytes the pool's start-up costs more than it saves.
PARALLEL_MIN_BYTES = 4 << 20
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


def dialect_options(config: Config) -> DialectOptions:
    """The dialect options a configuration implies."""
    return DialectOptions(
        system_prompt=config.system_prompt,
        input_field=config.input_field,
        output_field=config.output_field,
    )


class RecordPass:
    """Everything the record pass needs, built once per process."""

    def __init__(self, config: Config):
        self.config = config
        self.target = get_target(config.target)
        self.model = self.target.spec_for(config)
        self.tokenizer = make_tokenizer(config, self.model)
        self.rules = record_rules(config)
        self.load_codes = {r.code for r in enabled_rules(config, "load")}
        self.signer = Signer.from_config(config.dedup)
        self.options = dialect_options(config)

    def run_unit(self, unit: Unit) -> UnitResult:
        """Load and check one unit."""
        detector = ShapeDetector(unit.dialect, self.options)
        raws: Iterator[RawRecord]
        if unit.shard is not None:
            raws = read_shard(unit.shard, max_line_bytes=self.config.max_line_bytes)
        else:
            raws = read_records(unit.path, max_line_bytes=self.config.max_line_bytes)
        result = self.run(load_raw(raws, detector), unit.path_index, unit.path)
        if unit.shard is not None:
            result.lines = shard_lines(unit.shard)
        return result

    def count_batch(self, examples: Sequence[Example]) -> list[ExampleTokens]:
        """Token counts of ``examples``, in one batch when the tokenizer counts in batches
        (a Rust tokenizer then encodes the whole batch at once)."""
        batch = getattr(self.tokenizer, "count_batch", None)
        if batch is not None:
            counted: list[ExampleTokens] = batch(examples)
            return counted
        count = self.tokenizer.count
        return [count(example) for example in examples]

    def run(self, stream: Iterable[Loaded], path_index: int, path: str) -> UnitResult:
        """Check a stream of loaded records of one file.

        Records go through in batches of :data:`BATCH_RECORDS`: the batch is counted at once,
        then each record's rules run in input order. Only the rules that can find anything in
        an example of its :class:`~ftprep.rules.structure.Traits` run (chosen once per
        distinct traits). The cyclic garbage collector is paused meanwhile: the pass makes
        and drops millions of small acyclic objects, and collections would rescan them.
        """
        with paused_gc():
            return self._run(stream, path_index, path)

    def _run(self, stream: Iterable[Loaded], path_index: int, path: str) -> UnitResult:
        config = self.config
        rules = [r for r in self.rules if not config.is_ignored_for(r.code, path)]
        load_codes = {c for c in self.load_codes if not config.is_ignored_for(c, path)}
        ctx = RecordContext(self.target, self.model, config)
        by_traits: dict[Traits, list[RecordRule]] = {}
        builder = FactTableBuilder(self.signer.num_perm)
        signatures = self.signer.batch()
        findings: list[Finding] = []
        indexed = 0
        case_sensitive = config.dedup.case_sensitive
        row = 0
        records = iter(stream)
        while batch := list(itertools.islice(records, BATCH_RECORDS)):
            counted = iter(self.count_batch([i.example for i in batch if i.example is not None]))
            for item in batch:
                raw = item.raw
                if raw.index is not None:
                    indexed += 1
                fingerprint = xxhash.xxh3_64_intdigest(raw.raw)
                record_findings = (
                    [f for f in item.findings if f.code in load_codes] if item.findings else []
                )
                example = item.example
                if example is None:
                    builder.add(
                        path=path_index,
                        line=raw.line,
                        record=-1 if raw.index is None else raw.index,
                        loaded=False,
                        fingerprint=fingerprint,
                    )
                else:
                    tokens = next(counted)
                    ctx.tokens = tokens
                    shape = shape_of(example)
                    turns = (shape.fields, shape.role_names, shape.texts)
                    active = by_traits.get(shape.traits)
                    if active is None:
                        active = [r for r in rules if r.relevant(shape.traits, ctx)]
                        by_traits[shape.traits] = active
                    for rule in active:
                        try:
                            record_findings.extend(rule.check(example, ctx))
                        except Exception as err:
                            record_findings.append(rule_crash(rule, example, err))
                    builder.add(
                        path=path_index,
                        line=raw.line,
                        record=raw.index or 0,
                        loaded=True,
                        rejected=bool(record_findings)
                        and any(f.severity is Severity.ERROR for f in record_findings),
                        tokens=tokens,
                        n_messages=len(tokens.per_message),
                        roles=shape.roles,
                        keys=record_keys(example, case_sensitive=case_sensitive, turns=turns),
                        fingerprint=fingerprint,
                    )
                    signatures.add(row, example, tokens, turns)
                if record_findings:
                    stamp = f"{fingerprint:016x}"
                    findings.extend(replace(f, fingerprint=stamp) for f in record_findings)
                row += 1
        facts = builder.build()
        signatures.fill(facts.signatures)
        return UnitResult(findings, facts, indexed)


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


# Worker-process state: one RecordPass per process. Forked workers inherit the parent's (its
# tokenizer's vocabulary then stays shared copy-on-write); spawned ones build their own.
_WORKER: RecordPass | None = None

_Message = tuple[int, bool, bytes]
"""What a worker sends per unit: its index, whether it ran, the pickled result or exception."""
#: How long the parent waits for a worker's result before it checks the workers are alive.
_POLL_SECONDS = 0.5


def _claim(counter: Synchronized[int]) -> int:
    """The next unclaimed unit's index (past the last unit once all are claimed)."""
    with counter.get_lock():
        index: int = counter.value
        counter.value = index + 1
    return index


def _work(
    units: list[Unit], config: Config, counter: Synchronized[int], results: Queue[_Message]
) -> None:
    """A worker process: claim units until none is left, put ``(index, ok, pickled result or
    exception)`` on ``results`` for each."""
    global _WORKER
    if _WORKER is None or _WORKER.config is not config:
        _WORKER = RecordPass(config)
    while (index := _claim(counter)) < len(units):
        try:
            result = _WORKER.run_unit(units[index])
            results.put((index, True, pickle.dumps(result, pickle.HIGHEST_PROTOCOL)))
        except BaseException as err:
            results.put((index, False, _pickled_error(err)))
            return


def _pickled_error(err: BaseException) -> bytes:
    err.add_note("".join(traceback.format_exception(err)).rstrip())
    try:
        return pickle.dumps(err)
    except Exception:  # an exception that does not pickle: its text still reaches the parent
        return pickle.dumps(RuntimeError(f"{type(err).__name__}: {err}"))


def _receive(
    results: Queue[_Message],
    workers: Sequence[BaseProcess],
    into: dict[int, UnitResult],
    *,
    wait: bool,
) -> None:
    """Store the workers' results that have arrived; with ``wait``, first wait for one. Raise
    a worker's exception, or an error when every worker has ended with results missing."""
    while True:
        try:
            index, ok, payload = results.get(timeout=_POLL_SECONDS) if wait else results.get(False)
        except queue.Empty:
            if not wait:
                return
            if any(w.is_alive() for w in workers):
                continue
            try:  # the last result may have been put just before its worker ended
                index, ok, payload = results.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                codes = ", ".join(str(w.exitcode) for w in workers)
                raise RuntimeError(f"record pass workers ended (exit codes {codes})") from None
        if not ok:
            raise pickle.loads(payload)
        into[index] = pickle.loads(payload)
        wait = False


def _share_units(units: list[Unit], config: Config, workers: int) -> Iterator[UnitResult]:
    """Run ``units`` in this process and ``workers - 1`` worker processes, each taking the next
    unit as soon as it is free (so no process idles while another still has a queue), and
    yield the results in unit order.

    A vocabulary this process loads for the pass is dropped after it: a parallel pass means
    a large input, whose check peaks in the dataset pass that follows, which needs none.
    """
    with transient_encodings():
        yield from _share_loaded_units(units, config, workers)


def _share_loaded_units(units: list[Unit], config: Config, workers: int) -> Iterator[UnitResult]:
    global _WORKER
    record_pass = RecordPass(config)
    forking = "fork" in multiprocessing.get_all_start_methods()
    context = (
        multiprocessing.get_context("fork") if forking else multiprocessing.get_context("spawn")
    )
    counter: Synchronized[int] = context.Value("q", 0)
    results: Queue[_Message] = context.Queue()
    if forking:
        _WORKER = record_pass
        # Objects that exist now are never scanned by the children's collector, so their
        # pages stay shared instead of being copied on the first collection.
        gc.freeze()
    processes = [
        context.Process(target=_work, args=(units, config, counter, results), daemon=True)
        for _ in range(workers - 1)
    ]
    try:
        for process in processes:
            process.start()
        done: dict[int, UnitResult] = {}
        for index in range(len(units)):
            _receive(results, processes, done, wait=False)
            while index not in done:
                # The unit is a worker's and not back yet: take another one meanwhile, or
                # wait when none is left.
                claimed = _claim(counter)
                if claimed < len(units):
                    done[claimed] = record_pass.run_unit(units[claimed])
                _receive(results, processes, done, wait=claimed >= len(units))
            yield done.pop(index)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join()
        results.close()
        if forking:
            gc.unfreeze()
            _WORKER = None


def plan_units(paths: Sequence[str], config: Config, first_index: int = 0) -> list[Unit]:
    """Cut the input into units: shards of plain JSON Lines files, whole files otherwise."""
    options = dialect_options(config)
    units: list[Unit] = []
    for offset, path in enumerate(paths):
        index = first_index + offset
        dialect = config.dialect
        if dialect == "auto" and path != STDIN:
            dialect = (
                detect_dialect(path, options=options, max_line_bytes=config.max_line_bytes)
                or "auto"
            )
        shards = (
            plan_shards(path, SHARD_BYTES, tail_bytes=TAIL_SHARDS * SHARD_BYTES)
            if path != STDIN
            else None
        )
        if shards and len(shards) > 1:
            units.extend(Unit(index, path, dialect, shard) for shard in shards)
        else:
            units.append(Unit(index, path, dialect))
    return units


def _worker_count(config: Config, units: list[Unit], paths: Sequence[str]) -> int:
    if config.workers is not None:
        return min(config.workers, len(units))
    if len(units) < 2 or input_bytes(paths) < PARALLEL_MIN_BYTES:
        return 1
    return min(os.cpu_count() or 1, len(units))


def run_units(units: list[Unit], config: Config) -> Iterator[UnitResult]:
    """Run the record pass over ``units`` in order: on Ray when configured, else in a
    process pool when it pays, else in this process."""
    if config.engine == "ray":
        from ftprep.engines.ray import run_units_on_ray

        yield from run_units_on_ray(units, config, address=config.ray_address)
        return
    workers = _worker_count(config, units, [u.path for u in units])
    logger.debug(
        "record pass: %s, %s",
        plural(len(units), "unit"),
        plural(workers, "worker process", "worker processes"),
    )
    if workers <= 1:
        record_pass = RecordPass(config)
        for unit in units:
            yield record_pass.run_unit(unit)
        return
    yield from _share_units(units, config, workers)


@dataclass(slots=True)
class RecordPassResult:
    """The record pass over a set of files: findings in input order and the fact table."""

    findings: list[Finding] = field(default_factory=list)
    facts: FactTable = field(default_factory=FactTable.empty)


def unit_bytes(unit: Unit) -> int:
    """The input bytes a unit covers (0 for stdin or an unreadable file)."""
    if unit.shard is not None:
        return unit.shard.end - unit.shard.start
    return input_bytes([unit.path])


Progress = Callable[[int], None]
"""Called after each unit of the record pass with the input bytes it covered."""


def record_pass(
    units: list[Unit], config: Config, progress: Progress | None = None
) -> RecordPassResult:
    """Run the record pass and stitch the units back together per file: line numbers and
    record indices of shards (local to each) renumbered in file order, the once-per-file
    CRLF note kept once."""
    findings: list[Finding] = []
    tables: list[FactTable] = []
    indexed_before: dict[int, int] = {}
    lines_before: dict[int, int] = {}
    crlf_seen: set[int] = set()
    for unit, result in zip(units, run_units(units, config), strict=True):
        offset = indexed_before.get(unit.path_index, 0)
        indexed_before[unit.path_index] = offset + result.indexed
        line_offset = lines_before.get(unit.path_index, 0)
        lines_before[unit.path_index] = line_offset + result.lines
        facts = result.facts
        if offset:
            facts.record = np.where(facts.record >= 0, facts.record + offset, facts.record)
        if line_offset:
            facts.line = facts.line + line_offset  # (Ray hands out read-only arrays)
        for finding in result.findings:
            if finding.code == "L004":
                if unit.path_index in crlf_seen:
                    continue
                crlf_seen.add(unit.path_index)
            if offset or line_offset:
                finding = finding.shifted(records=offset, lines=line_offset)
            findings.append(finding)
        tables.append(facts)
        if progress is not None:
            progress(unit_bytes(unit))
    return RecordPassResult(findings, FactTable.gather(tables))


@dataclass(slots=True)
class CheckResult:
    """Everything a check found, and the facts it found them in."""

    findings: list[Finding]
    facts: FactTable
    paths: list[str]
    config: Config
    against_paths: list[str] = field(default_factory=list)
    against_facts: FactTable | None = None

    @property
    def records(self) -> int:
        """Input records seen (loaded or not; blank lines included)."""
        return len(self.facts)

    @property
    def loaded(self) -> int:
        """Records that loaded into examples."""
        return int(np.count_nonzero(self.facts.loaded))

    def count(self, severity: Severity) -> int:
        """Findings of ``severity``."""
        return sum(1 for f in self.findings if f.severity is severity)

    def failed(self, fail_on: Severity = Severity.ERROR) -> bool:
        """Whether any finding is at or above ``fail_on``."""
        return any(fail_on <= f.severity for f in self.findings)

    def summary(self) -> dict[str, int]:
        """Counts for reporters: records, loaded, and findings per severity."""
        return {
            "files": len(self.paths),
            "records": self.records,
            "loaded": self.loaded,
            "errors": self.count(Severity.ERROR),
            "warnings": self.count(Severity.WARNING),
            "infos": self.count(Severity.INFO),
        }


def _dialects_by_path(count: int, units: Sequence[Unit]) -> list[str]:
    dialects = ["auto"] * count
    for unit in units:
        dialects[unit.path_index] = unit.dialect
    return dialects


def run_check(
    paths: Sequence[str | os.PathLike[str]],
    config: Config,
    *,
    against: Sequence[str | os.PathLike[str]] = (),
    progress: Progress | None = None,
) -> CheckResult:
    """Check ``paths`` (and, for leakage, ``against``) under ``config``. ``progress`` is
    called with the input bytes of each unit of the record pass as it completes."""
    names = [str(p) for p in paths]
    against_names = [str(p) for p in against]
    with stage("plan"):
        units = plan_units(names, config)
    with stage("record pass"):
        main = record_pass(units, config, progress)
    against_facts = None
    findings = list(main.findings)
    against_units: list[Unit] = []
    if against_names:
        with stage("record pass (--against)"):
            against_units = plan_units(against_names, config, first_index=len(names))
            other = record_pass(against_units, config, progress)
        findings.extend(other.findings)
        against_facts = other.facts
    ctx_target = get_target(config.target)
    ctx = DatasetContext(
        target=ctx_target,
        model=ctx_target.spec_for(config),
        config=config,
        facts=main.facts,
        paths=[*names, *against_names],
        against=against_facts,
        dialects=_dialects_by_path(len(names) + len(against_names), [*units, *against_units]),
    )
    with paused_gc():  # one finding per near duplicate: many objects, none cyclic
        for rule in dataset_rules(config):
            with stage(f"dataset rule {rule.code}"):
                found = rule.check_dataset(ctx)
                if config.per_file_ignores:
                    found = (f for f in found if not config.is_ignored_for(f.code, f.path))
                findings.extend(found)
        with stage("sort findings"):
            order = {name: i for i, name in enumerate(ctx.paths)}
            findings.sort(key=lambda f: (order.get(f.path, len(order)), *f.sort_key()))
    return CheckResult(findings, main.facts, names, config, against_names, against_facts)


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
