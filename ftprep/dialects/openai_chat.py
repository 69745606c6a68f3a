"""OpenAI chat format: ``{"messages": [...], "tools": [...], "parallel_tool_calls": ...}``.

Documentation: https://platform.openai.com/docs/guides/supervised-fine-tuning (chat format,
tools, ``weight``); the deprecated ``functions`` key is still read.

Also the Hugging Face TRL "conversational language modeling" shape (the same ``messages``
list, https://huggingface.co/docs/trl/dataset_formats) and LLaMA-Factory's KTO files
(``messages`` plus a boolean ``label``). Together and Fireworks read this shape too; their
differences are target rules, not a different shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from ftprep.dialects.base import Dialect, Written, build_example, messages_to_dicts
from ftprep.findings import Problem
from ftprep.model import Example, Source


class OpenAIChat(Dialect):
    """``{"messages": [{"role": ..., "content": ...}, ...]}`` with optional tools."""

    name = "openai"
    summary = "OpenAI chat fine-tuning format (also TRL conversational, Together, Fireworks)"
    supports_tools = True
    #: Example-level fields the format carries besides ``messages``.
    carries: ClassVar[tuple[str, ...]] = ("tools", "parallel_tool_calls", "functions", "label")

    def matches(self, record: Mapping[str, Any]) -> bool:
        return "messages" in record

    def read(self, record: Mapping[str, Any], source: Source | None = None) -> Example:
        data: dict[str, Any] = dict(record)
        messages = data.get("messages")
        if isinstance(messages, list):
            data["messages"] = self.with_system_prompt(messages)
        return build_example(data, source, self.name)

    def write(self, example: Example) -> Written:
        problems: list[Problem] = []
        flags = ("tools", "functions", "label", "parallel_tool_calls")
        self.check_example(example, problems, **{key: key in self.carries for key in flags})
        record: dict[str, Any] = {"messages": self.write_messages(example.messages)}
        for key in self.carries:
            value = getattr(example, key)
            if key == "label" and value is not None and not isinstance(value, bool):
                # Not a KTO label: an ordinary column, which this format does not keep.
                problems.append(self.dropped(example, "the field 'label'", pointer="/label"))
            elif value is not None:
                record[key] = value
        self.carry_fields(example, record, problems)
        return Written(record, problems)

    def write_messages(self, messages: Any) -> Any:
        """The ``messages`` list as written (keys as the record had them)."""
        return messages_to_dicts(messages)
