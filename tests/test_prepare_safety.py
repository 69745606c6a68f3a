"""prepare never damages a complete output, never reads its own outputs back, and says so
when the data it wrote is not what was asked for."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

import ftprep
from ftprep.api import prepare
from ftprep.cli import main
from ftprep.config import Config
from ftprep.findings import Severity
from ftprep.split import SplitSpec, split_warnings
from ftprep.validate.check import CheckResult
from ftprep.write import (
    MANIFEST,
    ConvertResult,
    PrepareError,
    PrepareResult,
    verify_output,
)
from ftprep.write.files import Staging
from ftprep.write.manifest import commit_with_manifest

DRONE = (
    Path(__file__).resolve().parents[2] / "shared" / "realdata" / "openai_cookbook"
    / "drone_training.jsonl"
)  # fmt: skip


CORRUPT = Path(__file__).resolve().parents[1] / "fixtures" / "prepare" / "corrupt.jsonl"


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_manifest_that_cannot_be_written_keeps_the_previous_output(tmp_path: Path) -> None:
    out = tmp_path / "out"
    prepare([DRONE], out_dir=out, holdout=0.5)
    before = _snapshot(out)
    staging = Staging(out)
    part = staging.open("train.jsonl")
    outputs = [staging.close(part, "train")]
    with pytest.raises(TypeError):
        commit_with_manifest(staging, {"seed": 2**70}, outputs)
    staging.discard()
    assert _snapshot(out) == before
    assert verify_output(out) == []


def test_a_seed_beyond_64_bits_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    out = tmp_path / "out"
    prepare([DRONE], out_dir=out)
    before = _snapshot(out)
    with pytest.raises(PrepareError, match="64-bit"):
        prepare([DRONE], out_dir=out, seed=99999999999999999999999)
    assert _snapshot(out) == before
    assert (out / MANIFEST).exists()


def test_manifests_do_not_depend_on_where_the_work_ran(tmp_path: Path) -> None:
    runs = []
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        config = Config(workers=workers)
        result = prepare([DRONE, CORRUPT], out_dir=out, config=config, seed=3)
        runs.append((_snapshot(out), result.manifest))
    (files1, manifest1), (files2, manifest2) = runs
    assert files1.keys() == files2.keys()
    assert {k: v for k, v in files1.items() if k != MANIFEST} == {
        k: v for k, v in files2.items() if k != MANIFEST
    }
    assert "workers" not in manifest1["config"]
    assert (manifest1["run"]["workers"], manifest2["run"]["workers"]) == (1, 2)
    assert {k: v for k, v in manifest1.items() if k != "run"} == {
        k: v for k, v in manifest2.items() if k != "run"
    }


def test_a_redis_password_stays_out_of_the_manifest(tmp_path: Path) -> None:
    config = Config.model_validate({"dedup": {"redis_url": "redis://app:s3cret@cache:6379/0"}})
    prepare([DRONE], out_dir=tmp_path, config=config)
    text = (tmp_path / MANIFEST).read_text()
    assert "s3cret" not in text
    assert orjson.loads(text)["run"]["dedup"]["redis_url"] == "redis://app:***@cache:6379/0"


def test_result_and_error_types_are_public() -> None:
    results = (ftprep.CheckResult, ftprep.PrepareResult, ftprep.ConvertResult)
    assert results == (CheckResult, PrepareResult, ConvertResult)
    assert issubclass(ftprep.AccountingError, ftprep.PrepareError)
    assert {
        "AccountingError",
        "CheckResult",
        "ConvertResult",
        "PrepareError",
        "PrepareResult",
    } <= set(ftprep.__all__)


def _arithmetic(path: Path, records: int, *, unprompted_every: int = 0) -> Path:
    """``records`` distinct question-answer examples; every ``unprompted_every``-th lacks
    its user message."""
    lines = []
    for i in range(records):
        messages = [{"role": "system", "content": "You answer arithmetic questions."}]
        if not unprompted_every or i % unprompted_every:
            messages.append({"role": "user", "content": f"What is {i} plus {i}?"})
        messages.append({"role": "assistant", "content": f"{i} plus {i} is {2 * i}."})
        lines.append(orjson.dumps({"messages": messages}) + b"\n")
    path.write_bytes(b"".join(lines))
    return path


def test_dataset_findings_reject_no_record_even_as_errors(tmp_path: Path) -> None:
    data = _arithmetic(tmp_path / "data.jsonl", 12, unprompted_every=4)
    config = Config.model_validate({"severity": {"D005": "error"}})
    result = prepare([data], out_dir=tmp_path / "out", config=config, holdout=0.0)
    assert result.counts == {"input": 12, "train": 12, "holdout": 0, "rejected": 0}
    d005 = [f for f in result.manifest["dataset_findings"] if f["code"] == "D005"]
    assert [(f["severity"], f["line"]) for f in d005] == [("error", 1)]


def test_a_train_split_below_the_minimum_fails_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 12 examples load (OpenAI's minimum is 10), but 5 held out leave 7 to train on.
    data = _arithmetic(tmp_path / "data.jsonl", 12)
    out = tmp_path / "out"
    assert main(["prepare", str(data), "--out", str(out), "--holdout-count", "5"]) == 1
    captured = capsys.readouterr()
    assert "7 train, 5 holdout" in captured.out
    assert captured.err == "D001 the train split has 7 examples; openai requires at least 10\n"
    manifest = orjson.loads((out / MANIFEST).read_bytes())
    d001 = [f for f in manifest["dataset_findings"] if f["code"] == "D001"]
    assert [(f["message"], f["data"]) for f in d001] == [
        (
            "the train split has 7 examples; openai requires at least 10",
            {"examples": 7, "minimum": 10, "split": "train"},
        )
    ]
    result = prepare([data], out_dir=out, holdout_count=5)
    assert result.failed
    assert [f.code for f in result.dataset_findings if f.severity is Severity.ERROR] == ["D001"]
    # Switched off, D001 fails nothing; the split is still written.
    quiet = prepare([data], out_dir=out, holdout_count=5, config=Config(ignore=["D001"]))
    assert not quiet.failed and quiet.counts["train"] == 7


def test_an_empty_holdout_is_warned_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _arithmetic(tmp_path / "data.jsonl", 19)
    out = tmp_path / "out"
    args = ["prepare", str(data), "--out", str(out), "--holdout", "0.1", "--seed", "12"]
    assert main([*args, "--stable-split"]) == 0
    captured = capsys.readouterr()
    assert "19 train, 0 holdout" in captured.out
    warning = (
        "0 of 19 examples held out where the fraction 0.1 asks for about 1.9: each example's "
        "side comes from a hash of its content (a stable split), so the fraction is "
        "approximate; without --stable-split it is met within one example"
    )
    assert captured.err == f"ftprep: warning: {warning}\n"
    assert orjson.loads((out / MANIFEST).read_bytes())["warnings"] == [warning]


def test_an_empty_train_split_is_explained(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _arithmetic(tmp_path / "data.jsonl", 12)
    args = ["prepare", str(data), "--out", str(tmp_path / "out"), "--holdout", "1"]
    assert main([*args, "--ignore", "D001"]) == 1
    assert capsys.readouterr().err == (
        "ftprep: warning: no example is left for training (12 held out)\n"
    )


def test_split_warnings_name_what_differs_from_the_request() -> None:
    assert split_warnings(SplitSpec(0.1), 90, 10) == []
    assert split_warnings(SplitSpec(0.1), 94, 6) == []  # 4 off: within half of 10
    assert split_warnings(SplitSpec(0.1), 97, 3)  # 7 off
    assert split_warnings(SplitSpec(0.1), 1000, 0)  # empty
    assert split_warnings(SplitSpec(0.1), 960, 40)  # 60 off: beyond half of 100
    assert split_warnings(SplitSpec(0.0), 100, 0) == []
    assert split_warnings(SplitSpec(None, 10), 5, 10) == []
    assert split_warnings(SplitSpec(None, 10), 0, 4) == [
        "no example is left for training (4 held out)",
        "4 examples held out where 10 were asked for (4 examples written in all)",
    ]


def test_help_says_which_fraction_is_approximate(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["prepare", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "fraction held out, met within one example" in help_text
    assert "as the data grows, but the fraction held out is approximate" in help_text


def test_a_second_run_into_an_output_folder_inside_the_inputs_reads_no_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "drone.jsonl").write_bytes(DRONE.read_bytes())
    out = data / "out"
    args = ["prepare", str(data), "--out", str(out)]
    assert main(args) == 0
    first = _snapshot(out)
    capsys.readouterr()
    # Refused (the folder expansion found the outputs), or run on the original input alone.
    if main(args) == 2:
        assert f"is inside the output folder {out}" in capsys.readouterr().err
        assert _snapshot(out) == first
    else:
        assert orjson.loads((out / MANIFEST).read_bytes())["counts"]["input"] == 103


def test_an_input_inside_the_output_folder_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    prepare([DRONE], out_dir=out)
    first = _snapshot(out)
    with pytest.raises(PrepareError, match="is inside the output folder"):
        prepare([DRONE, out / "holdout.jsonl"], out_dir=out)
    (out / MANIFEST).unlink()  # even a folder whose run did not finish
    with pytest.raises(PrepareError, match="is inside the output folder"):
        prepare([out / "train.jsonl"], out_dir=out)
    assert _snapshot(out) == {k: v for k, v in first.items() if k != MANIFEST}


def test_outputs_of_an_earlier_run_are_not_read_as_inputs(tmp_path: Path) -> None:
    earlier = tmp_path / "v1"
    prepare([DRONE], out_dir=earlier)
    with pytest.raises(PrepareError, match="the output folder of an earlier prepare run"):
        prepare([DRONE, earlier / "rejected.jsonl"], out_dir=tmp_path / "v2")
    assert not (tmp_path / "v2").exists()
