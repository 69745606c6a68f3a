"""D: Dataset composition: example counts, system-prompt consistency, missing roles.

These rules read only the fact table (:attr:`DatasetContext.facts`): one finding per
condition, located at the first affected record, with a few more affected records in
``related`` and the counts in ``data``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
from pydantic import Field

from ftprep.findings import Finding, Location, Severity, plural
from ftprep.rules.base import DatasetRule, Rule, RuleOptions
from ftprep.rules.context import DatasetContext

#: How many further affected records a finding lists in ``related``.
RELATED = 5


def _location(ctx: DatasetContext, row: int) -> Location:
    facts = ctx.facts
    return Location(
        path=ctx.paths[int(facts.path[row])],
        line=int(facts.line[row]),
        record=int(facts.record[row]),
    )


def _dataset_location(ctx: DatasetContext) -> Location:
    """Where a finding about the dataset as a whole points: its first file."""
    return Location(path=ctx.paths[0] if ctx.paths else "<memory>")


def _at_rows(
    rule: Rule, ctx: DatasetContext, rows: npt.NDArray[np.intp], message: str, **data: object
) -> Finding:
    """A finding at the first of ``rows`` (with its record fingerprint, so baselines can
    suppress it) listing the next few rows as related."""
    first = int(rows[0])
    finding = rule.finding(
        _location(ctx, first),
        message,
        related=tuple(_location(ctx, int(r)) for r in rows[1 : 1 + RELATED]),
        data=dict(data),
    )
    return replace(finding, fingerprint=f"{int(ctx.facts.fingerprint[first]):016x}")


def _share(part: int, whole: int) -> str:
    return f"{part:,} of {whole:,} examples ({part / whole:.0%})"


class _CompositionRule(DatasetRule):
    """A rule about the dataset as a whole: its findings never reject the record they point
    at."""

    rejects_record = False


def _nothing_read(ctx: DatasetContext) -> bool:
    """Whether no input could be read at all (each is one unreadable-file row, at line 0):
    the unreadable files are the finding; "0 examples" would only repeat it. So with no
    input at all (every file handed over was skipped as not a dataset)."""
    facts = ctx.facts
    return not ctx.paths or (len(facts) > 0 and not np.any(facts.line > 0))


class TooFewExamples(_CompositionRule):
    """The dataset has fewer examples than the provider requires.

    OpenAI refuses to start a fine-tuning job with fewer than 10 training examples; other
    targets set their own minimum. Only records that loaded count.

    Fix: add examples (or fix the records that failed to load) until the minimum is reached;
    50 or more well-chosen examples are a better start.
    """

    code = "D001"
    name = "too-few-examples"
    severity = Severity.ERROR
    summary = "Fewer examples than the target's minimum"

    def check_dataset(self, ctx: DatasetContext) -> list[Finding]:
        """Compare the number of loaded examples with the target's minimum."""
        found: list[Finding] = []
        if _nothing_read(ctx):
            return found
        loaded = int(np.count_nonzero(ctx.facts.loaded))
        minimum = ctx.target.min_examples
        if loaded < minimum:
            found.append(
                self.finding(
                    _dataset_location(ctx),
                    f"{plural(loaded, 'example')} loaded; {ctx.target.name} requires at least "
                    f"{minimum:,}",
                    hint=f"add at least {minimum - loaded:,} more examples",
                    data={"examples": loaded, "minimum": minimum},
                )
            )
        return found


class FewExamplesOptions(RuleOptions):
    """Options of D002."""

    format_examples: int = Field(50, ge=1)
    """Examples that usually suffice to teach a format or a tone."""
    style_examples: int = Field(500, ge=1)
    """Examples that teaching a style or a domain usually takes."""


class FewExamples(_CompositionRule):
    """The dataset is smaller than practice recommends for what fine-tuning usually aims at.

    Providers accept small datasets, but results follow the number of good examples: about
    50-100 clear examples are where a format or a tone starts to stick, and teaching a writing
    style or a domain usually takes 500 or more. This is advice, not a defect.

    Fix: nothing, if the dataset teaches a narrow format; otherwise collect more varied
    examples. Tune the thresholds with ``format-examples`` and ``style-examples``.
    """

    code = "D002"
    name = "few-examples"
    severity = Severity.INFO
    summary = "Fewer examples than practice recommends"
    Options = FewExamplesOptions
    options: FewExamplesOptions

    def check_dataset(self, ctx: DatasetContext) -> list[Finding]:
        """Advise on datasets below the recommended sizes (not below the target minimum,
        which D001 reports)."""
        found: list[Finding] = []
        loaded = int(np.count_nonzero(ctx.facts.loaded))
        formats, styles = self.options.format_examples, self.options.style_examples
        if loaded < ctx.target.min_examples or loaded >= styles:
            return found
        if loaded < formats:
            message = (
                f"{loaded:,} examples: fewer than the {formats:,}-100 that usually teach a format"
                f" or tone; a style or a domain usually takes {styles:,} or more"
            )
        else:
            message = (
                f"{loaded:,} examples: enough for a format or a tone; a style or a domain"
                f" usually takes {styles:,} or more"
            )
        found.append(self.finding(_dataset_location(ctx), message, data={"examples": loaded}))
        return found


class InconsistentSystemPromptsOptions(RuleOptions):
    """Options of D003."""

    max_distinct: int = Field(1, ge=1)
    """Report when more distinct system prompts than this are used."""


class InconsistentSystemPrompts(_CompositionRule):
    """Examples use several different system prompts.

    A fine-tuned model learns its behaviour together with the system prompt it saw in
    training, and it behaves best when production uses that same prompt. Several variants of
    one prompt (an edited sentence, a trailing space, an old version) split what the model
    learns between them. Datasets that vary the system prompt on purpose (per-user context,
    several personas) are fine, which is why this is information only. Prompts are compared
    after whitespace normalisation (and case folding with ``dedup.case-sensitive = false``).

    Fix: use one system prompt for one behaviour (``system-prompt`` in the configuration sets
    one for raw pairs), or raise ``max-distinct`` to the number of personas the data has.
    """

    code = "D003"
    name = "inconsistent-system-prompts"
    severity = Severity.INFO
    summary = "Examples use several distinct system prompts"
    Options = InconsistentSystemPromptsOptions
    options: InconsistentSystemPromptsOptions

    def check_dataset(self, ctx: DatasetContext) -> list[Finding]:
        """Count distinct system prompts among the loaded examples that have one."""
        found: list[Finding] = []
        facts = ctx.facts
        rows = np.flatnonzero(facts.loaded & (facts.system_key != 0))
        if len(rows) == 0:
            return found
        keys = facts.system_key[rows]
        distinct, first_index, counts = np.unique(keys, return_index=True, return_counts=True)
        if len(distinct) <= self.options.max_distinct:
            return found
        # Ties go to the prompt seen first, so the result does not depend on hash values.
        top = int(np.lexsort((first_index, -counts))[0])
        common = int(counts[top])
        others = rows[keys != distinct[top]]
        common_first = _location(ctx, int(rows[first_index[top]]))
        message = (
            f"{len(distinct):,} distinct system prompts in {len(rows):,} examples; the most"
            f" common is used by {_share(common, len(rows))}, first at"
            f" {Path(common_first.path).name}:{common_first.line}"
        )
        found.append(
            _at_rows(
                self,
                ctx,
                others,
                message,
                distinct=len(distinct),
                examples=len(rows),
                most_common=common,
            )
        )
        return found


class MissingSystemMessage(_CompositionRule):
    """Some examples have a system (or developer) message and others do not.

    The cookbook's data check counts examples without a system message because a model tuned
    on a mix learns two behaviours: one with the prompt, one without, and production sends
    only one of them. A dataset with no system messages at all is consistent and not reported.

    Fix: add the same system prompt to the examples that lack it (``system-prompt`` in the
    configuration does so for raw pairs), or remove it everywhere.
    """

    code = "D004"
    name = "missing-system-message"
    severity = Severity.INFO
    summary = "Some examples lack the system message others have"

    def check_dataset(self, ctx: DatasetContext) -> list[Finding]:
        """Report once when some, but not all, loaded examples lack a system message."""
        found: list[Finding] = []
        facts = ctx.facts
        loaded = int(np.count_nonzero(facts.loaded))
        with_system = facts.has_system | (facts.system_key != 0)
        rows = np.flatnonzero(facts.loaded & ~with_system)
        if 0 < len(rows) < loaded:
            found.append(
                _at_rows(
                    self,
                    ctx,
                    rows,
                    f"{_share(len(rows), loaded)} have no system message",
                    missing=len(rows),
                    examples=loaded,
                )
            )
        return found


class MissingUserMessage(_CompositionRule):
    """Examples have no user message.

    Without a user turn the model learns to produce the answer unprompted, from the system
    prompt alone, which is rarely the behaviour wanted; in the cookbook's toy data it is one of
    the two problems its check reports. Most often a conversion mapped the prompt to the wrong
    role or dropped an empty instruction.

    Plain-text language-modeling data (the ``text`` dialect) has no turns by design and is
    not counted.

    Fix: put the prompt into a user message (check the input-field mapping of the conversion),
    or drop the examples.
    """

    code = "D005"
    name = "missing-user-message"
    severity = Severity.WARNING
    summary = "Examples have no user message"

    def check_dataset(self, ctx: DatasetContext) -> list[Finding]:
        """Report once, with the count, when loaded examples lack a user message."""
        found: list[Finding] = []
        facts = ctx.facts
        loaded = int(np.count_nonzero(facts.loaded))
        prompted = ~ctx.rows_in_dialects(UNPROMPTED_DIALECTS)
        rows = np.flatnonzero(facts.loaded & ~facts.has_user & prompted)
        if len(rows):
            found.append(
                _at_rows(
                    self,
                    ctx,
                    rows,
                    f"{_share(len(rows), loaded)} have no user message",
                    missing=len(rows),
                    examples=loaded,
                )
            )
        return found


#: Shapes with no prompt by design (language modeling on raw text).
UNPROMPTED_DIALECTS = frozenset({"text"})

RULES: tuple[type[Rule], ...] = (
    TooFewExamples,
    FewExamples,
    InconsistentSystemPrompts,
    MissingSystemMessage,
    MissingUserMessage,
)
