"""T: Tokens: per-example token limits of the target model.

Counts come from :attr:`RecordContext.tokens` (filled once per record by the engine's
tokenizer); no rule here encodes text again.
"""

from __future__ import annotations

from pydantic import Field

from ftprep.findings import Finding, Severity
from ftprep.model import Example
from ftprep.rules.base import RecordRule, Rule, RuleOptions
from ftprep.rules.context import RecordContext
from ftprep.targets import MAX_TOKENS_SOURCE
from ftprep.tokens.chat import TemplateFacts
from ftprep.trainers import TrainerProfile, kept_trained, profile
from ftprep.view import Traits


def _limit(ctx: RecordContext) -> int:
    """The per-example limit: the context's model spec already carries ``max-tokens``."""
    return ctx.model.max_tokens


def _limit_text(ctx: RecordContext) -> str:
    """``the 16,385-token limit of gpt-3.5-turbo (cl100k_base)``."""
    config = ctx.config
    tokenizer = config.tokenizer or ctx.model.encoding
    limit = _limit(ctx)
    if ctx.model.source == MAX_TOKENS_SOURCE:
        return f"the {limit:,}-token limit set by max-tokens (tokenizer {tokenizer})"
    return f"the {limit:,}-token limit of {ctx.model.name} ({tokenizer})"


class TooManyTokens(RecordRule):
    """The example has more tokens than the model accepts in one training example.

    Providers truncate such examples from the end (OpenAI) or reject the file, so the final
    assistant answer, the part the model learns from, is cut off or the job never starts.
    Self-hosted trainers truncate to the configured sequence length the same way. The count
    includes the chat overhead the provider adds (3 tokens per message plus the role, 3 reply
    priming tokens), tool definitions and tool-call arguments.

    Fix: shorten the conversation (drop early turns, trim long documents in the prompt), split
    it into several examples, or pick a model with a larger limit (``model = "gpt-4o-mini"``).
    """

    code = "T001"
    name = "too-many-tokens"
    severity = Severity.ERROR
    summary = "Example exceeds the model's per-example token limit"

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        """Report an example whose token count is over the limit (with a self-hosted
        tokenizer, T004 to T006 judge it from what the trainer keeps instead)."""
        total = ctx.tokens.total
        limit = _limit(ctx)
        if total <= limit or ctx.tokens.segments is not None:
            return []
        return [
            self.finding(
                example,
                f"example has {total:,} tokens, over {_limit_text(ctx)}",
                hint="shorten or split the conversation; the provider truncates it from the end",
                data={"tokens": total, "limit": limit},
            )
        ]


class NearTokenLimitOptions(RuleOptions):
    """Options of T002."""

    fraction: float = Field(0.9, gt=0.0, lt=1.0)
    """Warn at or above this share of the limit."""


class NearTokenLimit(RecordRule):
    """The example uses most of the model's per-example token limit (90% by default).

    It still fits, but a small edit (a longer system prompt, one more tool definition, another
    tokenizer) pushes it over, and examples this long dominate the cost of a job. It is also a
    hint that similar examples in production will not fit the context with room for an answer.

    Fix: trim what the example does not need, or accept it and raise ``fraction``
    (``[tool.ftprep.rules.T002] fraction = 0.95``).
    """

    code = "T002"
    name = "near-token-limit"
    severity = Severity.WARNING
    summary = "Example is close to the model's per-example token limit"
    Options = NearTokenLimitOptions
    options: NearTokenLimitOptions

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        """Report an example between ``fraction`` of the limit and the limit."""
        total = ctx.tokens.total
        limit = _limit(ctx)
        if not limit * self.options.fraction <= total <= limit:
            return []
        return [
            self.finding(
                example,
                f"example has {total:,} tokens, {total / limit:.0%} of {_limit_text(ctx)}",
                data={"tokens": total, "limit": limit},
            )
        ]


class ChatTemplateError(RecordRule):
    """The tokenizer's chat template refused the example.

    Self-hosted tokenizers render each conversation with the model's own chat template, and
    many templates raise on what the model was never trained to see: a system message the
    model does not support, roles that do not alternate, a tool call without a valid id. The
    trainer fails on the same example (or drops it), and its tokens cannot be counted.

    Fix: reshape the conversation as the template's message says (merge the system prompt into
    the first user turn, make user and assistant turns alternate), or use a tokenizer whose
    template accepts it.
    """

    code = "T003"
    name = "chat-template-error"
    severity = Severity.ERROR
    summary = "The tokenizer's chat template cannot render the example"

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only with a tokenizer that renders a chat template (``tokenizer`` set)."""
        return ctx.config.tokenizer is not None

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        """Report the template's own error message."""
        error = ctx.tokens.template_error
        if error is None:
            return []
        tokenizer = ctx.config.tokenizer or ctx.model.encoding
        return [self.finding(example, f"chat template of {tokenizer} failed: {error}")]


def _self_hosted(ctx: RecordContext) -> bool:
    return ctx.config.tokenizer is not None


class _Window:
    """What the trainer keeps of an example longer than its window."""

    __slots__ = ("kept", "total", "trained", "trainer", "window")

    def __init__(self, ctx: RecordContext, segments: list[int]):
        self.trainer: TrainerProfile = profile(ctx.config.trainer)
        self.window = _limit(ctx)
        self.total = ctx.tokens.total
        self.trained = ctx.tokens.trained
        self.kept = kept_trained(segments, self.window, self.trainer)

    @classmethod
    def of(cls, ctx: RecordContext) -> _Window | None:
        segments = ctx.tokens.segments
        return None if segments is None else cls(ctx, segments)

    def data(self, outcome: str) -> dict[str, object]:
        return {
            "tokens": self.total,
            "limit": self.window,
            "trained": self.trained,
            "lost": self.trained - self.kept,
            "trainer": self.trainer.name,
            "trainer_outcome": outcome,
        }


class PromptFillsWindow(RecordRule):
    """Nothing of the example's answers is left once the trainer cuts it to its sequence
    length: the untrained part (system prompt, documents, earlier turns) fills the window.

    The trainer keeps the row but every label is masked: it costs a training step and
    teaches nothing, and with some trainers a batch of such rows gives a NaN loss. Only with a
    self-hosted tokenizer (``tokenizer``) and the trainer's sequence length (``max-tokens``);
    ``trainer`` says how the trainer truncates (:mod:`ftprep.trainers`).

    Fix: shorten the prompt (trim the documents, drop early turns), or raise the sequence
    length.
    """

    code = "T004"
    name = "prompt-fills-window"
    severity = Severity.ERROR
    summary = "The untrained prompt fills the training window: nothing left to train on"

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only with a self-hosted tokenizer."""
        return _self_hosted(ctx)

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        """Report an over-long example of a truncating trainer that keeps no trained token."""
        view = _Window.of(ctx)
        if view is None or view.trainer.drops or view.trained == 0 or view.kept > 0:
            return []
        segments = ctx.tokens.segments or [0]
        return [
            self.finding(
                example,
                f"the {segments[0]:,} untrained tokens before the first answer and the rest of "
                f"the prompt leave none of the {view.trained:,} trained tokens in the window "
                f"({view.trainer.describe(view.window)})",
                hint="shorten the prompt or raise the sequence length",
                data=view.data("emptied"),
            )
        ]


class AnswerTruncated(RecordRule):
    """The trainer cuts the example's answer at its sequence length.

    The model learns an answer that stops mid-sentence, without its end-of-turn token, so it
    learns to stop nowhere. The message says how many trained tokens are lost, as the trainer
    (``trainer``) truncates: TRL and Unsloth keep the start, LLaMA-Factory shares the length
    between prompt and answer.

    Fix: shorten the example (trim the prompt, split a long answer), or raise the sequence
    length (``max-tokens`` and the trainer's own setting).
    """

    code = "T005"
    name = "answer-truncated"
    severity = Severity.WARNING
    summary = "The training window cuts the answer: trained tokens are lost"

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only with a self-hosted tokenizer."""
        return _self_hosted(ctx)

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        """Report an over-long example of a truncating trainer that loses trained tokens."""
        view = _Window.of(ctx)
        if view is None or view.trainer.drops or not 0 < view.kept < view.trained:
            return []
        lost = view.trained - view.kept
        return [
            self.finding(
                example,
                f"{lost:,} of {view.trained:,} trained tokens are cut off: the example has "
                f"{view.total:,} tokens and {view.trainer.describe(view.window)}",
                hint="shorten the example or raise the sequence length",
                data=view.data("cut"),
            )
        ]


class RowDroppedByTrainer(RecordRule):
    """The trainer drops the example: it is longer than the sequence length and the trainer
    (``trainer = "axolotl"``, whose ``excess_length_strategy`` is ``drop`` by default) removes
    such rows instead of truncating them.

    The row is silently missing from training; a dataset with many of them trains on fewer
    examples than it holds, and often on the shortest ones only.

    Fix: shorten or split the example, raise ``sequence_len``, or set the trainer to truncate
    (Axolotl: ``excess_length_strategy: truncate``).
    """

    code = "T006"
    name = "row-dropped-by-trainer"
    severity = Severity.ERROR
    summary = "The trainer drops the example: longer than its sequence length"

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only with a self-hosted tokenizer."""
        return _self_hosted(ctx)

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        """Report an over-long example of a trainer that drops long rows."""
        view = _Window.of(ctx)
        if view is None or not view.trainer.drops:
            return []
        return [
            self.finding(
                example,
                f"the example has {view.total:,} tokens and "
                f"{view.trainer.describe(view.window)}: its {view.trained:,} trained tokens "
                "are never seen",
                hint="shorten or split the example, or raise the sequence length",
                data=view.data("dropped"),
            )
        ]


def _template(ctx: RecordContext) -> TemplateFacts | None:
    return ctx.tokens.template


class TemplateDropsContent(RecordRule):
    """The chat template does not render part of the example at all: a system prompt, the
    tool definitions, a tool call, a reasoning field (``reasoning_content``, ``thinking``).

    Many templates silently skip what they do not know: a model without a system role drops
    the system message, a template without tool support drops ``tools`` and ``tool_calls``,
    and templates of reasoning models read only one of the field names in use. The model
    never sees that text in training, while the data says it should.

    Fix: move the content where the template renders it (merge the system prompt into the
    first user turn, put reasoning in the field the template reads), or use a template that
    supports it.
    """

    code = "T007"
    name = "template-drops-content"
    severity = Severity.WARNING
    summary = "The chat template does not render part of the example"

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only with a self-hosted tokenizer."""
        return _self_hosted(ctx)

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        """One finding per message (or the tool definitions) with unrendered content."""
        facts = _template(ctx)
        if facts is None or not facts.unrendered:
            return []
        roles = [m.role for m in example.conversation()]
        found = []
        for index, what in facts.unrendered:
            where = "the tools" if index is None else f"the {roles[index]} message"
            found.append(
                self.finding(
                    example,
                    f"the chat template does not render {what} of {where}",
                    message_index=index,
                    hint="put it where the template renders it, or use a template that does",
                    data={"what": what},
                )
            )
        return found


class EosOutsideTrainedSpan(RecordRule):
    """The end-of-turn token is written after the template's ``{% generation %}`` block,
    outside the trained span.

    Trainers that train on the generation blocks only (TRL's ``assistant_only_loss``,
    transformers' assistant mask) then never train the model to emit the end-of-turn token:
    the tuned model does not stop and runs on into a new turn.

    Fix: move the end-of-turn token inside ``{% generation %}`` in the template.
    """

    code = "T008"
    name = "eos-outside-trained-span"
    severity = Severity.WARNING
    summary = "The end-of-turn token is outside the trained span"

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only with a self-hosted tokenizer."""
        return _self_hosted(ctx)

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        """Report the token a generation block leaves outside."""
        facts = _template(ctx)
        if facts is None or facts.eos_outside is None:
            return []
        return [
            self.finding(
                example,
                f"{facts.eos_outside} follows the {{% generation %}} block instead of ending "
                "it: the model is never trained to stop",
                hint="move the end-of-turn token inside {% generation %}",
            )
        ]


class DoubleBos(RecordRule):
    """The token sequence starts with the BOS token twice.

    Either the data already starts with the BOS text and the template writes it again, or
    the template writes it and the tokenizer adds another when the trainer tokenizes the
    rendered text with special tokens (a ``text`` field made with ``apply_chat_template``).
    Models trained with two BOS tokens degrade quietly.

    Fix: remove the BOS text from the data, or tokenize the rendered text with
    ``add_special_tokens=False``.
    """

    code = "T009"
    name = "double-bos"
    severity = Severity.WARNING
    summary = "BOS token twice at the start of the sequence"
    # The template and the tokenizer (or the way the data was made) cause it on every row.
    per_file_summary = True

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only with a self-hosted tokenizer."""
        return _self_hosted(ctx)

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        """Report why the sequence starts with two BOS tokens."""
        facts = _template(ctx)
        if facts is None or facts.double_bos is None:
            return []
        return [self.finding(example, facts.double_bos)]


class NoTrainedTokens(RecordRule):
    """The example has answers, but the chat template marks none of their tokens as trained.

    A template with ``{% generation %}`` blocks decides what is trained (TRL's
    ``assistant_only_loss``, transformers' assistant mask); when its blocks do not cover the
    assistant turns (they are written for another role name, or around the wrong part), the
    trainer masks every label and the row teaches nothing (a batch of them gives a NaN loss).
    Examples without an answer are S009's and C001's findings.

    Fix: make the template's generation blocks cover the assistant turns, or rename the
    roles as the template expects them.
    """

    code = "T010"
    name = "no-trained-tokens"
    severity = Severity.ERROR
    summary = "The chat template marks no token of the answers as trained"

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only with a self-hosted tokenizer, for examples with an assistant turn."""
        return _self_hosted(ctx) and "assistant" in traits.roles

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        """Report a rendered example whose trained answers give no trained token."""
        tokens = ctx.tokens
        if not _self_hosted(ctx) or tokens.template_error is not None or tokens.trained:
            return []
        answers = sum(
            1
            for m in example.conversation()
            if m.role == "assistant" and m.weight != 0 and m.text().strip()
        )
        if not answers or not tokens.total:
            return []
        return [
            self.finding(
                example,
                f"none of the {tokens.total:,} tokens of the rendered example is trained, "
                f"though it has {answers} answer{'s' * (answers > 1)}",
                hint="make the template's generation blocks cover the assistant turns",
            )
        ]


class InferencePromptMismatch(RecordRule):
    """The inference prompt (the template with ``add_generation_prompt``) differs from the
    training rendering before the last answer.

    The model is trained to answer after one sequence and asked to answer after another at
    inference: the answer's tokens are shifted (a ``<think>`` block the training rendering
    strips, whitespace the template trims, a header written differently), and the tuned
    model behaves worse than the data promises.

    Fix: render the training data and the prompts with the same template path, or fix the
    template so that the generation prompt is a prefix of the training rendering.
    """

    code = "T011"
    name = "inference-prompt-mismatch"
    severity = Severity.WARNING
    summary = "Training and inference renderings differ before the answer"

    def relevant(self, traits: Traits, ctx: RecordContext) -> bool:
        """Only with a self-hosted tokenizer."""
        return _self_hosted(ctx)

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        """Report where the two renderings part."""
        facts = _template(ctx)
        if facts is None or facts.prompt_shift is None:
            return []
        return [self.finding(example, facts.prompt_shift)]


RULES: tuple[type[Rule], ...] = (
    TooManyTokens,
    NearTokenLimit,
    ChatTemplateError,
    PromptFillsWindow,
    AnswerTruncated,
    RowDroppedByTrainer,
    TemplateDropsContent,
    EosOutsideTrainedSpan,
    DoubleBos,
    NoTrainedTokens,
    InferencePromptMismatch,
)
