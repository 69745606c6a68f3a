"""Redaction: secrets and personal data replaced by typed placeholders (``[EMAIL]``,
``[AWS_SECRET_KEY]``) instead of the record being left out.

``prepare`` redacts the records whose only errors are findings of redactable rules (the
privacy rules say so: ``redactable``) when ``prepare.redact`` is set (``--redact``);
``check --fix --unsafe-fixes`` redacts the lines those rules report in place. What is found
and how it is labelled is :func:`ftprep.secrets.redact_text`: the same catalogue the rules
report from.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ftprep.model import ContentPart, Example, FunctionCall, ToolCall
from ftprep.secrets import redact_text


def _redact(text: str, counts: Counter[str], labels: frozenset[str] | None = None) -> str:
    redacted, found = redact_text(text, labels)
    counts.update(found)
    return redacted


def redact_example(example: Example, labels: frozenset[str] | None = None) -> Counter[str]:
    """Redact, in place, every text of ``example`` a secret can hide in (message contents
    and text parts, names, tool-call and function-call arguments), of the kinds labelled
    ``labels`` (every kind when ``None``); the placeholders written, by label."""
    counts: Counter[str] = Counter()
    for _field, _index, message in example.iter_messages():
        content = message.content
        if isinstance(content, str):
            message.content = _redact(content, counts, labels)
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, ContentPart) and isinstance(part.text, str):
                    part.text = _redact(part.text, counts, labels)
        if isinstance(message.name, str):
            message.name = _redact(message.name, counts, labels)
        if isinstance(message.tool_calls, list):
            for call in message.tool_calls:
                function = call.function if isinstance(call, ToolCall) else None
                if isinstance(function, FunctionCall) and isinstance(function.arguments, str):
                    function.arguments = _redact(function.arguments, counts, labels)
        legacy = message.function_call
        if isinstance(legacy, dict) and isinstance(legacy.get("arguments"), str):
            legacy["arguments"] = _redact(legacy["arguments"], counts, labels)
    return counts


def redact_value(value: Any, counts: Counter[str]) -> Any:
    """``value`` (a parsed JSON record) with every string in it redacted; object keys are
    left alone (they name fields)."""
    if isinstance(value, str):
        return _redact(value, counts)
    if isinstance(value, list):
        return [redact_value(item, counts) for item in value]
    if isinstance(value, dict):
        return {key: redact_value(item, counts) for key, item in value.items()}
    return value
