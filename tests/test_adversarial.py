"""No text makes a rule slow: every record rule, on texts of 100 KB built to make patterns
backtrack (a private-key header followed by ``" A"`` pairs took 28 s for 1.6 KB before its
pattern was made possessive), stays within a bound relative to a plain scan of the same text.

The bound is generous (real runs stay under a tenth of it on a busy machine): it is there to
catch super-linear patterns, whose time grows by orders of magnitude, not to time rules."""

from __future__ import annotations

import statistics
import time

import pytest
from backends import EVERY_TRIGGER

from ftprep.model import Example
from ftprep.rules.context import RecordContext
from ftprep.validate.engine import RecordPass
from ftprep.view import ExampleView

SIZE = 100_000
#: How many times a plain scan of the text a rule may take.
BOUND = 20_000


def _fill(piece: str) -> str:
    return (piece * (SIZE // len(piece) + 1))[:SIZE]


ADVERSARIAL = {
    "pem header then pairs": "-----BEGIN PRIVATE KEY-----" + _fill(" A"),
    "pem headers": _fill("-----BEGIN RSA PRIVATE KEY----- A "),
    "slots": _fill("{{a "),
    "braces": _fill("{{"),
    "dollar slots": _fill("${a"),
    "at signs and dots": _fill("a@b."),
    "at signs": _fill("@"),
    "dashes and digits": _fill("1-"),
    "plus and digits": _fill("+1 "),
    "card groups": _fill("4242 "),
    "digits": _fill("1"),
    "fences": _fill("```\n"),
    "brackets": _fill("(["),
    "disclaimers": _fill("As an AI, "),
    "refusals": _fill("I am sorry but I cannot "),
    "key prefix": "sk-" + _fill("a"),
    "token prefix": "eyJ" + _fill("a."),
    "one word": _fill("word "),
    "one line": _fill("same line\n"),
    "nul": _fill("\x00"),
    "mojibake": _fill("\N{LATIN CAPITAL LETTER A WITH TILDE}\N{COPYRIGHT SIGN}"),
    "spaces": _fill(" "),
    "special tokens": _fill("<|im_start|>"),
    "fill-ins": _fill("[insert "),
    "tags": _fill("<a "),
    "commas": _fill("a, "),
    "pem body": "-----BEGIN RSA PRIVATE KEY-----\n" + _fill("QUJD" * 16 + "\n"),
    "url userinfo": _fill("postgres://a:b"),
    "url passwords": "https://u:" + _fill("p"),
    "assignments": _fill("password = "),
    "assigned values": "api_key = " + _fill("a1"),
    "connection strings": _fill("Server=a;Password="),
    "iban groups": "DE44" + _fill(" 5001"),
    "ssn context": _fill("SSN 536-90-"),
    "ni context": _fill("national insurance AB 12 34 "),
    "aws secret context": _fill("aws_secret_access_key = "),
    "sas": _fill("sv=1&sig="),
    "webhooks": _fill("hooks.slack.com/services/"),
    "name field": _fill("a@b.c:"),
}


@pytest.fixture(scope="module")
def record_pass() -> RecordPass:
    return RecordPass(EVERY_TRIGGER)


def _plain_scan(text: str) -> float:
    times = []
    for _ in range(5):
        start = time.perf_counter()
        text.count("\n")
        text.lower()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_every_rule_is_linear_on_adversarial_text(name: str, record_pass: RecordPass) -> None:
    text = ADVERSARIAL[name]
    example = Example.model_validate(
        {"messages": [{"role": "user", "content": text}, {"role": "assistant", "content": text}]}
    )
    ctx = RecordContext(record_pass.target, record_pass.model, EVERY_TRIGGER)
    ctx.tokens = record_pass.tokenizer.count(example)
    ctx.view = ExampleView.of(example)
    limit = BOUND * _plain_scan(text)
    slow = []
    for rule in record_pass.rules:
        start = time.perf_counter()
        rule.check(example, ctx)
        took = time.perf_counter() - start
        if took > limit:
            slow.append(f"{rule.code} took {took:.2f} s (bound {limit:.2f} s)")
    assert slow == []
    assert len(record_pass.rules) > 50  # every rule ran
