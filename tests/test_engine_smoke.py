"""The engine loads real files and accounts for every record."""

from pathlib import Path

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
