"""The engine loads real files and accounts for every record."""

from pathlib import Path

import pytest

from ftprep.config import Config
from ftprep.validate.engine import run_check

FIXTURES = Path(__file__).parent.parent / "fixtures"


def test_toy_chat_loads_every_record() -> None:
    result = run_check([FIXTURES / "realdata" / "toy_chat_fine_tuning.jsonl"], Config())
    assert result.records == 5
    assert result.loaded == 5
    assert list(result.facts.line) == [1, 2, 3, 4, 5]


def test_gather_stacks_parts_like_concat_and_drops_them() -> None:
    from dataclasses import fields
    from itertools import pairwise

    import numpy as np

    from ftprep.validate.engine import plan_units, record_pass
    from ftprep.validate.facts import FactTable

    config = Config(workers=1)
    path = str(FIXTURES / "drone" / "drone_training.jsonl")
    whole = record_pass(plan_units([path], config), config).facts
    cuts = [0, 1, 40, len(whole)]
    parts = [whole.select(np.arange(a, b)) for a, b in pairwise(cuts)]
    expected = FactTable.concat(parts)
    gathered = FactTable.gather(parts)
    assert parts == []
    for column in fields(FactTable):
        got, want = getattr(gathered, column.name), getattr(expected, column.name)
        assert got.dtype == want.dtype and np.array_equal(got, want), column.name
    assert np.array_equal(gathered.signatures, whole.signatures)
    assert len(FactTable.gather([])) == 0


@pytest.mark.parametrize("name", ["every_bad_input.jsonl", "drone_training.jsonl", "crlf.jsonl"])
def test_shards_give_the_same_lines_and_records_as_one_pass(
    name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Shards number their lines locally; stitched together they match reading the file in
    one go, finding by finding and row by row (blank lines, bad lines, CRLF included)."""
    import numpy as np

    from ftprep.validate import engine

    if name == "crlf.jsonl":
        drone = (FIXTURES / "drone" / "drone_training.jsonl").read_bytes().splitlines()[:40]
        path = tmp_path / name
        path.write_bytes(b"\r\n".join([*drone[:10], b"", *drone[10:], b"{broken"]) + b"\r\n")
    else:
        path = next(FIXTURES.rglob(name))
    config = Config(workers=1)
    whole = run_check([path], config)
    monkeypatch.setattr(engine, "SHARD_BYTES", 300)
    assert len(engine.plan_units([str(path)], config)) >= 3
    sharded = run_check([path], config)

    def where(result: engine.CheckResult) -> list[tuple[object, ...]]:
        return [
            (f.code, f.line, f.location.column, f.location.record, f.message, f.related)
            for f in result.findings
        ]

    assert where(sharded) == where(whole)
    assert np.array_equal(sharded.facts.line, whole.facts.line)
    assert np.array_equal(sharded.facts.record, whole.facts.record)
