"""P: Privacy and secrets: API keys and tokens, private keys, credentials in URLs and
assignments, e-mail addresses, phone, card, bank account and national ID numbers.

Every turn's text is scanned (system, user, assistant, tool, rejected answers too: a leak is
a leak wherever it sits), and so are the ``arguments`` strings of tool and function calls and
messages' ``name`` fields. What each kind looks like lives in one catalogue,
:mod:`ftprep.secrets`, which also masks what findings quote and what ``prepare --redact``
replaces. Each rule declares its key prefixes, ``@``, context words or number shapes as
triggers, so the engine's prefilter runs it only on examples whose texts hold one; a pattern
runs on a text only where one of its own prefixes occurs, and the number patterns run once
over the joined texts before any single turn is looked at. Findings never carry a detected
value in full: they show it through :func:`~ftprep.findings.mask_secret`.

*Personal data* here is a value that identifies or reaches one person. Published contacts
of organisations (press, FOIA, tip-line and support addresses, toll-free numbers) and
documentation values (reserved domains, ``555`` numbers, test cards, example IBANs) are not
reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from pydantic import Field

from ftprep import secrets
from ftprep.findings import Finding, Severity, mask_secret
from ftprep.model import Example
from ftprep.rules.base import RecordRule, RuleOptions, Triggers
from ftprep.rules.context import RecordContext
from ftprep.secrets import Kind, card_brand, digit_count, looks_fake, luhn_valid

__all__ = ["card_brand", "looks_fake", "luhn_valid"]


class _Redactable(RecordRule):
    """A privacy rule: ``check --fix --unsafe-fixes`` and ``prepare --redact`` replace what it
    finds with a typed placeholder."""

    fixable = True
    unsafe_fix = True
    redactable = True
    labels: ClassVar[frozenset[str]]
    """The placeholders redaction writes for what the rule finds (``EMAIL``)."""


class _PatternRule(_Redactable):
    """A rule reporting every value of its kinds in the scanned texts."""

    kinds: ClassVar[tuple[Kind, ...]]
    hint: ClassVar[str]

    index: ClassVar[secrets.KindIndex]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "kinds" in cls.__dict__:
            cls.labels = frozenset(kind.label for kind in cls.kinds)
            cls.index = secrets.KindIndex(cls.kinds)

    def describe(self, kind: Kind, value: str) -> str:
        """How a found value is shown: masked."""
        return f"{kind.name} {mask_secret(value)}"

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        findings: list[Finding] = []
        for item in ctx.view_of(example).scanned_texts:
            lowered = item.text.lower()
            for kind in self.index.present(lowered):
                for found in secrets.find_kind(kind, item.text, lowered):
                    findings.append(
                        self.finding(
                            example,
                            f"{self.describe(kind, found.value)} in {item.role} text",
                            at=item,
                            hint=self.hint,
                            data={"kind": kind.name, "offset": found.start},
                        )
                    )
        return findings


def _triggers(name: str, kinds: tuple[Kind, ...]) -> Triggers:
    return Triggers(name, exact=tuple(t for k in kinds for t in k.triggers), tool_arguments=True)


class ApiKey(_PatternRule):
    """A turn contains what looks like a live API key, access token or webhook: OpenAI
    (``sk-``, ``sk-proj-``), Anthropic (``sk-ant-``), AWS access key ids (``AKIA``/``ASIA``)
    and secret access keys (40 random characters named as one), GitHub (``ghp_``... with a
    valid checksum, ``github_pat_``), GitLab (``glpat-``...), Hugging Face (``hf_``), Slack
    tokens and webhooks, Discord webhooks, Stripe (``sk_live_``...), Google API keys
    (``AIza``) and OAuth secrets (``GOCSPX-``), Databricks (``dapi``), npm (``npm_``), PyPI
    (``pypi-``), Twilio (``SK`` API keys; auth tokens next to an account SID or the word
    Twilio), SendGrid (``SG.``), Azure storage keys and SAS signatures and Entra client
    secrets (``Q~``); Discord bot tokens (where the text says Discord, and the first part
    decodes to a user id), Telegram bot tokens (``123456789:AA...``), Microsoft Teams
    webhooks, Firebase server keys (``:APA91b``), Terraform Cloud (``.atlasv1.``); the AI
    services OpenRouter (``sk-or-v1-``), Groq (``gsk_``), xAI (``xai-``), Perplexity
    (``pplx-``), Replicate (``r8_``), Tavily (``tvly-``), LangSmith (``lsv2_``), Pinecone
    (``pcsk_``); and Notion (``ntn_``), Shopify (``shpat_``...), Square (``sq0atp-``), Brevo
    (``xkeysib-``), DigitalOcean (``dop_v1_``), Doppler (``dp.st.``), HashiCorp Vault
    (``hvs.``), Pulumi (``pul-``), Grafana (``glc_``, ``glsa_``), New Relic (``NRAK-``),
    Sentry (``sntrys_``, ``sntryu_``), Linear (``lin_api_``), Postman (``PMAK-``), Atlassian
    (``ATATT3``), Bitbucket (``ATBB``), Heroku (``HRKU-``), Docker Hub (``dckr_pat_``),
    Supabase (``sbp_``), Figma (``figd_``), age secret keys, 1Password service accounts
    (``ops_``), Netlify (``nfp_``), PlanetScale (``pscale_``), RubyGems, Shippo, Dynatrace
    (``dt0c01.``), EasyPost, Prefect (``pnu_``), ReadMe, Duffel, Frame.io, Buildkite
    (``bkua_``), CircleCI (``CCIPAT_``), Contentful (``CFPAT-``), HubSpot (``pat-na1-``),
    Alibaba Cloud (``LTAI``), Tencent Cloud (``AKID``), Mapbox secret tokens (``sk.eyJ``),
    Amazon Bedrock (``ABSK``), Fly.io (``fo1_``, ``fm2_``), Sourcegraph (``sgp_``),
    Cloudflare origin CA keys (``v1.0-``), JFrog (``AKCp``), OpenShift (``sha256~``),
    Infracost (``ico-``), Clojars and Flutterwave. Each in its provider's documented format.

    A fine-tuned model can reproduce its training data verbatim, so a key in the data is a
    key anyone querying the model may extract, and the file itself is now a secret.
    Documentation placeholders (``sk-...your-key...``, ``AKIAIOSFODNN7EXAMPLE``, ``xxxx``,
    GitHub's documented tokens whose checksum fails, Stripe's documented test key) are not
    reported.

    Fix: revoke the key now, then replace it in the data with a placeholder (``prepare
    --redact`` or ``check --fix --unsafe-fixes`` writes ``[OPENAI_KEY]``).
    """

    code = "P001"
    name = "api-key"
    severity = Severity.ERROR
    summary = "Turn contains an API key or access token"
    hint = "revoke the key, then replace it with a placeholder"
    kinds = secrets.API_KEYS
    triggers = _triggers("api-key", kinds)


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
    kinds = (secrets.PRIVATE_KEY,)
    triggers = _triggers("private-key", kinds)

    def describe(self, kind: Kind, value: str) -> str:
        header = value.split("-----")[1]
        return f"{kind.name} block ({header})"


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
    kinds = (secrets.JWT,)
    triggers = _triggers("jwt", kinds)


class EmailOptions(RuleOptions):
    """Options of :class:`EmailAddress`."""

    allow_domains: list[str] = Field(default_factory=lambda: list(secrets.PLACEHOLDER_DOMAINS))
    """Domains (and their subdomains) whose addresses are not reported. The defaults are the
    documentation domains and common placeholders; ``*.example``, ``*.test``, ``*.invalid``
    and ``*.localhost`` are never reported."""


class EmailAddress(_Redactable):
    """A turn contains the e-mail address of a person.

    Addresses are personal data: a model trained on them can reproduce them, and data
    protection law may forbid processing them for training at all. Not reported: addresses
    at documentation and placeholder domains (``example.com``, ``yourdomain.com``, any
    domain whose first label starts with ``example``, the reserved ``.test``/``.example``/
    ``.invalid`` names), placeholders (``xxxx@``, ``your.name@``, ``username@``), the role
    mailboxes organisations publish (``press@``, ``foia@``, ``tips@``, ``support@``,
    ``info@``...: they reach an office, not a person), SSH remotes
    (``git@github.com:owner/repo``), URL passwords and image names (``logo@2x.png``).

    Fix: replace addresses with placeholders (``jane@example.com``), or extend
    ``allow-domains`` with domains you have cleared.
    """

    code = "P004"
    labels = frozenset({secrets.EMAIL_LABEL})
    name = "email-address"
    severity = Severity.WARNING
    summary = "Turn contains an e-mail address"
    Options = EmailOptions
    options: EmailOptions

    triggers = Triggers("at-sign", any_byte=b"@", tool_arguments=True)

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        findings: list[Finding] = []
        allowed = tuple(d.lower().lstrip(".") for d in self.options.allow_domains)
        for item in ctx.view_of(example).scanned_texts:
            for _start, _end, address, domain in secrets.find_emails(item.text, allowed):
                findings.append(
                    self.finding(
                        example,
                        f"e-mail address {mask_secret(address)} in {item.role} text",
                        at=item,
                        hint="replace it with a placeholder such as jane@example.com",
                        data={"domain": domain},
                    )
                )
        return findings


_MIN_PHONE_DIGITS = 8
_NANP_DIGITS = 10
#: What every phone number the patterns find contains, as :func:`digit_shapes` writes it.
_INTERNATIONAL_SHAPE = b"+0"
#: A North American number's exchange and line (``867-5309``): not a decimal (``3.14159``).
_NANP_TAIL_SHAPES = (b"000-0000", b"000.0000")


class PhoneNumber(_Redactable):
    """A turn contains the phone number of a person: international format with a country
    code and separators (``+44 20 7946 0958``), or North American format with separators
    (``(415) 867-5309``, ``415-867-5309``). A number is reported once, however written.

    Phone numbers are personal data. To stay quiet on arithmetic, prices, dates, versions,
    ISBNs and SQL ids, only these formats are matched: digits glued together or a leading
    ``+`` without separators (``+104000`` in a sum) are not, nor numbers next to ``=``,
    ``*``, ``/`` or ``^``. Not reported either: the fictional ``555`` numbers of film and
    documentation, toll-free numbers (``800``, ``888``...: organisations publish them),
    reserved or impossible area codes (``999``, ``N11``) and made-up runs
    (``123-456-7890``).

    An info, not a warning: on the precision benchmark (bench/precision) most numbers found
    in web text were the published numbers of businesses and offices (4 true, 3 false, 19
    debatable of 26 labelled), which no format tells apart from a person's. ``prepare
    --redact`` still replaces them, whatever the severity.

    Fix: replace numbers with placeholders (``+1-555-0100``).
    """

    code = "P005"
    labels = frozenset({secrets.PHONE_LABEL})
    name = "phone-number"
    severity = Severity.INFO
    summary = "Turn contains a phone number"

    triggers = Triggers(
        "phone-shape",
        shapes=tuple(s.decode() for s in (_INTERNATIONAL_SHAPE, *_NANP_TAIL_SHAPES)),
        min_digits=_MIN_PHONE_DIGITS,
        tool_arguments=True,
    )

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        view = ctx.view_of(example)
        findings: list[Finding] = []
        if view.digits < _MIN_PHONE_DIGITS:
            return findings
        shapes = view.digit_shapes
        if _INTERNATIONAL_SHAPE not in shapes and not any(s in shapes for s in _NANP_TAIL_SHAPES):
            return findings
        for item in view.scanned_texts:
            if digit_count(item.text) < _MIN_PHONE_DIGITS:
                continue
            for _start, _end, number in secrets.find_phones(item.text):
                findings.append(
                    self.finding(
                        example,
                        f"phone number {mask_secret(number)} in {item.role} text",
                        at=item,
                        hint="replace it with a placeholder such as +1-555-0100",
                    )
                )
        return findings


_MIN_CARD_DIGITS = 13
#: What one of the card pattern's three forms always contains, as :func:`digit_shapes`
#: writes it.
_CARD_SHAPES = (
    b"0" * 13,
    *(sep.join((b"0000",) * 4) for sep in (b" ", b"-")),
    *(sep.join((b"0000", b"000000", b"0000")) for sep in (b" ", b"-")),
)


class CardOptions(RuleOptions):
    """Options of :class:`PaymentCardNumber`."""

    allow: list[str] = Field(default_factory=list)
    """Further card numbers (digits only) not to report, besides the networks' test cards."""


class PaymentCardNumber(_Redactable):
    """A turn contains a payment card number: 13-19 digits (optionally grouped by spaces or
    dashes) with a valid Luhn checksum and the prefix and length of a card network (Visa,
    Mastercard, American Express, Discover, JCB, Diners Club, UnionPay).

    Card numbers are regulated data (PCI DSS); they must not end up in a training set or a
    model. The networks' published test numbers (``4242 4242 4242 4242``) and numbers inside
    arithmetic (next to ``=``, ``*``, ``x``...) are not reported.

    Fix: remove the number or replace it with a test number.
    """

    code = "P006"
    labels = frozenset({secrets.CARD_LABEL})
    name = "payment-card"
    severity = Severity.ERROR
    summary = "Turn contains a payment card number"
    Options = CardOptions
    options: CardOptions

    triggers = Triggers(
        "card-shape",
        shapes=tuple(s.decode() for s in _CARD_SHAPES),
        min_digits=_MIN_CARD_DIGITS,
        tool_arguments=True,
    )

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        view = ctx.view_of(example)
        findings: list[Finding] = []
        if (
            view.digits < _MIN_CARD_DIGITS
            or not any(shape in view.digit_shapes for shape in _CARD_SHAPES)
            or not secrets.CARD.search(view.joined_texts)
        ):
            return findings  # the pattern matches nowhere: no text can hold a card number
        for item in view.scanned_texts:
            if digit_count(item.text) < _MIN_CARD_DIGITS:
                continue
            for _start, _end, digits, brand in secrets.find_cards(item.text, self.options.allow):
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


class CredentialUrl(_PatternRule):
    """A turn contains a password inside a URL or a connection string: a database URL
    (``postgres://app:s3cr3t@db:5432/prod``, ``mongodb+srv://``, ``redis://:pw@host``),
    credentials in any URL's userinfo (``https://user:pw@host``), or an ADO-style connection
    string (``Server=...;Password=...``).

    Whoever reads the URL can log in where it points; a model trained on it can hand it
    out. Placeholders (``user:password@``, ``<password>``, ``${DB_PASS}``, ``****``) and a
    password equal to the user name (``postgres:postgres@`` of local containers) are not
    reported.

    Fix: change the password, then replace it in the data with a placeholder.
    """

    code = "P007"
    name = "credential-url"
    severity = Severity.ERROR
    summary = "Turn contains a password in a URL or connection string"
    hint = "change the password, then replace it with a placeholder"
    kinds = (secrets.DATABASE_URL, secrets.URL_PASSWORD, secrets.CONNECTION_STRING_PASSWORD)
    triggers = Triggers("credential-url", folded=("://", "password=", "pwd="), tool_arguments=True)


class SecretAssignment(_Redactable):
    """A turn assigns a generated-looking secret to a name that says it is one:
    ``DB_PASSWORD = "kX9#mP2vLq7w"``, ``"api_key": "8f3a9c..."``, ``SECRET=...``.

    A secret without a recognisable prefix is found by its context and its randomness: the
    value must be at least 10 characters of mixed letters and digits with high entropy.
    Code (``os.environ[...]``, ``config.password``), placeholders (``<password>``,
    ``your_password_here``, ``****``) and words are not reported. A warning: the context
    makes it likely, not certain. Opt-in (select ``P008``): on real tool-calling data it
    mostly reports what password-generator tools return, which is nobody's password.

    Fix: change the secret, then replace it in the data with a placeholder.
    """

    code = "P008"
    labels = frozenset({secrets.SECRET_ASSIGNMENT.label})
    name = "secret-assignment"
    severity = Severity.WARNING
    summary = "Turn assigns a secret to a password or key name"
    default_on = False
    triggers = Triggers("secret-word", folded=secrets.SECRET_WORDS, tool_arguments=True)

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        findings: list[Finding] = []
        for item in ctx.view_of(example).scanned_texts:
            for start, _end, value in secrets.find_assignments(item.text):
                findings.append(
                    self.finding(
                        example,
                        f"secret {mask_secret(value)} assigned in {item.role} text",
                        at=item,
                        hint="change the secret, then replace it with a placeholder",
                        data={"offset": start},
                    )
                )
        return findings


class BankAccount(_Redactable):
    """A turn contains an IBAN: a country code, two check digits that pass the mod-97 test
    and the country's length (``DE44 5001 0517 5407 3249 31``).

    An account number identifies its holder; with a name it is enough to set up direct
    debits. The example IBANs of the registry and of banks' documentation
    (``GB82 WEST 1234 5698 7654 32``, ``DE89 3704 0044 0532 0130 00``) are not reported. A
    warning: businesses print theirs on every invoice.

    Fix: replace the number with a placeholder or a registry example.
    """

    code = "P009"
    labels = frozenset({secrets.IBAN_LABEL})
    name = "bank-account"
    severity = Severity.WARNING
    summary = "Turn contains a bank account number (IBAN)"
    triggers = Triggers(
        "iban-shape", shapes=("0000000000", "0000 0000 00"), min_digits=10, tool_arguments=True
    )

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        findings: list[Finding] = []
        for item in ctx.view_of(example).scanned_texts:
            for _start, _end, iban in secrets.find_ibans(item.text):
                findings.append(
                    self.finding(
                        example,
                        f"IBAN {mask_secret(iban)} in {item.role} text",
                        at=item,
                        hint="replace it with a placeholder",
                        data={"country": iban[:2]},
                    )
                )
        return findings


class NationalId(_Redactable):
    """A turn contains a national identity number where the words before it say so: a US
    social security number after ``SSN`` or ``social security``, a UK national insurance
    number after ``national insurance`` or ``NI number``, a Canadian social insurance
    number (``SIN``, Luhn checksum), an Indian Aadhaar number (Verhoeff checksum), a Spanish
    DNI or NIE (``DNI``, ``NIE``, ``NIF``; check letter), a French NIR (``sécurité
    sociale``, ``NIR``; mod-97 key) or a German tax ID (``Steuer-ID``; ISO 7064 check digit
    and its digit pattern).

    These numbers unlock credit, tax and benefits in their owner's name. Without context a
    nine-digit number is as likely an order id, so context is required, and so is the
    checksum where the format has one; numbers that are never issued (``000``, ``666``,
    ``9xx`` SSN areas), placeholders (one digit repeated, ``123456789``) and the famous
    documentation ones (``078-05-1120``, the SIN specimen ``046 454 286``, the tax office's
    test IDs) are not reported.

    Fix: remove the number or replace it with a placeholder.
    """

    code = "P010"
    labels = frozenset(secrets.NATIONAL_ID_LABELS.values())
    name = "national-id"
    severity = Severity.ERROR
    summary = "Turn contains a national ID number (SSN, NI number, SIN, Aadhaar...)"
    triggers = Triggers(
        "national-id-context",
        folded=secrets.NATIONAL_ID_WORDS,
        min_digits=6,
        tool_arguments=True,
    )

    def check(self, example: Example, ctx: RecordContext) -> list[Finding]:
        findings: list[Finding] = []
        for item in ctx.view_of(example).scanned_texts:
            for _start, _end, number, kind in secrets.find_national_ids(item.text):
                findings.append(
                    self.finding(
                        example,
                        f"{kind} {mask_secret(number)} in {item.role} text",
                        at=item,
                        hint="remove the number or replace it with a placeholder",
                    )
                )
        return findings


RULES: tuple[type[RecordRule], ...] = (
    ApiKey,
    PrivateKey,
    JsonWebToken,
    EmailAddress,
    PhoneNumber,
    PaymentCardNumber,
    CredentialUrl,
    SecretAssignment,
    BankAccount,
    NationalId,
)


def redaction_labels(codes: Iterable[str]) -> dict[str, str]:
    """The placeholder labels of the privacy rules with ``codes``, each with its rule's code."""
    wanted = set(codes)
    return {
        label: rule.code for rule in _REDACTABLE if rule.code in wanted for label in rule.labels
    }


_REDACTABLE: tuple[type[_Redactable], ...] = tuple(r for r in RULES if issubclass(r, _Redactable))
