"""Token counting: offline tiktoken encodings and the chat-format overhead providers bill
(:mod:`ftprep.tokens.chat`), Hugging Face tokenizers with their chat templates
(:mod:`ftprep.tokens.hf`) and Mistral's own tokenizers (:mod:`ftprep.tokens.mistral`).

:func:`make_tokenizer` picks the tokenizer the token rules use for a configuration.
"""

from __future__ import annotations

from ftprep.config import Config, ConfigError
from ftprep.targets import ModelSpec, get_target
from ftprep.tokens.chat import ExampleTokens, TiktokenChatCounter, Tokenizer

__all__ = [
    "ExampleTokens",
    "TiktokenChatCounter",
    "Tokenizer",
    "check_tokenizer",
    "make_tokenizer",
]


def make_tokenizer(config: Config, model: ModelSpec) -> Tokenizer:
    """The tokenizer for ``model`` under ``config``: ``config.tokenizer`` when set (a
    ``tokenizer.json``, a model folder, or a Mistral tokenizer), else the model's tiktoken
    encoding. A tokenizer that cannot be loaded (no such file or name, a broken file, no
    chat template, its extra not installed) raises :class:`~ftprep.config.ConfigError`."""
    name = config.tokenizer
    if name is None:
        return TiktokenChatCounter(model.encoding)
    try:
        from ftprep.tokens.mistral import MistralChatTokenizer, is_mistral_tokenizer

        if is_mistral_tokenizer(name):
            return MistralChatTokenizer(name, window=model.max_tokens)
        from ftprep.tokens.hf import HFChatTokenizer

        return HFChatTokenizer(name, window=model.max_tokens, chat_template=config.chat_template)
    except Exception as err:  # the libraries' own errors (tokenizers raises bare Exception)
        raise ConfigError(f"cannot load the tokenizer {name!r}: {err}") from err


def check_tokenizer(config: Config) -> None:
    """Load the configured tokenizer once, so that a bad ``tokenizer`` setting is a
    :class:`~ftprep.config.ConfigError` before any work starts (and never a crash inside a
    worker process). Nothing to do for the built-in tiktoken encodings."""
    if config.tokenizer is not None:
        make_tokenizer(config, get_target(config.target).spec_for(config))
