"""Executors: where the record pass runs. Each maps the engine's units to their results, in
unit order (the :class:`~ftprep.validate.engine.Executor` interface), and knows nothing of
rules: :mod:`~ftprep.engines.inline` in this process, :mod:`~ftprep.engines.processes` in a
pool of worker processes, :mod:`~ftprep.engines.ray` on a Ray cluster. The engine imports none
of them; :func:`executor_for` picks one for a run, as the configuration says.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from ftprep.config import Config
from ftprep.findings import plural
from ftprep.load.paths import input_bytes
from ftprep.log import logger
from ftprep.validate.engine import Executor, Unit

#: Below this many input bytes a pool's start-up costs more than it saves.
PARALLEL_MIN_BYTES = 4 << 20


def executor_for(config: Config, units: Sequence[Unit]) -> Executor:
    """The executor for ``units`` under ``config``: Ray when ``engine = "ray"``, a process
    pool when the input is large enough to pay for one (or ``workers`` asks for one), else
    this process. Executors are imported only when chosen."""
    if config.engine == "ray":
        from ftprep.engines.ray import RayExecutor

        return RayExecutor(address=config.ray_address, workers=config.workers)
    workers = worker_count(config, units)
    logger.debug(
        "record pass: %s, %s",
        plural(len(units), "unit"),
        plural(workers, "worker process", "worker processes"),
    )
    if workers > 1:
        from ftprep.engines.processes import ProcessExecutor

        return ProcessExecutor(workers)
    from ftprep.engines.inline import InlineExecutor

    return InlineExecutor()


def worker_count(config: Config, units: Sequence[Unit]) -> int:
    """Processes for a local record pass: ``config.workers`` when set (at most one per
    unit), else one per core for inputs of :data:`PARALLEL_MIN_BYTES` or more."""
    if config.workers is not None:
        return min(config.workers, len(units))
    if (
        len(units) < 2
        or input_bytes(list(dict.fromkeys(u.path for u in units))) < PARALLEL_MIN_BYTES
    ):
        return 1
    return min(os.cpu_count() or 1, len(units))
