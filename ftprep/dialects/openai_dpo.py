"""OpenAI preference (DPO) fine-tuning format: ``{"input": {"messages": [...], "tools"?,
"parallel_tool_calls"?}, "preferred_output": [...], "non_preferred_output": [...]}``.

Documentation: https://platform.openai.com/docs/guides/direct-preference-optimization (data
format). Together and Fireworks read the same shape. Some OpenAI API specs spell the outputs
``preferred_completion`` / ``non_preferred_completion``; both spellings are read, the
documented one is written.

Canonical mapping: ``input.messages`` are the prompt ``messages``, the outputs ``chosen`` and
``rejected``; ``input.tools`` / ``input.parallel_tool_calls`` are the example's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ftprep.dialects.base import Dialect, Written, build_example, messages_to_dicts
from ftprep.findings import Problem
from ftprep.model import Example, Source

PREFERRED = ("preferred_output", "preferred_completion")
NON_PREFERRED = ("non_preferred_output", "non_preferred_completion")
_INPUT_KEYS = ("tools", "parallel_tool_calls")


def _pop_first(data: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if key in data:
            return data.pop(key)
    return None


class OpenAIDpo(Dialect):
    """``{"input": {"messages"}, "preferred_output": [...], "non_preferred_output": [...]}``."""

    name = "openai_dpo"
    summary = "OpenAI preference fine-tuning (DPO) format (also Together, Fireworks)"
    supports_tools = True
    supports_preference = True

    def matches(self, record: Mapping[str, Any]) -> bool:
        return "input" in record and any(key in record for key in (*PREFERRED, *NON_PREFERRED))

    def read(self, record: Mapping[str, Any], source: Source | None = None) -> Example:
        data: dict[str, Any] = dict(record)
        given = data.pop("input")
        if isinstance(given, dict):
            rest = dict(given)
            messages = rest.pop("messages", [])
            for key in _INPUT_KEYS:
                if key in rest:
                    data[key] = rest.pop(key)
            if rest:
                data["input"] = rest  # unknown input keys, kept for rules
        else:
            messages = given
        data["messages"] = (
            self.with_system_prompt(messages) if isinstance(messages, list) else messages
        )
        data["chosen"] = _pop_first(data, PREFERRED)
        data["rejected"] = _pop_first(data, NON_PREFERRED)
        return build_example(data, source, self.name)

    def write(self, example: Example) -> Written:
        problems: list[Problem] = []
        self.check_example(example, problems, tools=True, preference=True, parallel_tool_calls=True)
        if not example.is_preference:
            problems.append(
                self.unsupported(example, "an example that is not a chosen/rejected pair")
            )
            return Written(None, problems)
        given: dict[str, Any] = {"messages": messages_to_dicts(example.messages)}
        for key in _INPUT_KEYS:
            value = getattr(example, key)
            if value is not None:
                given[key] = value
        record: dict[str, Any] = {
            "input": given,
            "preferred_output": messages_to_dicts(example.chosen),
            "non_preferred_output": messages_to_dicts(example.rejected),
        }
        self.carry_fields(example, record, problems)
        return Written(record, problems)
