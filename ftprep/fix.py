"""``ftprep check --fix``: in-place repairs of JSON Lines files.

Safe fixes cannot change what a model learns; they are made with ``--fix``:

- strip a UTF-8 byte order mark (when L003 reports it);
- delete blank lines (L005);
- trim stray whitespace around message contents and normalise them to Unicode NFC (the
  same fixes ``prepare`` applies, :mod:`ftprep.write.fixes`); no rule reports these, so
  they run only with the default rule selection (:func:`content_fixes_for`).

Unsafe fixes drop records, so the model trains on fewer examples; as in ruff they are made
only when asked for as well (``--unsafe-fixes``, ``unsafe=True``):

- delete exact duplicates of a record (when X001 reports them): of each group of copies
  the first one without an error finding stays (the first copy when none is valid), as
  ``prepare`` keeps the first clean one;
- redact secrets and personal data (on the lines a privacy rule reports): every string of
  the record has what :mod:`ftprep.secrets` finds replaced by a typed placeholder
  (``[EMAIL]``), as ``prepare --redact`` does. The value is gone from the file for good.

Only the lines that change are rewritten; every other line keeps its exact bytes and line
ending, so the diff shows just the fixes. A changed string is replaced inside its line where
that provably yields the intended record, else the line is re-serialised. Files are replaced
atomically; a symbolic link keeps pointing at its target, which is the file fixed. JSON
array files, gzip files, read-only files and files that cannot be written are not fixed in
place; they are reported as skipped.
"""

from __future__ import annotations

import difflib
import json
import os
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ftprep.config import Config
from ftprep.findings import Finding, Severity
from ftprep.load.containers import STDIN
from ftprep.load.paths import is_regular_file
from ftprep.rules import load as L
from ftprep.rules.duplicates import ExactDuplicate
from ftprep.rules.registry import rule_codes
from ftprep.write.files import write_atomic
from ftprep.write.fixes import FIX_FUNCTIONS
from ftprep.write.redact import redact_value

_BOM = b"\xef\xbb\xbf"

#: Content fixes applied to every message text, in order (names of ``FIX_FUNCTIONS``).
CONTENT_FIXES = ("whitespace", "nfc")

UNSAFE_FIX_CODES = rule_codes(fixable=True, unsafe_fix=True)
"""Codes whose findings only ``--fix --unsafe-fixes`` repairs (the rules say so:
``unsafe_fix``): the fix drops records or redacts values."""


_LABELS = {
    "blank": ("blank line removed", "blank lines removed"),
    "bom": ("byte order mark removed", "byte order marks removed"),
    "duplicate": ("duplicate record removed", "duplicate records removed"),
    "whitespace": ("text trimmed", "texts trimmed"),
    "nfc": ("text normalised to NFC", "texts normalised to NFC"),
    "redact": ("secret or personal value redacted", "secrets or personal values redacted"),
}


@dataclass(slots=True)
class FileFix:
    """What ``--fix`` did to one file: counts per kind of fix, or why it was skipped."""

    path: str
    fixed: Counter[str] = field(default_factory=Counter)
    """Fixes applied, by kind: ``blank``, ``bom``, ``duplicate``, ``whitespace``, ``nfc``,
    ``redact``."""
    skipped: str | None = None
    lines: list[tuple[int, str]] = field(default_factory=list)
    """Each fix as (line number in the file before fixing, kind), in file order."""
    hidden: int = 0
    """Unsafe fixes not applied because they were not asked for."""
    diff: str = ""
    """With ``write=False``: the unified diff the fixes would make (empty when none)."""

    @property
    def total(self) -> int:
        """Number of fixes applied."""
        return sum(self.fixed.values())

    def describe(self) -> str:
        """``Fixed 3 issues in data.jsonl (2 blank lines removed, 1 byte order mark
        removed)``, or why the file was skipped."""
        if self.skipped:
            return f"Not fixed: {self.path}: {self.skipped}"
        kinds = ", ".join(f"{n} {_LABELS[kind][n != 1]}" for kind, n in sorted(self.fixed.items()))
        noun = "issue" if self.total == 1 else "issues"
        return f"Fixed {self.total} {noun} in {self.path} ({kinds})"

    def details(self) -> str:
        """One ``path:line: what was done`` line per fix (``--show-fixes``)."""
        return "".join(f"{self.path}:{n}: {_LABELS[kind][0]}\n" for n, kind in self.lines)


def _split_lines(data: bytes) -> list[bytes]:
    """Lines with their endings, split on LF only (as the JSON Lines reader does)."""
    parts = data.split(b"\n")
    lines = [part + b"\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _why_not_in_place(path: str) -> str | None:
    """Why ``path`` cannot even be read for fixing: a stream, read once by the check."""
    if path == STDIN:
        return "standard input cannot be fixed in place"
    if Path(path).exists() and not is_regular_file(path):
        return "only regular files are fixed in place, not FIFOs or devices"
    return None


def _why_not_fixable(path: str, data: bytes) -> str | None:
    if data[:2] == b"\x1f\x8b":
        return "gzip files are not fixed in place; fix the uncompressed file"
    first = data.removeprefix(_BOM).lstrip()[:1]
    if first == b"[" or (first == b"{" and path.endswith(".json")):
        return "JSON array files are not fixed in place; only JSON Lines files are"
    return None


def _fix_texts(value: Any, fixes: Sequence[str], changes: list[tuple[str, str, str]]) -> Any:
    """``value`` with every message text fixed; each change is recorded as (fix, old, new)."""
    if isinstance(value, list):
        return [_fix_texts(item, fixes, changes) for item in value]
    if not isinstance(value, dict):
        return value
    out = {key: _fix_texts(item, fixes, changes) for key, item in value.items()}
    if "role" in value and isinstance(value.get("content"), str):
        out["content"] = _fix_text(value["content"], fixes, changes)
    elif value.get("type") == "text" and isinstance(value.get("text"), str):
        out["text"] = _fix_text(value["text"], fixes, changes)
    return out


def _fix_text(text: str, fixes: Sequence[str], changes: list[tuple[str, str, str]]) -> str:
    for name in fixes:
        fixed = FIX_FUNCTIONS[name](text)
        if fixed != text:
            changes.append((name, text, fixed))
            text = fixed
    return text


def _encodings(text: str) -> tuple[bytes, bytes]:
    """The two common JSON spellings of a string: raw UTF-8 and ASCII with ``\\u`` escapes."""
    return orjson.dumps(text), json.dumps(text).encode("ascii")


def _rewrite_line(body: bytes, fixes: Sequence[str]) -> tuple[bytes, Counter[str]] | None:
    """The fixed form of one record line (without its ending), or ``None`` when unchanged."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(value, dict):
        return None
    changes: list[tuple[str, str, str]] = []
    fixed = _fix_texts(value, fixes, changes)
    if not changes:
        return None
    counts = Counter(name for name, _old, _new in changes)
    # Replace each changed string where it is spelled in the line, keeping the rest of the
    # line's bytes; accept the result only if it parses to exactly the fixed record.
    patched = body
    for _name, old, new in changes:
        for old_spelling, new_spelling in zip(_encodings(old), _encodings(new), strict=True):
            if patched.count(old_spelling) == 1:
                patched = patched.replace(old_spelling, new_spelling)
                break
    try:
        if orjson.loads(patched) == fixed:
            return patched, counts
    except orjson.JSONDecodeError:
        pass
    return orjson.dumps(fixed), counts


def _redact_line(body: bytes) -> tuple[bytes, int] | None:
    """The redacted form of one record line and the number of values replaced, or ``None``
    when nothing was found."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    counts: Counter[str] = Counter()
    redacted = redact_value(value, counts)
    if not counts:
        return None
    return orjson.dumps(redacted), sum(counts.values())


def _lines_reported(findings: Iterable[Finding], codes: Collection[str]) -> set[int]:
    """The lines findings of ``codes`` are on (every line of a folded run)."""
    return {line for f in findings if f.code in codes for line in f.lines}


Place = tuple[str, int]


def duplicates_to_delete(findings: Sequence[Finding]) -> set[Place]:
    """The ``(path, line)`` of every exact-duplicate copy ``--fix`` deletes: of each group
    of copies (a first occurrence and the X001 findings pointing at it, in input order), all
    but the first copy that has no error finding, or all but the first when none is valid."""
    invalid = {
        (f.path, f.line) for f in findings if f.severity is Severity.ERROR and f.line is not None
    }
    groups: dict[Place, list[Place]] = {}
    for f in findings:
        if f.code == ExactDuplicate.code and f.line is not None and f.related:
            first = f.related[0]
            if first.line is not None:
                groups.setdefault((first.path, first.line), [(first.path, first.line)]).append(
                    (f.path, f.line)
                )
    delete: set[Place] = set()
    for copies in groups.values():
        keep = next((copy for copy in copies if copy not in invalid), copies[0])
        delete.update(copy for copy in copies if copy != keep)
    return delete


def content_fixes_for(config: Config) -> Sequence[str]:
    """The content fixes ``check --fix`` applies under ``config``: those ``prepare`` applies
    (``prepare.fixes``), unless the rule selection was narrowed with ``select`` (no rule
    reports them, so a user who selected some rules did not ask for them)."""
    everything = config.select is None or "ALL" in config.select
    return config.prepare.fixes if everything else ()


def _not_writable(path: Path) -> str | None:
    """Why the file ``path`` must not be rewritten, if it must not: it is read-only, by its
    mode (which would not stop root, or anyone who may write its folder) or for this user.
    A folder that cannot be written shows when the write fails."""
    mode = path.stat().st_mode
    if not mode & 0o222 or not os.access(path, os.W_OK):
        return "the file is read-only; make it writable to fix it"
    return None


def fix_file(
    path: str,
    findings: Sequence[Finding],
    *,
    content_fixes: Sequence[str] = CONTENT_FIXES,
    unsafe: bool = False,
    write: bool = True,
) -> FileFix:
    """Apply the fixes to the JSON Lines file ``path``, given the ``findings`` a check just
    reported for it: the safe ones, and with ``unsafe`` those that drop records. Writes the
    file only when something changed; with ``write=False`` leaves it alone and puts the
    unified diff of the fixes in :attr:`FileFix.diff`."""
    result = FileFix(path, skipped=_why_not_in_place(path))
    if result.skipped:
        return result
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        result.skipped = f"cannot read: {err.strerror}"
        return result
    result.skipped = _why_not_fixable(path, data)
    if result.skipped:
        return result
    mine = [f for f in findings if f.path == path]
    blank = _lines_reported(mine, {L.BlankLine.code})
    duplicates = {line for where, line in duplicates_to_delete(findings) if where == path}
    redact = _lines_reported(mine, rule_codes(redactable=True))
    lines = _split_lines(data)
    out: list[bytes] = []

    def fixed(kind: str, count: int = 1) -> None:
        result.fixed[kind] += count
        result.lines.extend([(number, kind)] * count)

    for number, line in enumerate(lines, start=1):
        if number in blank and not line.strip():
            fixed("blank")
            continue
        if number in duplicates:
            if unsafe:
                fixed("duplicate")
                continue
            result.hidden += 1
        if number == 1 and line.startswith(_BOM) and any(f.code == L.Utf8Bom.code for f in mine):
            line = line[len(_BOM) :]
            fixed("bom")
        body = line.rstrip(b"\r\n")
        if number in redact:
            if unsafe:
                redacted = _redact_line(body)
                if redacted is not None:
                    body, count = redacted
                    line = body + line[len(line.rstrip(b"\r\n")) :]
                    fixed("redact", count)
            else:
                result.hidden += 1
        rewritten = _rewrite_line(body, content_fixes) if content_fixes else None
        if rewritten is not None:
            new_body, counts = rewritten
            line = new_body + line[len(body) :]
            for kind, count in sorted(counts.items()):
                fixed(kind, count)
        out.append(line)
    if result.total and not write:
        result.diff = unified_diff(path, lines, out)
    elif result.total:
        try:
            result.skipped = _not_writable(Path(path))
            if result.skipped is None:
                write_atomic(path, b"".join(out))
        except OSError as err:
            result.skipped = f"cannot write: {err.strerror or err}"
        if result.skipped:
            result.fixed.clear()
            result.lines.clear()
    return result


def unified_diff(path: str, before: Sequence[bytes], after: Sequence[bytes]) -> str:
    """The unified diff from ``before`` to ``after`` (lines with their endings) of ``path``,
    as ``diff -u`` and ``ruff --diff`` print it; bytes that are not UTF-8 are shown escaped."""

    def text(lines: Sequence[bytes]) -> list[str]:
        return [line.decode("utf-8", "backslashreplace") for line in lines]

    diff = difflib.unified_diff(text(before), text(after), f"a/{path}", f"b/{path}")
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in diff
    )


def fix_files(
    paths: Sequence[str],
    findings: Sequence[Finding],
    *,
    content_fixes: Sequence[str] = CONTENT_FIXES,
    unsafe: bool = False,
    write: bool = True,
) -> list[FileFix]:
    """:func:`fix_file` for each of ``paths``."""
    return [
        fix_file(path, findings, content_fixes=content_fixes, unsafe=unsafe, write=write)
        for path in paths
    ]
