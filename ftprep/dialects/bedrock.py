"""Amazon Bedrock conversation format for fine-tuning (Amazon Nova models):
``{"schemaVersion": "bedrock-conversation-2024", "system": [{"text": ...}],
"messages": [{"role": "user" | "assistant", "content": [{"text": ...}]}]}``.

Documentation:
https://docs.aws.amazon.com/nova/latest/userguide/fine-tune-prepare-data-understanding.html
(schema, ``system`` optional, roles ``user`` and ``assistant`` only, image and video blocks).

Canonical mapping: ``system`` blocks become one system message, each message's content
blocks its content (one text block is a string; ``image`` / ``video`` blocks become content
parts of that type). ``schemaVersion`` marks the format and is not kept: the writer always
writes ``bedrock-conversation-2024``. Tool calls, tool messages and weights cannot be
expressed.

Detected by ``schemaVersion``, before OpenAI chat (both have ``messages``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ftprep.dialects.base import Dialect, Written, build_example, read_blocks
from ftprep.findings import Problem
from ftprep.model import Example, Message, Source

SCHEMA_VERSION = "bedrock-conversation-2024"


def read_message(message: Any) -> Any:
    """One Bedrock message as a canonical message dict (non-objects kept as they are)."""
    if not isinstance(message, dict):
        return message
    out = dict(message)
    if "content" in message:
        out["content"] = read_blocks(message["content"])
    return out


class Bedrock(Dialect):
    """``{"schemaVersion": ..., "system"?: [{"text"}], "messages": [{"role", "content"}]}``."""

    name = "bedrock"
    summary = "Amazon Bedrock conversation schema (bedrock-conversation-2024, Nova)"

    def matches(self, record: Mapping[str, Any]) -> bool:
        return "schemaVersion" in record

    def read(self, record: Mapping[str, Any], source: Source | None = None) -> Example:
        data: dict[str, Any] = dict(record)
        data.pop("schemaVersion")
        system = data.pop("system", None)
        messages = data.get("messages")
        if isinstance(messages, list):
            messages = [read_message(m) for m in messages]
            if system is not None:
                messages.insert(0, {"role": "system", "content": read_blocks(system)})
            data["messages"] = self.with_system_prompt(messages)
        elif system is not None:
            data["system"] = system
        return build_example(data, source, self.name)

    def write(self, example: Example) -> Written:
        problems: list[Problem] = []
        self.check_example(example, problems)
        messages = example.messages
        if not isinstance(messages, list) or not all(isinstance(m, Message) for m in messages):
            problems.append(self.unsupported(example, "messages that are not a list of messages"))
            return Written(None, problems)
        system: list[Any] = []
        written: list[dict[str, Any]] = []
        for index, message in enumerate(messages):
            pointer = f"/messages/{index}"
            self.check_message(example, "messages", index, message, frozenset(), problems)
            blocks = self.write_blocks(example, f"{pointer}/content", message.content, problems)
            if message.role == "system" and not written:
                system += blocks
            elif message.role in ("user", "assistant"):
                written.append({"role": message.role, "content": blocks})
            else:
                problems.append(
                    self.unsupported(
                        example, f"a {message.role!r} message here", pointer=f"{pointer}/role"
                    )
                )
        record: dict[str, Any] = {"schemaVersion": SCHEMA_VERSION}
        if system:
            record["system"] = system
        record["messages"] = written
        self.carry_fields(example, record, problems)
        return Written(record, problems)
