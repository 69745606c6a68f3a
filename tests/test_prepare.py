"""prepare: accounting, rejects, fixes, determinism, stable splits, file splitting, eval file."""

from __future__ import annotations

import base64
import gzip
import json
import os
from collections import Counter
from pathlib import Path

import orjson
import pytest
from roundtrip import canonical

from ftprep.api import prepare
from ftprep.config import Config
from ftprep.load import load_path
from ftprep.targets import TARGETS, get_target
from ftprep.write import OutputError, PrepareError, PrepareResult, verify_output

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures" / "prepare"
REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
DRONE = REALDATA / "openai_cookbook" / "drone_training.jsonl"
TOY = REALDATA / "openai_cookbook" / "toy_chat_fine_tuning.jsonl"
CORRUPT = FIXTURES / "corrupt.jsonl"
TRUNCATED = FIXTURES / "truncated.json"
BOM = b"\xef\xbb\xbf"  # a file's byte order mark is not part of its first record


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines() if path.exists() else []


def records_of(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in lines_of(path)]


def assert_accounted(result: PrepareResult) -> None:
    counts = result.counts
    assert counts["input"] == counts["train"] + counts["holdout"] + counts["rejected"]
    assert counts["input"] == len(result.check.facts)
    for split in ("train", "holdout", "rejected"):
        written = sum(len(lines_of(p)) for p in result.paths(split))
        assert written == counts[split], split
    assert verify_output(result.out_dir) == []


def test_corrupt_input_every_record_accounted_for(tmp_path: Path) -> None:
    result = prepare([CORRUPT, TRUNCATED], out_dir=tmp_path, holdout=0.2)
    assert_accounted(result)
    assert result.counts["input"] == 23
    rejected = records_of(tmp_path / "rejected.jsonl")
    by_line = {(r["source"]["path"], r["source"]["line"]): r for r in rejected}  # type: ignore[index]
    corrupt_lines = CORRUPT.read_bytes().split(b"\n")
    codes = {}
    for (path, line), entry in by_line.items():
        reasons = entry["reasons"]
        assert reasons, entry
        codes[(Path(path).name, line)] = {r.get("code") or r.get("fix") for r in reasons}
        if path == str(CORRUPT):
            original = corrupt_lines[line - 1]
            if entry["raw"] is None:
                assert base64.b64decode(entry["raw_base64"]) == original
            else:
                assert entry["raw"].encode() == original
    assert codes[("corrupt.jsonl", 4)] == {"L005"}
    assert codes[("corrupt.jsonl", 6)] == {"L001"}
    assert codes[("corrupt.jsonl", 8)] == {"L006"}
    assert codes[("corrupt.jsonl", 10)] == {"L002"}
    assert "drop-duplicate" in codes[("corrupt.jsonl", 17)]
    assert "S002" in codes[("corrupt.jsonl", 18)]
    assert "L001" in codes[("truncated.json", 4)]
    bad_utf8 = by_line[(str(CORRUPT), 10)]
    assert bad_utf8["raw"] is None and b"caf\xe9" in base64.b64decode(bad_utf8["raw_base64"])
    dropped = next(r for r in bad_reasons(by_line[(str(CORRUPT), 17)]) if r.get("fix"))
    assert dropped["kept"] == {"path": str(CORRUPT), "line": 1, "record": 0}
    assert result.manifest["fixes"]["drop-duplicate"] == 1
    assert result.manifest["rejected_by"]["L001"] == 2


def bad_reasons(entry: dict[str, object]) -> list[dict[str, object]]:
    reasons = entry["reasons"]
    assert isinstance(reasons, list)
    return reasons


def test_safe_fixes_are_applied_and_counted(tmp_path: Path) -> None:
    result = prepare([CORRUPT], out_dir=tmp_path, holdout=0.0)
    assert result.manifest["fixes"]["whitespace"] == 1
    assert result.manifest["fixes"]["nfc"] == 1
    texts = [m["content"] for r in records_of(tmp_path / "train.jsonl") for m in r["messages"]]  # type: ignore[attr-defined]
    assert "What is the capital of Cuba?" in texts
    assert "The capital of Cuba is Havana." in texts
    assert "Ou se trouve la capitale du B\u00e9nin ?" in texts  # was "e" + U+0301
    assert "\u00c0 Porto-Novo." in texts
    assert not any(t != t.strip() for t in texts)


def test_fixes_can_be_switched_off(tmp_path: Path) -> None:
    config = Config.model_validate({"prepare": {"fixes": []}})
    result = prepare([CORRUPT], out_dir=tmp_path, holdout=0.0, config=config)
    assert result.manifest["fixes"] == {"drop-duplicate": 1}
    texts = [m["content"] for r in records_of(tmp_path / "train.jsonl") for m in r["messages"]]  # type: ignore[attr-defined]
    assert "The capital of Cuba is Havana.\n\n" in texts


def test_real_data_is_accounted_for_and_round_trips(tmp_path: Path) -> None:
    config = Config.model_validate({"prepare": {"fixes": []}})
    result = prepare([DRONE, TOY], out_dir=tmp_path, config=config)
    assert_accounted(result)
    assert result.counts == {"input": 108, "train": 96, "holdout": 12, "rejected": 0}
    originals = {
        orjson.dumps(item.example.model_dump(exclude={"source", "dialect"}))
        for path in (DRONE, TOY)
        for item in load_path(path)
        if item.example is not None
    }
    written = {
        orjson.dumps(item.example.model_dump(exclude={"source", "dialect"}))
        for name in ("train.jsonl", "holdout.jsonl")
        for item in load_path(tmp_path / name)
        if item.example is not None
    }
    assert written == originals
    tokens = result.manifest["tokens"]
    assert tokens["train"]["total"] + tokens["holdout"]["total"] == int(
        result.check.facts.tokens.sum()
    )


def test_same_input_gives_byte_identical_outputs(tmp_path: Path) -> None:
    runs = []
    for name in ("a", "b"):
        prepare([CORRUPT, DRONE], out_dir=tmp_path / name, seed=7, eval_file=True)
        runs.append({p.name: p.read_bytes() for p in sorted((tmp_path / name).iterdir())})
    assert runs[0] == runs[1]
    assert set(runs[0]) == {
        "train.jsonl",
        "holdout.jsonl",
        "holdout.eval.jsonl",
        "rejected.jsonl",
        "report.html",
        "manifest.json",
    }


def test_another_seed_gives_another_split(tmp_path: Path) -> None:
    one = prepare([DRONE], out_dir=tmp_path / "a", seed=1, holdout=0.3)
    two = prepare([DRONE], out_dir=tmp_path / "b", seed=2, holdout=0.3)
    assert lines_of(one.paths("holdout")[0]) != lines_of(two.paths("holdout")[0])


def _written_sets(out: Path) -> tuple[set[bytes], set[bytes]]:
    return set(lines_of(out / "train.jsonl")), set(lines_of(out / "holdout.jsonl"))


def test_adding_records_keeps_existing_assignments(tmp_path: Path) -> None:
    lines = DRONE.read_bytes().splitlines(keepends=True)
    small, grown = tmp_path / "small.jsonl", tmp_path / "grown.jsonl"
    small.write_bytes(b"".join(lines[:60]))
    # New records arrive before, between and after the old ones.
    grown.write_bytes(b"".join(lines[60:80] + lines[:30] + lines[80:] + lines[30:60]))
    prepare([small], out_dir=tmp_path / "v1", holdout=0.3)
    prepare([grown], out_dir=tmp_path / "v2", holdout=0.3)
    train1, hold1 = _written_sets(tmp_path / "v1")
    train2, hold2 = _written_sets(tmp_path / "v2")
    assert hold1 and train1
    assert hold1 <= hold2
    assert train1 <= train2


def test_holdout_count_is_exact_and_never_pulls_training_records_in(tmp_path: Path) -> None:
    lines = DRONE.read_bytes().splitlines(keepends=True)
    small, grown = tmp_path / "small.jsonl", tmp_path / "grown.jsonl"
    small.write_bytes(b"".join(lines[:50]))
    grown.write_bytes(b"".join(lines))
    one = prepare([small], out_dir=tmp_path / "v1", holdout_count=10)
    two = prepare([grown], out_dir=tmp_path / "v2", holdout_count=10)
    assert one.counts["holdout"] == two.counts["holdout"] == 10
    train1, _hold1 = _written_sets(tmp_path / "v1")
    _train2, hold2 = _written_sets(tmp_path / "v2")
    assert not train1 & hold2


def _qa(question: str, answer: str, **extra: object) -> bytes:
    messages = [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
    return orjson.dumps({"messages": messages, **extra}) + b"\n"


def test_duplicates_always_land_on_one_side(tmp_path: Path) -> None:
    data = tmp_path / "dups.jsonl"
    rows = []
    for i in range(60):
        rows.append(_qa(f"Question number {i}?", f"Answer {i}."))
        rows.append(_qa(f"QUESTION number  {i}?", f"answer {i}. "))  # same after normalising
    data.write_bytes(b"".join(rows))
    config = Config.model_validate(
        {"dedup": {"drop": False, "case_sensitive": False}, "prepare": {"fixes": []}}
    )
    for seed in range(3):
        out = tmp_path / f"s{seed}"
        result = prepare([data], out_dir=out, holdout=0.5, seed=seed, config=config)
        assert result.counts["rejected"] == 0
        held = {
            orjson.loads(line)["messages"][1]["content"] for line in lines_of(out / "holdout.jsonl")
        }
        held_ids = {a.strip().lower() for a in held}
        trained = {
            orjson.loads(line)["messages"][1]["content"].strip().lower()
            for line in lines_of(out / "train.jsonl")
        }
        assert held_ids and trained and not held_ids & trained


def test_stratified_split_gives_each_stratum_its_share(tmp_path: Path) -> None:
    data = tmp_path / "strata.jsonl"
    sizes = {"math": 40, "code": 20, "chat": 10}
    rows = [
        _qa(f"{kind} question {i}?", f"{kind} answer {i}.", metadata={"category": kind})
        for kind, n in sizes.items()
        for i in range(n)
    ]
    rows.append(_qa("uncategorised?", "yes."))
    data.write_bytes(b"".join(rows))
    result = prepare([data], out_dir=tmp_path / "out", holdout=0.2, stratify="metadata.category")
    strata = result.manifest["strata"]
    assert strata == {
        "<missing>": {"train": 1, "holdout": 0},
        "chat": {"train": 8, "holdout": 2},
        "code": {"train": 16, "holdout": 4},
        "math": {"train": 32, "holdout": 8},
    }
    counted = prepare(
        [data], out_dir=tmp_path / "count", holdout_count=7, stratify="metadata.category"
    )
    assert counted.counts["holdout"] == 7
    assert {k: v["holdout"] for k, v in counted.manifest["strata"].items()} == {
        "<missing>": 0,
        "chat": 1,
        "code": 2,
        "math": 4,
    }


def test_large_outputs_are_cut_into_parts(tmp_path: Path) -> None:
    whole = prepare([DRONE], out_dir=tmp_path / "whole", holdout=0.0)
    parts = prepare([DRONE], out_dir=tmp_path / "parts", holdout=0.0, max_file_bytes=50_000)
    names = [p.name for p in parts.paths("train")]
    assert len(names) > 2
    assert names[:2] == ["train-00001.jsonl", "train-00002.jsonl"]
    assert all(p.stat().st_size <= 50_000 for p in parts.paths("train"))
    joined = b"".join(p.read_bytes() for p in parts.paths("train"))
    assert joined == whole.paths("train")[0].read_bytes()
    assert verify_output(tmp_path / "parts") == []
    # A later run that needs one file removes the parts it no longer produces.
    prepare([DRONE], out_dir=tmp_path / "parts", holdout=0.0)
    assert not list((tmp_path / "parts").glob("train-*.jsonl"))
    assert verify_output(tmp_path / "parts") == []


def test_eval_file_holds_prompt_and_ideal_answer(tmp_path: Path) -> None:
    result = prepare([TOY, CORRUPT], out_dir=tmp_path, holdout=0.5, eval_file=True)
    holdout = records_of(tmp_path / "holdout.jsonl")
    evals = records_of(tmp_path / "holdout.eval.jsonl")
    assert len(evals) + result.manifest["eval"]["skipped_without_answer"] == len(holdout)
    assert evals
    for record, entry in zip(
        (r for r in holdout if any(m["role"] == "assistant" for m in r["messages"])),  # type: ignore[attr-defined]
        evals,
        strict=True,
    ):
        messages = record["messages"]
        assert isinstance(messages, list)
        assert entry["messages"] == messages[:-1]
        assert entry["ideal"] == messages[-1]["content"]


def test_stdin_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(PrepareError, match="save stdin to a file"):
        prepare(["-"], out_dir=tmp_path)


def test_manifest_lists_inputs_and_outputs_with_checksums(tmp_path: Path) -> None:
    result = prepare([DRONE], out_dir=tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest == result.manifest
    assert manifest["inputs"][0]["records"] == 103
    assert len(manifest["inputs"][0]["sha256"]) == 64
    assert [o["path"] for o in manifest["outputs"]] == [
        "train.jsonl",
        "holdout.jsonl",
        "rejected.jsonl",
        "report.html",
    ]
    report = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<svg" in report and "holdout" in report
    (tmp_path / "train.jsonl").write_bytes(b"edited\n")
    assert verify_output(tmp_path) == ["train.jsonl: sha256 differs from the manifest"]


def test_every_bad_input_kind_is_accounted_for_verbatim(tmp_path: Path) -> None:
    corrupt = ROOT / "fixtures" / "corrupt"
    paths = [corrupt / n for n in ("every_bad_input.jsonl", "every_bad_input.jsonl.gz")]
    paths.append(corrupt / "every_bad_input.json")
    result = prepare(paths, out_dir=tmp_path, config=Config(max_line_bytes=1024))
    assert_accounted(result)
    assert result.counts["input"] == 39
    lines = gzip.decompress(paths[1].read_bytes()).split(b"\n")
    assert lines == paths[0].read_bytes().split(b"\n")
    array = paths[2].read_bytes()
    seen = Counter()
    for entry in records_of(tmp_path / "rejected.jsonl"):
        source = entry["source"]
        assert isinstance(source, dict)
        codes = [r.get("code") or r.get("fix") for r in bad_reasons(entry)]
        seen.update(codes)
        raw = entry["raw"]
        if "L009" in codes:
            assert raw is None  # skipped unread: over max-line-bytes
        elif raw is None:
            raw_bytes = base64.b64decode(str(entry["raw_base64"]))
            assert raw_bytes in array or raw_bytes == lines[source["line"] - 1]
        elif source["path"].endswith(".json"):
            assert raw.encode() in array
        else:
            line = lines[source["line"] - 1].removesuffix(b"\r").removeprefix(BOM)
            assert raw.encode() == line
    assert {"L001", "L002", "L005", "L006", "L007", "L008", "L009"} <= set(seen)


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_every_target_writes_what_it_reads_back(target: str, tmp_path: Path) -> None:
    config = Config.model_validate({"target": target, "prepare": {"fixes": []}})
    result = prepare([DRONE, CORRUPT], out_dir=tmp_path, config=config)
    assert_accounted(result)
    dialect = get_target(target).dialect
    originals = [
        canonical(item.example, frozenset({"outside", "parallel_tool_calls"}))
        for path in (DRONE, CORRUPT)
        for item in load_path(path)
        if item.example is not None
    ]
    written = [
        canonical(item.example, frozenset({"outside", "parallel_tool_calls"}))
        for split in ("train", "holdout")
        for path in result.paths(split)
        for item in load_path(path, dialect=dialect)
    ]
    assert len(written) == result.counts["train"] + result.counts["holdout"] > 0
    assert all(example in originals for example in written)


def test_an_output_folder_that_cannot_be_made_fails_before_any_work(tmp_path: Path) -> None:
    blocker = tmp_path / "out"
    blocker.write_text("a file, not a folder")
    with pytest.raises(OutputError, match="cannot write to"):
        prepare([DRONE], out_dir=blocker)


def test_preference_pairs_are_written_in_the_providers_dpo_format(tmp_path: Path) -> None:
    pairs = REALDATA / "llamafactory" / "dpo_en_demo.json"
    result = prepare([pairs], out_dir=tmp_path / "openai", holdout=0.1)
    assert result.counts["train"] > 250
    for record in records_of(tmp_path / "openai" / "train.jsonl"):
        assert set(record) == {"input", "preferred_output", "non_preferred_output"}
        assert record["preferred_output"][0]["role"] == "assistant"
    trl = prepare([pairs], out_dir=tmp_path / "trl", target="self-hosted")
    first = records_of(tmp_path / "trl" / "train.jsonl")[0]
    assert {"prompt", "chosen", "rejected"} <= set(first)
    assert trl.counts == result.counts


def test_file_names_that_are_not_utf8_are_shown_escaped(tmp_path: Path) -> None:
    name = os.fsdecode(b"bad\xffname.jsonl")
    data = tmp_path / name
    data.write_bytes(DRONE.read_bytes() + b"{broken\n")
    result = prepare([data], out_dir=tmp_path / "out")
    assert result.counts["rejected"] == 1
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["inputs"][0]["path"].endswith("bad\\xffname.jsonl")
    (rejected,) = records_of(tmp_path / "out" / "rejected.jsonl")
    assert rejected["source"]["path"].endswith("bad\\xffname.jsonl")
    assert "bad\\xffname.jsonl" in (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
