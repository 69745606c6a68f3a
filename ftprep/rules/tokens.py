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
        """Report an example whose token count is over the limit."""
        total = ctx.tokens.total
        limit = _limit(ctx)
        if total <= limit:
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


RULES: tuple[type[Rule], ...] = (TooManyTokens, NearTokenLimit, ChatTemplateError)
