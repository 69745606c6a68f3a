"""Reading data as the trainer is configured to read it (``trainer-config``): LLaMA-Factory's
own dataset_info.json entries give the examples shape detection gives, and a mapping that
does not fit the rows gives one L011 finding per row, with the reason."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import needs
import pytest

from ftprep.config import Config
from ftprep.load import DialectDetector, load_path, load_raw
from ftprep.load.containers import read_records
from ftprep.load.trainer_config import read_trainer_config, remapped
from ftprep.validate.check import run_check

REPO = Path(__file__).resolve().parent.parent
LLAMAFACTORY = REPO.parent / "shared" / "realdata" / "llamafactory"
FILES = [
    "identity.json",
    "alpaca_en_demo.json",
    "glaive_toolcall_en_demo.json",
    "dpo_en_demo.json",
    "kto_en_demo.json",
]


def _examples(items: Any) -> list[Any]:
    return [
        (i.raw.line, i.example.model_dump() if i.example else None, [p.message for p in i.problems])
        for i in items
    ]


@needs.path_mark(LLAMAFACTORY, "needs ../shared/realdata")
@pytest.mark.parametrize("name", FILES)
def test_dataset_info_entries_read_as_shape_detection_does(name: str) -> None:
    path = str(LLAMAFACTORY / name)
    mapping = read_trainer_config(str(LLAMAFACTORY / "dataset_info.json")).for_path(path)
    assert mapping is not None and mapping.trainer == "llamafactory"
    detected = _examples(load_path(path))
    mapped = _examples(
        load_raw(remapped(read_records(path), mapping), DialectDetector(mapping.dialect))
    )
    assert len(detected) > 50
    assert mapped == detected


@needs.path_mark(LLAMAFACTORY, "needs ../shared/realdata")
def test_a_check_through_dataset_info_finds_what_detection_finds() -> None:
    paths = [str(LLAMAFACTORY / name) for name in FILES]
    info = str(LLAMAFACTORY / "dataset_info.json")
    plain = run_check(paths, Config()).findings
    mapped = run_check(paths, Config(trainer_config=info)).findings
    assert [f.to_dict() for f in mapped] == [f.to_dict() for f in plain]


def _write(tmp_path: Path, name: str, rows: list[Any]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return path


def _row_lines(path: Path) -> list[int]:
    """The line each row of a JSON array starts at (as the loader numbers records)."""
    return [item.raw.line for item in load_path(str(path))]


def _mapping_findings(tmp_path: Path, data: Path, info: dict[str, Any]) -> list[tuple[int, str]]:
    config_path = tmp_path / "dataset_info.json"
    config_path.write_text(json.dumps(info), encoding="utf-8")
    result = run_check([str(data)], Config(trainer_config=str(config_path)))
    return [(f.line or 0, f.message) for f in result.findings if f.code == "L011"]


def _turns(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"from": role, "value": text} for role, text in pairs]


GOOD = {"conversations": _turns(("human", "Hi"), ("gpt", "Hello! How can I help?"))}


def test_a_broken_sharegpt_mapping_is_reported_per_row(tmp_path: Path) -> None:
    rows = [
        GOOD,
        {"conversations": _turns(("user", "Hi"), ("gpt", "Hello!"))},
        {"conversations": _turns(("human", "Hi"), ("gpt", "Hello!"), ("human", "Bye"))},
        {"conversations": [{"role": "human", "value": "Hi"}, {"from": "gpt", "value": "Hey"}]},
        {"dialog": _turns(("human", "Hi"), ("gpt", "Hello!"))},
        GOOD,
    ]
    data = _write(tmp_path, "chat.json", rows)
    lines = _row_lines(data)
    entry = {"chat": {"file_name": "chat.json", "formatting": "sharegpt"}}
    found = _mapping_findings(tmp_path, data, entry)
    entry_name = "(llamafactory entry 'chat')"
    assert found == [
        (
            lines[1],
            "turn 1 has the role 'user' where LLaMA-Factory expects 'human' or 'observation' "
            f"(the dataset's tags): it skips the row (Invalid role tag) {entry_name}",
        ),
        (
            lines[2],
            "3 turns after the system turn, not an even (user and assistant pairs) number: "
            f"LLaMA-Factory skips the row (Invalid message count) {entry_name}",
        ),
        (
            lines[3],
            "turn 1 has no 'from' key (the dataset's role_tag): LLaMA-Factory stops with a "
            f"KeyError {entry_name}",
        ),
        (
            lines[4],
            f"the row has no column 'conversations' (the messages column) {entry_name}",
        ),
    ]


def test_wrong_tags_in_the_entry_fail_every_row(tmp_path: Path) -> None:
    """The classic mistake: OpenAI-style tags for ShareGPT data."""
    data = _write(tmp_path, "chat.json", [GOOD, GOOD])
    entry = {
        "chat": {
            "file_name": "chat.json",
            "formatting": "sharegpt",
            "columns": {"messages": "conversations"},
            "tags": {"role_tag": "role", "content_tag": "content"},
        }
    }
    found = _mapping_findings(tmp_path, data, entry)
    assert [line for line, _ in found] == _row_lines(data)
    assert all("turn 1 has no 'role' key (the dataset's role_tag)" in m for _, m in found)


def test_an_alpaca_row_without_a_response(tmp_path: Path) -> None:
    rows = [
        {"instruction": "Say hi", "input": "", "output": "Hi"},
        {"instruction": "Say hi", "input": "", "answer": "Hi"},
        {"instruction": "Say hi", "input": "", "output": ["Hi"]},
    ]
    data = _write(tmp_path, "alpaca.json", rows)
    lines = _row_lines(data)
    found = _mapping_findings(tmp_path, data, {"a": {"file_name": "alpaca.json"}})
    assert found == [
        (lines[1], "the row has no column 'output' (the response column) (llamafactory entry 'a')"),
        (
            lines[2],
            "the response column 'output' is not a string: LLaMA-Factory finds no answer and "
            "drops the row (llamafactory entry 'a')",
        ),
    ]
    renamed = {"a": {"file_name": "alpaca.json", "columns": {"response": "answer"}}}
    assert [line for line, _ in _mapping_findings(tmp_path, data, renamed)] == [lines[0], lines[2]]


def test_an_axolotl_chat_template_dataset(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    rows = [GOOD, {"conversations": _turns(("human", "Hi"), ("bot", "Hello!"))}]
    data = tmp_path / "chat.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    config = tmp_path / "axolotl.yml"
    config.write_text(
        "sequence_len: 2048\n"
        "datasets:\n"
        "  - path: chat.jsonl\n"
        "    type: chat_template\n"
        "    field_messages: conversations\n"
        "    message_property_mappings:\n"
        "      role: from\n"
        "      content: value\n"
        "    roles:\n"
        "      user: [human]\n"
        "      assistant: [gpt]\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "ftprep", "check", str(data), "--trainer-config", str(config),
         "--select", "L011,S,R"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert f"{data}:2:1: L011 message 2 has the role 'bot', which the roles mapping does not " \
        "name (axolotl entry 'chat.jsonl')" in done.stdout, done.stdout  # fmt: skip
    assert f"{data}:1:" not in done.stdout


def _prepared(out: Path) -> dict[str, list[Any]]:
    return {
        name: [json.loads(line) for line in (out / f"{name}.jsonl").read_text().splitlines()]
        for name in ("train", "holdout", "rejected")
    }


@needs.path_mark(LLAMAFACTORY, "needs ../shared/realdata")
def test_prepare_through_dataset_info_writes_what_detection_writes(tmp_path: Path) -> None:
    from ftprep.api import prepare

    paths = [str(LLAMAFACTORY / name) for name in FILES]
    info = str(LLAMAFACTORY / "dataset_info.json")
    prepare(paths, out_dir=tmp_path / "plain", report=False)
    prepare(paths, out_dir=tmp_path / "mapped", config=Config(trainer_config=info), report=False)
    plain, mapped = _prepared(tmp_path / "plain"), _prepared(tmp_path / "mapped")
    assert len(plain["train"]) > 200
    assert mapped == plain


@needs.path_mark(LLAMAFACTORY, "needs ../shared/realdata")
def test_prepare_reads_renamed_columns_through_the_entry(tmp_path: Path) -> None:
    """LLaMA-Factory's Alpaca demo with its columns renamed, as a user's own data often
    is: only the dataset_info.json entry says which column is which. prepare writes what it
    writes for the original file, rows the entry does not fit are rejected with L011 and
    their reason, and without the entry nothing is trained on."""
    from ftprep.api import prepare

    rows = json.loads((LLAMAFACTORY / "alpaca_en_demo.json").read_text(encoding="utf-8"))[:60]
    original = _write(tmp_path, "original.json", rows)
    renamed = [
        {"question": r["instruction"], "context": r["input"], "answer": r["output"]} for r in rows
    ]
    renamed[7] = {"question": rows[7]["instruction"], "reply": rows[7]["output"]}
    data = _write(tmp_path, "qa.json", renamed)
    entry = {"columns": {"prompt": "question", "query": "context", "response": "answer"}}
    info = tmp_path / "dataset_info.json"
    info.write_text(json.dumps({"qa": {"file_name": "qa.json", **entry}}), encoding="utf-8")

    prepare([str(original)], out_dir=tmp_path / "original", report=False)
    config = Config(trainer_config=str(info))
    prepare([str(data)], out_dir=tmp_path / "mapped", config=config, report=False)
    prepare([str(data)], out_dir=tmp_path / "detected", report=False)
    expected, mapped = _prepared(tmp_path / "original"), _prepared(tmp_path / "mapped")
    assert expected["rejected"] == []

    def kept(prepared: dict[str, list[Any]]) -> list[str]:
        return sorted(json.dumps(e) for e in prepared["train"] + prepared["holdout"])

    left_out = [
        e for e in expected["train"] + expected["holdout"]
        if e["messages"][-1]["content"] == rows[7]["output"]
    ]  # fmt: skip
    assert len(left_out) == 1
    assert kept(mapped) == sorted(set(kept(expected)) - {json.dumps(left_out[0])})
    (rejected,) = mapped["rejected"]
    assert rejected["source"]["line"] == _row_lines(data)[7]
    assert [(r["code"], r["message"]) for r in rejected["reasons"]] == [
        ("L011", "the row has no column 'answer' (the response column) (llamafactory entry 'qa')")
    ]
    assert _prepared(tmp_path / "detected")["train"] == []


@needs.path_mark(LLAMAFACTORY, "needs ../shared/realdata")
def test_a_dataset_info_configuration_means_llamafactory_unless_told_otherwise() -> None:
    from ftprep.api import resolve_config

    info = str(LLAMAFACTORY / "dataset_info.json")
    paths = [str(LLAMAFACTORY / FILES[0])]
    assert resolve_config(paths, Config(), trainer_config=info).trainer == "llamafactory"
    assert resolve_config(paths, Config(trainer="trl"), trainer_config=info).trainer == "trl"
    assert resolve_config(paths, Config()).trainer is None
