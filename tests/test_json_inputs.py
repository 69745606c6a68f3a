"""JSON datasets among the inputs: folders include ``.json`` files that hold records (arrays of
objects, JSON Lines named ``.json``) and gzip of either; a ``.json`` file that is not a
dataset (a configuration, package.json, LLaMA-Factory's dataset_info.json) is skipped with
one line, not reported as an error."""

from __future__ import annotations

import gzip
import logging
import shutil
from pathlib import Path

import orjson
import pytest

import ftprep
from ftprep.load.paths import expand_paths, not_a_dataset

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
LLAMAFACTORY = REALDATA / "llamafactory"
DRONE = REALDATA / "openai_cookbook" / "drone_training.jsonl"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(LLAMAFACTORY / "alpaca_en_demo.json", data / "alpaca.json")
    shutil.copy(LLAMAFACTORY / "dataset_info.json", data / "dataset_info.json")
    (data / "chat.jsonl.gz").write_bytes(gzip.compress(DRONE.read_bytes(), mtime=0))
    (data / "lines.json").write_bytes(DRONE.read_bytes())  # JSON Lines named .json
    (data / "package.json").write_text('{"name": "demo", "scripts": {"test": "jest"}}')
    (data / "numbers.json").write_text("[1, 2, 3]")
    return data


def test_a_folder_expands_to_its_json_datasets(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="ftprep"):
        found = expand_paths(folder)
    assert [Path(p).name for p in found] == ["alpaca.json", "chat.jsonl.gz", "lines.json"]
    skipped = sorted(r.getMessage().split(":")[0].rsplit("/", 1)[1] for r in caplog.records)
    assert skipped == ["dataset_info.json", "numbers.json", "package.json"]
    assert "dataset registry" in not_a_dataset(str(folder / "dataset_info.json"))  # type: ignore[operator]


def test_checking_the_folder_reports_no_error_for_the_skipped_files(folder: Path) -> None:
    result = ftprep.check(folder)
    assert result.paths == expand_paths(folder)
    assert not any(f.code.startswith("L") for f in result.findings)
    alpaca = len(orjson.loads((LLAMAFACTORY / "alpaca_en_demo.json").read_bytes()))
    assert result.loaded == alpaca + 2 * len(DRONE.read_bytes().splitlines())


def test_a_single_record_json_file_is_a_dataset(tmp_path: Path) -> None:
    one = tmp_path / "one.json"
    one.write_bytes(orjson.dumps(orjson.loads(DRONE.read_bytes().splitlines()[0])))
    assert not_a_dataset(str(one)) is None
