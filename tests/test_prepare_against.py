"""``prepare --against EVAL``: training records that hold evaluation items are rejected.

Real data: the training set is real instructions (bench/precision/data/rasbt_instruction) as
chat, the evaluation file real GSM8K chat examples (bench/precision/data/foundry_gsm8k_chat).
A few GSM8K questions are pasted inside longer training prompts, as contamination happens.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import orjson
import pytest

import ftprep
from ftprep.cli import main
from ftprep.write import PrepareError

DATA = Path(__file__).resolve().parents[1] / "bench" / "precision" / "data"
INSTRUCTIONS = DATA / "rasbt_instruction" / "instruction-data.json"
GSM8K = DATA / "foundry_gsm8k_chat" / "chat_train.jsonl"
TRAINING = 200
PLANTED = {10: 3, 50: 17, 120: 42}
"""Training record index: the evaluation item (0-based) pasted into its prompt."""


def _lines(records: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(r, option=orjson.OPT_APPEND_NEWLINE) for r in records)


def _evaluation() -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in GSM8K.read_bytes().splitlines()[:60]]


def _training(planted: dict[int, int]) -> list[dict[str, Any]]:
    items = _evaluation()
    records = []
    for i, row in enumerate(orjson.loads(INSTRUCTIONS.read_bytes())[:TRAINING]):
        user = row["instruction"] + (f"\n\n{row['input']}" if row["input"] else "")
        if i in planted:
            question = items[planted[i]]["messages"][1]["content"].removesuffix("\nSolution:")
            user += f"\n\nBefore that, a warm-up problem: {question} Then answer the first task."
        records.append({"messages": [{"role": "user", "content": user}, _answer(row["output"])]})
    return records


def _answer(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def _write(tmp_path: Path, train: list[dict[str, Any]], evaluation: bytes) -> tuple[Path, Path]:
    train_path, eval_path = tmp_path / "train.jsonl", tmp_path / "eval.jsonl"
    train_path.write_bytes(_lines(train))
    eval_path.write_bytes(evaluation)
    return train_path, eval_path


def _rejected(out: Path) -> dict[int, list[dict[str, Any]]]:
    entries = [orjson.loads(line) for line in (out / "rejected.jsonl").read_bytes().splitlines()]
    return {e["source"]["record"]: e["reasons"] for e in entries}


def test_planted_eval_questions_are_rejected_with_their_item(tmp_path: Path) -> None:
    train, evaluation = _write(tmp_path, _training(PLANTED), _lines(_evaluation()))
    result = ftprep.prepare(train, out_dir=tmp_path / "out", against=evaluation, report=False)

    rejected = _rejected(tmp_path / "out")
    assert sorted(rejected) == sorted(PLANTED)
    for record, item in PLANTED.items():
        (why,) = rejected[record]
        assert why["code"] == "X006"
        assert why["data"]["eval_path"] == str(evaluation)
        assert why["data"]["eval_line"] == item + 1
        assert why["data"]["side"] == "prompt"
    assert result.counts == {"input": 200, "train": 177, "holdout": 20, "rejected": 3}
    assert result.manifest["rejected_by"] == {"X006": 3}
    (entry,) = result.manifest["against"]
    assert entry == {
        "path": str(evaluation),
        "sha256": hashlib.sha256(evaluation.read_bytes()).hexdigest(),
        "bytes": evaluation.stat().st_size,
        "records": 60,
        "searched": 200,
        "contaminated": 3,
        "rate": 0.015,
    }
    assert f"against {evaluation}: 3 of 200 training examples (1.50%) hold its items (X006)" in (
        result.summary_lines()
    )
    again = ftprep.prepare(train, out_dir=tmp_path / "again", against=evaluation, report=False)
    assert again.manifest["outputs"] == result.manifest["outputs"]


def test_an_eval_example_copied_into_training_is_rejected_as_a_leak(tmp_path: Path) -> None:
    items = _evaluation()
    records = _training({})
    records.insert(150, items[5])
    train, evaluation = _write(tmp_path, records, _lines(items))
    result = ftprep.prepare(train, out_dir=tmp_path / "out", against=evaluation, report=False)

    rejected = _rejected(tmp_path / "out")
    assert list(rejected) == [150]
    leak = next(r for r in rejected[150] if r["code"] == "X004")
    assert leak["message"].startswith(f"evaluation example {evaluation}:6: exact copy")
    assert leak["related"] == [{"path": str(evaluation), "line": 6, "record": 5}]
    assert {r["code"] for r in rejected[150]} == {"X004", "X006"}
    assert result.counts["train"] + result.counts["holdout"] == 200


def test_a_clean_run_against_an_eval_file_rejects_nothing_more(tmp_path: Path) -> None:
    # The evaluation file has its own problems (a broken line, a duplicate): they are about
    # that file and change nothing in the outputs.
    items = _lines(_evaluation())
    evaluation_bytes = items + b'{"messages": [\n' + items.splitlines(keepends=True)[0]
    train, evaluation = _write(tmp_path, _training({}), evaluation_bytes)
    plain = ftprep.prepare(train, out_dir=tmp_path / "plain", report=False)
    checked = ftprep.prepare(train, out_dir=tmp_path / "checked", against=evaluation, report=False)

    assert any(f.path == str(evaluation) for f in checked.check.findings)
    for name in ("train.jsonl", "holdout.jsonl", "rejected.jsonl"):
        written = (tmp_path / "checked" / name).read_bytes()
        assert written == (tmp_path / "plain" / name).read_bytes()
    assert checked.counts == plain.counts
    assert checked.dataset_findings == plain.dataset_findings
    assert not checked.failed
    assert checked.manifest["against"][0]["contaminated"] == 0
    assert checked.manifest["against"][0]["records"] == 62


def test_cli_against_flag_and_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train, evaluation = _write(tmp_path, _training(PLANTED), _lines(_evaluation()))
    out = tmp_path / "out"
    args = ["prepare", str(train), "--out", str(out), "--against", str(evaluation)]
    assert main(args) == 0
    assert capsys.readouterr().out.splitlines()[:3] == [
        f"200 records: 177 train, 20 holdout, 3 rejected -> {out} (manifest.json)",
        "holdout: 20 examples (10.2%), 20 asked",
        f"against {evaluation}: 3 of 200 training examples (1.50%) hold its items (X006)",
    ]
    manifest = orjson.loads((out / "manifest.json").read_bytes())
    assert [e["path"] for e in manifest["against"]] == [str(evaluation)]


def test_an_eval_file_that_is_also_an_input_is_refused(tmp_path: Path) -> None:
    train, _ = _write(tmp_path, _training({}), b"")
    with pytest.raises(PrepareError, match="both an input and an evaluation file"):
        ftprep.prepare(train, out_dir=tmp_path / "out", against=train)
    assert not (tmp_path / "out" / "manifest.json").exists()
