"""No output prints a secret unmasked (issue 21): secrets planted in every field a rule
quotes (a tool-call id, a function name, a top-level key, an unknown record's keys, a role,
an image URL, a content part type, a template slot, a message name, a URL's userinfo) are
masked in every check format, in prepare's rejects file and report, and in its manifest
(the Redis URL's password)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftprep import cli
from ftprep.api import prepare
from ftprep.config import Config, DedupConfig
from ftprep.report.formats import FORMATS
from ftprep.secrets import mask_text


def _key(n: int) -> str:
    """A distinct OpenAI-shaped key (random-looking, never valid)."""
    return f"sk-proj-{n}Qx9LmT4vK8pR1sW7yZ3bN6cD0fG5hJaE4uI8oP2qR6tY0wX3zC7v"


KEYS = {
    name: _key(n)
    for n, name in enumerate(
        (
            "tool call id",
            "function name",
            "top-level key",
            "unknown record key",
            "role",
            "image url",
            "part type",
            "template slot",
            "name field",
            "content",
        )
    )
}
URL_PASSWORD = "Zq7mN2vK9xLp4"
REDIS_PASSWORD = "Rd5kQ8wZ2mXv7"


def _records() -> list[dict[str, object]]:
    k = KEYS
    user = {"role": "user", "content": "hi"}
    return [
        {
            "messages": [
                user,
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": k["tool call id"],
                            "type": "function",
                            "function": {"name": k["function name"], "arguments": "{}"},
                        },
                        {
                            "id": k["tool call id"],
                            "type": "function",
                            "function": {"name": k["function name"], "arguments": "{}"},
                        },
                    ],
                },
                {"role": "tool", "tool_call_id": "nope", "content": "ok"},
            ],
        },
        {"messages": [user, {"role": "assistant", "content": "Hello"}], k["top-level key"]: 1},
        {k["unknown record key"]: "x", "other": "y"},
        {"messages": [user, {"role": k["role"], "content": "Hello"}]},
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": f"ftp://{k['image url']}"}},
                        {"type": k["part type"], "text": "what?"},
                    ],
                },
                {"role": "assistant", "content": "A cat."},
            ]
        },
        {
            "messages": [
                {"role": "user", "content": f"Hello {{{{{k['template slot']}}}}}"},
                {"role": "assistant", "content": "Hi"},
            ]
        },
        {
            "messages": [
                {"role": "user", "content": "hi", "name": k["name field"]},
                {
                    "role": "assistant",
                    "content": f"Key {k['content']}, db https://ci:{URL_PASSWORD}@ci.acme.io/x",
                },
            ]
        },
    ]


def _unmasked(text: str) -> list[str]:
    secrets = [*KEYS.values(), URL_PASSWORD, REDIS_PASSWORD]
    return [s for s in secrets if s in text]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("secrets") / "data.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in _records()), encoding="utf-8")
    return path


def test_findings_quote_the_planted_fields(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The planted fields are quoted at all (else the test would prove nothing): the
    # findings name the masked values where the secrets were.
    cli.main(["check", str(data), "--select", "ALL", "--output-format", "json"])
    shown = capsys.readouterr().out
    for name, key in KEYS.items():
        assert mask_text(key) != key, name
    quoted = [name for name, key in KEYS.items() if key[:4] + "…" in shown or key[:4] in shown]
    assert len(quoted) >= 8, quoted
    codes = {d["code"] for d in json.loads(shown)["diagnostics"]}
    assert {"P001", "P007", "S011", "L007"} <= codes


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_check_format_prints_a_secret(
    fmt: str, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli.main(["check", str(data), "--select", "ALL", "--output-format", fmt])
    out, err = capsys.readouterr()
    assert out
    assert _unmasked(out + err) == []


def test_prepare_outputs_print_no_secret(data: Path, tmp_path: Path) -> None:
    config = Config(dedup=DedupConfig(redis_url=f"redis://:{REDIS_PASSWORD}@cache:6379/0"))
    prepare([data], out_dir=tmp_path / "out", config=config)
    manifest = (tmp_path / "out" / "manifest.json").read_text(encoding="utf-8")
    assert _unmasked(manifest) == []
    report = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert _unmasked(report) == []
    rejected = [
        json.loads(line)
        for line in (tmp_path / "out" / "rejected.jsonl").read_text("utf-8").splitlines()
    ]
    assert rejected
    assert _unmasked(json.dumps([r["reasons"] for r in rejected])) == []
    # The record itself too: ``raw`` is the input with each secret masked (the file and line
    # in ``source`` lead to the original).
    assert _unmasked(json.dumps([r["raw"] for r in rejected])) == []
    assert all(r["raw"] is None or json.loads(r["raw"]) for r in rejected), "still JSON"
