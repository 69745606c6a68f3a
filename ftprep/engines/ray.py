"""Run the record pass on Ray: one actor per worker, each holding its own
:class:`~ftprep.validate.engine.RecordPass` (rules, tokenizer, signer built once), fed the
same units (JSON Lines shards, whole files) the local executors get.

Only compact results come back to the driver: findings and the columnar
:class:`~ftprep.facts.FactTable` (hash keys, token counts, MinHash signatures), never
texts. The dataset pass (duplicates, leakage, splits) then runs on the driver from those facts,
exactly as it does locally, so results are identical to the local executors'.

Units name files by path: on a cluster, every node must see the input at the same path (a
shared or mounted file system), as with datatrove's and NeMo Curator's Ray executors.

Needs the ``ray`` extra; imported only when ``engine = "ray"`` is chosen.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ftprep.config import Config
from ftprep.validate.engine import RecordPass, Unit, UnitResult


def _require_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ImportError("the Ray engine needs Ray: pip install 'ftprep[ray]'") from None
    return ray


@contextmanager
def _usage_reporting_off() -> Iterator[None]:
    """Ray's usage statistics off (``RAY_USAGE_STATS_ENABLED=0``) for the processes a
    ``ray.init`` in the block starts; the variable is restored afterwards."""
    name = "RAY_USAGE_STATS_ENABLED"
    before = os.environ.get(name)
    os.environ[name] = "0"
    try:
        yield
    finally:
        if before is None:
            del os.environ[name]
        else:
            os.environ[name] = before


class _RecordActor:
    """Holds one record pass for the lifetime of the job."""

    def __init__(self, config: Config):
        self._pass = RecordPass(config)

    def run_unit(self, unit: Unit) -> UnitResult:
        return self._pass.run_unit(unit)


class RayExecutor:
    """Runs units on Ray, one actor per worker.

    Connects to ``address`` (``auto`` for a running cluster, ``ray://host:10001`` for a
    client connection) or starts a local Ray with ``workers`` CPUs when Ray is not
    initialised yet, without the dashboard and with usage reporting off (Ray's dashboard
    probes cloud metadata endpoints and sends usage statistics otherwise); a Ray started
    here is shut down afterwards.
    """

    def __init__(self, *, address: str | None = None, workers: int | None = None):
        self.address = address
        self.workers = workers

    def map(self, units: Sequence[Unit], config: Config) -> Iterator[UnitResult]:
        """The results of ``units``, in order."""
        ray = _require_ray()
        from ray.util import ActorPool

        started_here = False
        if not ray.is_initialized():
            init_args: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "configure_logging": False,
            }
            if self.address:
                init_args["address"] = self.address
            elif self.workers:
                init_args["num_cpus"] = self.workers
            with _usage_reporting_off():
                ray.init(**init_args)
            started_here = True
        try:
            cpus = int(ray.available_resources().get("CPU", 1)) or 1
            count = max(1, min(self.workers or cpus, len(units)))
            actor_class = ray.remote(num_cpus=1)(_RecordActor)
            actors = [actor_class.remote(config) for _ in range(count)]
            pool = ActorPool(actors)
            try:
                yield from pool.map(lambda actor, unit: actor.run_unit.remote(unit), list(units))
            finally:
                for actor in actors:
                    ray.kill(actor)
        finally:
            if started_here:
                ray.shutdown()
