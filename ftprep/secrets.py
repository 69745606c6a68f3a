"""What a secret or a piece of personal data looks like: one catalogue of kinds that the
privacy rules report, that every finding's text is masked with, and that ``prepare --redact``
replaces with typed placeholders.

Every kind is a regular expression behind substrings one of which must occur in the text
(its *triggers*: a key prefix, a host name, ``://``), and an optional check of the match (a
checksum, an entropy bound, the words around it). Every pattern is linear in the text: its
quantifiers are bounded or possessive, and patterns without a literal start are anchored at
a trigger found with ``str.find``, so no text makes one backtrack.

What counts as *personal data* here: a value that identifies or reaches one person (a
private e-mail address or phone number, a card or bank account number, a national ID
number). Published contacts of an organisation (``press@``, ``foia@``, ``tips@`` addresses,
toll-free numbers) and documentation values (``example.com``, ``555-01xx``, the networks'
test cards, the IBANs of the registry's examples) are not.
"""

from __future__ import annotations

import base64
import functools
import itertools
import math
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from ahocorasick_rs import AhoCorasick

#: Lower-case fragments of documentation placeholders ("sk-your-key-here", "AKIA...EXAMPLE").
_FAKE_MARKERS = ("example", "xxxx", "your", "dummy", "fake", "sample", "redacted", "0000000")
_MIN_DISTINCT = 8


def looks_fake(token: str) -> bool:
    """Whether ``token`` is a documentation placeholder rather than a real credential: it
    says so (``EXAMPLE``, ``xxxx``, ``your``...) or has too few distinct characters."""
    low = token.lower()
    return any(m in low for m in _FAKE_MARKERS) or len(set(token)) < _MIN_DISTINCT


def entropy(text: str) -> float:
    """Shannon entropy of ``text``'s characters, in bits per character."""
    if not text:
        return 0.0
    counts: dict[str, int] = {}
    for char in text:
        counts[char] = counts.get(char, 0) + 1
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


#: A check of a match: ``(value, text, start, end)``, true to report it.
Check = Callable[[str, str, int, int], bool]


@dataclass(frozen=True, slots=True)
class Kind:
    """One kind of secret or personal data.

    ``label`` names the typed placeholder a redaction writes (``[AWS_SECRET_KEY]``);
    ``triggers``: substrings one of which must occur before the pattern runs (``folded``:
    in the lower-cased text); ``group``: the part of the match that is the secret (the
    password of a URL); ``check``: whether a match is reported.
    """

    name: str
    label: str
    triggers: tuple[str, ...]
    regex: re.Pattern[str]
    check: Check | None = None
    group: int = 0
    folded: bool = False


@dataclass(frozen=True, slots=True)
class Found:
    """A secret found in a text: its kind and where its value is."""

    kind: Kind
    start: int
    end: int
    value: str


def _not_fake(value: str, text: str, start: int, end: int) -> bool:
    return not looks_fake(value)


_BEFORE = r"(?<![A-Za-z0-9_-])"
_AFTER = r"(?![A-Za-z0-9_-])"


def _token(body: str) -> re.Pattern[str]:
    return re.compile(_BEFORE + body + _AFTER)


_BASE62 = (
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
)


def _base62(number: int, alphabet: str) -> str:
    digits = ""
    while number:
        number, rest = divmod(number, 62)
        digits = alphabet[rest] + digits
    return digits.rjust(6, "0")


def github_checksum(random_part: str, alphabet: int = 0) -> str:
    """The 6-character checksum GitHub appends to the 30 random characters of its tokens:
    their CRC32 in base 62, zero-padded."""
    return _base62(zlib.crc32(random_part.encode()), _BASE62[alphabet])


def _github_valid(value: str, text: str, start: int, end: int) -> bool:
    body = value.split("_", 1)[1]
    if len(body) != 36:
        return False  # not the checksummed format (the 2021 one has 36 characters)
    return body[30:] in (github_checksum(body[:30], 0), github_checksum(body[:30], 1))


def _aws_secret(value: str, text: str, start: int, end: int) -> bool:
    return entropy(value) >= 4.0 and not looks_fake(value)


#: Stripe's documented secret key, printed in its API reference for everyone.
_STRIPE_DOCS_KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"

TOKENS: tuple[Kind, ...] = (
    Kind(
        "Anthropic API key",
        "ANTHROPIC_KEY",
        ("sk-ant-",),
        _token(r"sk-ant-[A-Za-z0-9_-]{32,200}"),
        _not_fake,
    ),
    Kind(
        "OpenAI API key",
        "OPENAI_KEY",
        ("sk-",),
        _token(
            r"sk-(?!ant-|or-v1-)(?:proj-|svcacct-|admin-)?(?=[A-Za-z0-9_-]{0,200}\d)"
            r"[A-Za-z0-9_-]{32,200}"
        ),
        _not_fake,
    ),
    Kind(
        "AWS access key id",
        "AWS_ACCESS_KEY_ID",
        ("AKIA", "ASIA", "ABIA", "ACCA"),
        _token(r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}"),
        _not_fake,
    ),
    Kind(
        "AWS secret access key",
        "AWS_SECRET_KEY",
        (
            "secret_access_key",
            "SECRET_ACCESS_KEY",
            "SecretAccessKey",
            "secretAccessKey",
            "secret access key",
            "Secret Access Key",
            "Secret access key",
            "aws_secret",
            "AWS_SECRET",
        ),
        re.compile(
            r"(?i:secret[_ ]?access[_ ]?key|aws_secret(?:_key)?)[\"']?\s{0,3}[:=]\s{0,3}"
            r"[\"']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
        ),
        _aws_secret,
        group=1,
    ),
    Kind(
        "GitHub token",
        "GITHUB_TOKEN",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
        _token(r"gh[pousr]_[A-Za-z0-9]{36,251}"),
        _github_valid,
    ),
    Kind(
        "GitHub token",
        "GITHUB_TOKEN",
        ("github_pat_",),
        _token(r"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}"),
        _not_fake,
    ),
    Kind(
        "GitLab token",
        "GITLAB_TOKEN",
        ("glpat-", "gldt-", "glrt-", "glptt-", "glcbt-", "glft-", "glimt-", "glsoat-", "gloas-"),
        _token(r"gl(?:pat|dt|rt|ptt|cbt|ft|imt|soat|oas)-[A-Za-z0-9_.-]{20,120}"),
        _not_fake,
    ),
    Kind(
        "Hugging Face token",
        "HF_TOKEN",
        ("hf_", "api_org_"),
        _token(r"(?:hf_|api_org_)[A-Za-z]{34,40}"),
        _not_fake,
    ),
    Kind(
        "Slack token",
        "SLACK_TOKEN",
        ("xox", "xapp-"),
        _token(r"(?:xox[abeoprs]-|xapp-)(?=[0-9A-Za-z-]{0,200}\d)[0-9A-Za-z-]{20,200}"),
        _not_fake,
    ),
    Kind(
        "Slack webhook",
        "SLACK_WEBHOOK",
        ("hooks.slack.com/",),
        re.compile(
            r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_]{8,12}/"
            r"[A-Za-z0-9_]{8,12}/[A-Za-z0-9_/]{16,80}"
        ),
        _not_fake,
    ),
    Kind(
        "Discord webhook",
        "DISCORD_WEBHOOK",
        ("/api/webhooks/",),
        re.compile(r"discord(?:app)?\.com/api/webhooks/\d{17,20}/[A-Za-z0-9_-]{60,80}"),
        _not_fake,
    ),
    Kind(
        "Stripe secret key",
        "STRIPE_KEY",
        ("sk_live_", "rk_live_", "sk_test_", "rk_test_", "whsec_"),
        _token(r"(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{24,99}|whsec_[A-Za-z0-9]{32,64})"),
        lambda v, t, s, e: v != _STRIPE_DOCS_KEY and not looks_fake(v),
    ),
    Kind(
        "Google API key",
        "GOOGLE_API_KEY",
        ("AIza",),
        _token(r"AIza[0-9A-Za-z_-]{35}"),
        _not_fake,
    ),
    Kind(
        "Google OAuth client secret",
        "GOOGLE_CLIENT_SECRET",
        ("GOCSPX-",),
        _token(r"GOCSPX-[A-Za-z0-9_-]{28}"),
        _not_fake,
    ),
    Kind(
        "Databricks token",
        "DATABRICKS_TOKEN",
        ("dapi",),
        _token(r"dapi[0-9a-f]{32}(?:-\d)?"),
        _not_fake,
    ),
    Kind(
        "npm token",
        "NPM_TOKEN",
        ("npm_",),
        _token(r"npm_[A-Za-z0-9]{36}"),
        _not_fake,
    ),
    Kind(
        "PyPI token",
        "PYPI_TOKEN",
        ("pypi-AgE",),
        _token(r"pypi-AgE[A-Za-z0-9_-]{50,300}"),
        _not_fake,
    ),
    Kind(
        "Twilio API key",
        "TWILIO_KEY",
        tuple(f"SK{c}" for c in "0123456789abcdef"),
        _token(r"SK[0-9a-f]{32}"),
        _not_fake,
    ),
    Kind(
        "SendGrid API key",
        "SENDGRID_KEY",
        ("SG.",),
        _token(r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}"),
        _not_fake,
    ),
    Kind(
        "Azure storage key",
        "AZURE_KEY",
        ("AccountKey=", "SharedAccessKey="),
        re.compile(r"(?:AccountKey|SharedAccessKey)=([A-Za-z0-9+/]{40,100}={0,2})"),
        _not_fake,
        group=1,
    ),
    Kind(
        "Azure SAS token",
        "AZURE_SAS",
        ("sig=",),
        re.compile(r"[?&]sig=([A-Za-z0-9%+/]{40,100}(?:%3D|=){0,2})"),
        lambda v, t, s, e: "sv=" in t[max(0, s - 400) : s] and not looks_fake(v),
        group=1,
    ),
)


def _prefixed(name: str, label: str, prefixes: tuple[str, ...], body: str) -> Kind:
    """A kind whose values are one of ``prefixes`` (its triggers) followed by ``body``."""
    alternation = "|".join(re.escape(p) for p in prefixes)
    return Kind(name, label, prefixes, _token(f"(?:{alternation}){body}"), _not_fake)


#: Services whose tokens start with a prefix of their own, each in its provider's documented
#: format: (name, placeholder label, prefixes, what follows the prefix).
PREFIXED: tuple[Kind, ...] = tuple(_prefixed(*row) for row in (
    ("OpenRouter API key", "OPENROUTER_KEY", ("sk-or-v1-",), r"[a-f0-9]{64}"),
    ("Groq API key", "GROQ_KEY", ("gsk_",), r"[A-Za-z0-9]{52}"),
    ("xAI API key", "XAI_KEY", ("xai-",), r"[A-Za-z0-9]{80}"),
    ("Perplexity API key", "PERPLEXITY_KEY", ("pplx-",), r"[A-Za-z0-9]{48}"),
    ("Replicate API token", "REPLICATE_TOKEN", ("r8_",), r"[A-Za-z0-9]{37}"),
    ("Tavily API key", "TAVILY_KEY", ("tvly-",), r"(?:dev-|prod-)?[A-Za-z0-9]{32}"),
    ("LangSmith API key", "LANGSMITH_KEY", ("lsv2_pt_", "lsv2_sk_"), r"[a-f0-9]{32}_[a-f0-9]{10}"),
    ("Pinecone API key", "PINECONE_KEY", ("pcsk_",), r"[A-Za-z0-9]{4,8}_[A-Za-z0-9]{40,80}"),
    ("Notion token", "NOTION_TOKEN", ("ntn_",), r"[A-Za-z0-9]{46}"),
    ("Shopify token", "SHOPIFY_TOKEN",
     ("shpat_", "shpca_", "shppa_", "shpss_"), r"[a-fA-F0-9]{32}"),
    ("Square token", "SQUARE_TOKEN", ("sq0atp-", "sq0csp-"), r"[A-Za-z0-9_-]{22,43}"),
    ("Brevo API key", "BREVO_KEY", ("xkeysib-", "xsmtpsib-"), r"[a-f0-9]{64}-[A-Za-z0-9]{16}"),
    ("DigitalOcean token", "DIGITALOCEAN_TOKEN",
     ("dop_v1_", "doo_v1_", "dor_v1_"), r"[a-f0-9]{64}"),
    ("Doppler token", "DOPPLER_TOKEN",
     ("dp.pt.", "dp.st.", "dp.sa.", "dp.ct.", "dp.scim.", "dp.audit."), r"[A-Za-z0-9]{40,44}"),
    ("HashiCorp Vault token", "VAULT_TOKEN", ("hvs.", "hvb."), r"[A-Za-z0-9_-]{24,400}"),
    ("Pulumi access token", "PULUMI_TOKEN", ("pul-",), r"[a-f0-9]{40}"),
    ("Grafana token", "GRAFANA_TOKEN", ("glc_",), r"[A-Za-z0-9+/]{32,400}={0,2}"),
    ("Grafana token", "GRAFANA_TOKEN", ("glsa_",), r"[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}"),
    ("New Relic API key", "NEW_RELIC_KEY", ("NRAK-",), r"[A-Z0-9]{27}"),
    ("Sentry token", "SENTRY_TOKEN", ("sntrys_",), r"eyJ[A-Za-z0-9+/=_]{60,400}"),
    ("Sentry token", "SENTRY_TOKEN", ("sntryu_",), r"[a-f0-9]{64}"),
    ("Linear API key", "LINEAR_KEY", ("lin_api_",), r"[A-Za-z0-9]{40}"),
    ("Postman API key", "POSTMAN_KEY", ("PMAK-",), r"[a-f0-9]{24}-[a-f0-9]{34}"),
    ("Atlassian API token", "ATLASSIAN_TOKEN", ("ATATT3",), r"[A-Za-z0-9_=-]{150,250}"),
    ("Bitbucket app password", "BITBUCKET_TOKEN", ("ATBB",), r"[A-Za-z0-9_=.-]{32}"),
    ("Heroku API key", "HEROKU_KEY", ("HRKU-AA",), r"[A-Za-z0-9_-]{58}"),
    ("Docker Hub token", "DOCKER_TOKEN", ("dckr_pat_", "dckr_oat_"), r"[A-Za-z0-9_-]{27,32}"),
    ("Supabase access token", "SUPABASE_TOKEN", ("sbp_",), r"[a-f0-9]{40}"),
    ("Figma token", "FIGMA_TOKEN", ("figd_",), r"[A-Za-z0-9_-]{40,48}"),
    ("age secret key", "AGE_SECRET_KEY",
     ("AGE-SECRET-KEY-1",), r"[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}"),
    ("1Password service account token", "ONEPASSWORD_TOKEN",
     ("ops_eyJ",), r"[A-Za-z0-9+/]{200,2000}={0,3}"),
    ("Netlify token", "NETLIFY_TOKEN", ("nfp_",), r"[A-Za-z0-9]{36}"),
    ("PlanetScale token", "PLANETSCALE_TOKEN",
     ("pscale_tkn_", "pscale_pw_", "pscale_oauth_"), r"[A-Za-z0-9=._-]{32,64}"),
    ("RubyGems API key", "RUBYGEMS_KEY", ("rubygems_",), r"[a-f0-9]{48}"),
    ("Shippo API token", "SHIPPO_TOKEN", ("shippo_live_", "shippo_test_"), r"[a-f0-9]{40}"),
    ("Dynatrace API token", "DYNATRACE_TOKEN", ("dt0c01.",), r"[A-Z0-9]{24}\.[A-Z0-9]{64}"),
    ("EasyPost API key", "EASYPOST_KEY", ("EZAK", "EZTK"), r"[A-Za-z0-9]{54}"),
    ("Prefect API key", "PREFECT_KEY", ("pnu_",), r"[A-Za-z0-9]{36}"),
    ("ReadMe API key", "README_KEY", ("rdme_",), r"[a-z0-9]{70}"),
    ("Duffel API token", "DUFFEL_TOKEN", ("duffel_test_", "duffel_live_"), r"[A-Za-z0-9_=-]{43}"),
    ("Frame.io API token", "FRAMEIO_TOKEN", ("fio-u-",), r"[A-Za-z0-9_=-]{64}"),
    ("Buildkite API token", "BUILDKITE_TOKEN", ("bkua_",), r"[a-f0-9]{40}"),
    ("CircleCI personal token", "CIRCLECI_TOKEN", ("CCIPAT_",), r"[A-Za-z0-9]{22}_[a-f0-9]{40}"),
    ("Contentful token", "CONTENTFUL_TOKEN", ("CFPAT-",), r"[A-Za-z0-9_-]{43}"),
    ("HubSpot private app token", "HUBSPOT_TOKEN",
     ("pat-na1-", "pat-eu1-"), r"[a-f0-9]{8}-(?:[a-f0-9]{4}-){3}[a-f0-9]{12}"),
    ("Alibaba Cloud access key id", "ALIBABA_KEY", ("LTAI",), r"[A-Za-z0-9]{12,20}"),
    ("Tencent Cloud secret id", "TENCENT_KEY", ("AKID",), r"[A-Za-z0-9]{32}"),
    ("Mapbox secret token", "MAPBOX_TOKEN",
     ("sk.eyJ",), r"[A-Za-z0-9_-]{50,400}\.[A-Za-z0-9_-]{20,100}"),
    ("Amazon Bedrock API key", "AWS_BEDROCK_KEY", ("ABSK",), r"[A-Za-z0-9+/]{109,269}={0,2}"),
    ("Fly.io token", "FLYIO_TOKEN", ("fo1_",), r"[A-Za-z0-9_-]{43}"),
    ("Fly.io token", "FLYIO_TOKEN", ("fm1a_", "fm1r_", "fm2_"), r"[A-Za-z0-9+/]{100,2000}={0,3}"),
    ("Sourcegraph token", "SOURCEGRAPH_TOKEN",
     ("sgp_",), r"(?:[a-fA-F0-9]{16}_|local_)?[a-fA-F0-9]{40}"),
    ("Cloudflare origin CA key", "CLOUDFLARE_KEY", ("v1.0-",), r"[a-f0-9]{24}-[a-f0-9]{146}"),
    ("JFrog Artifactory API key", "ARTIFACTORY_KEY", ("AKCp",), r"[A-Za-z0-9]{69}"),
    ("OpenShift user token", "OPENSHIFT_TOKEN", ("sha256~",), r"[A-Za-z0-9_-]{43}"),
    ("Infracost API key", "INFRACOST_KEY", ("ico-",), r"[A-Za-z0-9]{32}"),
    ("Clojars token", "CLOJARS_TOKEN", ("CLOJARS_",), r"[a-z0-9]{60}"),
    ("Flutterwave secret key", "FLUTTERWAVE_KEY",
     ("FLWSECK_TEST-", "FLWSECK-"), r"[a-h0-9]{32}-X"),
))  # fmt: skip


def _discord_bot_token(value: str, text: str, start: int, end: int) -> bool:
    """The first part of a Discord bot token is the bot's user id (a snowflake, 17 to 20
    digits) in base64url."""
    first = value.split(".", 1)[0]
    try:
        user_id = base64.urlsafe_b64decode(first + "=" * (-len(first) % 4))
    except ValueError:
        return False
    return user_id.isdigit() and 17 <= len(user_id) <= 20 and not looks_fake(value)


_TWILIO_CONTEXT = re.compile(r"AC[0-9a-f]{32}|(?i:twilio)")
#: How far around a value the words that say what it is may be.
_NEAR = 400


def _twilio_auth_token(value: str, text: str, start: int, end: int) -> bool:
    """An auth token is 32 hex digits, like many hashes: it is Twilio's when an account SID
    (``AC`` + 32 hex) or the word Twilio is near."""
    near = text[max(0, start - _NEAR) : end + _NEAR]
    return _TWILIO_CONTEXT.search(near) is not None and not looks_fake(value)


#: Kinds whose values have no prefix of their own, found at a prefix inside them or by the
#: words that come with them.
ANCHORED: tuple[Kind, ...] = (
    Kind(
        "Twilio auth token",
        "TWILIO_TOKEN",
        ("auth_token", "AUTH_TOKEN", "authToken", "AuthToken", "auth token", "Auth Token"),
        re.compile(
            r"(?i:auth[_ ]?token)[\"']?\s{0,3}[:=,]\s{0,3}[\"']?([0-9a-f]{32})(?![A-Za-z0-9])"
        ),
        _twilio_auth_token,
        group=1,
    ),
    Kind(
        "Discord bot token",
        "DISCORD_TOKEN",
        ("discord", "Discord", "DISCORD"),
        _token(r"[MNO][A-Za-z0-9_-]{22,26}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,40}"),
        _discord_bot_token,
    ),
    Kind(
        "Telegram bot token",
        "TELEGRAM_TOKEN",
        (":AA",),
        _token(r"\d{8,10}:AA[A-Za-z0-9_-]{33}"),
        _not_fake,
    ),
    Kind(
        "Microsoft Entra client secret",
        "AZURE_CLIENT_SECRET",
        ("Q~",),
        re.compile(
            r"(?<![A-Za-z0-9_~.-])[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])"
        ),
        _not_fake,
    ),
    Kind(
        "Terraform Cloud token",
        "TERRAFORM_TOKEN",
        (".atlasv1.",),
        _token(r"[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70}"),
        _not_fake,
    ),
    Kind(
        "Firebase Cloud Messaging server key",
        "FCM_KEY",
        (":APA91b",),
        _token(r"AAAA[A-Za-z0-9_-]{7}:APA91b[A-Za-z0-9_-]{134}"),
        _not_fake,
    ),
    Kind(
        "Microsoft Teams webhook",
        "TEAMS_WEBHOOK",
        ("webhook.office.com/webhookb2/",),
        re.compile(
            r"webhook\.office\.com/webhookb2/[a-f0-9-]{36}@[a-f0-9-]{36}/IncomingWebhook/"
            r"[A-Za-z0-9]{32}/[a-f0-9-]{36}"
        ),
        _not_fake,
    ),
)
#: Every kind :class:`~ftprep.rules.privacy.ApiKey` reports.
API_KEYS = (*TOKENS, *PREFIXED, *ANCHORED)

PRIVATE_KEY = Kind(
    "private key",
    "PRIVATE_KEY",
    ("-----BEGIN",),
    re.compile(
        # Possessive and bounded, so that no text makes it backtrack: up to three
        # header lines (Proc-Type: ...), then two base64 runs. Lines may be broken by an
        # escaped ``\n`` too, as in the JSON key files of Google service accounts.
        r"-----BEGIN (?:[A-Z0-9]{1,40} ){0,8}PRIVATE KEY(?: BLOCK)?-----"
        r"(?:(?:\s|\\n)*+[A-Za-z0-9+/=:-][^\n]{0,256}+){0,3}?"
        r"(?:(?:\s|\\n)*+[A-Za-z0-9+/=]{40,}+){2}"
        r"(?:(?:\s|\\n)*+[A-Za-z0-9+/=]++)*+(?:(?:\s|\\n)*+-----END [A-Z0-9 ]{1,80}-----)?"
    ),
)

#: The signature of the token on jwt.io's front page, quoted in countless tutorials.
_JWT_IO_SIGNATURE = "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"

JWT = Kind(
    "JSON Web Token",
    "JWT",
    ("eyJ",),
    _token(r"eyJ[A-Za-z0-9_-]{8,}+\.eyJ[A-Za-z0-9_-]{8,}+\.[A-Za-z0-9_-]{16,}+"),
    lambda v, t, s, e: not v.endswith(_JWT_IO_SIGNATURE) and not looks_fake(v),
)

# --- credentials in URLs and connection strings ---------------------------------------------

#: Passwords that documentation writes in URLs (``user:password@``, ``root:changeme@``).
_PASSWORD_PLACEHOLDERS = frozenset(
    {
        "password",
        "passwd",
        "pass",
        "pwd",
        "secret",
        "changeme",
        "mypassword",
        "yourpassword",
        "pw",
        "p",
        "pass123",
        "password123",
        "xxx",
        "***",
        "****",
        "token",
        "apikey",
        "api_key",
        "key",
    }
)
_DATABASE_SCHEMES = frozenset(
    {
        "postgres",
        "postgresql",
        "mysql",
        "mariadb",
        "mongodb",
        "mongodb+srv",
        "redis",
        "rediss",
        "amqp",
        "amqps",
        "mssql",
        "sqlserver",
        "oracle",
        "clickhouse",
        "cockroachdb",
        "postgresql+psycopg2",
        "mysql+pymysql",
    }
)
_URL_USERINFO = re.compile(
    r"://([^\s:/?#@\[\]\"'<>`]{0,128}):([^\s/?#@\[\]\"'<>`]{1,256})@(?=[A-Za-z0-9\[])"
)
_SCHEME_BEFORE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,30}\Z")


def url_scheme(text: str, start: int) -> str:
    """The URL scheme written just before ``start`` (where ``://`` begins), lower case."""
    found = _SCHEME_BEFORE.search(text, max(0, start - 31), start)
    return found.group(0).lower() if found else ""


def _real_password(value: str, text: str, start: int, end: int) -> bool:
    low = value.lower()
    if low in _PASSWORD_PLACEHOLDERS or looks_placeholder_text(value):
        return False
    colon = text.rfind("://", 0, start)
    user = text[colon + 3 : start - 1] if colon >= 0 else ""
    return low != user.lower() and len(set(value)) >= 3


def looks_placeholder_text(value: str) -> bool:
    """A value that is a template slot, an environment variable, masked, or says it is an
    example (``<password>``, ``${DB_PASS}``, ``****``, ``your_password``)."""
    low = value.lower()
    return (
        any(c in value for c in "<>{}$")
        or len(set(value)) < 3
        or any(m in low for m in _FAKE_MARKERS)
        or low.startswith(("pass", "pwd", "secret"))
        or low.endswith(("password", "pass", "pwd", "secret"))
    )


def _database_password(value: str, text: str, start: int, end: int) -> bool:
    colon = text.rfind("://", 0, start)
    return url_scheme(text, colon) in _DATABASE_SCHEMES and _real_password(value, text, start, end)


def _other_password(value: str, text: str, start: int, end: int) -> bool:
    colon = text.rfind("://", 0, start)
    return url_scheme(text, colon) not in _DATABASE_SCHEMES and _real_password(
        value, text, start, end
    )


DATABASE_URL = Kind(
    "database URL with a password",
    "DB_PASSWORD",
    ("://",),
    _URL_USERINFO,
    _database_password,
    group=2,
)
URL_PASSWORD = Kind(
    "password in a URL",
    "PASSWORD",
    ("://",),
    _URL_USERINFO,
    _other_password,
    group=2,
)
CONNECTION_STRING_PASSWORD = Kind(
    "password in a connection string",
    "PASSWORD",
    ("password=", "pwd="),
    re.compile(
        r"(?i:(?:server|data source|host|uid|user id)=[^;\n]{1,200};[^\n]{0,400}?"
        r"\b(?:password|pwd)=)([^;\s\"']{4,128})"
    ),
    _real_password,
    group=1,
    folded=True,
)

# --- password=-style assignments --------------------------------------------------------

#: Words that name a secret in an assignment (``DB_PASSWORD = "..."``), in lower case.
SECRET_WORDS = ("password", "passwd", "secret", "api_key", "apikey", "access_token", "auth_token")
_ASSIGNED = re.compile(
    r"[A-Za-z0-9_.-]{0,30}[\"']?\s{0,3}(?::=|=|:)\s{0,3}([\"'`]?)"
    r"([A-Za-z0-9!#%&()*+,./:;<=>?@\[\]^_{|}~$-]{10,128})\1(?![A-Za-z0-9])"
)
#: What an assigned value that is code, not a secret, contains.
_CODE_MARKERS = ("(", "os.", "env", "getenv", "config", "settings", "self.", "args.", "://")


def typed_in_order(value: str) -> bool:
    """Whether the letters of ``value`` run in alphabetical order (``aB3#fG7!kL9@``,
    ``A1b2C3d4``): a value a person typed as an example, not a generated one (six random
    letters are in order once in 720 draws)."""
    letters = [c for c in value.lower() if c.isascii() and c.isalpha()]
    return len(letters) >= 3 and all(a < b for a, b in itertools.pairwise(letters))


def _strong_secret(value: str) -> bool:
    """A value that looks generated: long, mixed letters and digits, high entropy, not code,
    a placeholder or typed as an example."""
    low = value.lower()
    return (
        len(value) >= 10
        and any(c.isdigit() for c in value)
        and any(c.isalpha() for c in value)
        and entropy(value) >= 3.3
        and not looks_placeholder_text(value)
        and not looks_fake(value)
        and not any(m in low for m in _CODE_MARKERS)
        and not value.replace("_", "").replace(".", "").isalpha()
        and not typed_in_order(value)
    )


def find_assignments(text: str, lowered: str | None = None) -> Iterator[tuple[int, int, str]]:
    """``(start, end, value)`` of secrets assigned to a name that says it is one
    (``password = "Xk9#pL2mQ"``, ``API_KEY: 8f3a...``), anchored at each such word."""
    low = text.lower() if lowered is None else lowered
    for word in SECRET_WORDS:
        at = low.find(word)
        while at >= 0:
            match = _ASSIGNED.match(text, at + len(word))
            if match is not None:
                value = match.group(2)
                if _strong_secret(value):
                    yield match.start(2), match.end(2), value
            at = low.find(word, at + len(word))


SECRET_ASSIGNMENT = Kind(
    "secret assigned to a name", "SECRET", SECRET_WORDS, _ASSIGNED, folded=True
)

# --- personal data --------------------------------------------------------------------------

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}"
    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,24})(?![A-Za-z0-9_-])"
)
#: Reserved for documentation (RFC 2606, RFC 6761) or used as obvious placeholders.
PLACEHOLDER_DOMAINS = (
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
    "mycompany.com",
    "mysite.com",
    "yoursite.com",
    "mywebsite.com",
    "yourwebsite.com",
    "website.com",
)
_RESERVED_TLDS = frozenset({"example", "test", "invalid", "localhost", "local"})
#: "Top-level domains" that are really file extensions (``logo@2x.png``).
_FILE_EXTENSIONS = frozenset(
    {
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
    }
)
#: Local parts of the addresses organisations publish for a role, not a person: press
#: offices, FOIA and tip lines, support desks.
ROLE_MAILBOXES = frozenset(
    {
        "press",
        "media",
        "news",
        "newsroom",
        "foia",
        "foi",
        "tips",
        "tip",
        "tipline",
        "info",
        "information",
        "contact",
        "contacts",
        "support",
        "help",
        "helpdesk",
        "service",
        "customerservice",
        "sales",
        "enquiries",
        "inquiries",
        "enquiry",
        "inquiry",
        "office",
        "admin",
        "administrator",
        "webmaster",
        "postmaster",
        "hostmaster",
        "abuse",
        "security",
        "privacy",
        "dataprotection",
        "dpo",
        "legal",
        "compliance",
        "noreply",
        "no-reply",
        "donotreply",
        "do-not-reply",
        "hello",
        "team",
        "feedback",
        "careers",
        "jobs",
        "hr",
        "recruiting",
        "billing",
        "accounts",
        "orders",
        "returns",
        "marketing",
        "communications",
        "publicaffairs",
        "public.affairs",
        "editor",
        "editors",
        "letters",
        "comments",
        "mail",
        "reception",
        "general",
        "ombudsman",
        "complaints",
        "hotline",
        "offers",
        "admission",
        "admissions",
        "pr",
        "events",
        "rsvp",
        "bookings",
        "booking",
        "reservations",
        "membership",
        "members",
        "subscribe",
        "newsletter",
        "partners",
        "investors",
        "ir",
        "donations",
        "volunteer",
        "volunteers",
        "customercare",
        "care",
        "shop",
        "store",
    }
)
#: Local parts that say the address is made up (``xxxx@``, ``your.name@``).
_PLACEHOLDER_LOCAL = re.compile(
    r"x{3,}|address$|^(?:your|my[._-]|myname|myemail|user(?:name)?\d*$|name$|e?mail$|someone|"
    r"somebody|firstname|first[._]last|john[._]?doe|jane[._]?doe)"
)


#: Words ending the local part of a business's address (``acmeservices@``).
_BUSINESS_LOCAL = re.compile(
    r"(?:services?|solutions|group|sales|shop|store|studio|clinic|ltd|inc|llc)$"
)
#: Words just before an address that say it is made up (``a fake address, for example``).
_MADE_UP_BEFORE = re.compile(
    r"(?i:fake|made[ -]up|make up|for example|e\.g\.|dummy|placeholder|something like)"
)


def email_is_personal(address: str, domain: str, allowed: tuple[str, ...]) -> bool:
    """Whether an e-mail address may reach a person: not at a documentation or allowed
    domain, not a file name, not a role mailbox or a business's address, not a
    placeholder."""
    tld = domain.rsplit(".", 1)[-1]
    if tld in _RESERVED_TLDS or tld in _FILE_EXTENSIONS or domain.startswith("example"):
        return False
    if any(domain == d or domain.endswith("." + d) for d in allowed):
        return False
    local = address.split("@", 1)[0].lower()
    base = re.split(r"[+]", local, maxsplit=1)[0]
    return (
        base not in ROLE_MAILBOXES
        and not _PLACEHOLDER_LOCAL.search(base)
        and not _BUSINESS_LOCAL.search(base)
    )


def _in_userinfo(text: str, start: int) -> bool:
    """Whether ``start`` follows ``scheme://user:`` (a URL's password, not an address)."""
    if start == 0 or text[start - 1] != ":":
        return False
    scheme_end = text.rfind("://", max(0, start - 140), start)
    return scheme_end >= 0 and not any(c.isspace() for c in text[scheme_end:start])


def find_emails(
    text: str, allowed: tuple[str, ...] = PLACEHOLDER_DOMAINS
) -> Iterator[tuple[int, int, str, str]]:
    """``(start, end, address, domain)`` of the personal e-mail addresses in ``text`` (SSH
    remotes such as ``git@github.com:owner/repo`` are not addresses)."""
    if "@" not in text:
        return
    for match in _EMAIL.finditer(text):
        domain = match.group(1).lower()
        if text.startswith(":", match.end()) or _in_userinfo(text, match.start()):
            continue
        if _MADE_UP_BEFORE.search(text, max(0, match.start() - 60), match.start()):
            continue
        if email_is_personal(match.group(0), domain, allowed):
            yield match.start(), match.end(), match.group(0), domain


#: A number glued to one of these (or to a letter or digit) is part of something else:
#: a sum, a path, a version, an identifier.
_GLUE_BEFORE = frozenset("+/.=*^-_#")
AFTER_NUMBER = r"(?![\w-]|[.,]\d)"
PHONE_INTERNATIONAL = re.compile(r"\+[1-9]\d{0,2}(?:[ .-]\(?\d{1,5}\)?){2,5}" + AFTER_NUMBER)
PHONE_NANP = re.compile(
    r"(?:\+?1[ .-]?)?(?:\(([2-9]\d\d)\) ?|([2-9]\d\d)[-. ])(\d{3})[-.]\d{4}" + AFTER_NUMBER
)
#: What every North American number ends with: a cheap first test (it starts at a separator,
#: which the regex engine skips to, where ``PHONE_NANP`` is tried at every character).
_NANP_TAIL = re.compile(r"[-.]\d{4}(?!\d)")
#: North American toll-free area codes: published numbers of organisations.
_TOLL_FREE = frozenset({"800", "833", "844", "855", "866", "877", "888"})


def stands_alone(text: str, start: int) -> bool:
    """Whether the number at ``start`` is not glued to what precedes it."""
    if start == 0:
        return True
    before = text[start - 1]
    return not before.isalnum() and before not in _GLUE_BEFORE


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def nanp_is_personal(area: str, exchange: str, line: str) -> bool:
    """Whether a North American number may reach a person: a real area code (not ``N9N``
    reserved, not ``N11``), not toll-free, not the fictional ``555``, not a made-up run
    (``123-456-7890``, ``999-444-1212``)."""
    if area in _TOLL_FREE or area[1] == "9" or area[1:] == "11" or exchange[1:] == "11":
        return False
    if exchange == "555" or area == "555":
        return False
    digits = area + exchange + line
    return digits not in ("1234567890", "0123456789") and len(set(digits)) >= 4


def find_phones(text: str) -> Iterator[tuple[int, int, str]]:
    """``(start, end, number)`` of the phone numbers in ``text``, each once (a North
    American number written with ``+1`` is one number, not two)."""
    found: list[tuple[int, int, str]] = []
    if "+" in text:
        for m in PHONE_INTERNATIONAL.finditer(text):
            number = m.group(0)
            digits = _digits(number)
            if not stands_alone(text, m.start()) or not 8 <= len(digits) <= 15:
                continue
            if digits.startswith("1") and len(digits) == 11:
                if not nanp_is_personal(digits[1:4], digits[4:7], digits[7:]):
                    continue
            elif "555" in number:
                continue
            found.append((m.start(), m.end(), number))
    for m in PHONE_NANP.finditer(text) if _NANP_TAIL.search(text) else ():
        if not stands_alone(text, m.start()) or any(
            s < m.end() and m.start() < e for s, e, _ in found
        ):
            continue
        digits = _digits(m.group(0))[-10:]
        if nanp_is_personal(digits[:3], digits[3:6], digits[6:]):
            found.append((m.start(), m.end(), m.group(0)))
    found.sort()
    return iter(found)


CARD = re.compile(
    r"\d{4}(?:\d{9,15}|([ -])\d{4}\1\d{4}\1\d{4}(?:\1\d{3})?|([ -])\d{6}\2\d{4,5})" + AFTER_NUMBER
)
#: Characters next to a number that make it arithmetic rather than a card number.
_MATH_NEIGHBOURS = frozenset("=+*/x\N{MULTIPLICATION SIGN}\N{DIVISION SIGN}^%$")
#: Card numbers the payment networks publish for testing (Stripe, Adyen, PayPal docs).
TEST_CARDS = frozenset(
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


def next_to(text: str, start: int, end: int, chars: frozenset[str]) -> bool:
    """Whether the nearest non-space character before ``start`` or after ``end`` is in
    ``chars`` (a letter among them counts only as a word of its own: the ``x`` of ``3 x 4``,
    not of ``amex``)."""
    before = text[max(0, start - 8) : start].rstrip()
    after = text[end : end + 8].lstrip()
    if (
        before
        and before[-1] in chars
        and not (before[-1].isalpha() and len(before) > 1 and before[-2].isalpha())
    ):
        return True
    if after and after[0] in chars:
        return not (after[0].isalpha() and len(after) > 1 and after[1].isalpha())
    return False


def find_cards(text: str, allowed: Iterable[str] = ()) -> Iterator[tuple[int, int, str, str]]:
    """``(start, end, digits, brand)`` of the payment card numbers in ``text``: a network's
    prefix and length, a valid Luhn checksum, not a published test card, not arithmetic."""
    extra = frozenset(allowed)
    for match in CARD.finditer(text):
        digits = re.sub(r"\D", "", match.group(0))
        brand = card_brand(digits)
        if (
            brand is None
            or not stands_alone(text, match.start())
            or digits in TEST_CARDS
            or digits in extra
            or len(set(digits)) < 4
            or next_to(text, match.start(), match.end(), _MATH_NEIGHBOURS)
            or not luhn_valid(digits)
        ):
            continue
        yield match.start(), match.end(), digits, brand


#: IBAN length per country (ISO 13616 registry).
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip
#: The example IBANs of the registry and of banks' documentation.
EXAMPLE_IBANS = frozenset(
    {
        "GB82WEST12345698765432",
        "GB29NWBK60161331926819",
        "DE89370400440532013000",
        "FR1420041010050500013M02606",
        "NL91ABNA0417164300",
        "ES9121000418450200051332",
        "IT60X0542811101000000123456",
        "CH9300762011623852957",
        "BE68539007547034",
    }
)
IBAN = re.compile(
    r"(?<![A-Za-z0-9])[A-Z]{2}\d\d(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])"
)


def iban_valid(compact: str) -> bool:
    """An IBAN (without spaces) has its country's length and a valid mod-97 check."""
    if IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def find_ibans(text: str) -> Iterator[tuple[int, int, str]]:
    """``(start, end, iban)`` of the valid IBANs in ``text`` (not the registry's examples)."""
    for match in IBAN.finditer(text):
        compact = match.group(0).replace(" ", "")
        if iban_valid(compact) and compact not in EXAMPLE_IBANS:
            yield match.start(), match.end(), compact


_SSN = re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}([- ]?)(?!00)\d{2}\1(?!0000)\d{4}(?![\d-])")
#: SSNs printed in advertising and documentation (the Woolworth wallet card, ``123-45-6789``).
_EXAMPLE_SSNS = frozenset({"078051120", "219099999", "123456789", "111111111"})
_NINO = re.compile(
    r"(?<![A-Za-z0-9])(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
    r" ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![A-Za-z0-9])"
)
#: How far before a number its context may be.
_CONTEXT_WINDOW = 120


def placeholder_digits(digits: str) -> bool:
    """Digits a person types as an example: one or two digits repeated (``111 111 118``), or
    a run up or down (``123456789``)."""
    return (
        len(set(digits)) <= 2
        or digits in "01234567890123456789"
        or digits in "98765432109876543210"
    )


def _sin_valid(number: str) -> bool:
    """A Canadian social insurance number: nine digits with a valid Luhn checksum."""
    digits = _digits(number)
    return luhn_valid(digits) and not placeholder_digits(digits)


_VERHOEFF_D = (
    "0123456789", "1234067895", "2340178956", "3401289567", "4012395678",
    "5987604321", "6598710432", "7659821043", "8765932104", "9876543210",
)  # fmt: skip
_VERHOEFF_P = (
    "0123456789", "1576283094", "5803796142", "8916043527",
    "9453126870", "4286573901", "2793806415", "7046913258",
)  # fmt: skip


def verhoeff_valid(digits: str) -> bool:
    """The Verhoeff checksum of a string of digits (its last digit) is valid."""
    check = 0
    for i, char in enumerate(reversed(digits)):
        check = int(_VERHOEFF_D[check][int(_VERHOEFF_P[i % 8][int(char)])])
    return check == 0


def _aadhaar_valid(number: str) -> bool:
    """An Indian Aadhaar number: twelve digits, the first 2-9, the last a Verhoeff check."""
    digits = _digits(number)
    return verhoeff_valid(digits) and not placeholder_digits(digits[:-1])


_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def _dni_valid(number: str) -> bool:
    """A Spanish DNI (eight digits) or NIE (``X``/``Y``/``Z`` and seven digits) whose last
    letter is the check letter of the number."""
    compact = number.replace("-", "").replace(" ", "")
    body = compact[:-1]
    digits = str("XYZ".index(body[0])) + body[1:] if body[0] in "XYZ" else body
    return _DNI_LETTERS[int(digits) % 23] == compact[-1] and not placeholder_digits(digits)


def _nir_valid(number: str) -> bool:
    """A French NIR (social security number): thirteen characters (Corsica's departments
    are ``2A``/``2B``) and a key of 97 minus their remainder modulo 97."""
    compact = number.replace(" ", "")
    body, key = compact[:13], compact[13:]
    numeric = body.replace("2A", "19", 1).replace("2B", "18", 1) if body[5] == "2" else body
    if not numeric.isdigit() or placeholder_digits(numeric[5:]):
        return False
    return 97 - int(numeric) % 97 == int(key)


def _steuer_id_valid(number: str) -> bool:
    """A German tax ID (Steuer-ID): eleven digits, the first not 0; in the first ten one
    digit occurs twice or three times and the others at most once; the last is the ISO 7064
    MOD 11,10 check digit."""
    digits = _digits(number)
    counts = sorted((digits[:10].count(d) for d in set(digits[:10])), reverse=True)
    if counts[0] not in (2, 3) or (len(counts) > 1 and counts[1] != 1):
        return False
    product = 10
    for char in digits[:10]:
        total = (int(char) + product) % 10 or 10
        product = total * 2 % 11
    return (11 - product) % 10 == int(digits[10])


@dataclass(frozen=True, slots=True)
class NationalIdKind:
    """One country's national ID number: reported where one of the context ``words``
    (lower case, a cheap test) occurs and ``context`` matches in the words before it, and
    ``valid`` accepts it (its checksum; never a placeholder), unless it is one of the
    ``examples`` documentation prints (compact: without spaces or dashes)."""

    name: str
    label: str
    words: tuple[str, ...]
    context: re.Pattern[str]
    regex: re.Pattern[str]
    valid: Callable[[str], bool]
    digits: int
    """The fewest ASCII digits a number holds."""
    examples: frozenset[str] = frozenset()


NATIONAL_IDS: tuple[NationalIdKind, ...] = (
    NationalIdKind(
        "US social security number",
        "SSN",
        ("ssn", "social security", "social sec", "ss#"),
        re.compile(r"(?i:\bssn\b|social security|\bss#|\bsocial sec)"),
        _SSN,
        lambda number: True,
        9,
        _EXAMPLE_SSNS,
    ),
    NationalIdKind(
        "UK national insurance number",
        "NI_NUMBER",
        ("national insurance", "nino", "ni number", "ni no"),
        re.compile(r"(?i:national insurance|\bnino\b|\bni number|\bni no\b)"),
        _NINO,
        lambda number: True,
        6,
    ),
    NationalIdKind(
        "Canadian social insurance number",
        "SIN",
        ("social insurance", "assurance sociale", "sin:", "sin #", "sin#", "sin number",
         "sin no"),
        re.compile(r"(?i:social insurance|assurance sociale)|\bSIN\b"),
        re.compile(r"(?<![\d-])[1-79]\d\d([- ]?)\d{3}\1\d{3}(?![\d-])"),
        _sin_valid,
        9,
        frozenset({"046454286"}),  # the specimen card of Service Canada
    ),
    NationalIdKind(
        "Indian Aadhaar number",
        "AADHAAR",
        ("aadhaar", "aadhar", "uidai"),
        re.compile(r"(?i:aadhaa?r|uidai)"),
        re.compile(r"(?<![\d-])[2-9]\d{3}([- ]?)\d{4}\1\d{4}(?![\d-])"),
        _aadhaar_valid,
        12,
    ),
    NationalIdKind(
        "Spanish DNI/NIE number",
        "DNI",
        ("dni", "nie:", "nie ", "nif:", "nif ", "documento nacional"),
        re.compile(r"\b(?:DNI|NIE|NIF)\b|(?i:documento nacional)"),
        re.compile(r"(?<![A-Za-z0-9])(?:\d{8}|[XYZ]\d{7})[- ]?[A-HJ-NP-TV-Z](?![A-Za-z0-9])"),
        _dni_valid,
        7,
    ),
    NationalIdKind(
        "French social security number (NIR)",
        "NIR",
        ("sociale", "nir", "insee", "vitale"),
        re.compile(r"(?i:s[ée]curit[ée] sociale|carte vitale|\binsee\b)|\bNIR\b"),
        re.compile(
            r"(?<![\dA-Za-z])[12] ?\d\d ?(?:0[1-9]|1[0-2]|[2-9]\d) ?(?:\d\d|2[AB]) ?\d{3} ?\d{3}"
            r" ?\d\d(?![\dA-Za-z])"
        ),
        _nir_valid,
        13,
        frozenset({"255081416802538"}),  # Wikipedia's and the administration's example
    ),
    NationalIdKind(
        "German tax ID (Steuer-ID)",
        "STEUER_ID",
        ("steuer", "identifikationsnummer"),
        re.compile(r"(?i:steuer-?id|steuer-?identifikationsnummer|identifikationsnummer)"),
        re.compile(r"(?<![\d-])[1-9]\d(?: ?\d{3}){3}(?![\d-])"),
        _steuer_id_valid,
        11,
        # The Federal Central Tax Office's test numbers, printed in tax software manuals.
        frozenset({"86095742719", "47036892816", "65929970489", "57549285017", "25768131411"}),
    ),
)  # fmt: skip
#: Lower-case words one of which comes before every national ID number reported.
NATIONAL_ID_WORDS = tuple(word for kind in NATIONAL_IDS for word in kind.words)
#: The label of each national ID kind, by name.
NATIONAL_ID_LABELS = {kind.name: kind.label for kind in NATIONAL_IDS}


def find_national_ids(text: str, lowered: str | None = None) -> Iterator[tuple[int, int, str, str]]:
    """``(start, end, number, kind)`` of the national ID numbers in ``text`` (US SSN, UK NI
    number, Canadian SIN, Aadhaar, Spanish DNI/NIE, French NIR, German Steuer-ID) where the
    words before say that is what they are and their checksum, where they have one, holds."""
    low = text.lower() if lowered is None else lowered
    for kind in NATIONAL_IDS:
        if not any(word in low for word in kind.words) or not kind.context.search(text):
            continue
        for match in kind.regex.finditer(text):
            window = text[max(0, match.start() - _CONTEXT_WINDOW) : match.start()]
            number = match.group(0)
            if (
                kind.context.search(window)
                and kind.valid(number)
                and number.replace(" ", "").replace("-", "") not in kind.examples
            ):
                yield match.start(), match.end(), number, kind.name


# --- one pass for masking and redaction -------------------------------------------------

#: The label each personal-data kind is redacted with.
EMAIL_LABEL, PHONE_LABEL, CARD_LABEL, IBAN_LABEL = "EMAIL", "PHONE", "CARD_NUMBER", "IBAN"

_PATTERN_KINDS = (
    *API_KEYS,
    PRIVATE_KEY,
    JWT,
    DATABASE_URL,
    URL_PASSWORD,
    CONNECTION_STRING_PASSWORD,
)


def find_kind(kind: Kind, text: str, lowered: str | None = None) -> Iterator[Found]:
    """The values of ``kind`` in ``text`` that its check keeps."""
    haystack = (text.lower() if lowered is None else lowered) if kind.folded else text
    for trigger in kind.triggers:
        if trigger in haystack:
            break
    else:
        return
    for match in kind.regex.finditer(text):
        start, end = match.span(kind.group)
        value = match.group(kind.group)
        if kind.check is None or kind.check(value, text, start, end):
            yield Found(kind, start, end, value)


class KindIndex:
    """Which of ``kinds`` a text may hold, found with one scan for all their triggers (in
    the lower-cased text: a superset of what each kind's own trigger test lets through)
    instead of one substring search per trigger."""

    def __init__(self, kinds: Iterable[Kind]) -> None:
        self.kinds = tuple(kinds)
        triggers = sorted({t.lower() for k in self.kinds for t in k.triggers})
        self._scan = AhoCorasick(triggers)
        self._owners = [
            [i for i, k in enumerate(self.kinds) if trigger in {t.lower() for t in k.triggers}]
            for trigger in triggers
        ]

    def present(self, lowered: str) -> list[Kind]:
        """The kinds, in order, one of whose triggers occurs in ``lowered``."""
        hit: set[int] = set()
        for index, _start, _end in self._scan.find_matches_as_indexes(lowered, overlapping=True):
            hit.update(self._owners[index])
        return [self.kinds[i] for i in sorted(hit)]


def find_all(text: str, labels: frozenset[str] | None = None) -> list[tuple[int, int, str]]:
    """``(start, end, label)`` of every secret and piece of personal data in ``text`` (of
    the kinds whose label is in ``labels``, when given), without overlaps (the earliest,
    then the longest, wins), in order."""
    spans: list[tuple[int, int, str]] = []
    lowered = text.lower()
    for kind in _PATTERN_INDEX.present(lowered):
        spans += [(f.start, f.end, kind.label) for f in find_kind(kind, text, lowered)]
    spans += [(s, e, SECRET_ASSIGNMENT.label) for s, e, _v in find_assignments(text, lowered)]
    spans += [(s, e, EMAIL_LABEL) for s, e, _a, _d in find_emails(text)]
    digits = digit_count(text)
    if _may_hold_numbers(text, digits):
        spans += [(s, e, PHONE_LABEL) for s, e, _n in find_phones(text)]
        spans += [(s, e, CARD_LABEL) for s, e, _d, _b in find_cards(text)]
        spans += [(s, e, IBAN_LABEL) for s, e, _i in find_ibans(text)]
    if digits >= _MIN_ID_DIGITS:
        spans += [(s, e, NATIONAL_ID_LABELS[k]) for s, e, _n, k in find_national_ids(text, lowered)]
    if labels is not None:
        spans = [span for span in spans if span[2] in labels]
    spans.sort(key=lambda s: (s[0], -s[1]))
    kept: list[tuple[int, int, str]] = []
    for span in spans:
        if not kept or span[0] >= kept[-1][1]:
            kept.append(span)
    return kept


def mask_secret(secret: str, keep: int = 4) -> str:
    """Mask all but the first ``keep`` characters of a secret: ``sk-p…(51 chars)``.

    Findings never carry a detected secret in full.
    """
    if len(secret) <= keep * 2:
        return "*" * len(secret)
    return f"{secret[:keep]}…({len(secret)} chars)"


def _replace(
    text: str, with_: Callable[[str, str], str], labels: frozenset[str] | None = None
) -> str:
    spans = find_all(text, labels)
    if not spans:
        return text
    out: list[str] = []
    at = 0
    for start, end, label in spans:
        out += [text[at:start], with_(text[start:end], label)]
        at = end
    out.append(text[at:])
    return "".join(out)


_PATTERN_INDEX = KindIndex(_PATTERN_KINDS)
#: The fewest digits an international phone number holds.
_MIN_DIGITS = 8
#: The fewest digits a national ID number holds (a UK NI number has six).
_MIN_ID_DIGITS = min(kind.digits for kind in NATIONAL_IDS)
#: What a North American phone, card or social security number holds: eight digits with at
#: most two separators between neighbours (``(415) 555-2671``, ``4242 4242 ...``).
_DENSE_DIGITS = re.compile(r"\d(?:[ .()-]{0,2}\d){7}")
#: What an IBAN starts with.
_LETTERS_DIGITS = re.compile(r"[A-Z]{2}\d\d")


def digit_count(text: str) -> int:
    """How many ASCII digits ``text`` holds (a C-level scan: ``str.translate`` would look
    every character up in a dict)."""
    raw = text.encode("utf-8", "surrogatepass")
    return len(raw) - len(raw.translate(None, b"0123456789"))


def _may_hold_numbers(text: str, digits: int) -> bool:
    """Whether ``text`` (which holds ``digits`` ASCII digits) may hold a phone, card or IBAN
    number: digits spread over a text (line numbers, a sum) are not enough."""
    if digits < 2:
        return False
    return (digits >= _MIN_DIGITS and ("+" in text or _DENSE_DIGITS.search(text) is not None)) or (
        not text.islower() and _LETTERS_DIGITS.search(text) is not None
    )


#: What every value :func:`find_all` finds but the numbers of :func:`_may_hold_numbers`
#: needs, in lower-cased text: an ``@``, a pattern kind's trigger, a word that names a secret,
#: the words before a national ID number.
_GATE = AhoCorasick(
    sorted(
        {
            "@",
            *(t.lower() for k in _PATTERN_KINDS for t in k.triggers),
            *SECRET_WORDS,
            *NATIONAL_ID_WORDS,
        }
    )
)


def may_hold_secrets(text: str) -> bool:
    """Whether ``text`` may hold anything :func:`find_all` finds (a cheap test: false means
    it holds nothing)."""
    return len(text) >= 8 and (
        bool(_GATE.find_matches_as_indexes(text.lower()))
        or _may_hold_numbers(text, digit_count(text))
    )


@functools.lru_cache(maxsize=8192)
def mask_text(text: str) -> str:
    """``text`` with every secret and piece of personal data in it masked as the privacy
    rules show them (``sk-p…(51 chars)``): what a finding may quote of a record."""
    if not may_hold_secrets(text):
        return text
    return _replace(text, lambda value, _label: mask_secret(value))


def redact_text(text: str, labels: frozenset[str] | None = None) -> tuple[str, dict[str, int]]:
    """``text`` with every secret and piece of personal data (of the kinds whose label is in
    ``labels``, when given) replaced by a typed placeholder (``[EMAIL]``,
    ``[AWS_SECRET_KEY]``), and how many of each label were replaced."""
    counts: dict[str, int] = {}

    def placeholder(_value: str, label: str) -> str:
        counts[label] = counts.get(label, 0) + 1
        return f"[{label}]"

    if not may_hold_secrets(text):
        return text, counts
    return _replace(text, placeholder, labels), counts
