"""The rejects file: every input record that was left out, exactly as it came in, with why.

One JSON object per line::

    {"source": {"path": "data.jsonl", "line": 7, "record": 6},
     "reasons": [{"code": "L001", "severity": "error", "message": "invalid JSON: ..."}],
     "raw": "<the record's exact text>"}

- ``source.record`` is the 0-based record index in its file (``null`` for a blank line or an
  unreadable file); ``line`` is 1-based (``0`` for an unreadable file).
- ``reasons`` holds the findings that excluded the record (a finding has ``code``,
  ``severity``, ``message`` and, where known, ``column``, ``message_index``, ``pointer``,
  ``hint``, ``related``, ``data``) or the fix that dropped it (``{"fix": "drop-duplicate",
  "message": ..., "kept": {"path", "line", "record"}}``).
- ``raw`` is the record's text: the line without its line ending, or for a JSON array the
  element's bytes (a byte order mark starting the file is not part of the first record).
  Bytes that are not valid UTF-8 are kept as ``raw_base64`` (and ``raw`` is ``null``). A line
  over ``max-line-bytes`` was skipped unread: ``raw`` is ``null`` and the L009 reason says so.
  Secrets and personal data in ``raw`` are masked as findings mask them (``sk-p…(51 chars)``):
  no output of ftprep repeats a secret; ``source`` leads to the original.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson

from ftprep.findings import Finding, Location, display_path
from ftprep.load.containers import RawRecord
from ftprep.secrets import mask_text

_DROP_FROM_FINDING = ("path", "line", "record")


def reason(finding: Finding) -> dict[str, Any]:
    """A finding as a reason: its dict without the location the entry already gives."""
    return {
        k: v for k, v in finding.to_dict().items() if k not in _DROP_FROM_FINDING and v is not None
    }


def place(location: Location) -> dict[str, Any]:
    """A location as ``{"path", "line", "record"}``."""
    return {"path": display_path(location.path), "line": location.line, "record": location.record}


def drop_reason(fix: str, message: str, kept: Location | None = None) -> dict[str, Any]:
    """A reason saying a configured fix (such as ``drop-duplicate``) dropped the record."""
    out: dict[str, Any] = {"fix": fix, "message": message}
    if kept is not None:
        out["kept"] = place(kept)
    return out


def reject_line(raw: RawRecord, reasons: list[dict[str, Any]]) -> bytes:
    """The rejects-file line (with its newline) for ``raw``."""
    entry: dict[str, Any] = {
        "source": {"path": display_path(raw.path), "line": raw.line, "record": raw.index},
        "reasons": reasons,
    }
    text = raw.raw.removesuffix(b"\n").removesuffix(b"\r")  # a blank line keeps its ending
    if raw.unread:
        entry["raw"] = None
    else:
        try:
            entry["raw"] = mask_text(text.decode("utf-8"))
        except UnicodeDecodeError:
            entry["raw"] = None
            entry["raw_base64"] = base64.b64encode(text).decode("ascii")
    return orjson.dumps(entry, default=str, option=orjson.OPT_APPEND_NEWLINE)
