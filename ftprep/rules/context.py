"""What a rule sees besides the example: the target, the model and the configuration, the
example's token counts, and (for dataset rules) the per-record facts of the whole dataset."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt

from ftprep.config import Config
from ftprep.model import Example
from ftprep.targets import ModelSpec, Target
from ftprep.tokens.chat import ExampleTokens
from ftprep.view import ExampleView

if TYPE_CHECKING:
    from ftprep.facts import FactTable
    from ftprep.rules.base import Triggers

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Hits:
    """Which declared triggers hit in the example's texts (the engine's prefilter scan).
    ``None`` when no scan ran: then every trigger counts as hit."""

    found: frozenset[Triggers] | None = None

    def __contains__(self, triggers: Triggers) -> bool:
        return self.found is None or triggers in self.found


@dataclass(slots=True)
class RecordContext:
    """Context of a record rule. ``tokens``, ``hits`` and ``view`` are filled before the
    rules run."""

    target: Target
    model: ModelSpec
    config: Config
    tokens: ExampleTokens = field(default_factory=ExampleTokens)
    hits: Hits = field(default_factory=Hits)
    view: ExampleView | None = None
    """The view of the example being checked (the engine sets it per record)."""

    def view_of(self, example: Example) -> ExampleView:
        """The view of ``example``: the engine's, or one built here and kept for the next
        rule (a rule called on its own)."""
        view = self.view
        if view is None or view.example is not example:
            view = self.view = ExampleView.of(example)
        return view


@dataclass(slots=True)
class DatasetContext:
    """Context of a dataset rule: facts of every record checked, and of the ``--against``
    (holdout) files when given. ``paths`` maps the facts' ``path`` column to file names."""

    target: Target
    model: ModelSpec
    config: Config
    facts: FactTable
    paths: list[str]
    against: FactTable | None = None
    dialects: list[str] = field(default_factory=list)
    """The dialect each of ``paths`` was read in (``auto`` where no record had a known shape)."""
    _shared: dict[str, Any] = field(default_factory=dict, repr=False)

    def shared(self, name: str, compute: Callable[[], T]) -> T:
        """``compute()``, run once per context: for analyses several rules read (the
        conflicts of X003 and X005)."""
        if name not in self._shared:
            self._shared[name] = compute()
        value: T = self._shared[name]
        return value

    def rows_in_dialects(self, names: frozenset[str]) -> npt.NDArray[np.bool_]:
        """Rows of ``facts`` whose file was read in one of the dialects ``names``."""
        if not self.dialects:
            return np.zeros(len(self.facts), dtype=bool)
        in_dialect = np.array([d in names for d in self.dialects], dtype=bool)
        return in_dialect[self.facts.path]
