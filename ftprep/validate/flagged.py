"""The flagged examples of a check, with their text: what a person reviews in a notebook
(:meth:`CheckResult.examples <ftprep.validate.check.CheckResult.examples>` and
:meth:`~ftprep.validate.check.CheckResult.to_pandas`).

A finding names its record by file and record index; the record's text is read back from the
file (or, for in-memory inputs, from the copy kept of the flagged records while the run's
temporary file existed, :func:`capture_records`).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from ftprep.dialects import DialectOptions
from ftprep.findings import Finding, display_path
from ftprep.load import load_records
from ftprep.load.containers import read_records

if TYPE_CHECKING:
    import pandas

    from ftprep.config import Config

RecordKey = tuple[str, int]
"""A record: its file (as findings name it) and its 0-based index there."""


@dataclass(slots=True)
class Flagged:
    """One flagged example: where it is, its record as read, its text and its findings."""

    path: str
    record: int
    raw: dict[str, Any] | None
    """The record as read (``None`` when it could not be read back)."""
    text: str
    """The example's turns as ``role: text`` lines (the raw JSON when it did not load)."""
    findings: list[Finding] = field(default_factory=list)

    def __repr__(self) -> str:
        codes = ", ".join(f"{f.code} {f.message}" for f in self.findings)
        shown = self.text if len(self.text) <= 300 else self.text[:300] + "…"
        return f"{display_path(self.path)}[{self.record}] {codes}\n{shown}"

    def _repr_html_(self) -> str:
        items = "".join(
            f"<li><b>{html.escape(f.code)}</b> {html.escape(f.message)}</li>" for f in self.findings
        )
        return (
            f"<div><code>{html.escape(display_path(self.path))}[{self.record}]</code>"
            f"<ul>{items}</ul><pre style='white-space:pre-wrap'>{html.escape(self.text)}</pre>"
            "</div>"
        )


def by_record(
    findings: Iterable[Finding], code: str | None = None
) -> dict[RecordKey, list[Finding]]:
    """Findings that point at a record, grouped by record in report order; with ``code``
    (a code prefix, ``Q`` or ``Q001``) only records with a finding of it."""
    grouped: dict[RecordKey, list[Finding]] = {}
    for finding in findings:
        record = finding.location.record
        if record is not None:
            grouped.setdefault((finding.path, record), []).append(finding)
    if code is not None:
        prefix = code.upper()
        grouped = {k: v for k, v in grouped.items() if any(f.code.startswith(prefix) for f in v)}
    return grouped


def read_back(paths: Sequence[str], wanted: Iterable[RecordKey]) -> dict[RecordKey, bytes]:
    """The raw bytes of the ``wanted`` records of ``paths``, read from the files."""
    by_path: dict[str, set[int]] = {}
    for path, record in wanted:
        by_path.setdefault(path, set()).add(record)
    found: dict[RecordKey, bytes] = {}
    for path in paths:
        indexes = by_path.get(path)
        if not indexes:
            continue
        for raw in read_records(path):
            if raw.index in indexes:
                found[path, raw.index] = raw.raw
                if len(found) == len(indexes):
                    break
    return found


def capture_records(
    paths: Sequence[str], names: Mapping[str, str], findings: Iterable[Finding]
) -> dict[RecordKey, bytes]:
    """The raw bytes of every flagged record of in-memory inputs (keyed by their in-memory
    name), read while their temporary file still exists."""
    if not names:
        return {}
    wanted = [k for k in by_record(findings) if k[0] in names]
    return {(names[p], r): raw for (p, r), raw in read_back(paths, wanted).items()}


def example_text(raw: dict[str, Any] | None, dialect: str, config: Config) -> str:
    """``raw`` as the example it loads into, one ``role: text`` line per turn."""
    if raw is None:
        return ""
    options = DialectOptions.from_config(config)
    for item in load_records([raw], dialect=dialect, options=options):
        if item.example is not None:
            return "\n".join(f"{m.role}: {m.text()}" for m in item.example.conversation())
    return orjson.dumps(raw).decode()


def flagged(
    findings: Sequence[Finding],
    paths: Sequence[str],
    dialects: Sequence[str],
    config: Config,
    kept: Mapping[RecordKey, bytes],
    *,
    code: str | None = None,
    start: int = 0,
    limit: int | None = None,
) -> list[Flagged]:
    """The flagged examples (with ``code``: those with a finding of that code prefix), in
    report order, from the ``start``-th, at most ``limit``."""
    grouped = list(by_record(findings, code).items())
    page = grouped[start : None if limit is None else start + limit]
    missing = [k for k, _ in page if k not in kept]
    raws = {**kept, **read_back(paths, missing)} if missing else dict(kept)
    dialect_of = dict(zip(paths, dialects, strict=False))
    out = []
    for (path, record), found in page:
        raw = _parsed(raws.get((path, record)))
        text = example_text(raw, dialect_of.get(path, "auto"), config)
        out.append(Flagged(path, record, raw, text, found))
    return out


def _parsed(raw: bytes | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


FRAME_COLUMNS = ("path", "record", "line", "code", "severity", "message", "pointer", "text")


def findings_frame(rows: Iterable[Flagged], findings: Sequence[Finding]) -> pandas.DataFrame:
    """One row per finding, with the text of the example it is about (``text``; empty for
    findings about a file or the dataset as a whole)."""
    try:
        import pandas
    except ImportError:
        raise ImportError("to_pandas() needs pandas: pip install 'ftprep[notebook]'") from None
    texts = {(r.path, r.record): r.text for r in rows}
    records = [
        {
            "path": display_path(f.path),
            "record": f.location.record,
            "line": f.location.line,
            "code": f.code,
            "severity": f.severity.value,
            "message": f.message,
            "pointer": f.location.pointer,
            "text": texts.get((f.path, f.location.record), "")
            if f.location.record is not None
            else "",
        }
        for f in findings
    ]
    frame = pandas.DataFrame.from_records(records, columns=list(FRAME_COLUMNS))
    return frame.astype({"record": "Int64", "line": "Int64"})  # integers, with gaps
