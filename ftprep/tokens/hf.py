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

import functools
import json
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from ftprep.model import Example, Message
from ftprep.tokens.bytelevel import PieceCounter
from ftprep.tokens.chat import ExampleTokens, TemplateFacts

if TYPE_CHECKING:
    import jinja2
    import tokenizers

# Private-use characters that mark where assistant spans start and end in a rendering.
_OPEN, _CLOSE = "\ue000", "\ue001"
# Where each turn of the message loop starts, in templates whose turns are prefix-stable.
_TURN = "\ue002"


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

    __slots__ = ("_armed", "_held", "deadline")

    def __init__(self) -> None:
        self.deadline = float("inf")
        self._armed = False
        self._held = False

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateLimitError(
                f"rendering took over the time limit of {RENDER_SECONDS:g} s per example "
                "(nested loops?)"
            )

    def _expire(self, _signum: int, _frame: object) -> None:
        if self._armed:
            self.deadline = 0.0
            self.check()

    @staticmethod
    def _may_alarm() -> bool:
        return threading.current_thread() is threading.main_thread() and (
            signal.getitimer(signal.ITIMER_REAL)[0] == 0  # nobody else's alarm is set
        )

    @contextmanager
    def holding(self) -> Iterator[None]:
        """Keep the alarm's handler installed over the renderings of the block (installing
        and restoring it around each costs a sixth of a short rendering)."""
        if self._held or not self._may_alarm():
            yield
            return
        previous = signal.signal(signal.SIGALRM, self._expire)
        self._held = True
        try:
            yield
        finally:
            self._held = False
            signal.signal(signal.SIGALRM, previous)

    @contextmanager
    def running(self) -> Iterator[None]:
        """The block under the time limit."""
        self.deadline = time.monotonic() + RENDER_SECONDS
        held = self._held and threading.current_thread() is threading.main_thread()
        alarm = held or self._may_alarm()
        if alarm:
            if not held:
                previous = signal.signal(signal.SIGALRM, self._expire)
            self._armed = True
            signal.setitimer(signal.ITIMER_REAL, RENDER_SECONDS + 0.05)
        try:
            yield
        finally:
            self._armed = False
            self.deadline = float("inf")
            if alarm:
                signal.setitimer(signal.ITIMER_REAL, 0)
                if not held:
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


#: Attributes of ``loop`` that depend only on the turns so far, not on those after.
_LOOKBACK = frozenset(
    {"index", "index0", "first", "previtem", "cycle", "changed", "depth", "depth0"}
)
#: Nodes a constant generation prompt is made of.
_CONSTANT = ("Output", "TemplateData", "Const", "Name", "Add", "Concat")


def _reads(node: jinja2.nodes.Node, names: set[str]) -> bool:
    from jinja2 import nodes

    return any(name.name in names for name in node.find_all(nodes.Name))


def _reads_past_first(node: jinja2.nodes.Node, names: set[str]) -> bool:
    """Whether ``node`` reads the messages (``names``) other than as ``messages[0]``, which is
    the same message in the inference prompt's shorter conversation."""
    from jinja2 import nodes

    firsts = {
        id(item.node)
        for item in node.find_all(nodes.Getitem)
        if isinstance(item.arg, nodes.Const) and item.arg.value == 0
    }
    return any(n.name in names and id(n) not in firsts for n in node.find_all(nodes.Name))


def _turn_marked(
    template: jinja2.Template, source: str, specials: dict[str, str]
) -> tuple[jinja2.Template, str] | None:
    """For a template whose rendering of the first turns does not depend on the turns after
    them, the same template writing :data:`_TURN` where each turn starts, and the generation
    prompt it appends; ``None`` for any other template.

    Such a template's inference prompt for the last answer is the training rendering up to
    the last turn plus that constant prompt, so it need not be rendered. The template must
    be: statements that read ``messages`` only as ``messages[0]`` (``{% set x = messages %}``
    aside), one loop over the messages whose body reads neither ``messages`` nor ``loop``'s
    look-ahead (``last``, ``length``, ``revindex``, ``nextitem``), then at most an
    ``{% if add_generation_prompt %}`` writing constant text and special tokens.
    ``messages[0]`` is the same in the inference prompt's conversation because the prompt is
    only derived for conversations of two messages or more (:meth:`HFChatTokenizer.rendering`).
    """
    from jinja2 import nodes

    environment = template.environment
    tree = environment.parse(source)
    aliases = {"messages"}
    unsafe = (nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport, nodes.Block)
    if any(True for _ in tree.find_all(unsafe)):
        return None

    body = tree.body
    start = next((i for i, node in enumerate(body) if isinstance(node, nodes.For)), None)
    if start is None:
        return None
    for node in body[:start]:
        if (
            isinstance(node, nodes.Assign)
            and isinstance(node.target, nodes.Name)
            and isinstance(node.node, nodes.Name)
            and node.node.name in aliases
        ):
            aliases.add(node.target.name)
        elif _reads(node, {"add_generation_prompt"}) or _reads_past_first(node, aliases):
            return None
    loop = body[start]
    assert isinstance(loop, nodes.For)
    if not (
        isinstance(loop.iter, nodes.Name)
        and loop.iter.name in aliases
        and loop.test is None
        and not loop.else_
        and not loop.recursive
    ):
        return None
    turn = nodes.Template(loop.body)
    if _reads(turn, aliases | {"add_generation_prompt"}):
        return None
    looked = {id(n.node) for n in turn.find_all(nodes.Getattr) if n.attr in _LOOKBACK}
    if any(n.name == "loop" and id(n) not in looked for n in turn.find_all(nodes.Name)):
        return None
    tail = body[start + 1 :]
    prompt = ""
    if tail:
        last = tail[0]
        if (
            len(tail) > 1
            or not isinstance(last, nodes.If)
            or not isinstance(last.test, nodes.Name)
            or last.test.name != "add_generation_prompt"
            or last.elif_
            or last.else_
        ):
            return None
        constant = nodes.Template(last.body)
        kinds = {type(n).__name__ for n in constant.find_all(nodes.Node)}
        names = {n.name for n in constant.find_all(nodes.Name)}
        if not kinds <= set(_CONSTANT) or not names <= set(specials):
            return None
        prompt = environment.from_string(constant).render(**specials)
    loop.body.insert(0, nodes.Output([nodes.TemplateData(_TURN)]))
    return environment.from_string(tree), prompt


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


#: Message keys reasoning models' templates read the reasoning from.
REASONING_KEYS = ("reasoning_content", "reasoning", "thinking")


def template_messages(example: Example) -> list[dict[str, Any]]:
    """The conversation as a chat template reads it: :func:`message_dict` of each message,
    with the reasoning fields of reasoning models (``reasoning_content``...) kept."""
    messages = []
    for message in example.conversation():
        data = message_dict(message)
        extra = message.model_extra or {}
        for key in REASONING_KEYS:
            if isinstance(extra.get(key), str):
                data[key] = extra[key]
        messages.append(data)
    return messages


@dataclass(slots=True)
class Rendering:
    """An example rendered for training: the text, the same text with the trained spans
    between private-use marks (``None`` when they cannot be placed), and what the template
    checks found."""

    whole: str
    marked: str | None
    facts: TemplateFacts

    def runs(self) -> list[str]:
        """The rendering cut at the span marks: untrained first, then trained, alternating."""
        if self.marked is None:
            return [self.whole]
        runs: list[str] = []
        for piece in self.marked.split(_OPEN):
            inside, closed, after = piece.partition(_CLOSE)
            if closed:
                runs.extend((inside, after))
            elif runs:
                runs[-1] += piece
            else:
                runs.append(piece)
        return runs


class HFChatTokenizer:
    """Counts examples with a Hugging Face tokenizer and its chat template.

    ``chat_template`` is a Jinja file that replaces the tokenizer's own template.
    ``window`` is the training sequence length: for an example longer than it, the token
    runs (:attr:`ExampleTokens.segments`) are counted too, so a trainer's truncation can be
    replayed (:mod:`ftprep.trainers`).
    """

    def __init__(
        self,
        path: str | Path,
        window: int | None = None,
        chat_template: str | Path | None = None,
    ):
        _, tokenizers_module = _require_hf()
        location = Path(path)
        folder = location if location.is_dir() else location.parent
        tokenizer_file = location / "tokenizer.json" if location.is_dir() else location
        if not tokenizer_file.is_file():
            raise FileNotFoundError(
                f"no tokenizer.json at {location}; give a tokenizer.json file or a model folder"
            )
        self.name = str(location)
        self.window = window
        self._file = tokenizer_file
        self._tokenizer: tokenizers.Tokenizer = tokenizers_module.Tokenizer.from_file(
            str(tokenizer_file)
        )
        # A tokenizer.json may carry the settings it was last used with: counts are of the
        # whole text, and each text's own.
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        config = _load_config(folder)
        template = config.get("chat_template")
        if chat_template is not None:
            template = Path(chat_template).read_text(encoding="utf-8")
        if isinstance(template, list):  # named templates: use "default"
            named = {t.get("name"): t.get("template") for t in template}
            template = named.get("default") or next(iter(named.values()), None)
        if not template:
            raise ValueError(
                f"{folder / 'tokenizer_config.json'} has no chat_template; "
                "a self-hosted count needs the template the trainer will apply"
            )
        self._template = _compile_template(template)
        self._globals = dict(self._template.globals)
        self._special = {
            key: _token_text(config.get(key))
            for key in ("bos_token", "eos_token", "unk_token", "pad_token")
        }
        self.has_generation_blocks = "{% generation %}" in template or "{%- generation" in (
            template
        )
        self._has_generation_prompt = "add_generation_prompt" in template
        self._turns = _turn_marked(self._template, template, self._special)
        specials = [
            t.content for t in self._tokenizer.get_added_tokens_decoder().values() if t.special
        ]
        eos = self._special["eos_token"]
        #: Tokens that end a turn: the EOS and the special tokens named like an end.
        self._ends: tuple[str, ...] = tuple(
            dict.fromkeys(
                [eos] * bool(eos)
                + [t for t in specials if "end" in t.lower() or "eot" in t.lower() or t == "</s>"]
            )
        )
        bos = self._special["bos_token"]
        bos_id = self._tokenizer.token_to_id(bos) if bos else None
        added = self._tokenizer.encode("a", add_special_tokens=True).ids
        #: The tokenizer's post-processor puts BOS in front of every text it encodes.
        self._adds_bos = bos_id is not None and bool(added) and added[0] == bos_id

    def render(
        self,
        messages: Sequence[dict[str, Any]],
        tools: Any = None,
        *,
        add_generation_prompt: bool = False,
    ) -> str:
        """The conversation as the template renders it: for training (no generation prompt),
        or for inference (``add_generation_prompt``).

        Raises :class:`TemplateLimitError` when the rendering takes over
        :data:`RENDER_SECONDS` or writes over :data:`RENDER_CHARS` (plus 8 per character of
        the messages)."""
        return self._render(self._template, messages, tools, add_generation_prompt)

    def _render(
        self,
        template: jinja2.Template,
        messages: Sequence[dict[str, Any]],
        tools: Any,
        add_generation_prompt: bool,
    ) -> str:
        budget: _Budget = template.environment.budget  # type: ignore[attr-defined]
        limit = RENDER_CHARS + 8 * sum(len(str(m.get("content") or "")) for m in messages)
        pieces: list[str] = []
        size = 0
        variables = {
            **self._globals,
            **self._special,
            "messages": list(messages),
            "tools": tools,
            "add_generation_prompt": add_generation_prompt,
        }
        # What Template.generate does, without copying the globals into a new dict twice
        # per call (a fifth of a short rendering): the variables hold them already.
        context = template.environment.context_class(
            template.environment, variables, template.name, template.blocks
        )
        with budget.running():
            for piece in template.root_render_func(context):
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
        """Count examples: render each, then encode all renderings in one batch, cut in
        runs at the trained spans' marks (so each character is encoded once; the marks sit
        where the pre-tokenizer splits anyway: at special tokens, line breaks, the start of
        a message's text). A template error becomes ``ExampleTokens.template_error``; what
        the template checks find goes to ``ExampleTokens.template``."""
        results: list[ExampleTokens] = []
        texts: list[str] = []
        plans: list[tuple[ExampleTokens, int, int, bool]] = []
        budget: _Budget = self._template.environment.budget  # type: ignore[attr-defined]
        with budget.holding():
            for example in examples:
                result = ExampleTokens()
                results.append(result)
                try:
                    rendering = self.rendering(example)
                except Exception as err:  # the template's own message is the finding
                    result.template_error = f"{type(err).__name__}: {err}"
                    continue
                result.template = rendering.facts
                first = len(texts)
                if rendering.marked is not None:
                    texts.extend(rendering.runs())
                else:
                    # The whole, then the answers' texts (their place in it is unknown).
                    texts.append(rendering.whole)
                    texts.extend(
                        m.text()
                        for m in example.conversation()
                        if m.role == "assistant" and m.weight != 0
                    )
                plans.append((result, first, len(texts), rendering.marked is not None))
                by_role = result.by_role
                for message in example.conversation():
                    role = message.role if isinstance(message.role, str) else ""
                    by_role[role] = by_role.get(role, 0)
        if texts:
            sizes = self._sizes(texts)
            window = self.window
            for result, first, end, in_runs in plans:
                if in_runs:
                    runs = sizes[first:end]
                    result.total = sum(runs)
                    result.trained = sum(runs[1::2])
                else:
                    result.total = sizes[first]
                    result.trained = sum(sizes[first + 1 : end])
                    runs = [result.total - result.trained, result.trained]
                if window is not None and result.total > window:
                    result.segments = runs
        return results

    def _sizes(self, texts: list[str]) -> list[int]:
        """How many tokens each of ``texts`` encodes to: by a :class:`PieceCounter` where the
        tokenizer is byte-level and the text ASCII, else by the tokenizer."""
        if self._counter is not None:
            return self._counter.sizes(texts, self._encoded_sizes)
        return self._encoded_sizes(texts)

    @functools.cached_property
    def _counter(self) -> PieceCounter | None:
        return PieceCounter.of(self._tokenizer, orjson.loads(self._file.read_bytes()))

    def _encoded_sizes(self, texts: list[str]) -> list[int]:
        # Only the counts are read: the fast variant (tokenizers >= 0.20) skips computing
        # character offsets and takes about half the time, and len() of an encoding does not
        # copy its ids into a list.
        encode = getattr(self._tokenizer, "encode_batch_fast", self._tokenizer.encode_batch)
        return [len(e) for e in encode(texts, add_special_tokens=False)]

    def rendering(self, example: Example) -> Rendering:
        """Render ``example`` for training, with its trained spans marked, and check what
        the template made of it (:class:`~ftprep.tokens.chat.TemplateFacts`)."""
        messages = template_messages(example)
        tools = example.tools if isinstance(example.tools, list) else None
        marked: str | None
        if self.has_generation_blocks:
            marked, last_turn = self._render_turns(messages, tools)
            whole = _strip_marks(marked)
        else:
            trained = list(messages)
            answers = []
            for i, (m, data) in enumerate(zip(example.conversation(), messages, strict=True)):
                if data["role"] == "assistant" and data["content"] and m.weight != 0:
                    answers.append(data["content"])
                    trained[i] = {**data, "content": f"{_OPEN}{data['content']}{_CLOSE}"}
            marked, last_turn = self._render_turns(trained, tools)
            if _spans(marked) == answers and not any(a != a.strip() for a in answers):
                # Every answer went through untouched and has no edge whitespace a filter
                # could trim: the unmarked rendering is the marked one without its marks.
                whole = _strip_marks(marked)
            else:
                last_turn = None
                whole = self.render(messages, tools)
                if _strip_marks(marked) != whole:
                    marked = None  # the template rewrites content (trims it, say)
        facts = TemplateFacts()
        self._check_rendered(example, messages, tools, whole, facts)
        if marked is not None and self.has_generation_blocks:
            facts.eos_outside = self._eos_outside(marked)
        facts.double_bos = self._double_bos(whole)
        last = messages[-1]["role"] if len(messages) > 1 else None
        if self._has_generation_prompt and last == "assistant":
            facts.prompt_shift = self._prompt_shift(messages, tools, whole, last_turn)
        return Rendering(whole, marked, facts)

    def _render_turns(
        self, messages: list[dict[str, Any]], tools: list[Any] | None
    ) -> tuple[str, int | None]:
        """The training rendering and, when the template's turns are prefix-stable
        (:func:`_turn_marked`), where its last turn starts (in the text without span
        marks)."""
        if self._turns is None:
            return self.render(messages, tools), None
        text = self._render(self._turns[0], messages, tools, False)
        if text.count(_TURN) != len(messages):  # the data holds the mark itself
            return self.render(messages, tools), None
        head = text[: text.rfind(_TURN)].replace(_TURN, "")
        return text.replace(_TURN, ""), len(_strip_marks(head))

    def _check_rendered(
        self,
        example: Example,
        messages: list[dict[str, Any]],
        tools: list[Any] | None,
        whole: str,
        facts: TemplateFacts,
    ) -> None:
        """Note the contents, reasoning, tool calls and tool definitions ``whole`` lacks."""
        unrendered = facts.unrendered
        for index, (message, data) in enumerate(zip(example.conversation(), messages, strict=True)):
            if not _shows(message.text(), whole):
                unrendered.append((index, "content"))
            for key in REASONING_KEYS:
                value = data.get(key)
                if isinstance(value, str) and not _shows(value, whole):
                    unrendered.append((index, key))
            for call in data.get("tool_calls") or ():
                name = _function_name(call)
                if name and name not in whole:
                    unrendered.append((index, f"tool call {name}"))
        for tool in tools or ():
            name = _function_name(tool)
            if name and name not in whole:
                unrendered.append((None, f"tool definition {name}"))

    def _eos_outside(self, marked: str) -> str | None:
        """The end-of-turn token a ``{% generation %}`` block leaves right after itself."""
        for piece in marked.split(_OPEN)[1:]:
            inside, _, after = piece.partition(_CLOSE)
            inside, after = inside.rstrip(), after.lstrip()
            for end in self._ends:
                if after.startswith(end) and not inside.endswith(end):
                    return end
        return None

    def _double_bos(self, whole: str) -> str | None:
        bos = self._special["bos_token"]
        if not bos or not whole.startswith(bos):
            return None
        if whole[len(bos) :].lstrip().startswith(bos):
            return f"the rendering starts with {bos} twice (the data carries one already)"
        if self._adds_bos:
            return (
                f"the template writes {bos} and the tokenizer adds another when the rendered "
                "text is tokenized with its special tokens"
            )
        return None

    def _prompt_shift(
        self,
        messages: list[dict[str, Any]],
        tools: list[Any] | None,
        whole: str,
        last_turn: int | None,
    ) -> str | None:
        """How the inference prompt for the last answer differs from the training
        rendering up to that answer (``None`` when it is a prefix of it). With
        ``last_turn``, where the last turn starts in ``whole`` for a prefix-stable template,
        the prompt is ``whole`` up to there plus the template's constant generation prompt,
        which is what rendering it gives."""
        if last_turn is not None and self._turns is not None:
            prompt = whole[:last_turn] + self._turns[1]
        else:
            try:
                prompt = _strip_marks(self.render(messages[:-1], tools, add_generation_prompt=True))
            except Exception:  # a template may refuse a conversation ending with the user
                return None
        if whole.startswith(prompt):
            return None
        at = next(
            (i for i, (a, b) in enumerate(zip(whole, prompt, strict=False)) if a != b),
            min(len(whole), len(prompt)),
        )
        return (
            f"at character {at:,} training renders {whole[at : at + 24]!r} where the "
            f"inference prompt has {prompt[at : at + 24]!r}"
        )


def _function_name(value: Any) -> str | None:
    """The function name of a tool call or tool definition (OpenAI-style or bare)."""
    if not isinstance(value, dict):
        return None
    function = value.get("function", value)
    name = function.get("name") if isinstance(function, dict) else None
    return name if isinstance(name, str) else None


def _shows(text: str, rendering: str) -> bool:
    """Whether ``rendering`` holds ``text`` (empty text always): its first or its last line
    piece, so that templates that trim, split off reasoning or JSON-escape the text still
    count as rendering it."""
    if text in rendering:
        return True
    pieces = [p.strip() for p in re.split(r'[\n"\\]+', text) if p.strip()]
    if not pieces:
        return True
    return pieces[0][:32] in rendering or pieces[-1][-32:] in rendering


def _strip_marks(text: str) -> str:
    return text.replace(_OPEN, "").replace(_CLOSE, "")


def _spans(marked: str) -> list[str]:
    spans = []
    for piece in marked.split(_OPEN)[1:]:
        inside, _, _ = piece.partition(_CLOSE)
        spans.append(inside)
    return spans
