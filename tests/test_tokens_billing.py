"""The OpenAI cookbook's fine-tuning data check, reproduced through ``run_check`` and the
billing functions on the cookbook's own toy data.

The cookbook reports for ``toy_chat_fine_tuning.jsonl``: no format errors, 1 example missing
a system message, 1 missing a user message, a longest example of 8,032 tokens (cl100k_base,
gpt-3.5-turbo) and 20 default epochs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ftprep.config import Config
from ftprep.findings import Severity
from ftprep.targets import OPENAI
from ftprep.tokens.billing import (
    cost,
    default_epochs,
    estimate,
    estimate_facts,
    tokens_per_epoch,
)
from ftprep.validate.check import CheckResult, run_check

SHARED = Path(__file__).resolve().parents[2] / "shared"
TOY = SHARED / "realdata" / "openai_cookbook" / "toy_chat_fine_tuning.jsonl"


@pytest.fixture(scope="module")
def toy() -> CheckResult:
    return run_check([TOY], Config(model="gpt-3.5-turbo", price_per_million=8.0))


def test_no_format_errors_only_the_example_minimum(toy: CheckResult) -> None:
    errors = [f for f in toy.findings if f.severity is Severity.ERROR]
    # 5 examples are below OpenAI's minimum of 10; nothing else is an error.
    assert [(f.code, f.message) for f in errors] == [
        ("D001", "5 examples loaded; openai requires at least 10")
    ]
    assert toy.loaded == 5


def test_one_example_missing_system_and_one_missing_user(toy: CheckResult) -> None:
    missing_system = [f for f in toy.findings if f.code == "D004"]
    missing_user = [f for f in toy.findings if f.code == "D005"]
    assert [(f.line, f.data["missing"]) for f in missing_system] == [(3, 1)]
    assert [(f.line, f.data["missing"]) for f in missing_user] == [(4, 1)]
    assert int(np.count_nonzero(~toy.facts.has_system)) == 1
    assert int(np.count_nonzero(~toy.facts.has_user)) == 1


def test_longest_example_and_default_epochs(toy: CheckResult) -> None:
    assert int(toy.facts.tokens.max()) == 8_032
    assert list(toy.facts.tokens) == [45, 111, 26, 28, 8_032]
    limit = OPENAI.spec_for(toy.config).max_tokens
    assert limit == 16_385
    billing = estimate_facts(toy.facts, limit, price_per_million=toy.config.price_per_million)
    assert billing.examples == 5
    assert billing.epochs == 20
    assert billing.tokens_per_epoch == 8_242
    assert billing.billed_tokens == 164_840
    assert billing.cost == pytest.approx(1.31872)
    # Nothing reaches the limit, so no token finding either.
    assert not [f for f in toy.findings if f.code.startswith("T")]


@pytest.mark.parametrize(
    ("examples", "epochs"),
    [
        (1, 25),  # 100 // 1 = 100, capped at 25
        (4, 25),
        (5, 20),
        (33, 3),  # 99 < 100: 100 // 33 = 3
        (34, 3),  # 102 >= 100: the target 3
        (8_333, 3),  # 24,999 <= 25,000
        (8_334, 2),  # 25,002 > 25,000: 25,000 // 8,334 = 2
        (12_501, 1),
        (1_000_000, 1),
    ],
)
def test_default_epochs_follows_the_cookbook(examples: int, epochs: int) -> None:
    assert default_epochs(examples) == epochs


def test_billed_tokens_cap_each_example_at_the_limit() -> None:
    assert tokens_per_epoch(np.array([100, 20_000, 16_385]), 16_385) == 100 + 16_385 + 16_385
    result = estimate([100, 20_000], limit=16_385, epochs=2)
    assert (result.tokens_per_epoch, result.billed_tokens, result.cost) == (16_485, 32_970, None)
    assert cost(1_000_000, 25.0) == 25.0


def test_rejected_records_are_not_billed(tmp_path: Path) -> None:
    data = tmp_path / "data.jsonl"
    lines = TOY.read_text(encoding="utf-8").splitlines()
    data.write_text("\n".join([*lines, "{not json", lines[0]]) + "\n", encoding="utf-8")
    result = run_check([data], Config(model="gpt-3.5-turbo", max_tokens=8_000))
    # The 8,032-token example is over the configured limit: an error rejects it.
    billing = estimate_facts(result.facts, 8_000)
    assert billing.examples == 5
    assert billing.tokens_per_epoch == 45 + 111 + 26 + 28 + 45
    everything = estimate_facts(result.facts, 8_000, include_rejected=True)
    assert everything.examples == 6
    assert everything.tokens_per_epoch == billing.tokens_per_epoch + 8_000
