"""What self-hosted trainers do with an example longer than their sequence length.

A trainer either truncates the tokenized example (keeping its start, its end, or a share of
every turn) or drops the whole row. :func:`kept_trained` replays that on the token runs of a
rendering (:attr:`~ftprep.tokens.chat.ExampleTokens.segments`), so the token rules can tell
an example that fits from one whose answer is cut and one with nothing left to train on.

The profiles follow each project's own defaults, as read in its source:

- TRL (``SFTTrainer``, ``SFTConfig``): sequences longer than ``max_length`` (1024 by default)
  are truncated, keeping the start (``truncation_mode="keep_start"``, the SFT default; the
  preference trainers default to ``keep_end`` for the prompt).
- Unsloth trains through TRL's ``SFTTrainer`` with its ``max_seq_length``: the same.
- Axolotl: ``excess_length_strategy`` is ``drop`` by default (``drop_long_seq``): a
  tokenized row longer than ``sequence_len`` is removed from the dataset, not shortened
  (``truncate`` and ``raise`` are opt-in).
- LLaMA-Factory (``cutoff_len``, supervised stage): each (prompt, answer) pair of a
  conversation is cut by ``infer_seqlen`` with the budget left, which keeps an answer shorter
  than half the budget whole and otherwise shares the budget between prompt and answer in
  proportion; pairs after the budget is spent are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Keep = Literal["start", "end", "per-turn"]


@dataclass(frozen=True, slots=True)
class TrainerProfile:
    """How a trainer treats a row longer than its sequence length."""

    name: str
    drops: bool
    """Long rows are removed from the dataset (nothing of them is trained)."""
    keep: Keep
    """What truncation keeps: the ``start``, the ``end``, or a share of each turn."""
    setting: str
    """The trainer's name for the sequence length, for messages."""

    def describe(self, window: int) -> str:
        """``trl keeps the first 2,048 tokens`` and the like."""
        if self.drops:
            return f"{self.name} drops rows longer than {self.setting} ({window:,} tokens)"
        if self.keep == "start":
            return f"{self.name} keeps the first {window:,} tokens ({self.setting})"
        if self.keep == "end":
            return f"{self.name} keeps the last {window:,} tokens ({self.setting})"
        return f"{self.name} shares {self.setting} ({window:,} tokens) between prompt and answer"


PROFILES: dict[str, TrainerProfile] = {
    "trl": TrainerProfile("trl", drops=False, keep="start", setting="max_length"),
    "unsloth": TrainerProfile("unsloth", drops=False, keep="start", setting="max_seq_length"),
    "axolotl": TrainerProfile("axolotl", drops=True, keep="start", setting="sequence_len"),
    "llamafactory": TrainerProfile(
        "llamafactory", drops=False, keep="per-turn", setting="cutoff_len"
    ),
}
"""The trainers ``--trainer`` names."""

#: Without ``--trainer``: truncation that keeps the start, as most trainers do.
DEFAULT = TrainerProfile("the trainer", drops=False, keep="start", setting="max-tokens")


def profile(name: str | None) -> TrainerProfile:
    """The profile of trainer ``name`` (:data:`DEFAULT` for ``None``)."""
    if name is None:
        return DEFAULT
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown trainer {name!r}; known: {', '.join(PROFILES)}") from None


def infer_seqlen(source: int, target: int, budget: int) -> tuple[int, int]:
    """LLaMA-Factory's split of ``budget`` tokens between a prompt of ``source`` tokens and
    an answer of ``target`` tokens: the lengths it keeps of each."""
    if target * 2 < budget:
        max_target = budget
    elif source * 2 < budget:
        max_target = budget - source
    else:
        max_target = int(budget * (target / (source + target)))
    new_target = min(max_target, target)
    new_source = min(max(budget - new_target, 0), source)
    return new_source, new_target


def kept_trained(segments: Sequence[int], window: int, trainer: TrainerProfile) -> int:
    """Trained tokens left once ``trainer`` fits the runs ``segments`` (untrained first, then
    trained, alternating) into ``window`` tokens."""
    total = sum(segments)
    if total <= window:
        return sum(segments[1::2])
    if trainer.drops:
        return 0
    if trainer.keep == "per-turn":
        kept = used = 0
        for i in range(0, len(segments), 2):
            if used >= window:
                break
            source = segments[i]
            target = segments[i + 1] if i + 1 < len(segments) else 0
            source, target = infer_seqlen(source, target, window - used)
            kept += target
            used += source + target
        return kept
    low, high = (0, window) if trainer.keep == "start" else (total - window, total)
    kept = position = 0
    for i, size in enumerate(segments):
        if i % 2:
            kept += max(0, min(position + size, high) - max(position, low))
        position += size
    return kept
