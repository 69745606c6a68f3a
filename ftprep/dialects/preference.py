"""Paired preference data as Hugging Face TRL uses it: ``{"prompt"?, "chosen", "rejected"}``
with strings (standard) or message lists (conversational), the prompt explicit or implicit.

Documentation: https://huggingface.co/docs/trl/dataset_formats (preference).

Canonical mapping: the prompt becomes ``messages`` (a string prompt one user message),
``chosen`` / ``rejected`` the competing continuations (a string one assistant message). An
implicit prompt is the shared beginning of ``chosen`` and ``rejected``: for message lists the
longest run of equal leading messages; for strings the longest common prefix, moved back one
character when it ends in a space (so continuations keep their leading space), as TRL's
``extract_prompt`` does. Two texts in Anthropic's transcript format (``"\n\nHuman: ...
\n\nAssistant: ..."``, the shape of HH-RLHF and the data derived from it) are split on a turn
boundary instead, never inside a word of the shared text: the prompt runs to the last
``\n\nAssistant:`` marker they share, so each continuation is the whole answer both sides
give at that turn (TRL's conversion of HH-RLHF cuts at the same marker). Writing always
gives the prompt explicitly, as strings when the prompt is one plain user turn and each
continuation one plain assistant turn.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ftprep.dialects.base import Dialect, Written, build_example, messages_to_dicts
from ftprep.dialects.prompt_completion import as_messages, is_plain_exchange, well_formed
from ftprep.findings import Problem
from ftprep.model import Example, Source

#: How a transcript begins, and the marker that opens each assistant turn in it.
TRANSCRIPT_START = "\n\nHuman:"
ANSWER_MARKER = "\n\nAssistant:"


def shared_prompt_length(chosen: str, rejected: str) -> int:
    """How many leading characters of two full texts are their shared prompt."""
    cut = len(os.path.commonprefix([chosen, rejected]))  # noqa: RUF071 - by character
    if chosen.startswith(TRANSCRIPT_START) and rejected.startswith(TRANSCRIPT_START):
        marker = chosen.rfind(ANSWER_MARKER, 0, cut)
        return marker + len(ANSWER_MARKER) if marker >= 0 else 0
    if cut and chosen[cut - 1] == " ":
        cut -= 1
    return cut


def split_implicit(chosen: Any, rejected: Any) -> tuple[Any, Any, Any]:
    """``(prompt messages, chosen, rejected)`` from two full texts or conversations."""
    if isinstance(chosen, list) and isinstance(rejected, list):
        shared = 0
        for a, b in zip(chosen, rejected, strict=False):
            if a != b:
                break
            shared += 1
        return chosen[:shared], chosen[shared:], rejected[shared:]
    if isinstance(chosen, str) and isinstance(rejected, str):
        cut = shared_prompt_length(chosen, rejected)
        prompt = [{"role": "user", "content": chosen[:cut]}] if cut else []
        return prompt, chosen[cut:], rejected[cut:]
    return [], chosen, rejected


class Preference(Dialect):
    """``{"prompt"?: ..., "chosen": ..., "rejected": ...}`` (TRL preference)."""

    name = "preference"
    summary = "Paired preference data (TRL prompt/chosen/rejected, explicit or implicit prompt)"
    supports_preference = True
    keeps_extra_fields = True

    def matches(self, record: Mapping[str, Any]) -> bool:
        return "chosen" in record and "rejected" in record

    def read(self, record: Mapping[str, Any], source: Source | None = None) -> Example:
        data: dict[str, Any] = dict(record)
        chosen, rejected = data.pop("chosen"), data.pop("rejected")
        if "prompt" in data:
            prompt = as_messages(data.pop("prompt"), "user")
        else:
            prompt, chosen, rejected = split_implicit(chosen, rejected)
        data["messages"] = self.with_system_prompt(prompt)
        data["chosen"] = as_messages(chosen, "assistant")
        data["rejected"] = as_messages(rejected, "assistant")
        return build_example(data, source, self.name)

    def write(self, example: Example) -> Written:
        problems: list[Problem] = []
        self.check_example(example, problems, preference=True)
        if not example.is_preference or not well_formed(example):
            problems.append(
                self.unsupported(example, "an example that is not a chosen/rejected pair")
            )
            return Written(None, problems)
        prompt = example.conversation()
        chosen, rejected = example.chosen, example.rejected
        record: dict[str, Any]
        if is_plain_exchange(prompt, chosen, rejected):
            record = {
                "prompt": prompt[0].content,
                "chosen": chosen[0].content,  # type: ignore[index]
                "rejected": rejected[0].content,  # type: ignore[index]
            }
        else:
            record = {
                "prompt": messages_to_dicts(prompt),
                "chosen": messages_to_dicts(chosen),
                "rejected": messages_to_dicts(rejected),
            }
        self.carry_fields(example, record, problems)
        return Written(record, problems)
