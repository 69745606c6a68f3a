"""The record pass in this process, one unit after another."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ftprep.config import Config
from ftprep.validate.engine import RecordPass, Unit, UnitResult


class InlineExecutor:
    """Runs every unit in the calling process (small inputs, ``workers = 1``)."""

    def map(self, units: Sequence[Unit], config: Config) -> Iterator[UnitResult]:
        """The results of ``units``, in order."""
        record_pass = RecordPass(config)
        for unit in units:
            yield record_pass.run_unit(unit)
