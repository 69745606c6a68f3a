"""Redaction instead of rejection: ``prepare --redact`` keeps a record the privacy rules
report, with typed placeholders in the outputs and the count in the manifest;
``check --fix --unsafe-fixes`` redacts in place, and plain ``--fix`` does not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftprep import cli
from ftprep.api import prepare
from ftprep.config import Config, PrepareConfig

KEY = "sk-proj-Q2x9LmT4vK8pR1sW7yZ3bN6cD0fG5hJaE4uI8oP2qR6tY0wX3zC7vB1nM5kL9jH"
EMAIL = "maria.lopez77@gmail.com"
SECRET = {
    "messages": [
        {"role": "user", "content": f"Mail me at {EMAIL}", "name": "maria"},
        {"role": "assistant", "content": f"Done. Your key {KEY} is set."},
    ]
}
CLEAN = {
    "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello."}]
}


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "data.jsonl"
    path.write_text(json.dumps(SECRET) + "\n" + json.dumps(CLEAN) + "\n", encoding="utf-8")
    return path


def _outputs(out: Path) -> tuple[str, dict[str, object]]:
    written = (out / "train.jsonl").read_text("utf-8") + (out / "holdout.jsonl").read_text("utf-8")
    return written, json.loads((out / "manifest.json").read_text("utf-8"))


def test_prepare_rejects_a_record_with_a_key_by_default(data: Path, tmp_path: Path) -> None:
    result = prepare([data], out_dir=tmp_path / "out", holdout=0.0)
    assert result.counts["rejected"] == 1
    written, manifest = _outputs(tmp_path / "out")
    assert KEY not in written and "redactions" not in manifest


def test_prepare_redact_keeps_the_record_with_placeholders(data: Path, tmp_path: Path) -> None:
    config = Config(prepare=PrepareConfig(redact=True))
    result = prepare([data], out_dir=tmp_path / "out", holdout=0.0, config=config)
    assert result.counts["rejected"] == 0 and result.counts["train"] == 2
    written, manifest = _outputs(tmp_path / "out")
    assert KEY not in written and EMAIL not in written
    assert "Mail me at [EMAIL]" in written and "Your key [OPENAI_KEY] is set." in written
    assert manifest["redactions"] == {"EMAIL": 1, "OPENAI_KEY": 1}


def test_prepare_cli_redact_flag(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert cli.main(["prepare", str(data), "--out", str(out), "--redact", "--holdout", "0"]) in (
        0,
        1,
    )
    written, manifest = _outputs(out)
    assert "[OPENAI_KEY]" in written and manifest["redactions"] == {"EMAIL": 1, "OPENAI_KEY": 1}


def test_check_fix_redacts_in_place_only_when_unsafe_fixes_are_asked_for(data: Path) -> None:
    before = data.read_text("utf-8")
    cli.main(["check", str(data), "--select", "P", "--fix"])
    assert data.read_text("utf-8") == before
    cli.main(["check", str(data), "--select", "P", "--fix", "--unsafe-fixes"])
    lines = data.read_text("utf-8").splitlines()
    assert json.loads(lines[0])["messages"][1]["content"] == "Done. Your key [OPENAI_KEY] is set."
    assert json.loads(lines[0])["messages"][0]["content"] == "Mail me at [EMAIL]"
    assert lines[1] == json.dumps(CLEAN)  # an unreported line keeps its bytes
    assert cli.main(["check", str(data), "--select", "P"]) == 0
