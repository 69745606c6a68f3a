"""Every rule's pass/fail cases, as data: ``fixtures/rules/<CODE>.toml``.

A case file holds ``[[fail]]`` and ``[[pass]]`` tables. Each case gives its input as
``record`` (one JSON line), ``records`` (several JSON lines, for dataset rules) or ``text``
(the raw bytes of a file, for load rules), optionally ``against`` (JSON lines of a holdout file),
``config`` (a ``[tool.ftprep]``-style table merged over the file's top-level ``[config]``),
and expectations for fail cases: ``lines`` (the 1-based lines the code fires on, in order),
``message_index``, ``pointer``, ``severity`` and ``contains`` (a substring of the message).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, get_type_hints

import pytest

from ftprep.config import parse_config
from ftprep.findings import Finding
from ftprep.rules.base import RuleOptions
from ftprep.rules.registry import ALL_RULES
from ftprep.validate.check import run_check

CASES_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "rules"


def _load_cases() -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    cases = []
    for path in sorted(CASES_DIR.glob("*.toml")):
        document = tomllib.loads(path.read_text(encoding="utf-8"))
        base = document.get("config", {})
        for kind in ("fail", "pass"):
            for case in document.get(kind, []):
                cases.append((path.stem, kind, base, case))
    return cases


CASES = _load_cases()


def _run(code: str, base: dict[str, Any], case: dict[str, Any], tmp_path: Path) -> list[Finding]:
    if "text" in case:
        content = case["text"].encode("utf-8").decode("unicode_escape").encode("latin-1")
    elif "records" in case:
        content = ("\n".join(case["records"]) + "\n").encode("utf-8")
    else:
        content = (case["record"] + "\n").encode("utf-8")
    data = tmp_path / case.get("filename", "data.jsonl")
    data.write_bytes(content)
    against = []
    if "against" in case:
        holdout = tmp_path / "holdout.jsonl"
        holdout.write_text("\n".join(case["against"]) + "\n", encoding="utf-8")
        against.append(holdout)
    config = parse_config({"extend-select": [code], **base, **case.get("config", {})})
    result = run_check([data], config, against=against)
    return [f for f in result.findings if f.code == code]


@pytest.mark.parametrize(
    ("code", "kind", "base", "case"),
    CASES,
    ids=[f"{c[0]}-{c[1]}-{c[3].get('name', i)}" for i, c in enumerate(CASES)],
)
def test_rule_case(
    code: str, kind: str, base: dict[str, Any], case: dict[str, Any], tmp_path: Path
) -> None:
    found = _run(code, base, case, tmp_path)
    if kind == "pass":
        assert found == [], [f.message for f in found]
        return
    assert found, f"{code} did not fire"
    if "lines" in case:
        assert [line for f in found for line in f.lines] == case["lines"]
    first = found[0]
    if "message_index" in case:
        assert first.location.message == case["message_index"]
    if "pointer" in case:
        assert first.location.pointer == case["pointer"]
    if "severity" in case:
        assert first.severity.value == case["severity"]
    if "contains" in case:
        assert case["contains"] in first.message, first.message


@pytest.mark.parametrize("rule", ALL_RULES, ids=[r.code for r in ALL_RULES])
def test_every_rule_is_documented_and_has_cases(rule: type) -> None:
    assert rule.code[0].isupper() and rule.code[1:].isdigit() and len(rule.code) == 4
    assert rule.name and rule.name == rule.name.lower() and " " not in rule.name
    assert rule.summary and not rule.summary.endswith(".")
    assert rule.__doc__ and len(rule.__doc__.strip()) > 80, "docstring must explain why"
    paragraphs = rule.documentation().split("\n\n")
    assert len(paragraphs) >= 3, "what it finds, why it matters, then how to fix it"
    assert paragraphs[-1].startswith("Fix: "), "the last paragraph says how to fix it"
    if rule.Options is not RuleOptions:
        assert get_type_hints(rule)["options"] is rule.Options, "annotate options: <Options>"
    kinds = {kind for code, kind, _b, _c in CASES if code == rule.code}
    assert kinds == {"fail", "pass"}, f"fixtures/rules/{rule.code}.toml needs pass and fail cases"


def test_codes_and_names_are_unique() -> None:
    codes = [r.code for r in ALL_RULES]
    names = [r.name for r in ALL_RULES]
    assert len(set(codes)) == len(codes)
    assert len(set(names)) == len(names)
