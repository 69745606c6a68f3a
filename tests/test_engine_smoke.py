"""The engine loads real files and accounts for every record."""

import itertools
import json
import os
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path

import pytest

from ftprep.config import Config
from ftprep.validate.check import CheckResult, run_check

FIXTURES = Path(__file__).parent.parent / "fixtures"


def test_toy_chat_loads_every_record() -> None:
    result = run_check([FIXTURES / "realdata" / "toy_chat_fine_tuning.jsonl"], Config())
    assert result.records == 5
    assert result.loaded == 5
    assert list(result.facts.line) == [1, 2, 3, 4, 5]


def test_gather_stacks_parts_like_concat_and_drops_them() -> None:
    from dataclasses import fields
    from itertools import pairwise

    import numpy as np

    from ftprep.engines.inline import InlineExecutor
    from ftprep.facts import FactTable
    from ftprep.validate.engine import plan_units, record_pass

    config = Config(workers=1)
    path = str(FIXTURES / "drone" / "drone_training.jsonl")
    whole = record_pass(plan_units([path], config), config, InlineExecutor()).facts
    cuts = [0, 1, 40, len(whole)]
    parts = [whole.select(np.arange(a, b)) for a, b in pairwise(cuts)]
    expected = FactTable.concat(parts)
    gathered = FactTable.gather(parts)
    assert parts == []
    for column in fields(FactTable):
        got, want = getattr(gathered, column.name), getattr(expected, column.name)
        assert got.dtype == want.dtype and np.array_equal(got, want), column.name
    assert np.array_equal(gathered.signatures, whole.signatures)
    assert len(FactTable.gather([])) == 0


@pytest.mark.parametrize("workers", [1, 3])
@pytest.mark.parametrize("name", ["every_bad_input.jsonl", "drone_training.jsonl", "crlf.jsonl"])
def test_shards_give_the_same_lines_and_records_as_one_pass(
    name: str, workers: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Shards number their lines locally; stitched together they match reading the file in
    one go, finding by finding and row by row (blank lines, bad lines, CRLF included), however
    many processes share the shards."""
    import numpy as np

    from ftprep.validate import engine

    if name == "crlf.jsonl":
        drone = (FIXTURES / "drone" / "drone_training.jsonl").read_bytes().splitlines()[:40]
        path = tmp_path / name
        path.write_bytes(b"\r\n".join([*drone[:10], b"", *drone[10:], b"{broken"]) + b"\r\n")
    else:
        path = next(FIXTURES.rglob(name))
    whole = run_check([path], Config(workers=1))
    monkeypatch.setattr(engine, "SHARD_BYTES", 300)
    config = Config(workers=workers)
    assert len(engine.plan_units([str(path)], config)) >= 3
    sharded = run_check([path], config)

    def where(result: CheckResult) -> list[tuple[object, ...]]:
        return [
            (f.code, f.line, f.location.column, f.location.record, f.message, f.related)
            for f in result.findings
        ]

    assert where(sharded) == where(whole)
    assert np.array_equal(sharded.facts.line, whole.facts.line)
    assert np.array_equal(sharded.facts.record, whole.facts.record)


def _in_workers_only(action: Callable[[], None]) -> Callable[..., object]:
    """A ``RecordPass.run_unit`` that does ``action`` in worker processes and runs normally in
    this one."""
    from ftprep.validate.engine import RecordPass, Unit, UnitResult

    parent, run_unit = os.getpid(), RecordPass.run_unit

    def replaced(self: RecordPass, unit: Unit) -> UnitResult:
        if os.getpid() != parent:
            action()
        return run_unit(self, unit)

    return replaced


def _sharded_drone(monkeypatch: pytest.MonkeyPatch) -> Path:
    from ftprep.validate import engine

    monkeypatch.setattr(engine, "SHARD_BYTES", 4096)
    return FIXTURES / "drone" / "drone_training.jsonl"


def test_an_exception_in_a_worker_reaches_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    from ftprep.validate.engine import RecordPass

    def fail() -> None:
        raise ValueError("broken in a worker")

    path = _sharded_drone(monkeypatch)
    monkeypatch.setattr(RecordPass, "run_unit", _in_workers_only(fail))
    with pytest.raises(ValueError, match="broken in a worker") as raised:
        run_check([path], Config(workers=2))
    assert "Traceback" in "".join(raised.value.__notes__)


def test_a_worker_that_dies_is_an_error_not_a_hang(monkeypatch: pytest.MonkeyPatch) -> None:
    from ftprep.validate.engine import RecordPass

    path = _sharded_drone(monkeypatch)
    monkeypatch.setattr(RecordPass, "run_unit", _in_workers_only(lambda: os._exit(3)))
    with pytest.raises(RuntimeError, match=r"workers ended \(exit codes 3\)"):
        run_check([path], Config(workers=2))


def test_a_parallel_pass_drops_the_vocabulary_it_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    """After a parallel record pass the vocabulary it loaded is no longer held (the dataset
    pass that follows peaks without it); one loaded before stays, and a serial pass keeps
    what it loads for the next check."""
    import gc
    import weakref

    from ftprep.tokens import encodings

    path = _sharded_drone(monkeypatch)
    monkeypatch.setattr(encodings, "_LOADED", {})
    loaded: list[weakref.ref[object]] = []
    load = encodings._load

    def load_and_watch(name: str) -> object:
        encoding = load(name)
        loaded.append(weakref.ref(encoding))
        return encoding

    monkeypatch.setattr(encodings, "_load", load_and_watch)
    result = run_check([path], Config(workers=2))
    assert result.loaded == 103
    gc.collect()
    assert len(loaded) == 1 and loaded[0]() is None
    assert encodings._LOADED == {}

    kept = encodings.get_encoding("o200k_base")
    run_check([path], Config(workers=2))
    assert encodings._LOADED["o200k_base"] is kept and len(encodings._LOADED) == 1

    monkeypatch.setattr(encodings, "_LOADED", {})
    run_check([path], Config(workers=1))
    assert list(encodings._LOADED) == ["o200k_base"]


def test_transient_encodings_frees_what_the_block_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc
    import weakref

    from ftprep.tokens import encodings

    monkeypatch.setattr(encodings, "_LOADED", {})
    with encodings.transient_encodings():
        loaded = weakref.ref(encodings.get_encoding("cl100k_base"))
        assert encodings.get_encoding("cl100k_base") is loaded()
    gc.collect()
    assert loaded() is None


def test_shards_cover_the_file_and_end_in_smaller_ones(tmp_path: Path) -> None:
    from ftprep.load.containers import plan_shards

    path = tmp_path / "lines.jsonl"
    path.write_bytes(
        b"".join(b'{"n": %d, "pad": "%s"}\n' % (i, b"x" * (i % 40)) for i in range(3000))
    )
    data = path.read_bytes()
    shards = plan_shards(str(path), 4096, tail_bytes=4 * 4096)
    assert shards is not None
    assert shards[0].start == 0 and shards[-1].end == len(data)
    assert all(a.end == b.start for a, b in itertools.pairwise(shards))
    assert all(data[s.end - 1 : s.end] == b"\n" for s in shards)
    sizes = [s.end - s.start for s in shards]
    tail = [size for s, size in zip(shards, sizes, strict=True) if len(data) - s.start <= 4 * 4096]
    assert len(tail) >= 15
    assert max(tail) < 1200 < 4096 <= min(sizes[: -len(tail)])
    # A file no longer than the tail keeps whole shards (it gains nothing from smaller ones).
    whole = plan_shards(str(path), 4096, tail_bytes=len(data))
    assert whole is not None and min(s.end - s.start for s in whole[:-1]) >= 4096


def test_the_passes_run_with_the_collector_paused_and_restore_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gc

    from ftprep.rules.duplicates import NearDuplicate
    from ftprep.validate.engine import paused_gc

    seen: list[bool] = []
    check_dataset = NearDuplicate.check_dataset

    def watched(self: NearDuplicate, ctx: object) -> object:
        seen.append(gc.isenabled())
        return check_dataset(self, ctx)  # type: ignore[arg-type]

    monkeypatch.setattr(NearDuplicate, "check_dataset", watched)
    assert gc.isenabled()
    run_check([FIXTURES / "drone" / "drone_training.jsonl"], Config(workers=1))
    assert seen == [False]
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_per_file_ignores_switch_rules_off_for_matching_files_only(tmp_path: Path) -> None:
    """Record and dataset rules alike: an ignored code is not reported for a matching file,
    and still is for the others."""
    answer = "As an AI language model, I don't have personal opinions on that."
    messages = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": answer}]
    record = json.dumps({"messages": messages}).encode() + b"\n"
    for name in ("generated.jsonl", "curated.jsonl"):
        (tmp_path / name).write_bytes(record * 2)  # an exact duplicate (X001) in each
    paths = [tmp_path / "generated.jsonl", tmp_path / "curated.jsonl"]

    def codes(config: Config) -> set[tuple[str, str]]:
        return {(Path(f.path).name, f.code) for f in run_check(paths, config).findings}

    everything = codes(Config(workers=1))
    assert {("generated.jsonl", "X001"), ("curated.jsonl", "X001")} <= everything
    assert ("generated.jsonl", "Q001") in everything
    ignored = codes(Config(workers=1, per_file_ignores={"*generated*": ["X001", "Q"]}))
    assert ignored == {
        (name, code)
        for name, code in everything
        if name != "generated.jsonl" or not (code == "X001" or code.startswith("Q"))
    }
    assert ("curated.jsonl", "X001") in ignored


def test_a_rule_called_on_its_own_reads_no_other_examples_hits() -> None:
    """``ctx.view_of`` builds the view of another example with no hits of the previous one:
    a rule reading hints then finds what it finds on a fresh context."""
    from ftprep.model import Example
    from ftprep.rules.context import RecordContext
    from ftprep.rules.quality import TruncatedAnswer
    from ftprep.validate.engine import RecordPass

    def chat(answer: str) -> Example:
        return Example.model_validate(
            {
                "messages": [
                    {"role": "user", "content": "q"},
                    {"role": "assistant", "content": answer},
                ]
            }
        )

    record_pass = RecordPass(Config())
    rule = next(r for r in record_pass.rules if isinstance(r, TruncatedAnswer))
    ctx = RecordContext(record_pass.target, record_pass.model, Config())
    plain = chat("A plain answer.")
    view = ctx.view_of(plain)
    view.hits = record_pass.prefilter.hits(record_pass.prefilter.scan(view.texts))
    fenced = chat("Here is the code you asked for:\n```python\nprint(1)\n")
    assert [f.message for f in rule.check(fenced, ctx)] == [
        "assistant answer looks cut off: a code fence is never closed (the answer stops inside a"
        " code block)"
    ]


def test_a_file_cut_in_shards_counts_once_towards_a_worker_pool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ftprep.engines import PARALLEL_MIN_BYTES, worker_count
    from ftprep.validate import engine

    path = FIXTURES / "drone" / "drone_training.jsonl"
    monkeypatch.setattr(engine, "SHARD_BYTES", 4096)
    units = engine.plan_units([str(path)], Config())
    assert len(units) > 2 and path.stat().st_size * 2 < PARALLEL_MIN_BYTES
    assert worker_count(Config(), units) == 1
    monkeypatch.setattr("ftprep.engines.PARALLEL_MIN_BYTES", path.stat().st_size)
    assert worker_count(Config(), units) == min(os.cpu_count() or 1, len(units))


def test_producers_fill_the_fact_tables_columns_in_order() -> None:
    """The record pass's producers (counts, keys) declare their columns: together with the
    record's own they must be the table's, in order, or the builder refuses them."""
    from ftprep.dedup.keys import KeyColumns
    from ftprep.facts import RECORD_COLUMNS, CountColumns, FactTable, FactTableBuilder

    counts, keys = CountColumns(), KeyColumns()
    declared = [f.name for f in fields(FactTable) if f.name != "signatures"]
    assert [*RECORD_COLUMNS, *counts.columns, *keys.columns] == declared
    FactTableBuilder(8, (counts, keys))
    with pytest.raises(ValueError, match="do not complete the table"):
        FactTableBuilder(8, (keys, counts))
    with pytest.raises(ValueError, match="do not complete the table"):
        FactTableBuilder(8, (counts,))


_ORPHANING = """
import os, sys, time
from ftprep.config import Config
from ftprep.validate import engine
from ftprep.validate.check import run_check

engine.SHARD_BYTES = 4096
parent, run_unit = os.getpid(), engine.RecordPass.run_unit

def stuck(self, unit):
    if os.getpid() != parent:
        os.write(1, b"%d\\n" % os.getpid())  # one write: the workers print at once
        time.sleep(600)
    return run_unit(self, unit)

engine.RecordPass.run_unit = stuck
run_check([sys.argv[1]], Config(workers=3))
"""


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie nobody reaped has ended)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_workers_die_with_the_main_process() -> None:
    """kill -9 of the main process mid-run leaves no worker running (they used to run on,
    110-250 MB each, for as long as their unit took)."""
    import signal
    import subprocess
    import sys
    import time

    path = FIXTURES / "drone" / "drone_training.jsonl"
    main = subprocess.Popen(
        [sys.executable, "-c", _ORPHANING, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert main.stdout is not None
    workers = [int(main.stdout.readline()) for _ in range(2)]
    assert all(_alive(pid) for pid in workers)
    main.send_signal(signal.SIGKILL)
    main.wait()
    deadline = time.monotonic() + 60  # a guard against a hang, not a measurement
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    survivors = [pid for pid in workers if _alive(pid)]
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    assert survivors == []
