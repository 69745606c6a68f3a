"""Privacy rules (P): secrets are never shown in full, look-alike numbers stay quiet, and the
real data holds no secrets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ftprep import secrets
from ftprep.config import Config
from ftprep.findings import Finding
from ftprep.model import Example
from ftprep.rules.context import RecordContext
from ftprep.rules.privacy import (
    ApiKey,
    EmailAddress,
    PaymentCardNumber,
    PhoneNumber,
    card_brand,
    looks_fake,
    luhn_valid,
)
from ftprep.targets import get_target
from ftprep.validate.check import run_check

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
GSM8K = REALDATA / "alpaca_cleaned_extensions" / "gsm_8k" / "gsm_8k_train.json"
ALPACA_5000 = REALDATA / "stanford_alpaca_pr152" / "alpaca_5000.json"

# Random strings in the shape of real credentials; none is or was ever valid.
OPENAI_KEY = "sk-proj-Q2x9LmT4vK8pR1sW7yZ3bN6cD0fG5hJ" + "aE4uI8oP2qR6tY0wX3zC7vB1nM5kL9jH"
GITHUB_TOKEN = "ghp_" + "R7kX2mP9qL4vT8wZ1nB6cD3fG5hJ0s" + "45u4a3"  # its CRC32 checksum


def _check(rule: Any, record: dict[str, Any]) -> list[Finding]:
    target = get_target("openai")
    ctx = RecordContext(target, target.model_spec(None), Config())
    return list(rule.check(Example.model_validate(record), ctx))


def _chat(answer: str) -> dict[str, Any]:
    return {
        "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": answer}]
    }


def test_secrets_are_masked_everywhere_a_finding_shows_them(tmp_path: Path) -> None:
    record = {
        "messages": [
            {"role": "user", "content": f"my key {OPENAI_KEY} fails"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {
                            "name": "clone",
                            "arguments": json.dumps({"token": GITHUB_TOKEN}),
                        },
                    }
                ],
            },
        ]
    }
    data = tmp_path / "data.jsonl"
    data.write_text(json.dumps(record) + "\n", encoding="utf-8")
    result = run_check([data], Config(select=["P"]))
    found = [f for f in result.findings if f.code == "P001"]
    assert [f.location.pointer for f in found] == [
        "/messages/0/content",
        "/messages/1/tool_calls/0/function/arguments",
    ]
    shown = json.dumps([f.to_dict() for f in result.findings])
    assert OPENAI_KEY not in shown and GITHUB_TOKEN not in shown
    assert OPENAI_KEY[:4] in shown and f"({len(OPENAI_KEY)} chars)" in shown


@pytest.mark.parametrize(
    "token",
    ["AKIAIOSFODNN7EXAMPLE", "sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "ghp_" + "a" * 36],
)
def test_placeholders_look_fake(token: str) -> None:
    assert looks_fake(token)
    assert _check(ApiKey(), _chat(f"use {token} here")) == []


def test_real_looking_tokens_do_not_look_fake() -> None:
    assert not looks_fake(OPENAI_KEY)
    assert not looks_fake(GITHUB_TOKEN)


def test_luhn_and_brands() -> None:
    assert luhn_valid("4539148803436467")
    assert not luhn_valid("4539148803436468")
    assert card_brand("4539148803436467") == "Visa"
    assert card_brand("5555555555554444") == "Mastercard"
    assert card_brand("378282246310005") == "American Express"
    assert card_brand("6011111111111117") == "Discover"
    assert card_brand("1234567812345670") is None
    assert card_brand("4539148803436") is None  # 13-digit Visa numbers are retired


@pytest.mark.parametrize(
    "text",
    [
        "978-0-306-40615-7",  # ISBN
        "9780306406157",
        "123e4567-e89b-12d3-a456-426614174000",  # UUID
        "3f786850e387550fdab836ed7e6dc881de23001b",  # git SHA
        "2024-01-15 and 15/01/2024 and 01.15.2024",
        "v10.2.3-4567",
        "She has 12 + 15 = 27 apples, 4539148803436467 / 3 = 1513049601145489",
        "SELECT * FROM orders WHERE id = 4539148803436467",  # next to "=": arithmetic or code
    ],
)
def test_numbers_that_are_not_cards_or_phones(text: str) -> None:
    for rule in (PaymentCardNumber(), PhoneNumber(), EmailAddress()):
        assert _check(rule, _chat(text)) == [], (rule.code, text)


def test_bare_card_number_is_reported() -> None:
    found = _check(PaymentCardNumber(), _chat("card 4539148803436467 expires 04/27"))
    assert [f.data["brand"] for f in found] == ["Visa"]
    assert "4539148803436467" not in found[0].message


def test_gsm8k_arithmetic_and_alpaca_have_no_phone_or_card_numbers() -> None:
    result = run_check([GSM8K, ALPACA_5000], Config(select=["P005", "P006"]))
    assert result.findings == []


def test_alpaca_emails_are_the_personal_looking_ones() -> None:
    result = run_check([ALPACA_5000], Config(select=["P004"]))
    domains = sorted(f.data["domain"] for f in result.findings)
    # example.com addresses and placeholders (my_gmail_address@gmail.com) are skipped; the
    # two emma.watson@gmail.com ones look personal.
    assert domains == ["gmail.com"] * 2
    assert all("@" not in f.message for f in result.findings)


_NUMBERISH = st.lists(
    st.one_of(
        st.text(alphabet="0123456789", min_size=1, max_size=20),
        st.sampled_from(["4242", "378282", "10005", "415"]),
        st.sampled_from([" ", "-", ".", "+", "(", ")", "x", "=", "a"]),
    ),
    max_size=12,
).map("".join)


@given(_NUMBERISH)
@example("card 3782 822463 1000.")
@example("card 4242-4242-4242-4242")
@example("4242424242424242")
@example("call (415) 867-5309 or 415.867.5309, +1-415-867-5309")
def test_digit_shapes_never_hide_a_card_or_phone_number(text: str) -> None:
    # The card and phone rules skip an example whose digit shapes lack what their patterns
    # need; that must only ever skip examples the patterns find nothing in.
    from ftprep.rules.privacy import _CARD_SHAPES, _INTERNATIONAL_SHAPE, _NANP_TAIL_SHAPES
    from ftprep.secrets import CARD, PHONE_INTERNATIONAL, PHONE_NANP
    from ftprep.view import ExampleView

    example = Example.model_validate({"messages": [{"role": "user", "content": text}]})
    shapes = ExampleView.of(example).digit_shapes
    if CARD.search(text):
        assert any(shape in shapes for shape in _CARD_SHAPES)
    if PHONE_INTERNATIONAL.search(text):
        assert _INTERNATIONAL_SHAPE in shapes
    if PHONE_NANP.search(text):
        assert any(shape in shapes for shape in _NANP_TAIL_SHAPES)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Her social insurance number is 130 692 544.", "Canadian social insurance number"),
        ("Aadhaar: 2363 4523 1237", None),  # Verhoeff fails
        ("My DNI is 16959625T.", "Spanish DNI/NIE number"),
        ("NIE X6089470A, please.", None),  # the check letter of X6089470 is not A
        ("sécurité sociale : 1 84 12 76 451 089 46", "French social security number (NIR)"),
        ("sécurité sociale : 1 84 12 76 451 089 47", None),  # the key fails
        ("Steuer-ID: 86 095 742 719", None),  # the tax office's test number
        ("Steuer-ID: 12 345 678 901", None),  # a run, and the digit pattern fails
        ("SIN: 046 454 286", None),  # Service Canada's specimen
        ("Order 130 692 544 shipped.", None),  # no context
    ],
)
def test_national_ids_need_context_and_checksum(text: str, kind: str | None) -> None:
    found = [k for _s, _e, _n, k in secrets.find_national_ids(text)]
    assert found == ([kind] if kind else [])


def test_national_id_checksums() -> None:
    assert secrets.verhoeff_valid("2363") and not secrets.verhoeff_valid("2364")
    assert secrets._nir_valid("2 55 08 14 168 025 38")  # valid, but an example: not reported
    assert all(secrets._steuer_id_valid(n) for n in ("86095742719", "47036892816"))
    assert not secrets._steuer_id_valid("86095742718")
