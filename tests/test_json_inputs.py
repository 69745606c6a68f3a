"""JSON datasets among the inputs: folders include ``.json`` files that hold records (arrays of
objects, JSON Lines named ``.json``) and gzip of either; a ``.json`` file that is not a
dataset (a configuration, package.json, LLaMA-Factory's dataset_info.json) is skipped with
one line, not reported as an error."""

from __future__ import annotations

import gzip
import json
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


@pytest.fixture
def one_line(tmp_path: Path) -> Path:
    """300 real Alpaca records of LLaMA-Factory's demo, as a JSON array on one line."""
    records = orjson.loads((LLAMAFACTORY / "alpaca_en_demo.json").read_bytes())[:300]
    path = tmp_path / "one-line.json"
    path.write_bytes(orjson.dumps(records))
    return path


def test_a_one_line_array_gives_each_record_its_column(one_line: Path) -> None:
    data = one_line.read_bytes()
    findings = [f for f in ftprep.check(one_line).findings if f.location.record is not None]
    assert len(findings) > 5
    assert len({f.location.column for f in findings}) == len({f.location.record for f in findings})
    records = orjson.loads(data)
    for finding in findings:
        loc = finding.location
        assert loc.line == 1
        start = loc.column - 1  # type: ignore[operator]
        element = data.decode()[start:]
        assert element.startswith("{")
        first, _end = json.JSONDecoder().raw_decode(element)
        assert first == records[loc.record]  # type: ignore[index]
        for related in finding.related:
            assert related.column is not None


def test_an_indented_array_gives_line_and_column(tmp_path: Path) -> None:
    result = ftprep.check(LLAMAFACTORY / "alpaca_en_demo.json")
    finding = next(f for f in result.findings if f.location.record == 43)
    assert (finding.location.line, finding.location.column) == (217, 3)


def test_every_format_names_the_record(one_line: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ftprep.cli import main

    finding = next(f for f in ftprep.check(one_line).findings if f.code == "Q001")
    loc = finding.location
    main(["check", str(one_line), "--no-progress"])
    text = capsys.readouterr().out
    assert f"{one_line}:1:{loc.column}: Q001 " in text
    assert f"(record {loc.record})" in text
    main(["check", str(one_line), "--no-progress", "--output-format", "github"])
    github = capsys.readouterr().out
    assert f"line=1,col={loc.column},title=Q001::" in github
    assert f"(record {loc.record})" in github
    main(["check", str(one_line), "--no-progress", "--output-format", "sarif"])
    sarif = orjson.loads(capsys.readouterr().out)
    results = sarif["runs"][0]["results"]
    q001 = next(r for r in results if r["ruleId"] == "Q001")
    region = q001["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 1, "startColumn": loc.column}
    assert q001["properties"] == {"record": loc.record}


def test_pointers_name_the_users_own_field(one_line: Path) -> None:
    finding = next(f for f in ftprep.check(one_line).findings if f.code == "Q001")
    loc = finding.location
    assert loc.pointer == "/messages/1/content"
    assert loc.field == f"/{loc.record}/output"
    assert finding.to_dict()["field"] == loc.field
    pairs = [
        {"input": f"Question {i} in full?", "ideal_output": f"Answer {i} in full."}
        for i in range(12)
    ]
    pairs[4]["ideal_output"] = "Yes."
    [short] = [f for f in ftprep.check(pairs).findings if f.code == "C002"]
    assert (short.location.pointer, short.location.field) == (
        "/messages/1/content",
        "/4/ideal_output",
    )


def test_fields_of_a_sharded_file_count_records_of_the_whole_file(tmp_path: Path) -> None:
    """A JSON Lines file over a few megabytes is read in shards: the field's record index is
    the file's, not the shard's."""
    alpaca = orjson.loads((REALDATA / "stanford_alpaca_pr152" / "alpaca_5000.json").read_bytes())
    pairs = [
        {"input": f"{r['instruction']} ({copy})", "ideal_output": r["output"]}
        for copy in range(3)
        for r in alpaca
    ]
    data = tmp_path / "pairs.jsonl"
    data.write_bytes(b"".join(orjson.dumps(p) + b"\n" for p in pairs))
    assert data.stat().st_size > 4 << 20
    shorts = [f for f in ftprep.check(data).findings if f.code == "C002"]
    assert shorts and max(f.location.record for f in shorts) > 10_000  # type: ignore[type-var]
    for finding in shorts:
        assert finding.location.field == f"/{finding.location.record}/ideal_output"
        assert len(pairs[finding.location.record]["ideal_output"].strip()) < 10  # type: ignore[index]
