"""Plain text: ``{"text": ...}``, as mlx-lm's ``text`` data and Hugging Face TRL's standard
language-modeling type use it.

Documentation: https://github.com/ml-explore/mlx-examples/tree/main/lora#data and
https://huggingface.co/docs/trl/dataset_formats (language modeling).

Canonical mapping: the text has no roles and every token of it is trained on, so it becomes
one assistant message holding the whole text (no user turn, no system prompt: the
``system_prompt`` option does not apply). Writing requires exactly that form.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ftprep.dialects.base import Dialect, Written, build_example
from ftprep.findings import Problem
from ftprep.model import Example, Message, Source


class Text(Dialect):
    """``{"text": ...}``: one completion-only example."""

    name = "text"
    summary = "Plain text for language modeling (mlx-lm text, TRL language modeling)"
    keeps_extra_fields = True

    def matches(self, record: Mapping[str, Any]) -> bool:
        return "text" in record

    def read(self, record: Mapping[str, Any], source: Source | None = None) -> Example:
        data: dict[str, Any] = dict(record)
        data["messages"] = [{"role": "assistant", "content": data.pop("text")}]
        return build_example(data, source, self.name)

    def write(self, example: Example) -> Written:
        problems: list[Problem] = []
        self.check_example(example, problems)
        messages = example.messages
        if (
            not isinstance(messages, list)
            or len(messages) != 1
            or not isinstance(messages[0], Message)
            or messages[0].role != "assistant"
        ):
            problems.append(
                self.unsupported(
                    example, "anything but a single assistant message", pointer="/messages"
                )
            )
            return Written(None, problems)
        self.check_message(example, "messages", 0, messages[0], frozenset(), problems)
        record = {"text": self.text_content(example, "messages", 0, messages[0], problems)}
        self.carry_fields(example, record, problems)
        return Written(record, problems)
