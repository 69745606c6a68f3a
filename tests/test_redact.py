"""Redaction instead of rejection: ``prepare --redact`` keeps a record the privacy rules
report, with typed placeholders in the outputs and the count in the manifest;
``check --fix --unsafe-fixes`` redacts in place, and plain ``--fix`` does not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ftprep import cli
from ftprep.api import prepare
from ftprep.config import Config, ConfigError, PrepareConfig

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


EMAIL_ONLY = {
    "messages": [
        {"role": "user", "content": f"Write to {EMAIL} about the invoice."},
        {"role": "assistant", "content": "I will write to her today."},
    ]
}


def _prepare_with(tmp_path: Path, toml: str) -> tuple[int, str, str, dict[str, Any]]:
    """Run ``ftprep prepare`` on SECRET, EMAIL_ONLY and CLEAN with ``toml`` as ftprep.toml:
    the exit status, train+holdout, rejected.jsonl and the manifest."""
    data = tmp_path / "data.jsonl"
    rows = (SECRET, EMAIL_ONLY, CLEAN)
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    config = tmp_path / "ftprep.toml"
    config.write_text(toml, encoding="utf-8")
    out = tmp_path / "out"
    status = cli.main(
        ["prepare", str(data), "--out", str(out), "--holdout", "0", "--config", str(config)]
    )
    written, manifest = _outputs(out)
    return status, written, (out / "rejected.jsonl").read_text("utf-8"), manifest


def test_per_code_redaction_redacts_those_codes_and_rejects_on_the_others(tmp_path: Path) -> None:
    _status, written, rejected, manifest = _prepare_with(tmp_path, '[prepare]\nredact = ["P004"]\n')
    # The key (P001, an error) still rejects its record; the e-mail alone is redacted.
    assert manifest["counts"]["rejected"] == 1 and '"P001"' in rejected
    assert "Write to [EMAIL] about the invoice." in written
    assert EMAIL not in written and KEY not in written
    assert manifest["redactions"] == {"EMAIL": 1}
    assert manifest["redactions_by_code"] == {"P004": 1}


def test_per_code_redaction_leaves_codes_the_reject_policy_only_warns_on(tmp_path: Path) -> None:
    toml = '[prepare]\nredact = ["p001"]\n[prepare.reject]\nignore = ["P004"]\n'
    _status, written, rejected, manifest = _prepare_with(tmp_path, toml)
    assert manifest["counts"]["rejected"] == 0 and rejected == ""
    assert "Done. Your key [OPENAI_KEY] is set." in written
    # P004 only warns: the addresses stay, and the records carrying them are counted.
    assert written.count(EMAIL) == 2
    assert manifest["redactions_by_code"] == {"P001": 1}
    assert manifest["kept_with_findings"]["by_code"]["P004"] == 2


def test_redact_names_only_privacy_rules(tmp_path: Path) -> None:
    data = tmp_path / "data.jsonl"
    data.write_text(json.dumps(CLEAN) + "\n", encoding="utf-8")
    config = Config(prepare=PrepareConfig(redact=["Q001"]))
    with pytest.raises(ConfigError, match="selects no privacy rule"):
        prepare([data], out_dir=tmp_path / "out", config=config)
