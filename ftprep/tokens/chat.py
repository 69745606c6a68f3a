"""Counting the tokens of a chat example the way OpenAI-style tools do.

Each message costs its text tokens plus a fixed overhead (``<|start|>{role}<|message|>...
<|end|>``: 3 tokens plus the role's own tokens), a ``name`` one more token, and every
example is primed with 3 reply tokens. This is the formula of the OpenAI cookbook
(``num_tokens_from_messages``) that the cookbook's fine-tuning data check uses; on the
cookbook's toy data it gives the cookbook's own figures (longest example 8,032 tokens with
``cl100k_base``).

Beyond text, the counter includes what the provider also renders into the sequence: tool calls
(function name and arguments), tool definitions (the cookbook's ``num_tokens_for_tools``
formula: name and description, then ``name:type:description`` per parameter, with fixed
overheads per function, parameter and enum value), legacy ``functions`` and ``function_call``,
refusals, and image parts (a fixed lower bound per image, see :data:`TOKENS_PER_IMAGE`).

For preference data the limit applies to the prompt with each continuation, so ``total`` is
the prompt plus the longer of ``chosen`` and ``rejected``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from ftprep.model import SYSTEM_ROLES, ContentPart, Example, Message, ToolCall
from ftprep.tokens.encodings import get_encoding, ids_encoder

TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3
TOKENS_PER_TOOL_CALL = 3
TOKENS_PER_IMAGE = 85
"""An image's cost at ``detail: low`` on gpt-4o-class models; high detail adds 170 per 512-px
tile, which needs the image's size, so image counts are a lower bound."""


@dataclass(frozen=True, slots=True)
class ToolOverheads:
    """Fixed token overheads of tool definitions (the cookbook's ``num_tokens_for_tools``)."""

    function: int
    parameters: int = 3
    parameter: int = 3
    enum: int = -3
    enum_value: int = 3
    end: int = 12


#: Overheads by encoding: gpt-3.5-turbo / gpt-4 (cl100k_base) and gpt-4o-class (o200k_base).
TOOL_OVERHEADS: dict[str, ToolOverheads] = {
    "cl100k_base": ToolOverheads(function=10),
    "o200k_base": ToolOverheads(function=7),
}


@dataclass(slots=True)
class ExampleTokens:
    """Token facts of one example.

    ``total`` is what the provider counts against the per-example limit and bills;
    ``trained`` the tokens of assistant turns that are trained on (weight not 0);
    ``by_role`` the content tokens per role; ``per_message`` each message's cost, in
    :meth:`Example.iter_messages` order (counters that render whole conversations leave it
    empty).
    """

    total: int = 0
    trained: int = 0
    by_role: dict[str, int] = field(default_factory=dict)
    per_message: list[int] = field(default_factory=list)
    template_error: str | None = None
    """Set when a chat template raised for the example (self-hosted tokenizers)."""
    segments: list[int] | None = None
    """Token counts of the rendering's runs, untrained first then trained, alternating
    (``[prompt, answer, next prompt, next answer...]``): set by self-hosted tokenizers for an
    example longer than their window, so a trainer's truncation can be replayed. When the
    answers cannot be placed in the rendering (a template that rewrites them), the runs are
    ``[untrained, trained]``: the trained tokens are taken to end the example."""
    template: TemplateFacts | None = None
    """What a chat template made of the example (self-hosted Hugging Face tokenizers)."""


@dataclass(slots=True)
class TemplateFacts:
    """What rendering an example with a chat template showed, for the template rules.

    ``unrendered`` lists ``(message index, what)`` for content the rendering does not hold
    (``what`` is ``"content"``, ``"reasoning"``, ``"tool call get_weather"`` or, with index
    ``None``, ``"tool definition get_weather"``); ``eos_outside`` the end-of-turn token the
    template writes right after a ``{% generation %}`` block instead of inside it;
    ``double_bos`` why the sequence starts with two BOS tokens; ``prompt_shift`` how the
    inference rendering (``add_generation_prompt``) differs from the training rendering
    before the last answer."""

    unrendered: list[tuple[int | None, str]] = field(default_factory=list)
    eos_outside: str | None = None
    double_bos: str | None = None
    prompt_shift: str | None = None


class Tokenizer(Protocol):
    """What the token rules need from a tokenizer."""

    name: str

    def count(self, example: Example) -> ExampleTokens:
        """Count the tokens of ``example`` as the trainer will see it."""
        ...


#: How many distinct system prompts a counter keeps encoded.
_PROMPTS_KEPT = 64
#: Keys of a message whose cost is its role and text alone.
_PLAIN_KEYS = frozenset({"role", "content", "weight"})
#: The lists of messages of an example, in :meth:`Example.iter_messages` order.
_MESSAGE_FIELDS = ("messages", "chosen", "rejected")


class TiktokenChatCounter:
    """OpenAI-style chat token counting with an offline tiktoken encoding.

    >>> counter = TiktokenChatCounter("cl100k_base")
    >>> ex = Example.model_validate({"messages": [{"role": "user", "content": "hi"}]})
    >>> counter.count(ex).total  # 3 priming + 3 per message + "user" + "hi"
    8
    """

    def __init__(self, encoding: str = "o200k_base"):
        self.name = encoding
        self._encoding = get_encoding(encoding)
        self._encode = self._encoding.encode_ordinary
        self._ids = ids_encoder(self._encoding)
        self._small: dict[str, int] = {}
        self._prompts: dict[str, int] = {}
        self._tools = TOOL_OVERHEADS.get(encoding, TOOL_OVERHEADS["o200k_base"])

    def _small_count(self, text: str) -> int:
        # Roles, names and tool names repeat on every message: count each distinct one once.
        cached = self._small.get(text)
        if cached is None:
            cached = len(self._encode(text))
            if len(self._small) < 4096:
                self._small[text] = cached
        return cached

    def _prompt_tokens(self, text: str) -> int:
        # A system prompt usually repeats on every record of a file: encode each distinct one
        # once.
        count = self._prompts.get(text)
        if count is None:
            count = len(self._ids(text)) >> 2
            if len(self._prompts) >= _PROMPTS_KEPT:
                self._prompts.clear()
            self._prompts[text] = count
        return count

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (special tokens are treated as ordinary text)."""
        return self._encode(text)

    def count_batch(self, examples: Sequence[Example]) -> list[ExampleTokens]:
        """:meth:`count` of each of ``examples``.

        While the encoding works on part of its vocabulary
        (:class:`~ftprep.tokens.subset.GrowingCore`), the batch is first counted by a twin
        of this counter that only notes the texts it would encode, and the encoding takes
        them all in at once: one rebuild of its tables for the batch, not one per new text.
        """
        cover = getattr(self._encoding, "cover", None)
        if cover is not None and getattr(self._encoding, "growing", False):
            texts: list[str] = []

            def note(text: str) -> list[int]:
                texts.append(text)
                return []

            twin = copy.copy(self)
            twin._encode = note
            twin._ids = lambda text: bytes(note(text))
            twin._small = {}
            twin._prompts = {}
            for example in examples:
                twin.count(example)
            cover(texts)
        return [self.count(example) for example in examples]

    def count(self, example: Example) -> ExampleTokens:
        """Count ``example``: messages (or prompt plus the longer preference branch), tools."""
        per_message: list[int] = []
        by_role: dict[str, int] = {}
        prompt = longer_branch = 0
        encode = self._ids
        role_costs = self._small
        trained = 0
        for field_name in _MESSAGE_FIELDS:
            messages = getattr(example, field_name)
            if not isinstance(messages, list):
                continue
            branch = 0
            for message in messages:
                if not isinstance(message, Message):
                    continue
                role = message.role
                if not isinstance(role, str):
                    role = ""
                content = message.content
                if type(content) is str and message.__pydantic_fields_set__ <= _PLAIN_KEYS:
                    # The common message, role and text (and a weight): nothing else to count.
                    if role in SYSTEM_ROLES:
                        text_tokens = self._prompt_tokens(content)
                    else:
                        text_tokens = len(encode(content)) >> 2
                    cost = 0
                else:
                    text = content if isinstance(content, str) else message.text()
                    text_tokens = len(encode(text)) >> 2
                    cost = self._beyond_text_cost(message)
                role_tokens = role_costs.get(role)
                if role_tokens is None:
                    role_tokens = self._small_count(role)
                cost += TOKENS_PER_MESSAGE + role_tokens + text_tokens
                by_role[role] = by_role.get(role, 0) + text_tokens
                if role == "assistant" and message.weight != 0:
                    trained += cost - TOKENS_PER_MESSAGE - role_tokens
                per_message.append(cost)
                branch += cost
            if field_name == "messages":
                prompt = branch
            elif branch > longer_branch:
                longer_branch = branch
        total = REPLY_PRIMING + prompt + longer_branch
        if example.tools is not None:
            total += self.tools_cost(example.tools)
        if example.functions is not None:
            total += self.tools_cost(example.functions)
        return ExampleTokens(total, trained, by_role, per_message)

    def _beyond_text_cost(self, message: Message) -> int:
        """What a message costs besides its role and text: images, name, tool calls, legacy
        function call, tool-call id, refusal."""
        cost = 0
        content = message.content
        if isinstance(content, list):
            cost += TOKENS_PER_IMAGE * sum(
                1 for p in content if isinstance(p, ContentPart) and p.type == "image_url"
            )
        if isinstance(message.name, str):
            cost += TOKENS_PER_NAME + self._small_count(message.name)
        if isinstance(message.tool_calls, list):
            for call in message.tool_calls:
                cost += self._tool_call_cost(call)
        if message.function_call is not None:
            cost += self._json_cost(message.function_call)
        if isinstance(message.tool_call_id, str):
            cost += self._small_count(message.tool_call_id)
        if isinstance(message.refusal, str):
            cost += len(self._encode(message.refusal))
        return cost

    def _tool_call_cost(self, call: ToolCall | Any) -> int:
        if not isinstance(call, ToolCall):
            return self._json_cost(call)
        function = call.function
        name = getattr(function, "name", None)
        arguments = getattr(function, "arguments", None)
        cost = TOKENS_PER_TOOL_CALL
        if isinstance(name, str):
            cost += self._small_count(name)
        if isinstance(arguments, str):
            cost += len(self._encode(arguments))
        elif arguments is not None:
            cost += self._json_cost(arguments)
        return cost

    def tools_cost(self, tools: Any) -> int:
        """Tokens of a ``tools`` (or legacy ``functions``) list.

        Well-formed function definitions follow the cookbook's formula; parameters nested in
        object parameters are counted the same way, one level down. Anything else is counted
        on its JSON text.
        """
        if not isinstance(tools, list):
            return self._json_cost(tools)
        overheads = self._tools
        cost = 0
        for tool in tools:
            function = tool.get("function", tool) if isinstance(tool, dict) else None
            if not isinstance(function, dict) or not isinstance(function.get("name"), str):
                cost += self._json_cost(tool)
                continue
            description = _text(function.get("description")).removesuffix(".")
            cost += overheads.function
            cost += len(self._encode(f"{function['name']}:{description}"))
            cost += self._parameters_cost(function.get("parameters"))
        if tools:
            cost += overheads.end
        return cost

    def _parameters_cost(self, schema: Any) -> int:
        if not isinstance(schema, dict):
            return 0 if schema is None else self._json_cost(schema)
        properties = schema.get("properties")
        if not isinstance(properties, dict) or not properties:
            return 0
        overheads = self._tools
        cost = overheads.parameters
        for key, spec in properties.items():
            cost += overheads.parameter
            if not isinstance(spec, dict):
                cost += len(self._encode(f"{key}:")) + self._json_cost(spec)
                continue
            enum = spec.get("enum")
            if isinstance(enum, list):
                cost += overheads.enum
                for value in enum:
                    cost += overheads.enum_value + len(self._encode(_text(value)))
            kind = _text(spec.get("type"))
            description = _text(spec.get("description")).removesuffix(".")
            cost += len(self._encode(f"{key}:{kind}:{description}"))
            cost += self._parameters_cost(spec)
            items = spec.get("items")
            if isinstance(items, dict):
                cost += self._parameters_cost(items)
        return cost

    def _json_cost(self, value: Any) -> int:
        try:
            text = orjson.dumps(value).decode()
        except TypeError:
            text = str(value)
        return len(self._encode(text))


def _text(value: Any) -> str:
    """A schema value as the text the template writes (``""`` for absent)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode() if isinstance(value, list | dict) else str(value)
