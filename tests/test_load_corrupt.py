"""Every kind of bad input, in one file per container: the loader reports each with its code,
1-based line, column (where one applies) and message, and goes on to the next record.

The fixtures are described line by line in ``fixtures/README.md``.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from problems import as_findings

from ftprep.load import load_path
from ftprep.load.containers import read_records

CORRUPT = Path(__file__).resolve().parent.parent / "fixtures" / "corrupt"

Row = tuple[str, int | None, int | None, str]

JSONL_EXPECTED: list[Row] = [
    ("L003", 1, None, "file starts with a UTF-8 byte order mark; stripped"),
    ("L004", 2, None, "file uses CRLF line endings (accepted)"),
    ("L005", 3, None, "blank line"),
    ("L005", 4, None, "blank line"),
    ("L001", 5, 17, "invalid JSON: expecting property name enclosed in double quotes"),
    ("L002", 6, 47, "invalid UTF-8 byte 0xe9 at byte offset 46 of the line"),
    ("L006", 7, 1, "record is a JSON array, not an object"),
    ("L006", 8, 1, "record is a JSON string, not an object"),
    ("L006", 9, 1, "record is a JSON null, not an object"),
    ("L007", 10, None, "record matches no known data shape (expected openai); keys: message"),
    ("L008", 11, None, "record has the alpaca shape but the file is openai"),
    ("L009", 12, None, "line is 2,048 bytes, over the 1,024-byte limit; skipped unread"),
    (
        "L001",
        14,
        10,
        "invalid JSON: data after the end of the record (two records on one line?)",
    ),
    ("L001", 15, 43, "invalid JSON: unterminated string; the record looks truncated"),
]

ARRAY_EXPECTED: list[Row] = [
    ("L003", 1, None, "file starts with a UTF-8 byte order mark; stripped"),
    ("L001", 3, 19, "invalid JSON: expecting property name enclosed in double quotes"),
    ("L002", 4, 49, "invalid UTF-8 byte 0xe9 at byte offset 48 of the line"),
    ("L006", 5, 3, "record is a JSON array, not an object"),
    ("L006", 6, 3, "record is a JSON string, not an object"),
    ("L007", 7, 3, "record matches no known data shape (expected openai); keys: message"),
    ("L008", 8, 3, "record has the alpaca shape but the file is openai"),
    (
        "L001",
        10,
        3,
        "invalid JSON: the file ends inside this record; the file looks truncated",
    ),
]


def _rows(path: Path) -> tuple[list[Row], list[int]]:
    rows: list[Row] = []
    loaded: list[int] = []
    for item in load_path(path, max_line_bytes=1024):
        rows.extend(
            (f.code, f.line, f.location.column, f.message) for f in as_findings(item.problems)
        )
        if item.example is not None:
            assert item.example.source is not None
            loaded.append(item.example.source.line)
    return rows, loaded


@pytest.mark.parametrize("name", ["every_bad_input.jsonl", "every_bad_input.jsonl.gz"])
def test_every_bad_input_in_json_lines(name: str) -> None:
    rows, loaded = _rows(CORRUPT / name)
    assert rows == JSONL_EXPECTED
    # The BOM line and the CRLF line still load, and so does the good line after the
    # oversized one.
    assert loaded == [1, 2, 13]


def test_every_bad_input_in_a_truncated_json_array() -> None:
    rows, loaded = _rows(CORRUPT / "every_bad_input.json")
    assert rows == ARRAY_EXPECTED
    assert loaded == [2, 9]


def test_every_line_is_accounted_for() -> None:
    data = (CORRUPT / "every_bad_input.jsonl").read_bytes()
    raws = list(read_records(CORRUPT / "every_bad_input.jsonl", max_line_bytes=1024))
    assert [r.line for r in raws] == list(range(1, data.count(b"\n") + 2))
    # Record indices skip blank lines only.
    assert [r.index for r in raws] == [0, 1, None, None, *range(2, 13)]


def test_a_missing_file_is_one_finding() -> None:
    items = list(load_path(CORRUPT / "no_such_file.jsonl"))
    assert [(f.code, f.line) for item in items for f in as_findings(item.problems)] == [
        ("L010", None)
    ]
    assert "cannot open file" in items[0].problems[0].message


def test_a_truncated_gzip_stream_keeps_what_was_read(tmp_path: Path) -> None:
    lines = b"".join(b'{"text": "record %d %s"}\n' % (i, b"%x" % (i * 7919)) for i in range(5000))
    data = gzip.compress(lines, mtime=0)
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(data[: len(data) // 2])
    items = list(load_path(cut))
    loaded = [item for item in items if item.ok]
    assert 0 < len(loaded) < 5000
    assert [f.code for item in items for f in as_findings(item.problems)] == ["L010"]
    assert "read failed" in items[-1].problems[0].message


def test_a_json_lines_file_named_json_is_read_line_by_line(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text('{"text": "a"}\n{"text": "b"}\n', encoding="utf-8")
    items = list(load_path(path))
    assert [item.example.source.line for item in items if item.example and item.example.source] == [
        1,
        2,
    ]


def test_a_jsonl_file_whose_first_line_is_an_array_is_not_a_json_array(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text('[1, 2]\n{"text": "a"}\n', encoding="utf-8")
    items = list(load_path(path))
    assert [(f.code, f.line) for item in items for f in as_findings(item.problems)] == [("L006", 1)]
    assert items[1].ok
