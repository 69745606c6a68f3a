"""Problems the loader and the writers find become findings of their rules as configured:
every severity override works, load rules included, and selection applies."""

from __future__ import annotations

from pathlib import Path

from ftprep.config import Config
from ftprep.validate.check import run_check

CHAT = b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}'


def _blank_line_file(tmp_path: Path) -> Path:
    data = tmp_path / "data.jsonl"
    data.write_bytes(CHAT + b"\n\n" + CHAT.replace(b"hi", b"hey") + b"\n")
    return data


def _codes(path: Path, config: Config) -> list[tuple[str, str, int | None]]:
    return [(f.code, f.severity.value, f.line) for f in run_check([path], config).findings]


def test_a_load_rule_takes_its_configured_severity(tmp_path: Path) -> None:
    data = _blank_line_file(tmp_path)
    assert ("L005", "warning", 2) in _codes(data, Config())
    assert ("L005", "error", 2) in _codes(data, Config(severity={"L005": "error"}))
    assert ("L005", "info", 2) in _codes(data, Config(severity={"blank-line": "info"}))


def test_a_load_rule_can_be_ignored_and_the_record_still_does_not_load(tmp_path: Path) -> None:
    data = _blank_line_file(tmp_path)
    result = run_check([data], Config(ignore=["L005"]))
    assert all(f.code != "L005" for f in result.findings)
    assert result.records == 3 and result.loaded == 2


def test_an_output_rule_takes_its_configured_severity(tmp_path: Path) -> None:
    data = tmp_path / "pairs.jsonl"
    data.write_bytes(
        b'{"prompt": "2+2?", "chosen": "4", "rejected": "5"}\n'
        b'{"prompt": "3+3?", "chosen": "6", "rejected": "7"}\n'
    )
    default = _codes(data, Config(target="mistral"))
    assert {(c, s) for c, s, _ in default if c == "O001"} == {("O001", "error")}
    demoted = _codes(data, Config(target="mistral", severity={"O001": "warning"}))
    assert {(c, s) for c, s, _ in demoted if c == "O001"} == {("O001", "warning")}
