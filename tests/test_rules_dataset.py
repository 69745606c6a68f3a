"""D rules: one finding per condition however large the dataset, deterministic locations,
and the behaviour at the edges (empty input, several files)."""

from __future__ import annotations

import json
from pathlib import Path

from ftprep.config import parse_config
from ftprep.validate.check import run_check

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"


def _record(i: int, system: str | None, user: bool = True) -> str:
    messages = [{"role": "system", "content": system}] if system is not None else []
    if user:
        messages.append({"role": "user", "content": f"Question {i}?"})
    messages.append({"role": "assistant", "content": f"Answer {i}."})
    return json.dumps({"messages": messages})


def _write(path: Path, records: list[str]) -> Path:
    path.write_text("\n".join(records) + "\n", encoding="utf-8")
    return path


def test_one_finding_per_condition_on_a_large_dataset(tmp_path: Path) -> None:
    records = []
    for i in range(2_000):
        system = None if i % 4 == 0 else ("Be brief." if i % 3 else "Be thorough.")
        records.append(_record(i, system, user=i % 10 != 5))
    data = _write(tmp_path / "data.jsonl", records)
    result = run_check([data], parse_config({"select": ["D"]}))
    by_code = {f.code: f for f in result.findings}
    assert sorted(by_code) == ["D003", "D004", "D005"]
    assert len(result.findings) == 3

    missing_system = by_code["D004"]
    assert missing_system.line == 1
    assert [r.line for r in missing_system.related] == [5, 9, 13, 17, 21]
    assert missing_system.data == {"missing": 500, "examples": 2_000}
    assert missing_system.message == "500 of 2,000 examples (25%) have no system message"
    assert missing_system.fingerprint is not None

    missing_user = by_code["D005"]
    assert (missing_user.line, missing_user.data["missing"]) == (6, 200)

    prompts = by_code["D003"]
    assert prompts.data == {"distinct": 2, "examples": 1_500, "most_common": 1_000}
    # The first example off the most common prompt ("Be brief.", first at line 2) is line 4.
    assert prompts.line == 4
    assert "first at data.jsonl:2" in prompts.message


def test_empty_input_is_below_the_minimum(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    result = run_check([empty], parse_config({"select": ["D"]}))
    assert [(f.code, f.path, f.message) for f in result.findings] == [
        ("D001", str(empty), "0 examples loaded; openai requires at least 10")
    ]


def test_examples_of_several_files_count_together(tmp_path: Path) -> None:
    first = _write(tmp_path / "a.jsonl", [_record(i, "Be brief.") for i in range(6)])
    second = _write(tmp_path / "b.jsonl", [_record(i, None) for i in range(6, 12)])
    result = run_check([first, second], parse_config({"select": ["D"]}))
    assert [(f.code, Path(f.path).name, f.line) for f in result.findings] == [
        ("D002", "a.jsonl", None),
        ("D004", "b.jsonl", 1),
    ]


def test_real_function_calling_data_is_consistent() -> None:
    drone = REALDATA / "openai_cookbook" / "drone_training.jsonl"
    result = run_check([drone], parse_config({"select": ["D"]}))
    assert [(f.code, f.message) for f in result.findings] == [
        (
            "D002",
            "103 examples: enough for a format or a tone; a style or a domain usually takes"
            " 500 or more",
        )
    ]


def test_alpaca_without_system_prompts_is_not_reported() -> None:
    alpaca = REALDATA / "stanford_alpaca_pr152" / "alpaca_5000.json"
    result = run_check([alpaca], parse_config({"select": ["D"]}))
    assert result.findings == []
    assert result.loaded == 5_000
