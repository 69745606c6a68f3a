"""O: Output: what a target format cannot express.

The target's writer (its dialect's ``write``) decides: whatever it cannot put into the output
it reports instead of dropping silently. ``ftprep check`` runs the writer of the configured
target on every record whose shape differs from the target's, or that carries fields outside
the conversation; records already in the target's shape are not rewritten.
"""

from __future__ import annotations

from functools import lru_cache

from ftprep.dialects import Dialect, DialectOptions, Written, get_dialect
from ftprep.findings import Finding, Problem, Severity
from ftprep.model import Example
from ftprep.rules.base import RecordRule
from ftprep.rules.context import RecordContext
from ftprep.view import Traits


@lru_cache(maxsize=16)
def _dialect(name: str, options: DialectOptions) -> Dialect:
    return get_dialect(name, options)


def written_problems(example: Example, ctx: RecordContext) -> list[Problem]:
    """The problems of writing ``example`` in the target's dialect (empty when the example is
    already in that shape with nothing outside the conversation). Written once per record,
    for both O rules."""
    dialect = _dialect(ctx.target.dialect_for(example), DialectOptions.from_config(ctx.config))
    if example.dialect == dialect.name and not example.model_extra and not example.metadata:
        return []
    written: Written = ctx.view_of(example).memo(dialect, lambda: dialect.write(example))
    return written.problems


class _OutputRule(RecordRule):
    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only examples outside the target's own shape, or with fields outside the
        conversation (:func:`written_problems` writes nothing else)."""
        return (
            traits.extras
            or traits.metadata
            or traits.preference
            or traits.dialect != ctx.target.dialect
        )

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        return [
            self.finding(p.location, p.message, hint=p.hint)
            for p in written_problems(example, ctx)
            if p.kind == self.name
        ]


class UnsupportedFeature(_OutputRule):
    """The example holds something the target format cannot express: preference pairs for a
    supervised chat format, tool calls for Alpaca or Bedrock, a second system message for
    Gemini, image parts for a text-only format, a weight the format has no place for.

    Writing the example would either drop that part silently (the model then learns from a
    different conversation than the one you reviewed) or produce a record the provider
    rejects. ftprep reports it instead and leaves the decision to you.

    Fix: choose a target whose format supports the feature, convert the example (for
    instance split a preference pair into a supervised example), or remove the feature.
    """

    code = "O001"
    name = "unsupported-feature"
    severity = Severity.ERROR
    summary = "Example holds something the target format cannot express"


class DroppedField(_OutputRule):
    """A field outside the conversation has no place in the target format and is left out
    of the output: an extra column (``id``, ``source``, ``category``), ``metadata``, or a
    setting such as ``parallel_tool_calls`` that the target does not have.

    Providers reject records with unknown keys, so such fields are never written to a
    provider format; formats that keep extra columns (Alpaca, ShareGPT, TRL shapes) write
    them back. Off by default in ``check`` (opt in with ``extend-select = ["O002"]``); the
    prepare step always reports it.

    Fix: nothing, if the field is bookkeeping; otherwise move what matters into the
    conversation or choose a format that keeps it.
    """

    code = "O002"
    name = "dropped-field"
    severity = Severity.WARNING
    summary = "Field the target format has no place for is left out"
    default_on = False


RULES: tuple[type[RecordRule], ...] = (UnsupportedFeature, DroppedField)
