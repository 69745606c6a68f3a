"""Planted secrets and personal data: recall of the privacy rules per kind, and how many
placeholders and look-alikes they report.

Values are generated in each kind's published format (random, never valid) and planted,
with the words that usually come with them, in the middle of real answers from
``../shared/realdata/`` (Stanford Alpaca); one value per example. A kind is found when a P
rule reports something on its example. Placeholders and look-alikes (documentation keys,
reserved domains, ``555`` numbers, test cards, git SHAs, UUIDs, ISBNs, Luhn-failing numbers,
version strings...) are planted the same way and must not be reported. Answers the rules
already report on are not used.

    python bench/privacy_planted.py [--per-kind 20] [--seed 0] [--json]
"""

# ruff: noqa: E501  (the tables of generators read best one kind a line)
from __future__ import annotations

import argparse
import base64
import json
import random
import string
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from ftprep.config import Config
from ftprep.secrets import github_checksum, iban_valid, luhn_valid, verhoeff_valid
from ftprep.validate.check import run_check

ROOT = Path(__file__).resolve().parents[1]
ANSWERS = ROOT.parent / "shared" / "realdata" / "stanford_alpaca_pr152" / "alpaca_5000.json"

ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
UPPER_DIGITS = string.ascii_uppercase + string.digits

Generator = Callable[[random.Random], str]


def _s(r: random.Random, n: int, alphabet: str = ALNUM) -> str:
    while True:
        value = "".join(r.choice(alphabet) for _ in range(n))
        if alphabet != ALNUM or (
            any(c.isdigit() for c in value) and any(c.isalpha() for c in value)
        ):
            return value


def _github(prefix: str) -> Generator:
    def make(r: random.Random) -> str:
        body = _s(r, 30)
        return f"{prefix}_{body}{github_checksum(body)}"

    return make


def _luhn(r: random.Random, prefix: str, length: int) -> str:
    while True:
        body = prefix + "".join(r.choice(string.digits) for _ in range(length - len(prefix) - 1))
        for check in string.digits:
            if luhn_valid(body + check):
                return body + check


def _grouped(digits: str) -> str:
    return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))


def _iban(r: random.Random, country: str, bban_length: int) -> str:
    bban = "".join(r.choice(string.digits) for _ in range(bban_length))
    for check in range(2, 99):
        candidate = f"{country}{check:02d}{bban}"
        if iban_valid(candidate):
            return _grouped(candidate)
    raise AssertionError("no check digits")


def _jwt(r: random.Random) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    header = part({"alg": "HS256", "typ": "JWT"})
    payload = part({"sub": str(r.randrange(10**9)), "name": "Ana", "iat": 1700000000})
    return f"{header}.{payload}.{_s(r, 43, ALNUM + '-_')}"


def _pem(r: random.Random, kind: str) -> str:
    lines = "\n".join(_s(r, 64, ALNUM + "+/") for _ in range(6))
    return f"-----BEGIN {kind}-----\n{lines}\n-----END {kind}-----"


def _password(r: random.Random) -> str:
    """A password as written in a URL (reserved characters percent-encoded)."""
    return _s(r, 14, ALNUM + "-_.~!*%")


def _phone_uk(r: random.Random) -> str:
    return f"+44 20 {r.randrange(7000, 8999)} {r.randrange(1000, 9999)}"


def _nanp(r: random.Random) -> str:
    area = r.choice(["415", "212", "617", "303", "512", "206"])
    return f"({area}) {r.randrange(200, 999)}-{r.randrange(1000, 9999)}"


def _ssn(r: random.Random) -> str:
    return f"{r.randrange(100, 665)}-{r.randrange(10, 99)}-{r.randrange(1000, 9999)}"


def _nino(r: random.Random) -> str:
    first = r.choice("ABCEHJKLMPRSTWXY")
    second = r.choice("ABCEHJKLMPRSTWXY")
    digits = " ".join(f"{r.randrange(10, 99)}" for _ in range(3))
    return f"{first}{second} {digits} {r.choice('ABCD')}"


def _sin(r: random.Random) -> str:
    digits = _luhn(r, str(r.choice((1, 2, 3, 4, 5, 6, 7, 9))), 9)
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}"


def _aadhaar(r: random.Random) -> str:
    body = str(r.randrange(2, 10)) + "".join(r.choice(string.digits) for _ in range(10))
    digits = next(body + c for c in string.digits if verhoeff_valid(body + c))
    return f"{digits[:4]} {digits[4:8]} {digits[8:]}"


def _dni(r: random.Random) -> str:
    number = r.randrange(10**7, 10**8)
    return f"{number:08d}{'TRWAGMYFPDXBNJZSQVHLCKE'[number % 23]}"


def _nie(r: random.Random) -> str:
    first, number = r.randrange(3), r.randrange(10**6, 10**7)
    return (
        f"{'XYZ'[first]}{number:07d}{'TRWAGMYFPDXBNJZSQVHLCKE'[int(f'{first}{number:07d}') % 23]}"
    )


def _nir(r: random.Random) -> str:
    body = f"{r.randrange(1, 3)}{r.randrange(40, 99)}{r.randrange(1, 13):02d}{r.randrange(1, 96):02d}{r.randrange(1, 999):03d}{r.randrange(1, 999):03d}"
    key = 97 - int(body) % 97
    return f"{body[0]} {body[1:3]} {body[3:5]} {body[5:7]} {body[7:10]} {body[10:13]} {key:02d}"


def _steuer_id(r: random.Random) -> str:
    while True:
        digits = r.sample("0123456789", 9)
        if digits[0] == "0":
            continue
        digits.insert(r.randrange(1, 10), r.choice(digits))
        product = 10
        for char in digits:
            product = ((int(char) + product) % 10 or 10) * 2 % 11
        number = "".join(digits) + str((11 - product) % 10)
        return f"{number[:2]} {number[2:5]} {number[5:8]} {number[8:]}"


def _uuid(r: random.Random) -> str:
    return f"{_s(r, 8, HEX)}-{_s(r, 4, HEX)}-4{_s(r, 3, HEX)}-a{_s(r, 3, HEX)}-{_s(r, 12, HEX)}"


def _discord(r: random.Random) -> str:
    user_id = str(r.randrange(10**17, 10**19)).encode()
    first = base64.urlsafe_b64encode(user_id).decode().rstrip("=")
    return f"{first}.{_s(r, 6, ALNUM + '_-')}.{_s(r, r.choice((27, 38)), ALNUM + '_-')}"


def _twilio(r: random.Random) -> str:
    return f"account_sid = 'AC{_s(r, 32, HEX)}'\nauth_token = '{_s(r, 32, HEX)}'"


BASE64URL = ALNUM + "_-"


#: kind -> (how the value is introduced, generator).
KINDS: dict[str, tuple[str, Generator]] = {
    "OpenAI project key": ("export OPENAI_API_KEY=", lambda r: "sk-proj-" + _s(r, 48, ALNUM + "_-")),
    "OpenAI legacy key": ("openai.api_key = ", lambda r: f"sk-{_s(r, 20)}T3BlbkFJ{_s(r, 20)}"),
    "Anthropic key": ("ANTHROPIC_API_KEY=", lambda r: f"sk-ant-api03-{_s(r, 93, ALNUM + '_-')}AA"),
    "AWS access key id": ("aws_access_key_id = ", lambda r: "AKIA" + _s(r, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")),
    "AWS secret access key": ("aws_secret_access_key = ", lambda r: _s(r, 40, ALNUM + "/+")),
    "GitHub classic token": ("GITHUB_TOKEN=", _github("ghp")),
    "GitHub OAuth token": ("token: ", _github("gho")),
    "GitHub fine-grained token": ("GH_PAT=", lambda r: f"github_pat_{_s(r, 22)}_{_s(r, 59)}"),
    "GitLab token": ("GITLAB_TOKEN=", lambda r: "glpat-" + _s(r, 20, ALNUM + "_-")),
    "Hugging Face token": ("HF_TOKEN=", lambda r: "hf_" + _s(r, 34, string.ascii_letters)),
    "Slack bot token": ("SLACK_BOT_TOKEN=", lambda r: f"xoxb-{r.randrange(10**11, 10**12)}-{r.randrange(10**12, 10**13)}-{_s(r, 24)}"),
    "Slack webhook": ("post to ", lambda r: f"https://hooks.slack.com/services/T{_s(r, 8, UPPER_DIGITS)}/B{_s(r, 8, UPPER_DIGITS)}/{_s(r, 24)}"),
    "Discord webhook": ("webhook: ", lambda r: f"https://discord.com/api/webhooks/{r.randrange(10**17, 10**18)}/{_s(r, 68, ALNUM + '_-')}"),
    "Stripe live key": ("stripe.api_key = ", lambda r: "sk_live_" + _s(r, 24)),
    "Google API key": ("key=", lambda r: "AIza" + _s(r, 35, ALNUM + "_-")),
    "Google OAuth secret": ("client_secret: ", lambda r: "GOCSPX-" + _s(r, 28, ALNUM + "_-")),
    "Azure storage connection string": ("conn = ", lambda r: f"DefaultEndpointsProtocol=https;AccountName=acme{r.randrange(99)};AccountKey={_s(r, 86, ALNUM + '+/')}==;EndpointSuffix=core.windows.net"),
    "Azure SAS": ("url: ", lambda r: f"https://acme.blob.core.windows.net/c/f.txt?sv=2022-11-02&ss=b&sp=r&se=2025-01-01&sig={_s(r, 43, ALNUM + '%')}%3D"),
    "Databricks token": ("DATABRICKS_TOKEN=", lambda r: "dapi" + _s(r, 32, HEX)),
    "npm token": ("//registry.npmjs.org/:_authToken=", lambda r: "npm_" + _s(r, 36)),
    "PyPI token": ("password = ", lambda r: "pypi-AgEIcHlwaS5vcmc" + _s(r, 60, ALNUM + "_-")),
    "Twilio API key": ("TWILIO_API_KEY=", lambda r: "SK" + _s(r, 32, HEX)),
    "SendGrid key": ("SENDGRID_API_KEY=", lambda r: f"SG.{_s(r, 22, ALNUM + '_-')}.{_s(r, 43, ALNUM + '_-')}"),
    "JSON Web Token": ("Authorization: Bearer ", _jwt),
    "RSA private key": ("key:\n", lambda r: _pem(r, "RSA PRIVATE KEY")),
    "OpenSSH private key": ("id_ed25519:\n", lambda r: _pem(r, "OPENSSH PRIVATE KEY")),
    "Postgres URL": ("DATABASE_URL=", lambda r: f"postgres://app:{_password(r)}@db{r.randrange(9)}.acme.io:5432/prod"),
    "MySQL URL": ("dsn: ", lambda r: f"mysql://admin:{_password(r)}@10.0.{r.randrange(9)}.5:3306/shop"),
    "MongoDB URL": ("MONGO_URI=", lambda r: f"mongodb+srv://svc:{_password(r)}@cluster{r.randrange(9)}.ab1cd.mongodb.net/app"),
    "Redis URL": ("REDIS_URL=", lambda r: f"redis://:{_password(r)}@cache.acme.io:6379/0"),
    "URL userinfo": ("clone from ", lambda r: f"https://deploy:{_password(r)}@git.acme.io/app.git"),
    "password assignment": ("DB_PASSWORD = ", lambda r: f'"{_password(r)}"'),
    "e-mail address": ("write to ", lambda r: f"{r.choice(['maria', 'j.smith', 'wei.chen', 'olu'])}{r.randrange(99)}@{r.choice(['gmail.com', 'outlook.com', 'proton.me'])}"),
    "phone (international)": ("call me on ", _phone_uk),
    "phone (North American)": ("my cell is ", _nanp),
    "Visa card": ("card number ", lambda r: _luhn(r, "4", 16)),
    "Mastercard": ("card: ", lambda r: _grouped(_luhn(r, "5" + str(r.randrange(1, 6)), 16))),
    "American Express": ("amex ", lambda r: _luhn(r, "37", 15)),
    "IBAN (DE)": ("IBAN: ", lambda r: _iban(r, "DE", 18)),
    "IBAN (FR)": ("pay to ", lambda r: _iban(r, "FR", 23)),
    "US SSN": ("my SSN is ", _ssn),
    "UK NI number": ("National Insurance number: ", _nino),
    "Twilio auth token": ("from twilio.rest import Client\n", _twilio),
    "Discord bot token": ("DISCORD_TOKEN=", _discord),
    "Telegram bot token": ("TELEGRAM_BOT_TOKEN=", lambda r: f"{r.randrange(10**8, 10**10)}:AA{_s(r, 33, BASE64URL)}"),
    "Microsoft Entra client secret": ("AZURE_CLIENT_SECRET=", lambda r: f"{_s(r, 3)}{r.randrange(10)}Q~{_s(r, 34, ALNUM + '_~.-')}"),
    "Terraform Cloud token": ("TFE_TOKEN=", lambda r: f"{_s(r, 14)}.atlasv1.{_s(r, 67)}"),
    "Firebase server key": ("serverKey: ", lambda r: f"AAAA{_s(r, 7, BASE64URL)}:APA91b{_s(r, 134, BASE64URL)}"),
    "Teams webhook": ("webhook: ", lambda r: f"https://acme.webhook.office.com/webhookb2/{_uuid(r)}@{_uuid(r)}/IncomingWebhook/{_s(r, 32, HEX)}/{_uuid(r)}"),
    "OpenRouter key": ("OPENROUTER_API_KEY=", lambda r: "sk-or-v1-" + _s(r, 64, HEX)),
    "Groq key": ("GROQ_API_KEY=", lambda r: "gsk_" + _s(r, 52)),
    "xAI key": ("XAI_API_KEY=", lambda r: "xai-" + _s(r, 80)),
    "Perplexity key": ("PPLX_API_KEY=", lambda r: "pplx-" + _s(r, 48)),
    "Replicate token": ("REPLICATE_API_TOKEN=", lambda r: "r8_" + _s(r, 37)),
    "Tavily key": ("TAVILY_API_KEY=", lambda r: "tvly-dev-" + _s(r, 32)),
    "LangSmith key": ("LANGSMITH_API_KEY=", lambda r: f"lsv2_pt_{_s(r, 32, HEX)}_{_s(r, 10, HEX)}"),
    "Pinecone key": ("PINECONE_API_KEY=", lambda r: f"pcsk_{_s(r, 5)}_{_s(r, 63)}"),
    "Notion token": ("NOTION_TOKEN=", lambda r: f"ntn_{r.randrange(10**10, 10**11)}{_s(r, 35)}"),
    "Shopify token": ("X-Shopify-Access-Token: ", lambda r: "shpat_" + _s(r, 32, HEX)),
    "Square token": ("SQUARE_ACCESS_TOKEN=", lambda r: "sq0atp-" + _s(r, 22, BASE64URL)),
    "Brevo key": ("api-key: ", lambda r: f"xkeysib-{_s(r, 64, HEX)}-{_s(r, 16)}"),
    "DigitalOcean token": ("DIGITALOCEAN_TOKEN=", lambda r: "dop_v1_" + _s(r, 64, HEX)),
    "Doppler token": ("DOPPLER_TOKEN=", lambda r: "dp.st." + _s(r, 43)),
    "Vault token": ("VAULT_TOKEN=", lambda r: "hvs." + _s(r, 91, BASE64URL)),
    "Pulumi token": ("PULUMI_ACCESS_TOKEN=", lambda r: "pul-" + _s(r, 40, HEX)),
    "Grafana service account token": ("GRAFANA_TOKEN=", lambda r: f"glsa_{_s(r, 32)}_{_s(r, 8, HEX)}"),
    "New Relic key": ("NEW_RELIC_API_KEY=", lambda r: "NRAK-" + _s(r, 27, UPPER_DIGITS)),
    "Sentry user token": ("SENTRY_AUTH_TOKEN=", lambda r: "sntryu_" + _s(r, 64, HEX)),
    "Linear key": ("LINEAR_API_KEY=", lambda r: "lin_api_" + _s(r, 40)),
    "Postman key": ("POSTMAN_API_KEY=", lambda r: f"PMAK-{_s(r, 24, HEX)}-{_s(r, 34, HEX)}"),
    "Atlassian token": ("JIRA_API_TOKEN=", lambda r: f"ATATT3xFfGF0{_s(r, 171, BASE64URL)}={_s(r, 8, HEX).upper()}"),
    "Heroku key": ("HEROKU_API_KEY=", lambda r: "HRKU-AA" + _s(r, 58, BASE64URL)),
    "Docker Hub token": ("docker login -u acme -p ", lambda r: "dckr_pat_" + _s(r, 27, BASE64URL)),
    "Supabase token": ("SUPABASE_ACCESS_TOKEN=", lambda r: "sbp_" + _s(r, 40, HEX)),
    "age secret key": ("key: ", lambda r: "AGE-SECRET-KEY-1" + _s(r, 58, "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L")),
    "Netlify token": ("NETLIFY_AUTH_TOKEN=", lambda r: "nfp_" + _s(r, 36)),
    "PlanetScale password": ("password: ", lambda r: "pscale_pw_" + _s(r, 43, BASE64URL)),
    "RubyGems key": ("GEM_HOST_API_KEY=", lambda r: "rubygems_" + _s(r, 48, HEX)),
    "Dynatrace token": ("DT_API_TOKEN=", lambda r: f"dt0c01.{_s(r, 24, UPPER_DIGITS)}.{_s(r, 64, UPPER_DIGITS)}"),
    "Buildkite token": ("BUILDKITE_API_TOKEN=", lambda r: "bkua_" + _s(r, 40, HEX)),
    "CircleCI token": ("CIRCLE_TOKEN=", lambda r: f"CCIPAT_{_s(r, 22)}_{_s(r, 40, HEX)}"),
    "HubSpot token": ("HUBSPOT_TOKEN=", lambda r: f"pat-na1-{_uuid(r)}"),
    "Alibaba Cloud key id": ("ALIBABA_CLOUD_ACCESS_KEY_ID=", lambda r: "LTAI" + _s(r, 20)),
    "Canadian SIN": ("my social insurance number is ", _sin),
    "Aadhaar number": ("Aadhaar: ", _aadhaar),
    "Spanish DNI": ("DNI ", _dni),
    "Spanish NIE": ("NIE: ", _nie),
    "French NIR": ("numéro de sécurité sociale : ", _nir),
    "German Steuer-ID": ("Steuer-ID: ", _steuer_id),
    "Amazon Bedrock key": ("AWS_BEARER_TOKEN_BEDROCK=", lambda r: "ABSK" + _s(r, 128, ALNUM + "+/")),
    "Fly.io token": ("FLY_API_TOKEN=", lambda r: "fo1_" + _s(r, 43, BASE64URL)),
    "Sourcegraph token": ("SRC_ACCESS_TOKEN=", lambda r: f"sgp_{_s(r, 16, HEX)}_{_s(r, 40, HEX)}"),
    "Cloudflare origin CA key": ("CF_ORIGIN_CA_KEY=", lambda r: f"v1.0-{_s(r, 24, HEX)}-{_s(r, 146, HEX)}"),
    "Artifactory key": ("X-JFrog-Art-Api: ", lambda r: "AKCp" + _s(r, 69)),
    "OpenShift token": ("oc login --token=", lambda r: "sha256~" + _s(r, 43, BASE64URL)),
    "Google service account key": ('"private_key": "', lambda r: _pem(r, "PRIVATE KEY").replace("\n", "\\n") + '\\n"'),
}  # fmt: skip

#: Values that must not be reported: documentation placeholders and look-alikes.
LOOK_ALIKES: dict[str, tuple[str, Generator]] = {
    "git SHA": ("commit ", lambda r: _s(r, 40, HEX)),
    "UUID": ("id ", _uuid),
    "ISBN": ("ISBN ", lambda r: f"978-{r.randrange(1, 9)}-{r.randrange(100, 999)}-{r.randrange(10000, 99999)}-{r.randrange(10)}"),
    "Luhn-failing number": ("card number ", lambda r: next(n for n in (_s(r, 16, string.digits) for _ in range(99)) if not luhn_valid(n) and n[0] == "4")),
    "version string": ("requires ", lambda r: f"v{r.randrange(1, 20)}.{r.randrange(40)}.{r.randrange(40)}"),
    "SHA-256": ("sha256: ", lambda r: _s(r, 64, HEX)),
    "AWS documentation key": ("aws_access_key_id = ", lambda r: "AKIAIOSFODNN7EXAMPLE"),
    "placeholder OpenAI key": ("OPENAI_API_KEY=", lambda r: "sk-your-api-key-here-" + "x" * 20),
    "reserved-domain e-mail": ("write to ", lambda r: f"jane{r.randrange(99)}@example.com"),
    "role mailbox": ("tips to ", lambda r: r.choice(["press@nytimes.com", "foia@fbi.gov", "tips@propublica.org"])),
    "fictional phone": ("call ", lambda r: f"(415) 555-01{r.randrange(10, 99)}"),
    "toll-free number": ("call ", lambda r: f"1-800-{r.randrange(200, 999)}-{r.randrange(1000, 9999)}"),
    "test card": ("use ", lambda r: r.choice(["4242 4242 4242 4242", "4111111111111111", "5555555555554444"])),
    "example IBAN": ("e.g. ", lambda r: "GB82 WEST 1234 5698 7654 32"),
    "placeholder database URL": ("DATABASE_URL=", lambda r: "postgres://user:password@localhost:5432/db"),
    "password from the environment": ("password = ", lambda r: 'os.environ["DB_PASSWORD"]'),
    "nine digits without context": ("order ", lambda r: f"{r.randrange(100, 665)}-{r.randrange(10, 99)}-{r.randrange(1000, 9999)}"),
    "IP address": ("host ", lambda r: f"10.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(256)}"),
    "date and time": ("at ", lambda r: f"2023-{r.randrange(1, 12):02d}-{r.randrange(1, 28):02d} 14:{r.randrange(60):02d}"),
    "jwt.io example": ("token ", lambda r: "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"),
    "GitHub docs token": ("token ", lambda r: "ghp_16C7e42F292c6912E7710c838347Ae178B4a"),
    "SSH remote": ("git clone ", lambda r: "git@github.com:acme/app.git"),
    "hex colour and size": ("color ", lambda r: f"#{_s(r, 6, HEX)} 1920x1080"),
    "base64 blob": ("data ", lambda r: base64.b64encode(r.randbytes(30)).decode()),
    "Twilio account SID alone": ("account_sid = ", lambda r: f"'AC{_s(r, 32, HEX)}'"),
    "MD5 checksum": ("md5 ", lambda r: _s(r, 32, HEX)),
    "Discord-shaped string, no id": ("discord ", lambda r: f"M{_s(r, 23, BASE64URL)}.{_s(r, 6, BASE64URL)}.{_s(r, 27, BASE64URL)}"),
    "Telegram documentation token": ("bot token ", lambda r: "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"),
    "age public key": ("recipient ", lambda r: "age1" + _s(r, 58, "qpzry9x8gf2tvdw0s3jn54khce6mua7l")),
    "SIN failing Luhn": ("SIN: ", lambda r: next(f"{n[:3]} {n[3:6]} {n[6:]}" for n in (str(r.randrange(10**8, 8 * 10**8)) for _ in range(99)) if not luhn_valid(n))),
    "placeholder SIN": ("social insurance number ", lambda r: r.choice(["123 456 789", "111 111 118", "046 454 286"])),
    "placeholder Aadhaar": ("Aadhaar number ", lambda r: r.choice(["2222 2222 2222", "9999 9999 9999", "2345 6789 0123"])),
    "DNI with a wrong letter": ("DNI ", lambda r: (lambda d: d[:-1] + ("A" if d[-1] != "A" else "B"))(_dni(r))),
    "Steuer-ID test number": ("Steuer-ID ", lambda r: r.choice(["86095742719", "47036892816", "65929970489"])),
    "twelve digits without context": ("invoice ", lambda r: _aadhaar(r)),
    "placeholder Shopify token": ("X-Shopify-Access-Token: ", lambda r: "shpat_" + "x" * 32),
}  # fmt: skip


def _answers() -> list[str]:
    records = json.loads(ANSWERS.read_text(encoding="utf-8"))
    return [r["output"] for r in records if len(r["output"]) > 80]


def _plant(answer: str, phrase: str, value: str) -> str:
    middle = answer.find(". ", len(answer) // 3)
    if middle < 0:  # no sentence ends after the first third: after the answer, as a line
        return f"{answer}\n{phrase}{value}"
    return f"{answer[: middle + 2]}{phrase}{value} {answer[middle + 2 :]}"


def _record(prompt: str, answer: str) -> dict[str, object]:
    return {
        "messages": [
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": answer},
        ]
    }


def _reported_lines(records: list[dict[str, object]]) -> set[int]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "planted.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        result = run_check([path], Config(select=["P"]), aggregate=False)
        return {f.line for f in result.findings if f.code.startswith("P") and f.line}


def run(per_kind: int = 20, seed: int = 0) -> dict[str, object]:
    """Plant ``per_kind`` values of every kind and look-alike; what the rules report."""
    answers = _answers()
    clean_lines = _reported_lines([_record("q", a) for a in answers])
    answers = [a for i, a in enumerate(answers, start=1) if i not in clean_lines]
    r = random.Random(seed)
    records: list[dict[str, object]] = []
    labels: list[tuple[str, str]] = []
    for group, kinds in (("kind", KINDS), ("look-alike", LOOK_ALIKES)):
        for name, (phrase, make) in kinds.items():
            for _ in range(per_kind):
                answer = r.choice(answers)
                records.append(_record("Please help.", _plant(answer, phrase, make(r))))
                labels.append((group, name))
    reported = _reported_lines(records)
    found: Counter[str] = Counter()
    planted: Counter[str] = Counter()
    for line, (group, name) in enumerate(labels, start=1):
        planted[f"{group}:{name}"] += 1
        if line in reported:
            found[f"{group}:{name}"] += 1
    recall = {k: found[f"kind:{k}"] / planted[f"kind:{k}"] for k in KINDS}
    false = {k: found[f"look-alike:{k}"] for k in LOOK_ALIKES}
    kinds_total = sum(planted[f"kind:{k}"] for k in KINDS)
    look_total = sum(planted[f"look-alike:{k}"] for k in LOOK_ALIKES)
    return {
        "kinds": len(KINDS),
        "recall": recall,
        "overall_recall": sum(found[f"kind:{k}"] for k in KINDS) / kinds_total,
        "look_alikes": len(LOOK_ALIKES),
        "false_positives": false,
        "false_positive_rate": sum(false.values()) / look_total,
        "clean_answers_reported": len(clean_lines),
    }


def main(argv: list[str] | None = None) -> int:
    """Print recall per kind and the look-alikes reported."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-kind", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    out = run(args.per_kind, args.seed)
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    recall = out["recall"]
    false = out["false_positives"]
    assert isinstance(recall, dict) and isinstance(false, dict)
    for kind, value in recall.items():
        print(f"{value:6.2f}  {kind}")
    print(f"recall {out['overall_recall']:.3f} over {out['kinds']} kinds")
    for kind, count in false.items():
        if count:
            print(f"{count:6d}  reported look-alike: {kind}")
    print(
        f"look-alikes reported: {out['false_positive_rate']:.3f} of {args.per_kind} x "
        f"{out['look_alikes']}; clean answers the rules report: {out['clean_answers_reported']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
