"""The record pass in a pool of local worker processes.

The calling process works too: it and ``workers - 1`` forked (or spawned) workers claim units
from a shared counter, so the last units end together. Workers send back compact results
(findings and fact tables, pickled), never texts. An exception in a worker reaches the caller
with the worker's traceback as a note; a worker that dies is an error, not a hang, and a
worker whose parent dies (``kill -9``) ends too instead of running on unseen.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import queue
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from multiprocessing.sharedctypes import Synchronized

from ftprep.config import Config
from ftprep.tokens.encodings import transient_encodings
from ftprep.validate.engine import RecordPass, Unit, UnitResult

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


def _die_with(parent: int) -> None:
    """End this worker when process ``parent`` ends: on Linux the kernel kills it
    (``PR_SET_PDEATHSIG``), elsewhere a thread watching the parent's id does."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        set_parent_death_signal = 1  # PR_SET_PDEATHSIG, <linux/prctl.h>
        if libc.prctl(set_parent_death_signal, signal.SIGKILL, 0, 0, 0) == 0:
            if os.getppid() != parent:  # the parent died before the signal was asked for
                os._exit(1)
            return

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="ftprep-parent-watch", daemon=True).start()


def _work(
    units: list[Unit],
    config: Config,
    counter: Synchronized[int],
    results: Queue[_Message],
    parent: int,
) -> None:
    """A worker process of ``parent``: claim units until none is left, put ``(index, ok,
    pickled result or exception)`` on ``results`` for each."""
    global _WORKER
    _die_with(parent)
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


class ProcessExecutor:
    """Runs units in this process and ``workers - 1`` worker processes, each taking the next
    unit as soon as it is free (so no process idles while another still has a queue)."""

    def __init__(self, workers: int):
        self.workers = workers

    def map(self, units: Sequence[Unit], config: Config) -> Iterator[UnitResult]:
        """The results of ``units``, in order.

        A vocabulary this process loads for the pass is dropped after it: a parallel pass
        means a large input, whose check peaks in the dataset pass that follows, which needs
        none.
        """
        with transient_encodings():
            yield from _share_units(list(units), config, self.workers)


def _share_units(units: list[Unit], config: Config, workers: int) -> Iterator[UnitResult]:
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
        context.Process(
            target=_work, args=(units, config, counter, results, os.getpid()), daemon=True
        )
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
