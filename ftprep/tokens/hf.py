"""Exact token counts for self-hosted open models: a Hugging Face ``tokenizer.json`` and the
chat template of its ``tokenizer_config.json``, rendered with jinja2 the way transformers'
``apply_chat_template`` renders it.

The rendered conversation is encoded without adding special tokens (the template writes them),
so the count is what the trainer sees. Trained tokens are the tokens inside the template's
``{% generation %}`` blocks when it has them (transformers' assistant mask), otherwise inside
the assistant turns' content. Texts are encoded in batches by the Rust tokenizer.

Needs the ``hf`` extra (``tokenizers``, ``jinja2``). Nothing is downloaded: the tokenizer is a
local file or folder.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftprep.model import Example, Message
from ftprep.tokens.chat import ExampleTokens

if TYPE_CHECKING:
    import jinja2
    import tokenizers

# Private-use characters that mark where assistant spans start and end in a rendering.
_OPEN, _CLOSE = "\ue000", "\ue001"


class MissingExtra(ImportError):
    """An optional dependency is not installed; the message names the extra."""


def _require_hf() -> tuple[Any, Any]:
    try:
        import jinja2.sandbox
        import tokenizers
    except ImportError as err:
        raise MissingExtra(
            f"counting with a Hugging Face tokenizer needs {err.name!r}: pip install 'ftprep[hf]'"
        ) from None
    return jinja2, tokenizers


class TemplateError(ValueError):
    """The chat template raised for an example (its own message is kept)."""


class TemplateLimitError(TemplateError):
    """Rendering one example went over :data:`RENDER_SECONDS` or :data:`RENDER_CHARS`."""


RENDER_SECONDS = 5.0
"""How long one rendering of one example may take (real templates take well under 1 ms)."""
RENDER_CHARS = 1 << 22
"""How many characters one rendering may write beyond 8 per character of the example's
messages (a template writes its texts once, plus markup)."""


class _Budget:
    """The limits of the rendering under way; checked by the sandbox on every call,
    attribute and item lookup, on every piece of output, and (in the main thread) by an
    alarm, so a loop that does none of these is stopped too."""

    __slots__ = ("deadline",)

    def __init__(self) -> None:
        self.deadline = float("inf")

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateLimitError(
                f"rendering took over the time limit of {RENDER_SECONDS:g} s per example "
                "(nested loops?)"
            )

    @contextmanager
    def running(self) -> Iterator[None]:
        """The block under the time limit."""
        self.deadline = time.monotonic() + RENDER_SECONDS
        alarm = threading.current_thread() is threading.main_thread() and (
            signal.getitimer(signal.ITIMER_REAL)[0] == 0  # nobody else's alarm is set
        )
        armed = [alarm]

        def expire(_signum: int, _frame: object) -> None:
            if armed[0]:
                self.deadline = 0.0
                self.check()

        if alarm:
            previous = signal.signal(signal.SIGALRM, expire)
            signal.setitimer(signal.ITIMER_REAL, RENDER_SECONDS + 0.05)
        try:
            yield
        finally:
            armed[0] = False
            self.deadline = float("inf")
            if alarm:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)


def _load_config(folder: Path) -> dict[str, Any]:
    path = folder / "tokenizer_config.json"
    if not path.is_file():
        return {}
    config: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return config


def _token_text(value: Any) -> str:
    """``bos_token`` and friends are strings or ``{"content": ...}`` added-token objects."""
    if isinstance(value, dict):
        return str(value.get("content", ""))
    return "" if value is None else str(value)


def _compile_template(source: str) -> jinja2.Template:
    """Compile a chat template in a sandbox, with the globals transformers provides and a
    ``{% generation %}`` tag that marks trained spans."""
    _require_hf()
    from jinja2 import nodes
    from jinja2.ext import Extension
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class GenerationTracker(Extension):
        tags = {"generation"}  # noqa: RUF012 - jinja2 declares it as an instance attribute

        def parse(self, parser: Any) -> Any:
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return nodes.CallBlock(self.call_method("_mark", []), [], [], body).set_lineno(lineno)

        def _mark(self, caller: Callable[[], str]) -> str:
            return f"{_OPEN}{caller()}{_CLOSE}"

    def raise_exception(message: str) -> None:
        raise TemplateError(message)

    def tojson(value: Any, indent: int | None = None, **_: Any) -> str:
        return json.dumps(value, ensure_ascii=False, indent=indent)

    class Limited(ImmutableSandboxedEnvironment):
        """Checks the time limit wherever a loop body reaches the sandbox."""

        budget = _Budget()

        def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
            __self.budget.check()
            return super().call(__context, __obj, *args, **kwargs)

        def getattr(self, obj: Any, attribute: str) -> Any:
            self.budget.check()
            return super().getattr(obj, attribute)

        def getitem(self, obj: Any, argument: Any) -> Any:
            self.budget.check()
            return super().getitem(obj, argument)

    env = Limited(trim_blocks=True, lstrip_blocks=True, extensions=[GenerationTracker])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    template: jinja2.Template = env.from_string(source)
    return template


def message_dict(message: Message) -> dict[str, Any]:
    """A message as the dict chat templates expect (``role``, ``content`` and the rest)."""
    data: dict[str, Any] = {"role": message.role, "content": message.text()}
    if isinstance(message.tool_calls, list) and message.tool_calls:
        data["tool_calls"] = [
            c.model_dump(mode="json", exclude_none=True) if hasattr(c, "model_dump") else c
            for c in message.tool_calls
        ]
    for key in ("name", "tool_call_id"):
        value = getattr(message, key)
        if value is not None:
            data[key] = value
    return data


class HFChatTokenizer:
    """Counts examples with a Hugging Face tokenizer and its chat template."""

    def __init__(self, path: str | Path):
        _, tokenizers_module = _require_hf()
        location = Path(path)
        folder = location if location.is_dir() else location.parent
        tokenizer_file = location / "tokenizer.json" if location.is_dir() else location
        if not tokenizer_file.is_file():
            raise FileNotFoundError(
                f"no tokenizer.json at {location}; give a tokenizer.json file or a model folder"
            )
        self.name = str(location)
        self._tokenizer: tokenizers.Tokenizer = tokenizers_module.Tokenizer.from_file(
            str(tokenizer_file)
        )
        config = _load_config(folder)
        template = config.get("chat_template")
        if isinstance(template, list):  # named templates: use "default"
            named = {t.get("name"): t.get("template") for t in template}
            template = named.get("default") or next(iter(named.values()), None)
        if not template:
            raise ValueError(
                f"{folder / 'tokenizer_config.json'} has no chat_template; "
                "a self-hosted count needs the template the trainer will apply"
            )
        self._template = _compile_template(template)
        self._special = {
            key: _token_text(config.get(key))
            for key in ("bos_token", "eos_token", "unk_token", "pad_token")
        }
        self.has_generation_blocks = "{% generation %}" in template or "{%- generation" in (
            template
        )

    def render(self, messages: Sequence[dict[str, Any]], tools: Any = None) -> str:
        """The conversation as the template renders it for training (no generation prompt).

        Raises :class:`TemplateLimitError` when the rendering takes over
        :data:`RENDER_SECONDS` or writes over :data:`RENDER_CHARS` (plus 8 per character of
        the messages)."""
        budget: _Budget = self._template.environment.budget  # type: ignore[attr-defined]
        limit = RENDER_CHARS + 8 * sum(len(str(m.get("content") or "")) for m in messages)
        pieces: list[str] = []
        size = 0
        with budget.running():
            for piece in self._template.generate(
                messages=list(messages),
                tools=tools,
                add_generation_prompt=False,
                **self._special,
            ):
                size += len(piece)
                if size > limit:
                    raise TemplateLimitError(
                        f"rendering wrote over the size limit of {limit:,} characters for "
                        "one example"
                    )
                budget.check()
                pieces.append(piece)
        return "".join(pieces)

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (no special tokens added: templates write their own)."""
        ids: list[int] = self._tokenizer.encode(text, add_special_tokens=False).ids
        return ids

    def count(self, example: Example) -> ExampleTokens:
        """Count one example (see :meth:`count_batch`)."""
        return self.count_batch([example])[0]

    def count_batch(self, examples: Sequence[Example]) -> list[ExampleTokens]:
        """Count examples: render each, then encode all renderings and their trained spans
        in one batch. A template error becomes ``ExampleTokens.template_error``."""
        results: list[ExampleTokens] = []
        texts: list[str] = []
        plans: list[tuple[ExampleTokens, int, list[int]]] = []
        for example in examples:
            result = ExampleTokens()
            results.append(result)
            try:
                whole, trained_spans = self._render_with_spans(example)
            except Exception as err:  # the template's own message is the finding
                result.template_error = f"{type(err).__name__}: {err}"
                continue
            first = len(texts)
            texts.append(whole)
            texts.extend(trained_spans)
            plans.append((result, first, list(range(first + 1, first + 1 + len(trained_spans)))))
            by_role = result.by_role
            for message in example.conversation():
                role = message.role if isinstance(message.role, str) else ""
                by_role[role] = by_role.get(role, 0)
        if texts:
            # Only the ids are read: the fast variant (tokenizers >= 0.20) skips computing
            # character offsets and takes about half the time.
            encode = getattr(self._tokenizer, "encode_batch_fast", self._tokenizer.encode_batch)
            encoded = encode(texts, add_special_tokens=False)
            for result, whole_index, span_indices in plans:
                result.total = len(encoded[whole_index].ids)
                result.trained = sum(len(encoded[i].ids) for i in span_indices)
        return results

    def _render_with_spans(self, example: Example) -> tuple[str, list[str]]:
        """The rendering and the texts of its trained spans."""
        messages = [message_dict(m) for m in example.conversation()]
        tools = example.tools if isinstance(example.tools, list) else None
        if self.has_generation_blocks:
            marked = self.render(messages, tools)
            return _strip_marks(marked), _spans(marked)
        whole = self.render(messages, tools)
        for data in messages:
            if data["role"] == "assistant" and data["content"]:
                data["content"] = f"{_OPEN}{data['content']}{_CLOSE}"
        marked = self.render(messages, tools)
        if _strip_marks(marked) != whole:
            # The template rewrites content (trims it, say): fall back to the raw content.
            return whole, [m.text() for m in example.conversation() if m.role == "assistant"]
        return whole, _spans(marked)


def _strip_marks(text: str) -> str:
    return text.replace(_OPEN, "").replace(_CLOSE, "")


def _spans(marked: str) -> list[str]:
    spans = []
    for piece in marked.split(_OPEN)[1:]:
        inside, _, _ = piece.partition(_CLOSE)
        spans.append(inside)
    return spans
