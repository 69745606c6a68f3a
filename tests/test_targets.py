"""Target profiles: lookups, model limits and the self-hosted limit from the configuration."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

import ftprep.targets
from ftprep.config import Config
from ftprep.targets import (
    SELF_HOSTED_DEFAULT_MAX_TOKENS,
    TARGETS,
    get_target,
)
from ftprep.tokens.encodings import BUNDLED_ENCODINGS
from ftprep.validate.check import run_check


def test_every_required_target_is_registered() -> None:
    assert set(TARGETS) == {
        "openai",
        "together",
        "fireworks",
        "mistral",
        "vertex-gemini",
        "bedrock",
        "self-hosted",
    }


@pytest.mark.parametrize(
    ("target", "dialect"),
    [
        ("openai", "openai"),
        ("together", "openai"),
        ("fireworks", "openai"),
        ("mistral", "mistral"),
        ("vertex-gemini", "gemini"),
        ("bedrock", "bedrock"),
        ("self-hosted", "openai"),
    ],
)
def test_output_dialects(target: str, dialect: str) -> None:
    assert get_target(target).dialect == dialect


@pytest.mark.parametrize(
    ("model", "encoding", "limit"),
    [
        ("gpt-4o-mini", "o200k_base", 65_536),
        ("gpt-4.1", "o200k_base", 65_536),
        ("gpt-4.1-nano", "o200k_base", 32_768),
        ("gpt-3.5-turbo", "cl100k_base", 16_385),
    ],
)
def test_openai_model_limits(model: str, encoding: str, limit: int) -> None:
    spec = get_target("openai").model_spec(model)
    assert (spec.encoding, spec.max_tokens) == (encoding, limit)
    assert spec.source.startswith("https://platform.openai.com/")


def test_openai_profile() -> None:
    openai = get_target("openai")
    assert openai.min_examples == 10
    assert openai.model_spec().name == "gpt-4o-mini"
    assert openai.weight_allowed and openai.weight_roles == {"assistant"}
    assert openai.max_images_per_example == 64


def test_mistral_tool_call_ids_and_weights() -> None:
    mistral = get_target("mistral")
    assert mistral.tool_call_id_length == 9
    assert mistral.weight_allowed and mistral.must_end_with_assistant
    assert "tool" in mistral.allowed_roles and "developer" not in mistral.allowed_roles


def test_strict_alternation_targets() -> None:
    strict = {name for name, t in TARGETS.items() if t.strict_alternation}
    assert strict == {"together", "vertex-gemini", "bedrock"}


def test_bedrock_has_no_tools_or_weights() -> None:
    bedrock = get_target("bedrock")
    assert not bedrock.supports_tools and not bedrock.weight_allowed
    assert bedrock.allowed_roles == {"system", "user", "assistant"}


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_every_model_is_sourced_and_tokenisable_offline(target: str) -> None:
    profile = TARGETS[target]
    assert profile.sources, "a target names where its rules come from"
    assert profile.model_spec().name == profile.default_model
    for spec in profile.models:
        assert spec.encoding in BUNDLED_ENCODINGS
        assert spec.max_tokens > 0 and spec.source
        if not spec.source.startswith("https://platform.openai.com/") and "gpt-oss" not in (
            spec.name
        ):
            assert "approximates" in spec.source, f"{spec.name}: say the count is approximate"


def test_unknown_model_names_the_choices() -> None:
    with pytest.raises(KeyError) as err:
        get_target("openai").model_spec("gpt-5-turbo")
    message = str(err.value)
    assert "gpt-5-turbo" in message and "gpt-4o-mini" in message and "gpt-3.5-turbo" in message


def test_unknown_target_names_the_choices() -> None:
    with pytest.raises(KeyError) as err:
        get_target("anthropic")
    assert "self-hosted" in str(err.value) and "vertex-gemini" in str(err.value)


def test_self_hosted_limit_comes_from_the_configuration() -> None:
    target = get_target("self-hosted")
    assert target.spec_for(Config()).max_tokens == SELF_HOSTED_DEFAULT_MAX_TOKENS == 4096
    spec = target.spec_for(Config(model="meta-llama/Llama-3.1-8B-Instruct", max_tokens=8192))
    assert (spec.name, spec.max_tokens) == ("meta-llama/Llama-3.1-8B-Instruct", 8192)
    # Any model name is accepted; model_spec keeps working without a configuration.
    assert target.model_spec("Qwen/Qwen3-8B").max_tokens == 4096


def test_max_tokens_does_not_override_a_provider_limit() -> None:
    spec = get_target("openai").spec_for(Config(model="gpt-4.1-nano", max_tokens=999_999))
    assert spec.max_tokens == 32_768
    lower = get_target("openai").spec_for(Config(model="gpt-4.1-nano", max_tokens=8_192))
    assert lower.max_tokens == 8_192
    assert get_target("self-hosted").spec_for(Config(max_tokens=131_072)).max_tokens == 131_072
    with pytest.raises(KeyError, match="gpt-4o-mini"):
        get_target("openai").spec_for(Config(model="llama"))


def test_module_examples() -> None:
    assert doctest.testmod(ftprep.targets).failed == 0


def test_checking_with_an_unknown_model_names_the_choices(tmp_path: Path) -> None:
    data = tmp_path / "data.jsonl"
    data.write_text('{"messages": [{"role": "user", "content": "Hi"}]}\n', encoding="utf-8")
    with pytest.raises(KeyError) as err:
        run_check([data], Config(target="mistral", model="gpt-4o-mini"))
    assert "open-mistral-7b" in str(err.value) and "gpt-4o-mini" in str(err.value)
