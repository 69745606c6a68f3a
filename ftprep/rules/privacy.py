"""P: Privacy and secrets: API keys, tokens, private keys, e-mail, phone and card numbers.

Every turn's text is scanned (system, user, assistant, tool, rejected answers too: a leak is
a leak wherever it sits), and so are the ``arguments`` strings of tool and function calls.
Each pattern is its own compiled regular expression behind cheap pre-checks (combined
alternations measured 5-10x slower): each rule declares its key prefixes, ``@`` or number
shapes as triggers, so the engine's prefilter runs it only on examples whose texts hold one;
a pattern runs on a text only where one of its own prefixes occurs, and the number patterns
run once over the joined texts before any single turn is looked at. Findings never carry a
detected value in full: they show it through :func:`~ftprep.findings.mask_secret`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from pydantic import Field

from ftprep.findings import Finding, Severity, mask_secret
from ftprep.model import Example
from ftprep.rules.base import RecordRule, RuleOptions, Triggers
from ftprep.rules.context import RecordContext
from ftprep.rules.texts import (
    digit_count,
)

#: Lower-case fragments of documentation placeholders ("sk-your-key-here", "AKIA...EXAMPLE").
_FAKE_MARKERS = ("example", "xxxx", "your", "dummy", "fake", "sample", "redacted", "0000000")
_MIN_DISTINCT = 8


def looks_fake(token: str) -> bool:
    """Whether ``token`` is a documentation placeholder rather than a real credential: it
    says so (``EXAMPLE``, ``xxxx``, ``your``...) or has too few distinct characters."""
    low = token.lower()
    return any(m in low for m in _FAKE_MARKERS) or len(set(token)) < _MIN_DISTINCT


@dataclass(frozen=True, slots=True)
class Pattern:
    """One kind of secret: a name, substrings one of which must occur, and a regex."""

    kind: str
    triggers: tuple[str, ...]
    regex: re.Pattern[str]


class _PatternRule(RecordRule):
    """A rule reporting every match of its patterns that ``accept`` keeps."""

    patterns: ClassVar[tuple[Pattern, ...]]
    hint: ClassVar[str]

    def accept(self, value: str, text: str, start: int, end: int) -> bool:
        """Whether a match is reported (placeholders and look-alikes are not)."""
        return not looks_fake(value)

    def describe(self, kind: str, value: str) -> str:
        """How a found value is shown: masked."""
        return f"{kind} {mask_secret(value)}"

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        findings: list[Finding] = []
        for item in ctx.view_of(example).scanned_texts:
            text = item.text
            for pattern in self.patterns:
                for trigger in pattern.triggers:
                    if trigger in text:
                        break
                else:
                    continue
                for match in pattern.regex.finditer(text):
                    value = match.group(0)
                    if self.accept(value, text, *match.span()):
                        findings.append(
                            self.finding(
                                example,
                                f"{self.describe(pattern.kind, value)} in {item.role} text",
                                at=item,
                                hint=self.hint,
                                data={"kind": pattern.kind, "offset": match.start()},
                            )
                        )
        return findings


_NOT_TOKEN_BEFORE = r"(?<![A-Za-z0-9_-])"
_NOT_TOKEN_AFTER = r"(?![A-Za-z0-9_-])"


def _token(body: str) -> re.Pattern[str]:
    return re.compile(_NOT_TOKEN_BEFORE + body + _NOT_TOKEN_AFTER)


class ApiKey(_PatternRule):
    """A turn contains what looks like a live API key or access token: OpenAI (``sk-``,
    ``sk-proj-``), Anthropic (``sk-ant-``), AWS access key ids (``AKIA``/``ASIA``), GitHub
    (``ghp_``, ``gho_``, ``ghu_``, ``ghs_``, ``ghr_``, ``github_pat_``), Google API keys
    (``AIza``) and Slack tokens (``xoxb-``...).

    A fine-tuned model can reproduce its training data verbatim, so a key in the data is a
    key anyone querying the model may extract, and the file itself is now a secret.
    Documentation placeholders (``sk-...your-key...``, ``AKIAIOSFODNN7EXAMPLE``, ``xxxx``)
    are not reported.

    Fix: revoke the key now, then replace it in the data with a placeholder.
    """

    code = "P001"
    name = "api-key"
    severity = Severity.ERROR
    summary = "Turn contains an API key or access token"
    hint = "revoke the key, then replace it with a placeholder"
    patterns = (
        Pattern("Anthropic API key", ("sk-ant-",), _token(r"sk-ant-[A-Za-z0-9_-]{32,}")),
        Pattern(
            "OpenAI API key",
            ("sk-",),
            _token(r"sk-(?!ant-)(?:proj-|svcacct-|admin-)?(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{32,}"),
        ),
        Pattern("AWS access key id", ("AKIA", "ASIA"), _token(r"(?:AKIA|ASIA)[A-Z0-9]{16}")),
        Pattern(
            "GitHub token",
            ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
            _token(r"(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,})"),
        ),
        Pattern("Google API key", ("AIza",), _token(r"AIza[0-9A-Za-z_-]{35}")),
        Pattern(
            "Slack token", ("xox",), _token(r"xox[baprs]-(?=[0-9A-Za-z-]*\d)[0-9A-Za-z-]{20,}")
        ),
    )
    triggers = Triggers(
        "api-key", exact=tuple(t for p in patterns for t in p.triggers), tool_arguments=True
    )


class PrivateKey(_PatternRule):
    """A turn contains a PEM private key block (``-----BEGIN RSA PRIVATE KEY-----`` followed
    by key material).

    Private keys in training data can be reproduced by the model; the key must be
    considered compromised. Headers followed by an elided body (``MIIE...``) are
    documentation and are not reported.

    Fix: revoke and rotate the key, then remove the block from the data.
    """

    code = "P002"
    name = "private-key"
    severity = Severity.ERROR
    summary = "Turn contains a private key"
    hint = "rotate the key, then remove it from the data"
    patterns = (
        Pattern(
            "private key",
            ("-----BEGIN",),
            re.compile(
                # Possessive and bounded, so that no text makes it backtrack: up to three
                # header lines (Proc-Type: ...), then two base64 runs.
                r"-----BEGIN (?:[A-Z0-9]{1,40} ){0,8}PRIVATE KEY(?: BLOCK)?-----"
                r"(?:\s*+[A-Za-z0-9+/=:-][^\n]{0,256}+){0,3}?(?:\s*+[A-Za-z0-9+/=]{40,}+){2}"
            ),
        ),
    )
    triggers = Triggers(
        "private-key", exact=tuple(t for p in patterns for t in p.triggers), tool_arguments=True
    )

    def accept(self, value: str, text: str, start: int, end: int) -> bool:
        return True

    def describe(self, kind: str, value: str) -> str:
        header = value.split("-----")[1]
        return f"{kind} block ({header})"


#: The signature of the token on jwt.io's front page, quoted in countless tutorials.
_JWT_IO_SIGNATURE = "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"


class JsonWebToken(_PatternRule):
    """A turn contains a JSON Web Token (``eyJ...`` header, payload and signature).

    JWTs are bearer credentials: until they expire, whoever holds one is the user it
    names, and their payload often carries personal data. The well-known example token from
    jwt.io is not reported. A warning, because tokens in tutorials are usually expired.

    Fix: replace the token with a placeholder such as ``<JWT>``.
    """

    code = "P003"
    name = "jwt"
    severity = Severity.WARNING
    summary = "Turn contains a JSON Web Token"
    hint = "replace the token with a placeholder"
    patterns = (
        Pattern(
            "JSON Web Token",
            ("eyJ",),
            _token(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}"),
        ),
    )
    triggers = Triggers(
        "jwt", exact=tuple(t for p in patterns for t in p.triggers), tool_arguments=True
    )

    def accept(self, value: str, text: str, start: int, end: int) -> bool:
        return not value.endswith(_JWT_IO_SIGNATURE) and not looks_fake(value)


_AT = Triggers("at-sign", any_byte=b"@", tool_arguments=True)
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}"
    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24})(?![A-Za-z0-9_-])"
)
#: Reserved for documentation (RFC 2606, RFC 6761) or used as obvious placeholders.
_PLACEHOLDER_DOMAINS = (
    "example.com",
    "example.net",
    "example.org",
    "example.edu",
    "domain.com",
    "yourdomain.com",
    "mydomain.com",
    "company.com",
    "yourcompany.com",
    "email.com",
    "test.com",
)
_RESERVED_TLDS = frozenset({"example", "test", "invalid", "localhost", "local"})
#: "Top-level domains" that are really file extensions (``logo@2x.png``).
_FILE_EXTENSIONS = frozenset(
    [
        "png",
        "jpg",
        "jpeg",
        "gif",
        "svg",
        "webp",
        "ico",
        "bmp",
        "pdf",
        "js",
        "mjs",
        "ts",
        "css",
        "scss",
        "json",
        "yaml",
        "yml",
        "xml",
        "py",
        "md",
        "txt",
        "html",
        "htm",
    ]
)


class EmailOptions(RuleOptions):
    """Options of :class:`EmailAddress`."""

    allow_domains: list[str] = Field(default_factory=lambda: list(_PLACEHOLDER_DOMAINS))
    """Domains (and their subdomains) whose addresses are not reported. The defaults are the
    documentation domains and common placeholders; ``*.example``, ``*.test``, ``*.invalid``
    and ``*.localhost`` are never reported."""


class EmailAddress(RecordRule):
    """A turn contains an e-mail address.

    Addresses are personal data: a model trained on them can reproduce them, and data
    protection law may forbid processing them for training at all. Addresses at
    documentation and placeholder domains (``example.com``, ``yourdomain.com``, any domain
    whose first label starts with ``example``, the reserved ``.test``/``.example`` names) are
    not reported, nor SSH remotes (``git@github.com:owner/repo``) or image names
    (``logo@2x.png``). A warning: public contact addresses may be fine to keep.

    Fix: replace addresses with placeholders (``jane@example.com``), or extend
    ``allow-domains`` with domains you have cleared.
    """

    code = "P004"
    name = "email-address"
    severity = Severity.WARNING
    summary = "Turn contains an e-mail address"
    Options = EmailOptions
    options: EmailOptions

    triggers = _AT

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        findings: list[Finding] = []
        allowed = tuple(d.lower().lstrip(".") for d in self.options.allow_domains)
        for item in ctx.view_of(example).scanned_texts:
            text = item.text
            if "@" not in text:
                continue
            for match in _EMAIL.finditer(text):
                domain = match.group(1).lower()
                if _allowed_domain(domain, allowed) or text.startswith(":", match.end()):
                    continue
                findings.append(
                    self.finding(
                        example,
                        f"e-mail address {mask_secret(match.group(0))} in {item.role} text",
                        at=item,
                        hint="replace it with a placeholder such as jane@example.com",
                        data={"domain": domain},
                    )
                )
        return findings


def _allowed_domain(domain: str, allowed: tuple[str, ...]) -> bool:
    tld = domain.rsplit(".", 1)[-1]
    if tld in _RESERVED_TLDS or tld in _FILE_EXTENSIONS or domain.startswith("example"):
        return True
    return any(domain == d or domain.endswith("." + d) for d in allowed)


#: A number glued to one of these (or to a letter or digit) is part of something else:
#: a sum, a path, a version, an identifier.
_GLUE_BEFORE = frozenset("+/.=*^-_")
_AFTER_NUMBER = r"(?![\w-]|[.,]\d)"
# Patterns start with a digit or "+" (no look-behind: it would stop the regex engine from
# skipping ahead to candidate characters); the character before is checked in Python.
_PHONE_INTERNATIONAL = re.compile(r"\+[1-9]\d{0,2}(?:[ .-]\(?\d{1,5}\)?){2,5}" + _AFTER_NUMBER)
_PHONE_NANP = re.compile(r"(?:\(([2-9]\d\d)\) ?|([2-9]\d\d)[-.])(\d{3})[-.]\d{4}" + _AFTER_NUMBER)
#: What every North American number ends with: a cheap first test (it starts at a separator,
#: so the regex engine skips to those instead of trying at every digit).
_NANP_TAIL = re.compile(r"[-.]\d{4}(?!\d)")
#: What ``_PHONE_INTERNATIONAL`` and ``_NANP_TAIL`` always contain, as :func:`digit_shapes`
#: writes them.
_INTERNATIONAL_SHAPE = b"+0"
_NANP_TAIL_SHAPES = (b"-0000", b".0000")
_FICTIONAL_EXCHANGE = "555"


_MIN_PHONE_DIGITS = 8
_NANP_DIGITS = 10
_PHONE_SHAPES = Triggers(
    "phone-shape",
    shapes=tuple(s.decode() for s in (_INTERNATIONAL_SHAPE, *_NANP_TAIL_SHAPES)),
    min_digits=_MIN_PHONE_DIGITS,
    tool_arguments=True,
)


def _stands_alone(text: str, start: int) -> bool:
    """Whether the number at ``start`` is not glued to what precedes it."""
    if start == 0:
        return True
    before = text[start - 1]
    return not before.isalnum() and before not in _GLUE_BEFORE


class PhoneNumber(RecordRule):
    """A turn contains a phone number: international format with a country code and
    separators (``+44 20 7946 0958``, ``+1-415-555-0100``), or North American format with
    separators (``(415) 867-5309``, ``415-867-5309``).

    Phone numbers are personal data. To stay quiet on arithmetic, prices, dates, versions,
    ISBNs and SQL ids, only these formats are matched: digits glued together or a leading
    ``+`` without separators (``+104000`` in a sum) are not, nor numbers next to ``=``,
    ``*``, ``/`` or ``^``. The fictional ``555`` numbers of film and documentation are not
    reported.

    Fix: replace numbers with placeholders (``+1-555-0100``).
    """

    code = "P005"
    name = "phone-number"
    severity = Severity.WARNING
    summary = "Turn contains a phone number"

    triggers = _PHONE_SHAPES

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        view = ctx.view_of(example)
        findings: list[Finding] = []
        if view.digits < _MIN_PHONE_DIGITS:
            return findings
        joined = view.joined_texts
        shapes = view.digit_shapes
        if not (
            (_INTERNATIONAL_SHAPE in shapes and _PHONE_INTERNATIONAL.search(joined))
            or (
                any(shape in shapes for shape in _NANP_TAIL_SHAPES)
                and _NANP_TAIL.search(joined)
                and _PHONE_NANP.search(joined)
            )
        ):
            return findings  # neither pattern matches anywhere: no text can hold a number
        for item in view.scanned_texts:
            text = item.text
            digits = digit_count(text)
            if digits < _MIN_PHONE_DIGITS:
                continue
            found: list[str] = []
            if "+" in text:
                found += [
                    m.group(0)
                    for m in _PHONE_INTERNATIONAL.finditer(text)
                    if _stands_alone(text, m.start())
                    and 8 <= _digit_count(m.group(0)) <= 15
                    and _FICTIONAL_EXCHANGE not in m.group(0)
                ]
            if digits >= _NANP_DIGITS:
                found += [
                    m.group(0)
                    for m in _PHONE_NANP.finditer(text)
                    if _stands_alone(text, m.start())
                    and _FICTIONAL_EXCHANGE not in (m.group(1), m.group(2), m.group(3))
                ]
            for number in found:
                findings.append(
                    self.finding(
                        example,
                        f"phone number {mask_secret(number)} in {item.role} text",
                        at=item,
                        hint="replace it with a placeholder such as +1-555-0100",
                    )
                )
        return findings


def _digit_count(text: str) -> int:
    return sum(c.isdigit() for c in text)


_CARD = re.compile(
    r"\d{4}(?:\d{9,15}|([ -])\d{4}\1\d{4}\1\d{4}(?:\1\d{3})?|([ -])\d{6}\2\d{4,5})" + _AFTER_NUMBER
)
_MIN_CARD_DIGITS = 13
#: What one of ``_CARD``'s three forms always contains, as :func:`digit_shapes` writes it.
_CARD_SHAPES = (
    b"0" * 13,
    *(sep.join((b"0000",) * 4) for sep in (b" ", b"-")),
    *(sep.join((b"0000", b"000000", b"0000")) for sep in (b" ", b"-")),
)
_CARD_SHAPE = Triggers(
    "card-shape",
    shapes=tuple(s.decode() for s in _CARD_SHAPES),
    min_digits=_MIN_CARD_DIGITS,
    tool_arguments=True,
)
#: Characters next to a number that make it arithmetic rather than a card number.
_MATH_NEIGHBOURS = frozenset("=+*/x\N{MULTIPLICATION SIGN}\N{DIVISION SIGN}^%$")
#: Card numbers the payment networks publish for testing (Stripe, Adyen, PayPal docs).
_TEST_CARDS = frozenset(
    {
        "4111111111111111",
        "4242424242424242",
        "4012888888881881",
        "4000056655665556",
        "4000000000000002",
        "5555555555554444",
        "5105105105105100",
        "5200828282828210",
        "2223003122003222",
        "378282246310005",
        "371449635398431",
        "6011111111111117",
        "6011000990139424",
        "3056930009020004",
        "36227206271667",
        "3566002020360505",
        "6200000000000005",
    }
)


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of a string of digits is valid."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if i % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def card_brand(digits: str) -> str | None:
    """The card network whose number ranges (IIN prefix and length) ``digits`` fits."""
    n = len(digits)
    two, four = int(digits[:2]), int(digits[:4])
    if digits[0] == "4" and n in (16, 19):
        return "Visa"
    if (51 <= two <= 55 or 2221 <= four <= 2720) and n == 16:
        return "Mastercard"
    if two in (34, 37) and n == 15:
        return "American Express"
    if (four == 6011 or two == 65 or 644 <= int(digits[:3]) <= 649) and 16 <= n <= 19:
        return "Discover"
    if 3528 <= four <= 3589 and 16 <= n <= 19:
        return "JCB"
    if (300 <= int(digits[:3]) <= 305 or two in (36, 38, 39)) and 14 <= n <= 19:
        return "Diners Club"
    if two == 62 and 16 <= n <= 19:
        return "UnionPay"
    return None


class CardOptions(RuleOptions):
    """Options of :class:`PaymentCardNumber`."""

    allow: list[str] = Field(default_factory=list)
    """Further card numbers (digits only) not to report, besides the networks' test cards."""


class PaymentCardNumber(RecordRule):
    """A turn contains a payment card number: 13-19 digits (optionally grouped by spaces or
    dashes) with a valid Luhn checksum and the prefix and length of a card network (Visa,
    Mastercard, American Express, Discover, JCB, Diners Club, UnionPay).

    Card numbers are regulated data (PCI DSS); they must not end up in a training set or a
    model. The networks' published test numbers (``4242 4242 4242 4242``) and numbers inside
    arithmetic (next to ``=``, ``*``, ``x``...) are not reported.

    Fix: remove the number or replace it with a test number.
    """

    code = "P006"
    name = "payment-card"
    severity = Severity.ERROR
    summary = "Turn contains a payment card number"
    Options = CardOptions
    options: CardOptions

    triggers = _CARD_SHAPE

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        view = ctx.view_of(example)
        findings: list[Finding] = []
        if (
            view.digits < _MIN_CARD_DIGITS
            or not any(shape in view.digit_shapes for shape in _CARD_SHAPES)
            or not _CARD.search(view.joined_texts)
        ):
            return findings  # the pattern matches nowhere: no text can hold a card number
        allowed = _TEST_CARDS.union(self.options.allow)
        for item in view.scanned_texts:
            text = item.text
            if digit_count(text) < _MIN_CARD_DIGITS:
                continue
            for match in _CARD.finditer(text):
                digits = re.sub(r"\D", "", match.group(0))
                brand = card_brand(digits)
                if (
                    brand is None
                    or not _stands_alone(text, match.start())
                    or digits in allowed
                    or len(set(digits)) < 4
                    or _next_to(text, match.start(), match.end(), _MATH_NEIGHBOURS)
                    or not luhn_valid(digits)
                ):
                    continue
                findings.append(
                    self.finding(
                        example,
                        f"{brand} card number {mask_secret(digits)} in {item.role} text",
                        at=item,
                        hint="remove the number or replace it with a network test number",
                        data={"brand": brand},
                    )
                )
        return findings


def _next_to(text: str, start: int, end: int, chars: frozenset[str]) -> bool:
    """Whether the nearest non-space character before ``start`` or after ``end`` is in
    ``chars``."""
    before = text[max(0, start - 3) : start].rstrip()
    after = text[end : end + 3].lstrip()
    return bool(before and before[-1] in chars) or bool(after and after[0] in chars)


RULES: tuple[type[RecordRule], ...] = (
    ApiKey,
    PrivateKey,
    JsonWebToken,
    EmailAddress,
    PhoneNumber,
    PaymentCardNumber,
)
