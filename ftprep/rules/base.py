"""What a rule is: a small class with a stable code, a name, a default severity, a one-line
summary and a docstring that is its documentation.

Three kinds share this base:

- :class:`LoadRule` documents a problem the loader itself detects (broken JSON, bad UTF-8);
  the loader emits its findings, the rule only carries the metadata.
- :class:`RecordRule` is a pure function of one example, so record rules run anywhere (worker
  processes, Ray tasks) in any order.
- :class:`DatasetRule` sees compact per-record facts of the whole dataset (hashes, signatures,
  token counts) and reports on relations between records or on the dataset as a whole.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from ftprep.findings import Finding, Location, Severity
from ftprep.model import Example, Source

if TYPE_CHECKING:
    from ftprep.rules.context import DatasetContext, RecordContext
    from ftprep.view import Place, Traits

Scope = Literal["load", "record", "dataset"]


@dataclass(frozen=True, slots=True)
class Triggers:
    """What an example's texts must hold before a rule can find anything in it: one of the
    substrings (matched as the keyword says; only one of ``exact``, ``folded`` and
    ``shapes``), or one of the bytes ``any_byte``, with at least ``min_digits`` ASCII digits
    in all of the texts together. The engine compiles the enabled rules' triggers into one
    scan (:mod:`ftprep.validate.prefilter`) and runs a rule only where they hit.

    - ``exact``: byte for byte;
    - ``folded``: as in ``text.lower()`` (lower-case ASCII without digits, or caseless
      characters);
    - ``shapes``: digits and punctuation, every ASCII digit written as ``0`` (``-0000``).

    ``tool_arguments``: the rule also reads tool-call arguments and message names, which the
    scan does not see, so it runs on every example that calls tools or names a message.
    ``name`` only labels the trigger in errors.
    """

    name: str
    exact: tuple[str, ...] = ()
    folded: tuple[str, ...] = ()
    shapes: tuple[str, ...] = ()
    any_byte: bytes = b""
    min_digits: int = 0
    tool_arguments: bool = False
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __hash__(self) -> int:
        # Rules ask whether their triggers hit several times per record: the generated hash
        # would hash every substring each time.
        return self._hash

    def __reduce__(self) -> tuple[type[Triggers], tuple[Any, ...]]:
        # Rebuilt through __init__ where unpickled: string hashes differ between processes.
        return Triggers, self._declared()

    def _declared(self) -> tuple[Any, ...]:
        """The values given to ``__init__``, in its order."""
        return tuple(getattr(self, f.name) for f in fields(self) if f.init)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash(self._declared()))
        kinds = [s for s in (self.exact, self.folded, self.shapes) if s]
        if len(kinds) > 1:
            raise ValueError(f"trigger {self.name!r}: one kind of substring")
        if not 0 <= self.min_digits < 1 << 32:
            raise ValueError(f"trigger {self.name!r}: min_digits out of range")
        for text in (*self.exact, *self.folded, *self.shapes):
            if not text or not text.isprintable() or any("\ud800" <= c <= "\udfff" for c in text):
                raise ValueError(
                    f"trigger {self.name!r}: empty, unprintable or unencodable substring"
                )
        for text in self.folded:
            if any(
                c.isdigit() or c.lower() != c or (not c.isascii() and c.upper() != c) for c in text
            ):
                raise ValueError(
                    f"trigger {self.name!r}: folded substrings are lower case ASCII or "
                    "caseless, no digits"
                )
        for text in self.shapes:
            if any(c.isascii() and c.isalpha() for c in text):
                raise ValueError(f"trigger {self.name!r}: shapes are digits and punctuation")


class RuleOptions(BaseModel):
    """Base of every rule's options model. Unknown keys are rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Rule:
    """Base of all rules. Subclasses set the class attributes and write a docstring that says
    why the problem matters and how to fix it."""

    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    summary: ClassVar[str]
    scope: ClassVar[Scope]
    Options: ClassVar[type[RuleOptions]] = RuleOptions
    fixable: ClassVar[bool] = False
    """Whether ``check --fix`` repairs the rule's findings."""
    unsafe_fix: ClassVar[bool] = False
    """Whether that fix is unsafe (it drops records): made only with ``--unsafe-fixes``."""
    default_on: ClassVar[bool] = True
    """Whether the rule runs without being selected by code."""
    once_per_file: ClassVar[bool] = False
    """Whether the rule is reported at most once per file (the first occurrence)."""
    rejects_record: ClassVar[bool] = True
    """Whether an error of the rule leaves the record it is located at out of prepare's
    output (false for rules about the dataset as a whole, placed at a record for the
    reader's sake)."""
    rejects_in: ClassVar[tuple[str, ...]] = ()
    """Input dialects whose records a finding of the rule leaves out of prepare's output
    whatever its severity, under the default reject policy (``prepare.reject.by-dialect``):
    what that workflow's own validation refuses."""
    redactable: ClassVar[bool] = False
    """Whether what the rule finds is a value that redaction replaces by a placeholder
    (``prepare --redact`` keeps such records, redacted; ``check --fix --unsafe-fixes``
    redacts them in place)."""
    relates_records: ClassVar[bool] = False
    """Whether a finding ties its record to others (its ``related`` locations: the copy it
    duplicates, the training record it leaks from)."""
    per_file_summary: ClassVar[bool] = False
    """Whether the rule finds a condition that how a file was made usually causes in many of
    its records (raw template tokens, an extra key in every record): beyond a few records,
    ``check`` reports it once per file, with the count and the first lines
    (:mod:`ftprep.validate.aggregate`)."""

    def __init__(self, options: RuleOptions | None = None, severity: Severity | None = None):
        self.options = options if options is not None else self.Options()
        self.effective_severity = severity or self.severity

    @classmethod
    def fix_safety(cls) -> str | None:
        """``"safe"``, ``"unsafe"`` (the fix drops records) or ``None`` (no fix)."""
        if not cls.fixable:
            return None
        return "unsafe" if cls.unsafe_fix else "safe"

    @classmethod
    def source(cls) -> str:
        """Where the rule is defined, as ``ftprep/rules/quality.py:478``."""
        path = Path(inspect.getfile(cls))
        package = Path(__file__).resolve().parents[1]
        where = path.resolve().relative_to(package.parent) if path.is_absolute() else path
        return f"{where.as_posix()}:{inspect.getsourcelines(cls)[1]}"

    @classmethod
    def info(cls) -> dict[str, Any]:
        """The rule as plain data (what ``ftprep rules --format json`` prints)."""
        return {
            "code": cls.code,
            "name": cls.name,
            "summary": cls.summary,
            "severity": cls.severity.value,
            "scope": cls.scope,
            "default_on": cls.default_on,
            "fix": cls.fix_safety(),
            "source": cls.source(),
            "documentation": cls.documentation(),
        }

    @classmethod
    def documentation(cls) -> str:
        """The rule's docstring, dedented: its user-facing documentation."""
        return inspect.cleandoc(cls.__doc__ or cls.summary)

    def finding(
        self,
        where: Source | Example | Location | None,
        message: str,
        *,
        message_index: int | None = None,
        pointer: str | None = None,
        hint: str | None = None,
        related: tuple[Location, ...] = (),
        data: dict[str, Any] | None = None,
        column: int | None = None,
        fingerprint: str | None = None,
        at: Place | None = None,
    ) -> Finding:
        """Build a finding of this rule at ``where`` (a record's source, the example, or an
        explicit location), ``at`` a turn or text of it (its message index and pointer),
        optionally stamped with the record's ``fingerprint``."""
        if at is not None:
            message_index, pointer = at.message_index, at.pointer
        if isinstance(where, Example):
            where = where.source
        if isinstance(where, Location):
            location = where
        elif where is None:
            location = Location(path="<memory>", pointer=pointer, message=message_index)
        else:
            location = Location(
                path=where.path,
                line=where.line,
                column=column if column is not None else where.column,
                record=where.index,
                message=message_index,
                pointer=pointer,
            )
        return Finding(
            code=self.code,
            severity=self.effective_severity,
            message=message,
            location=location,
            hint=hint,
            related=related,
            data=data or {},
            fingerprint=fingerprint,
        )


class LoadRule(Rule):
    """A problem found while reading the input (container, JSON, shape detection). The loader
    reports it as a :class:`~ftprep.findings.Problem` of the rule's ``name``; the rule gives
    it its code and severity."""

    scope: ClassVar[Scope] = "load"


class RecordRule(Rule):
    """A check of one example at a time. Must not keep state between calls."""

    scope: ClassVar[Scope] = "record"
    triggers: ClassVar[Triggers | None] = None
    """What the example's texts must hold before :meth:`check` can find anything (``None``:
    the rule runs on every example its :meth:`relevant` accepts)."""
    hints: ClassVar[tuple[Triggers, ...]] = ()
    """Triggers :meth:`check` reads in the view's ``hits`` to skip work, without gating."""

    def active_triggers(self) -> Triggers | None:
        """The :attr:`triggers` under this rule's options (options that widen what the rule
        looks for may return other triggers, or ``None``)."""
        return self.triggers

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Whether :meth:`check` can find anything in an example with these traits.

        The engine skips the rule for examples where this is false, deciding once per
        distinct :class:`~ftprep.view.Traits` (so it may read only the traits and
        the target, model and configuration of ``ctx``, never ``ctx.tokens``). It must only
        rule out examples :meth:`check` would report nothing for.
        """
        return True

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        """The findings for ``example``, usually none."""
        raise NotImplementedError


class DatasetRule(Rule):
    """A check over the whole dataset, fed compact per-record facts after the record pass."""

    scope: ClassVar[Scope] = "dataset"

    def check_dataset(self, ctx: DatasetContext) -> list[Finding]:
        """The findings for the dataset."""
        raise NotImplementedError
