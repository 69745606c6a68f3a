"""Prompt/completion pairs: OpenAI's legacy ``{"prompt", "completion"}`` strings, mlx-lm's
``completions`` data, and Hugging Face TRL's prompt-completion type in both its standard
(strings) and conversational (message lists) forms, plus TRL's unpaired preference (KTO)
type, which adds a boolean ``label``.

Documentation: https://huggingface.co/docs/trl/dataset_formats (prompt-completion, unpaired
preference), https://github.com/ml-explore/mlx-lm/blob/main/mlx_lm/LORA.md (completions) and
https://platform.openai.com/docs/guides/legacy-fine-tuning (prompt/completion).

Canonical mapping: a string prompt is one user message and a string completion one assistant
message; message lists are taken as they are (prompt, then completion). Writing uses the
standard string form for a single user turn answered by a single assistant turn, and the
conversational form otherwise (the completion is the trailing run of assistant messages).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ftprep.dialects.base import Dialect, Written, build_example, messages_to_dicts
from ftprep.findings import Problem
from ftprep.model import Example, Message, Source


def as_messages(value: Any, role: str) -> list[Any]:
    """A prompt or completion as messages: a list is taken as messages, anything else (a
    string, or a wrong type kept for rules) becomes the content of one ``role`` message."""
    if isinstance(value, list):
        return value
    return [{"role": role, "content": value}]


def plain_turn(message: Message, role: str) -> bool:
    """Whether ``message`` is a ``role`` turn of plain text and nothing else."""
    return (
        message.role == role
        and isinstance(message.content, str)
        and message.model_fields_set <= {"role", "content"}
        and not message.model_extra
    )


def is_plain_exchange(prompt: list[Any], *answers: Any) -> bool:
    """Whether ``prompt`` is one plain user turn and each answer one plain assistant turn: the
    case the standard (string) form can hold."""
    return (
        len(prompt) == 1
        and isinstance(prompt[0], Message)
        and plain_turn(prompt[0], "user")
        and all(
            isinstance(answer, list)
            and len(answer) == 1
            and isinstance(answer[0], Message)
            and plain_turn(answer[0], "assistant")
            for answer in answers
        )
    )


def well_formed(example: Example) -> bool:
    """Whether ``messages`` is a list of messages (writers refuse anything else)."""
    return isinstance(example.messages, list) and all(
        isinstance(m, Message) for m in example.messages
    )


class PromptCompletion(Dialect):
    """``{"prompt": ..., "completion": ..., "label"?}`` with strings or message lists."""

    name = "prompt_completion"
    summary = "Prompt/completion pairs (OpenAI legacy, mlx-lm, TRL prompt-completion and KTO)"
    keeps_extra_fields = True

    def matches(self, record: Mapping[str, Any]) -> bool:
        return "prompt" in record and "completion" in record

    def read(self, record: Mapping[str, Any], source: Source | None = None) -> Example:
        data: dict[str, Any] = dict(record)
        messages = [
            *as_messages(data.pop("prompt"), "user"),
            *as_messages(data.pop("completion"), "assistant"),
        ]
        data["messages"] = self.with_system_prompt(messages)
        return build_example(data, source, self.name)

    def write(self, example: Example) -> Written:
        problems: list[Problem] = []
        self.check_example(example, problems, label=True)
        messages = example.conversation()
        cut = len(messages)
        while cut > 0 and messages[cut - 1].role == "assistant":
            cut -= 1
        if not well_formed(example) or cut == len(messages):
            problems.append(
                self.unsupported(
                    example,
                    "a conversation that does not end with an assistant message",
                    pointer="/messages",
                )
            )
            return Written(None, problems)
        prompt, completion = messages[:cut], messages[cut:]
        record: dict[str, Any] = {}
        if is_plain_exchange(prompt, completion):
            record["prompt"], record["completion"] = prompt[0].content, completion[0].content
        else:
            record["prompt"] = messages_to_dicts(prompt)
            record["completion"] = messages_to_dicts(completion)
        if example.label is not None:
            record["label"] = example.label
        self.carry_fields(example, record, problems)
        return Written(record, problems)
