"""The plain-Python twins of the C extensions give what the extensions give, on real data and
through the command line; ``FTPREP_PURE_PYTHON`` picks them."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import backends
import needs
import numpy as np
import pytest

from ftprep._accel import extension
from ftprep.dedup.keys import joined_text
from ftprep.dedup.signatures import permutations, shingle_python, sign_python, word_ids_python
from ftprep.load import load_path
from ftprep.tokens.chat import TiktokenChatCounter
from ftprep.validate import prefilter
from ftprep.view import ExampleView

REALDATA = needs.REALDATA
pytestmark = needs.path_mark(REALDATA, "needs ../shared/realdata")


@pytest.fixture(scope="module")
def built() -> None:
    if not backends.C_BUILT:
        needs.missing("the C extensions are not built")


def test_pure_python_variable_picks_the_fallbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    for value in ("1", "yes"):
        monkeypatch.setenv("FTPREP_PURE_PYTHON", value)
        assert extension("dedup._keys") is None
    monkeypatch.setenv("FTPREP_PURE_PYTHON", "0")
    assert extension("dedup._keys") is backends.KEYS
    monkeypatch.delenv("FTPREP_PURE_PYTHON")
    assert extension("dedup._keys") is backends.KEYS
    assert extension("dedup._not_an_extension") is None


def test_fallbacks_equal_the_extensions_on_real_files(built: None) -> None:
    assert backends.KEYS and backends.MINHASH and backends.TRIGGERS
    counter = TiktokenChatCounter()
    a, b = permutations(128, 1)
    compiled = prefilter.Prefilter(backends.every_rule()).triggers
    c_scan = prefilter._compile(compiled)
    python_scan = prefilter.PythonScan(compiled)
    files = sorted(p for p in REALDATA.rglob("*.json*") if p.name != "dataset_info.json")
    assert len(files) >= 10
    examples = 0
    facts_seen = 0
    for path in files:
        for item in itertools.islice(load_path(path), 300):
            if item.example is None:
                continue
            examples += 1
            columns = ExampleView.of(item.example).columns
            for case_sensitive in (False, True):
                assert joined_text(*columns, case_sensitive) == backends.KEYS.joined(
                    *columns, case_sensitive
                )
            for salt in (0, 0xFFFFFFFF):
                assert word_ids_python(columns[2], salt) == backends.MINHASH.word_ids(
                    columns[2], salt
                )
            ids = [counter.encode(text) for text in columns[2]]
            for width in (1, 5):
                assert shingle_python(ids, width) == backends.MINHASH.shingle_hashes(ids, width)
                assert sign_python(ids, width, a, b) == backends.MINHASH.sign(ids, width, a, b)
            entries = ExampleView.of(item.example).entries
            texts = [m.content for _f, _i, m in entries if isinstance(m.content, str)]
            facts = python_scan(texts)
            assert facts == c_scan(texts)
            facts_seen |= facts
    assert examples > 2_000
    # Real data holds neither private keys nor JWTs: each trigger's own substrings, so that
    # no fact is compared vacuously.
    for trigger in compiled:
        texts = [" ".join(trigger.substrings), "+1 555-0100 4242 4242 4242 4242"]
        facts = python_scan(texts)
        assert facts == c_scan(texts)
        facts_seen |= facts
    assert facts_seen == sum(t.bit for t in compiled)


def test_signatures_of_compact_ids_and_arrays(built: None) -> None:
    """The counter's native uint32 bytes and uint32 arrays sign alike in both; other buffers
    are refused by both."""
    assert backends.MINHASH
    a, b = permutations(64, 7)
    ids = np.arange(1000, 1040, dtype=np.uint32)
    parts: list[list[int] | np.ndarray | bytes] = [
        ids[:10].tobytes(),
        ids[10:30],
        [],
        ids[30:].tolist(),
    ]
    assert sign_python(parts, 5, a, b) == backends.MINHASH.sign(parts, 5, a, b)
    for sign in (sign_python, backends.MINHASH.sign):
        with pytest.raises(TypeError):
            sign([ids.astype(np.int64)], 5, a, b)


def _check(path: Path, pure: bool) -> bytes:
    env = {k: v for k, v in os.environ.items() if k != "FTPREP_PURE_PYTHON"}
    if pure:
        env["FTPREP_PURE_PYTHON"] = "1"
    result = subprocess.run(
        [sys.executable, "-m", "ftprep", "check", "--format", "json", "--no-progress", str(path)],
        env=env,
        capture_output=True,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    return result.stdout


def test_the_command_line_finds_the_same_in_pure_python() -> None:
    path = REALDATA / "llamafactory" / "glaive_toolcall_en_demo.json"
    findings = _check(path, pure=False)
    # Exact and near duplicates (keys, signatures) and a rule its triggers let run.
    assert all(f'"{code}"'.encode() in findings for code in ("X001", "X003", "Q001"))
    assert _check(path, pure=True) == findings
