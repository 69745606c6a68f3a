"""Raw input/output pairs: ``{"input": ..., "ideal_output": ...}`` (field names configurable
with ``input_field`` / ``output_field``; for example ``question`` / ``answer``).

Documentation: ftprep's own minimal shape for data exported from spreadsheets and logs; it
carries no roles, so the configured ``system_prompt`` becomes the system message of every
example and the pair becomes one user and one assistant message. Writing requires exactly
that form: a system message is accepted only when it is the configured ``system_prompt``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ftprep.dialects.base import Dialect, Written, build_example, message_of
from ftprep.findings import Problem
from ftprep.model import Example, Source


class RawPairs(Dialect):
    """``{<input_field>: ..., <output_field>: ...}`` plus the configured system prompt."""

    name = "raw_pairs"
    summary = "Raw input/output pairs with configurable field names and system prompt"
    keeps_extra_fields = True

    def matches(self, record: Mapping[str, Any]) -> bool:
        return self.options.input_field in record and self.options.output_field in record

    def read(self, record: Mapping[str, Any], source: Source | None = None) -> Example:
        data: dict[str, Any] = dict(record)
        data["messages"] = self.with_system_prompt(
            [
                {"role": "user", "content": data.pop(self.options.input_field)},
                {"role": "assistant", "content": data.pop(self.options.output_field)},
            ]
        )
        return build_example(data, source, self.name)

    def field_of(self, example: Example, pointer: str) -> str | None:
        """The input or output field the pointer's turn came from."""
        found = message_of(example, pointer)
        if found is None:
            return None
        role = found[1]
        if role == "user":
            return f"/{self.options.input_field}"
        if role == "assistant":
            return f"/{self.options.output_field}"
        return None

    def write(self, example: Example) -> Written:
        problems: list[Problem] = []
        self.check_example(example, problems)
        split = self.turn_pairs(example, problems)
        if split is None:
            return Written(None, problems)
        system, pairs = split
        self.implied_system(example, system, problems)
        if len(pairs) > 1:
            problems.append(
                self.unsupported(example, "more than one user/assistant turn", pointer="/messages")
            )
            return Written(None, problems)
        user, answer = self.pair_texts(example, pairs[0], 1 if system else 0, problems)
        record: dict[str, Any] = {self.options.input_field: user, self.options.output_field: answer}
        self.carry_fields(example, record, problems)
        return Written(record, problems)
