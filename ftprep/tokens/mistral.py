"""Exact token counts with Mistral's own tokenizers, through ``mistral-common``.

``mistral-common`` ships its tokenizer files inside the package (Tekken ``.json`` files and
SentencePiece ``.model.vN`` files), so this path works offline. A tokenizer is named as
``mistral:v3``, ``mistral:v7``, ``mistral:tekken`` (v3 with Tekken), the stem of a bundled file
(``mistral:tekken_240911``), or a path to a tokenizer file.

Conversations are encoded as a fine-tuning request (the last turn may be the assistant's);
what ``mistral-common`` refuses (roles out of order, a tool call without a 9-character id) is
reported with its own message. Needs the ``mistral`` extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ftprep.model import Example
from ftprep.tokens.chat import ExampleTokens
from ftprep.tokens.hf import MissingExtra, message_dict

PREFIX = "mistral:"


def _require_mistral() -> Any:
    try:
        import mistral_common
        from mistral_common.tokens.tokenizers.mistral import MistralTokenizer
    except ImportError:
        raise MissingExtra(
            "counting with a Mistral tokenizer needs mistral-common: pip install 'ftprep[mistral]'"
        ) from None
    del mistral_common
    return MistralTokenizer


#: Short names for the tokenizers most fine-tunable Mistral models use.
ALIASES = {
    "v3": "mistral_instruct_tokenizer_240323.model.v3",
    "v7": "mistral_instruct_tokenizer_241114.model.v7",
    "tekken": "tekken_240718.json",
}


def bundled_tokenizer_files() -> dict[str, Path]:
    """Tokenizer files shipped inside ``mistral-common``, by file name."""
    _require_mistral()
    import mistral_common

    data = Path(mistral_common.__file__).parent / "data"
    return {
        path.name: path
        for path in sorted(data.iterdir())
        if path.suffix == ".json" or ".model" in path.name
    }


def resolve(name: str) -> Path:
    """The tokenizer file ``name`` refers to: an alias, a bundled file name (with or without
    ``.json``) or a path."""
    key = name.removeprefix(PREFIX)
    path = Path(key)
    if path.is_file():
        return path
    bundled = bundled_tokenizer_files()
    key = ALIASES.get(key, key)
    for candidate in (key, f"{key}.json"):
        if candidate in bundled:
            return bundled[candidate]
    known = ", ".join([*ALIASES, *bundled])
    raise ValueError(f"unknown Mistral tokenizer {name!r}; known: {known}")


def is_mistral_tokenizer(name: str) -> bool:
    """Whether a ``--tokenizer`` value names a Mistral tokenizer."""
    return name.startswith(PREFIX) or (name.endswith(".json") and "tekken" in Path(name).name)


class MistralChatTokenizer:
    """Counts examples with a ``mistral-common`` tokenizer in fine-tuning mode."""

    def __init__(self, name: str, window: int | None = None):
        tokenizer_class = _require_mistral()
        self.window = window
        from mistral_common.protocol.instruct.validator import ValidationMode

        self.name = name
        self._tokenizer = tokenizer_class.from_file(
            str(resolve(name)), mode=ValidationMode.finetuning
        )

    def request(self, example: Example) -> Any:
        """The ``ChatCompletionRequest`` mistral-common encodes for ``example``."""
        from mistral_common.protocol.instruct.request import ChatCompletionRequest

        messages = [message_dict(m) for m in example.conversation()]
        tools = example.tools if isinstance(example.tools, list) else None
        return ChatCompletionRequest.model_validate({"messages": messages, "tools": tools})

    def count(self, example: Example) -> ExampleTokens:
        """Count ``example``: all tokens of the encoded conversation, and the tokens of the
        assistant turns (what mistral's fine-tuning trains on)."""
        result = ExampleTokens()
        try:
            request = self.request(example)
            encoded = self._tokenizer.encode_chat_completion(request)
        except Exception as err:  # mistral-common's own message is the finding
            result.template_error = f"{type(err).__name__}: {err}"
            return result
        result.total = len(encoded.tokens)
        instruct = self._tokenizer.instruct_tokenizer
        messages = request.messages
        last_user = max((i for i, m in enumerate(messages) if m.role == "user"), default=-1)
        spans: list[tuple[int, int]] = []
        for i, message in enumerate(messages):
            role = message.role
            if role == "assistant":
                size = len(instruct.encode_assistant_message(message, i < last_user))
                result.trained += size
                spans.append((i, size))
            result.by_role[role] = result.by_role.get(role, 0)
        if self.window is not None and result.total > self.window:
            result.segments = self._segments(request, spans, result.total)
        return result

    def _segments(self, request: Any, spans: list[tuple[int, int]], total: int) -> list[int]:
        """The token runs of the encoded conversation (:attr:`ExampleTokens.segments`): each
        answer ends the encoding of the conversation up to it."""
        segments: list[int] = []
        position = 0
        for index, size in spans:
            upto = request.model_copy(update={"messages": request.messages[: index + 1]})
            end = len(self._tokenizer.encode_chat_completion(upto).tokens)
            segments.extend((max(end - size - position, 0), size))
            position = end
        segments.append(max(total - position, 0))
        return segments
