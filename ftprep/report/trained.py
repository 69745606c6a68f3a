"""One example as the model sees it in training: the rendering, the trained spans marked,
token counts, and where the trainer's window cuts it (``ftprep show FILE:LINE``).

With a Hugging Face tokenizer (``tokenizer``) the rendering is the chat template's, the
trained spans its ``{% generation %}`` blocks or the answers; with a Mistral tokenizer the
counts are mistral-common's over a plain rendering of the turns; without a tokenizer the
turns are shown one per block with o200k_base counts, the answers (``weight`` not 0) as the
trained spans. The same :class:`TrainedView` prints in a terminal (colour), through a pipe
(visible markers ``⟦`` ``⟧`` around trained text, ``✂`` where the window ends) and in a
notebook (:meth:`TrainedView._repr_html_`).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ftprep.config import Config, ConfigError
from ftprep.load.paths import InputError
from ftprep.load.trainer_config import load_configured, load_trainer_config
from ftprep.model import Example
from ftprep.targets import get_target
from ftprep.tokens import make_tokenizer
from ftprep.tokens.chat import ExampleTokens
from ftprep.trainers import kept_trained, profile

OPEN, CLOSE, CUT = "⟦", "⟧", "✂"
_GREEN, _DIM, _BOLD, _RESET = "\x1b[32;1m", "\x1b[2m", "\x1b[1m", "\x1b[0m"


@dataclass(frozen=True, slots=True)
class Run:
    """A piece of the rendering: its text, whether it is trained, and its tokens."""

    text: str
    trained: bool
    tokens: int


@dataclass(slots=True)
class TrainedView:
    """An example as the trainer renders and tokenizes it."""

    where: str
    """``path:line`` of the record."""
    tokenizer: str
    runs: list[Run] = field(default_factory=list)
    window: int | None = None
    """The training sequence length (``max-tokens``), when set."""
    trainer: str = ""
    """What the trainer does with a longer example (:meth:`TrainerProfile.describe`)."""
    kept: int | None = None
    """Trained tokens the trainer keeps, when the example is longer than the window."""
    cut_at: tuple[int, int] | None = None
    """Where the window ends: the run and the character in it (trainers keeping the start)."""
    error: str | None = None
    """The chat template's error, when it refused the example."""

    @property
    def total(self) -> int:
        """Tokens of the whole rendering."""
        return sum(r.tokens for r in self.runs)

    @property
    def trained(self) -> int:
        """Tokens of the trained spans."""
        return sum(r.tokens for r in self.runs if r.trained)

    def header(self) -> str:
        """``data.jsonl:3: 48 tokens, 16 trained (33%) with bpe; window 40: ...``."""
        if self.error is not None:
            return f"{self.where}: the chat template of {self.tokenizer} failed: {self.error}"
        total, trained = self.total, self.trained
        share = f" ({trained / total:.0%})" if total else ""
        text = f"{self.where}: {total:,} tokens, {trained:,} trained{share} with {self.tokenizer}"
        if self.window is not None:
            text += f"; window {self.window:,}"
            if total > self.window:
                kept = self.kept if self.kept is not None else trained
                text += f": {self.trainer}, {kept:,} of {trained:,} trained tokens kept"
        return text

    def text(self, *, color: bool = False) -> str:
        """The view as text: trained spans in green (``color``) or between ``⟦ ⟧``, each
        followed by its token count, and ``✂`` where the window ends."""
        out = [self.header(), ""]
        for index, run in enumerate(self.runs):
            pieces = [run.text]
            if self.cut_at is not None and self.cut_at[0] == index:
                at = self.cut_at[1]
                cut = f"{_BOLD}{CUT}{_RESET}" if color else CUT
                pieces = [run.text[:at], cut, run.text[at:]]
            body = "".join(pieces)
            if run.trained:
                if color:
                    out.append(f"{_GREEN}{body}{_RESET}{_DIM}[{run.tokens}]{_RESET}")
                else:
                    out.append(f"{OPEN}{body}{CLOSE}[{run.tokens}]")
            else:
                out.append(body)
        return out[0] + "\n\n" + "".join(out[2:]).rstrip("\n") + "\n"

    def __str__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        """The view for notebooks (and report.html): trained spans highlighted, with their
        token counts, in a preformatted block."""
        parts = [f"<div class='ftprep-trained'><p><b>{html.escape(self.header())}</b></p>"]
        parts.append("<pre style='white-space:pre-wrap'>")
        for index, run in enumerate(self.runs):
            text = run.text
            if self.cut_at is not None and self.cut_at[0] == index:
                at = self.cut_at[1]
                body = (
                    f"{html.escape(text[:at])}<b title='the window ends here'>{CUT}</b>"
                    f"{html.escape(text[at:])}"
                )
            else:
                body = html.escape(text)
            if run.trained:
                parts.append(
                    f"<mark style='background:#c8f7c5' title='trained: {run.tokens} tokens'>"
                    f"{body}</mark><sub>{run.tokens}</sub>"
                )
            else:
                parts.append(body)
        parts.append("</pre></div>")
        return "".join(parts)


def parse_location(where: str) -> tuple[str, int]:
    """``data.jsonl:12`` as ``("data.jsonl", 12)``; raises :class:`ConfigError`."""
    path, _, line = where.rpartition(":")
    if not path or not line.isdigit() or int(line) < 1:
        raise ConfigError(f"expected FILE:LINE (a line number from 1), got {where!r}")
    return path, int(line)


def read_example(path: str, line: int, config: Config) -> Example:
    """The example of the record at ``line`` of ``path``; raises :class:`InputError` when
    there is none or it does not load."""
    if not Path(path).is_file():
        raise InputError(f"{path}: no such file")
    for item in load_configured(path, config, load_trainer_config(config)):
        if item.raw.line == line:
            if item.example is None:
                reasons = "; ".join(p.message for p in item.problems) or "it does not load"
                raise InputError(f"{path}:{line}: the record does not load: {reasons}")
            return item.example
        if item.raw.line > line:
            break
    raise InputError(f"{path}:{line}: no record starts at this line")


def trained_view(example: Example, config: Config, where: str = "<memory>") -> TrainedView:
    """The :class:`TrainedView` of ``example`` under ``config`` (its tokenizer, chat
    template, ``max-tokens`` and trainer)."""
    model = get_target(config.target).spec_for(config)
    tokenizer = make_tokenizer(config, model)
    name = config.tokenizer or model.encoding
    view = TrainedView(where, name)
    if config.max_tokens is not None:
        view.window = config.max_tokens
    runs: list[Run]
    rendering = getattr(tokenizer, "rendering", None)
    encode = getattr(tokenizer, "encode", None)
    if rendering is not None and encode is not None:
        try:
            rendered = rendering(example)
        except Exception as err:  # the template's own message is shown
            view.error = f"{type(err).__name__}: {err}"
            return view
        texts = rendered.runs()
        runs = [Run(t, i % 2 == 1, len(encode(t))) for i, t in enumerate(texts)]
    else:
        counted = tokenizer.count(example)
        if counted.template_error is not None:
            view.error = counted.template_error
            return view
        runs = _plain_runs(example, counted)
    view.runs = runs
    if view.window is not None and view.total > view.window:
        trainer = profile(config.trainer)
        view.trainer = trainer.describe(view.window)
        view.kept = kept_trained([r.tokens for r in runs], view.window, trainer)
        if trainer.keep == "start" and not trainer.drops and encode is not None:
            view.cut_at = _cut(runs, view.window, encode)
    return view


def _plain_runs(example: Example, counted: ExampleTokens) -> list[Run]:
    """Turns one per block, ``<|role|>`` before each, answers trained: for tokenizers that
    give counts but no rendering. The trained count is the tokenizer's; the untrained
    tokens are the rest of its total, on the first run."""
    runs: list[Run] = []
    pending = ""
    for message in example.conversation():
        role = message.role if isinstance(message.role, str) else "?"
        text = message.text()
        if role == "assistant" and message.weight != 0 and text:
            runs.append(Run(pending + f"<|{role}|>\n", False, 0))
            runs.append(Run(text, True, 0))
            pending = "\n"
        else:
            pending += f"<|{role}|>\n{text}\n"
    runs.append(Run(pending, False, 0))
    answers = [i for i, r in enumerate(runs) if r.trained]
    share = counted.trained // len(answers) if answers else 0
    for n, i in enumerate(answers):
        extra = counted.trained - share * len(answers) if n == 0 else 0
        runs[i] = Run(runs[i].text, True, share + extra)
    runs[0] = Run(runs[0].text, False, counted.total - counted.trained)
    return runs


def _cut(
    runs: list[Run], window: int, encode: Callable[[str], list[int]]
) -> tuple[int, int] | None:
    """The run and character where the first ``window`` tokens end (by encoding prefixes of
    that run: the example is shown once, so the search may be plain)."""
    position = 0
    for index, run in enumerate(runs):
        if position + run.tokens > window:
            wanted = window - position
            text = run.text
            low, high = 0, len(text)
            while low < high:  # the longest prefix with at most ``wanted`` tokens
                middle = (low + high + 1) // 2
                if len(encode(text[:middle])) <= wanted:
                    low = middle
                else:
                    high = middle - 1
            return index, low
        position += run.tokens
    return None


def show(where: str, config: Config | None = None) -> TrainedView:
    """The trained view of the record at ``where`` (``FILE:LINE``)."""
    path, line = parse_location(where)
    config = config or Config()
    return trained_view(read_example(path, line, config), config, f"{path}:{line}")
