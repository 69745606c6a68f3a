"""Property tests: whatever bytes or JSON the loader is fed, it never raises, and in JSON
Lines every input line ends up either loaded or reported (blank lines included)."""

from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ftprep.dialects import DIALECTS
from ftprep.load import load_path, load_records

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)
messages = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "role": st.sampled_from(["system", "user", "assistant", "tool", "gpt"]) | scalars,
            "content": scalars,
            "from": scalars,
            "value": scalars,
        },
    ),
    max_size=3,
)
#: Records with the keys of the known shapes, holding plausible or wrong values.
chat_like = st.dictionaries(
    st.sampled_from(
        [
            "messages",
            "instruction",
            "input",
            "output",
            "conversations",
            "contents",
            "text",
            "prompt",
            "completion",
            "chosen",
            "rejected",
            "tools",
            "schemaVersion",
            "preferred_output",
        ]
    ),
    messages | scalars,
    max_size=4,
)
records = st.one_of(json_values, chat_like)


def _lines(data: bytes) -> int:
    """Input lines of a JSON Lines file: a final line without a newline counts too."""
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def _load(data: bytes, name: str) -> tuple[int, int, int]:
    """(items, loaded, items with a fatal finding) for ``data`` written as ``name``."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        items = list(load_path(path, max_line_bytes=1024))
    loaded = sum(item.ok for item in items)
    fatal = sum(1 for item in items if not item.ok and item.problems)
    return len(items), loaded, fatal


@SETTINGS
@given(st.binary(max_size=2048))
def test_random_bytes_as_json_lines(data: bytes) -> None:
    count, loaded, fatal = _load(data, "data.jsonl")
    if data.startswith(b"\x1f\x8b"):
        assert count >= 1
        return
    assert count == loaded + fatal == _lines(data)


@SETTINGS
@given(st.binary(max_size=2048))
def test_random_bytes_gzipped(data: bytes) -> None:
    count, loaded, fatal = _load(gzip.compress(data, mtime=0), "data.jsonl.gz")
    assert count == loaded + fatal == _lines(data)


@SETTINGS
@given(st.lists(records, max_size=8), st.sampled_from([b"\n", b"\r\n"]))
def test_random_json_lines(values: list[Any], newline: bytes) -> None:
    data = b"".join(json.dumps(v).encode() + newline for v in values)
    count, loaded, fatal = _load(data, "data.jsonl")
    assert count == loaded + fatal == len(values)
    assert loaded <= sum(isinstance(v, dict) for v in values)


@SETTINGS
@given(st.lists(records, max_size=8), st.booleans(), st.integers(min_value=0, max_value=400))
def test_random_json_arrays_whole_or_cut(values: list[Any], indent: bool, cut: int) -> None:
    data = json.dumps(values, indent=2 if indent else None).encode()
    count, loaded, fatal = _load(data, "data.json")
    assert count == loaded + fatal
    assert count == len(values)
    truncated = data[: max(1, len(data) - cut)]
    _load(truncated, "data.json")  # never raises


@SETTINGS
@given(st.binary(max_size=1024))
def test_random_bytes_as_a_json_document(data: bytes) -> None:
    count, loaded, fatal = _load(b"[" + data, "data.json")
    assert count == loaded + fatal
    count, loaded, fatal = _load(b"{" + data, "data.json")
    assert count == loaded + fatal


@SETTINGS
@given(st.lists(chat_like, min_size=1, max_size=4))
def test_every_writer_takes_whatever_loaded(values: list[dict[str, Any]]) -> None:
    """Readers keep wrong types for rules; writers must then report, never raise."""
    for item in load_records(values):
        if item.example is None:
            continue
        for cls in DIALECTS:
            written = cls().write(item.example)
            assert written.record is not None or written.problems
