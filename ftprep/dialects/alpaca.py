"""Alpaca format: ``{"instruction", "input", "output"}`` with optional ``system`` and
``history`` (``[[question, answer], ...]``) as LLaMA-Factory extends it, including its
preference (``chosen`` / ``rejected`` instead of ``output``) and KTO (``kto_tag``) variants.

Documentation: https://github.com/tatsu-lab/stanford_alpaca#data-release and
https://github.com/hiyouga/LLaMA-Factory/blob/main/data/README.md (Alpaca format).

Canonical mapping: ``system`` becomes the system message, each history pair a user and an
assistant message, then the instruction and the output. The instruction and a non-empty
input are joined by a blank line (``instruction + "\\n\\n" + input``) into one user message.
Writing puts the whole user text into ``instruction`` with an empty ``input``: the split
between the two is not kept, the canonical example is (reading it back gives the same
example).

A record with a ``chosen`` or ``rejected`` answer is a preference pair, whether or not it
also has an ``output``: an ``output`` next to the pair (an SFT answer kept from the data the
pair was made from, as in rasbt/LLMs-from-scratch's preference set) stays an extra field, as
LLaMA-Factory ignores it when it reads the file as ranking data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ftprep.dialects.base import Dialect, Written, build_example, message_of
from ftprep.findings import Problem
from ftprep.model import Example, Message, Source

SEPARATOR = "\n\n"


def user_text(instruction: Any, extra: Any) -> Any:
    """The user message of an instruction and its input (wrong types kept for rules)."""
    if extra is None or extra == "":
        return instruction
    if isinstance(instruction, str) and isinstance(extra, str):
        return instruction + SEPARATOR + extra if instruction else extra
    return [instruction, extra]


class Alpaca(Dialect):
    """``{"instruction": ..., "input": ..., "output": ..., "system"?, "history"?}``."""

    name = "alpaca"
    summary = "Alpaca instruction/input/output (Stanford Alpaca, LLaMA-Factory)"
    keeps_extra_fields = True

    def matches(self, record: Mapping[str, Any]) -> bool:
        return "instruction" in record and ("output" in record or "chosen" in record)

    def read(self, record: Mapping[str, Any], source: Source | None = None) -> Example:
        data: dict[str, Any] = dict(record)
        messages: list[Any] = []
        system = data.pop("system", None)
        if system is not None and system != "":
            messages.append({"role": "system", "content": system})
        history = data.get("history")
        if isinstance(history, list) and all(
            isinstance(turn, list) and len(turn) == 2 for turn in history
        ):
            del data["history"]
            for question, answer in history:
                messages.append({"role": "user", "content": question})
                messages.append({"role": "assistant", "content": answer})
        messages.append(
            {
                "role": "user",
                "content": user_text(data.pop("instruction", None), data.pop("input", None)),
            }
        )
        if "chosen" in data or "rejected" in data:
            for side in ("chosen", "rejected"):
                if side in data:
                    data[side] = [{"role": "assistant", "content": data[side]}]
        else:
            messages.append({"role": "assistant", "content": data.pop("output", None)})
        if isinstance(data.get("kto_tag"), bool):
            data["label"] = data.pop("kto_tag")
        data["messages"] = self.with_system_prompt(messages)
        return build_example(data, source, self.name)

    def field_of(self, example: Example, pointer: str) -> str | None:
        """``/output``, ``/instruction``, ``/system``, ``/history/<k>/<0|1>``, or the side of
        a preference pair, for the pointer's turn."""
        if pointer.startswith(("/chosen", "/rejected")):
            return "/" + pointer.split("/")[1]
        found = message_of(example, pointer)
        if found is None:
            return None
        index, role, count = found
        if role == "system":
            configured = example.conversation()[index].content == self.options.system_prompt
            return None if configured else "/system"
        last = count - 1
        if role == "assistant" and index == last:
            return "/output"
        if role == "user" and index in (last, last - 1):
            return "/instruction"
        first_turn = 1 if example.conversation()[0].role == "system" else 0
        turn = index - first_turn
        return f"/history/{turn // 2}/{turn % 2}"

    def write(self, example: Example) -> Written:
        problems: list[Problem] = []
        self.check_example(example, problems, preference=True, label=True)
        answers = [example.chosen, example.rejected] if example.is_preference else []
        if answers and not all(
            isinstance(side, list) and len(side) == 1 and isinstance(side[0], Message)
            for side in answers
        ):
            problems.append(self.unsupported(example, "chosen/rejected of other than one message"))
            return Written(None, problems)
        conversation = example.messages
        if answers and isinstance(conversation, list):
            conversation = [*conversation, answers[0][0]]  # type: ignore[index]
        split = self.turn_pairs(example, problems, conversation)
        if split is None:
            return Written(None, problems)
        system, pairs = split
        offset = 1 if system is not None else 0
        texts = [
            self.pair_texts(example, pair, offset + 2 * i, problems) for i, pair in enumerate(pairs)
        ]
        instruction, output = texts[-1]
        record: dict[str, Any] = {"instruction": instruction, "input": ""}
        if answers:
            # The chosen answer was checked as the last turn of the conversation.
            rejected = answers[1][0]  # type: ignore[index]
            self.check_message(example, "rejected", 0, rejected, frozenset(), problems)
            record["chosen"] = output
            record["rejected"] = self.text_content(example, "rejected", 0, rejected, problems)
        else:
            record["output"] = output
        if system is not None:
            self.check_message(example, "messages", 0, system, frozenset(), problems)
            record["system"] = self.text_content(example, "messages", 0, system, problems)
        if len(texts) > 1:
            record["history"] = [list(pair) for pair in texts[:-1]]
        if example.label is not None:
            record["kto_tag"] = example.label
        self.carry_fields(example, record, problems)
        return Written(record, problems)
