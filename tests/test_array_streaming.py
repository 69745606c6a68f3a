"""JSON array files are read a chunk at a time: the records and findings are those of reading
the whole file at once, whatever the chunk size (strings, escapes and elements cut at every
possible place), memory holds one element at most (an element over ``max-line-bytes`` is
skipped unread, as an over-long line is), and whitespace between elements is never kept (a
.json.gz of gigabytes of spaces used to be read whole into memory)."""

from __future__ import annotations

import gzip
import io
import json
import resource
import sys
from pathlib import Path
from typing import Any

import pytest
from peak_memory import peak_mb

from ftprep.load import containers
from ftprep.load.containers import RawRecord, read_records

ROOT = Path(__file__).resolve().parents[1]
REALDATA = ROOT.parent / "shared" / "realdata"
ARRAYS = [
    ROOT / "fixtures" / "corrupt" / "every_bad_input.json",
    ROOT / "fixtures" / "cli" / "truncated_array.json",
    ROOT / "fixtures" / "prepare" / "truncated.json",
    REALDATA / "llamafactory" / "glaive_toolcall_en_demo.json",
    REALDATA / "fastchat" / "dummy_conversation.json",
]


def _summary(records: list[RawRecord]) -> list[tuple[object, ...]]:
    return [
        (
            r.line,
            r.index,
            r.raw,
            r.value,
            r.unread,
            None if r.error is None else (r.error.kind, r.error.message, r.error.location),
            [(n.kind, n.location) for n in r.notes],
        )
        for r in records
    ]


def _read(path: Path, data: bytes, chunk: int, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    monkeypatch.setattr(containers, "_READ_CHUNK", chunk)
    stream = io.BytesIO(data)
    return _summary(list(containers._read_json_array(str(path), stream, max_line_bytes=1 << 30)))


@pytest.mark.parametrize("path", ARRAYS, ids=lambda p: p.name)
def test_any_chunk_size_reads_the_same_records(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not path.exists():
        pytest.skip(f"{path} is not here")
    data = path.read_bytes()[:200_000]
    whole = _read(path, data, 1 << 30, monkeypatch)
    head = _read(path, data[:20_000], 1 << 30, monkeypatch)
    assert whole and head
    for chunk in (1, 2, 3, 7):
        assert _read(path, data[:20_000], chunk, monkeypatch) == head, chunk
    for chunk in (64, 4096):
        assert _read(path, data, chunk, monkeypatch) == whole, chunk


def test_an_element_over_the_limit_is_skipped_unread(monkeypatch: pytest.MonkeyPatch) -> None:
    small = {"messages": [{"role": "user", "content": 'a "quoted" \\ word'}]}
    big = {"messages": [{"role": "user", "content": 'x\\"y' * 1000}], "n": [1, 2, {"a": "["}]}
    data = ("[\n" + ",\n".join(json.dumps(r) for r in (small, big, small, big)) + "\n]\n").encode()
    for chunk in (5, 1000, 1 << 20):
        monkeypatch.setattr(containers, "_READ_CHUNK", chunk)
        records = list(containers._read_json_array("a.json", io.BytesIO(data), max_line_bytes=2000))
        assert [r.line for r in records] == [2, 3, 4, 5]
        assert [r.value for r in records[::2]] == [small, small]
        assert all(r.unread and r.error and r.error.kind == "line-too-long" for r in records[1::2])


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in KB on Linux")
def test_a_gzip_array_of_spaces_is_not_read_whole(tmp_path: Path) -> None:
    assert resource.RUSAGE_CHILDREN is not None
    record = (
        b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}'
    )
    small = tmp_path / "small.json.gz"
    small.write_bytes(gzip.compress(b"[" + record + b"]"))
    spaces = tmp_path / "spaces.json.gz"
    with gzip.open(spaces, "wb", compresslevel=1) as handle:
        handle.write(b"[" + record + b",")
        block = b" " * (1 << 20)
        for _ in range(128):
            handle.write(block)
        handle.write(record + b"]")
    baseline = peak_mb("check", small, cwd=ROOT)
    peak = peak_mb("check", spaces, cwd=ROOT)
    assert peak < baseline + 64, (peak, baseline)
    assert len(list(read_records(spaces))) == 2


def _records(path: Path, limit: int) -> list[RawRecord]:
    return list(read_records(path, max_line_bytes=limit))


def test_a_json_document_is_read_up_to_the_limit_only(tmp_path: Path) -> None:
    """A ``.json`` file starting with ``{`` longer than the limit is JSON Lines misnamed (read
    as a stream) or one record over the limit (skipped unread), never read whole."""
    record = {
        "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]
    }
    lines = tmp_path / "lines.json"
    lines.write_text("".join(json.dumps(record) + "\n" for _ in range(100)))
    read = _records(lines, 1024)
    assert len(read) == 100 and all(r.value == record for r in read)
    assert [r.line for r in read] == list(range(1, 101))
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps({**record, "pad": ["x" * 100] * 50}, indent=2))
    (one,) = _records(pretty, 1024)
    assert one.unread and one.error is not None and one.error.kind == "line-too-long"
    (whole,) = _records(pretty, 1 << 20)
    assert whole.value is not None and whole.value["messages"] == record["messages"]
