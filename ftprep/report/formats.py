"""Findings output formats, written to a stream one finding at a time.

``text`` is for people (``path:line:col: CODE message``, as ruff and flake8 print it);
``json``, ``jsonl`` (also spelled ``json-lines``), ``github`` (workflow-command
annotations), ``sarif`` (2.1.0, for code-scanning tools), ``junit`` (JUnit XML, one test
suite per file) and ``gitlab`` (GitLab Code Quality) are for machines. Each finding is
rendered and written as it comes, so a million findings never sit in memory as one document
(:func:`write_findings`); :func:`render` returns the same text as a string. The caller
chooses the stream.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

import orjson

from ftprep.findings import Finding, Location, Severity, display_path, plural, printable
from ftprep.rules.base import Rule

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

Summary = Mapping[str, int]

_ANSI = {
    "bold": "1",
    "dim": "2",
    "red": "31",
    "yellow": "33",
    "cyan": "36",
    "green": "32",
}
_SEVERITY_COLOUR = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
_GITHUB_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _paint(text: str, style: str, color: bool) -> str:
    return f"\x1b[{_ANSI[style]}m{text}\x1b[0m" if color else text


# --- text -----------------------------------------------------------------------------------


def write_text(findings: Sequence[Finding], out: TextIO, *, color: bool = False) -> None:
    """One ``path:line:col: CODE message`` line per finding, then its hint, pointer and
    related locations indented below it."""
    for finding in findings:
        where = _paint(str(finding.location), "bold", color)
        code = _paint(finding.code, _SEVERITY_COLOUR[finding.severity], color)
        lines = [f"{where}: {code} {printable(finding.message)}{record_note(finding)}"]
        loc = finding.location
        if loc.pointer:
            own = f" ({printable(loc.field)} in the file)" if loc.field else ""
            lines.append(_paint(f"  at {printable(loc.pointer)}{own}", "dim", color))
        if finding.hint:
            lines.append(f"  {_paint('hint:', 'cyan', color)} {printable(finding.hint)}")
        for related in finding.related:
            lines.append(_paint(f"  see {related}", "dim", color))
        out.write("".join(line + "\n" for line in lines))


def record_note(finding: Finding) -> str:
    """`` (record N)`` where the line does not tell the record (a JSON array, many records
    on one line or one record over many; a JSON Lines file after blank lines), else ``""``."""
    loc = finding.location
    if loc.record is None or loc.line is None or loc.record == loc.line - 1:
        return ""
    return f" (record {loc.record})"


COLOR_CHOICES = ("auto", "always", "never")
"""Values of ``--color``."""


def use_color(stream: TextIO, choice: str = "auto") -> bool:
    """Whether to colour what goes to ``stream``: ``always`` or ``never`` as asked; ``auto``
    colours when ``FORCE_COLOR`` is set (force-color.org; it wins over ``NO_COLOR``, as in
    ruff), else on a terminal unless ``NO_COLOR`` is set (no-color.org)."""
    if choice != "auto":
        return choice == "always"
    if os.environ.get("FORCE_COLOR"):
        return True
    return stream.isatty() and not os.environ.get("NO_COLOR")


def summary_line(
    summary: Summary,
    *,
    fixable: int = 0,
    hidden: int = 0,
    suppressed: int = 0,
    reviewed: int = 0,
    color: bool = False,
) -> str:
    """The one-line verdict that ends every run, e.g. ``Found 2 errors, 1 warning in 120
    records (1 file).``; ``suppressed`` findings the baseline accepts and ``reviewed`` ones a
    review file settles are counted at the end."""
    counts = [
        plural(summary.get("errors", 0), "error"),
        plural(summary.get("warnings", 0), "warning"),
        plural(summary.get("infos", 0), "info"),
    ]
    scope = (
        f"{plural(summary.get('records', 0), 'record')} ({plural(summary.get('files', 0), 'file')})"
    )
    found = [c for c in counts if not c.startswith("0 ")]
    if found:
        text = _paint(f"Found {', '.join(found)} in {scope}.", "bold", color)
    else:
        text = _paint(f"All checks passed! {scope[0].upper()}{scope[1:]}.", "green", color)
    trainer = [
        f"{plural(summary[key], 'example')} {done}"
        for key, done in (
            ("trainer_dropped", "dropped"),
            ("trainer_emptied", "left with nothing to train on"),
            ("trainer_cut", "with answers cut"),
        )
        if summary.get(key)
    ]
    if trainer:
        text += f" At the training window: {', '.join(trainer)}."
    if fixable:
        text += f" {fixable:,} fixable with --fix."
    if hidden:
        more = "more " if fixable else ""
        text += f" {hidden:,} {more}fixable with --fix --unsafe-fixes (drops records)."
    if suppressed:
        text += f" {plural(suppressed, 'finding')} in the baseline not shown."
    if reviewed:
        text += f" {plural(reviewed, 'finding')} settled by the review not shown."
    return text


# --- json / jsonl ---------------------------------------------------------------------------


def _dumps(value: Any, *, indent: bool = False) -> str:
    option = orjson.OPT_SORT_KEYS | (orjson.OPT_INDENT_2 if indent else 0)
    return orjson.dumps(value, option=option).decode("utf-8")


_ITEMS = "\x00ftprep-items"
"""Stands in a document for the array :func:`_write_document` streams in its place."""


def _write_document(document: Any, items: Iterable[Any], out: TextIO) -> None:
    """Write ``document`` (indented, keys sorted) with the one array holding :data:`_ITEMS`
    replaced by ``items``, each dumped as it comes: the same text as dumping the whole
    document with the items in place, without ever holding them all."""
    text = _dumps(document, indent=True)
    marker = text.index(_dumps(_ITEMS))
    line_start = text.rindex("\n", 0, marker) + 1
    indent = text[line_start:marker]
    close = text.index("]", marker)
    out.write(text[: line_start - 1])  # up to and including the array's "["
    empty = True
    for item in items:
        body = _dumps(item, indent=True).replace("\n", "\n" + indent)
        out.write(("\n" if empty else ",\n") + indent + body)
        empty = False
    if not empty:
        out.write(text[marker + len(_dumps(_ITEMS)) : close])  # the newline and indent
    out.write(text[close:] + "\n")


def write_json(findings: Sequence[Finding], summary: Summary, out: TextIO) -> None:
    """One JSON object: ``{"diagnostics": [...], "summary": {...}}``."""
    document = {"diagnostics": [_ITEMS], "summary": dict(summary)}
    _write_document(document, (f.to_dict() for f in findings), out)


def write_jsonl(findings: Sequence[Finding], out: TextIO) -> None:
    """One JSON object per finding, one per line."""
    for finding in findings:
        out.write(_dumps(finding.to_dict()) + "\n")


# --- GitHub workflow commands ---------------------------------------------------------------


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def write_github(findings: Sequence[Finding], out: TextIO) -> None:
    """GitHub Actions annotations: ``::error file=F,line=L,col=C,title=CODE::message``
    (``warning`` and ``notice`` for lesser severities)."""
    for finding in findings:
        loc = finding.location
        props = [f"file={_escape_property(printable(display_path(loc.path)))}"]
        if loc.line is not None:
            props.append(f"line={loc.line}")
            if loc.column is not None:
                props.append(f"col={loc.column}")
        props.append(f"title={_escape_property(finding.code)}")
        message = printable(finding.message) + record_note(finding)
        if finding.hint:
            message += "\n" + printable(finding.hint)
        level = _GITHUB_LEVEL[finding.severity]
        out.write(f"::{level} {','.join(props)}::{_escape_data(message)}\n")


# --- SARIF 2.1.0 ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def _posix(path: str) -> str:
    """``path`` in POSIX form, once per file rather than once per finding."""
    return Path(path).as_posix()


@functools.lru_cache(maxsize=1024)
def _artifact(path: str) -> Mapping[str, str]:
    """A SARIF artifact location: a ``file://`` URI for an absolute path, else a relative
    reference to the source root; both percent-encoded from the file name's bytes. Cached
    per file, so the mapping is shared: never change it."""
    if Path(path).is_absolute():
        return {"uri": Path(path).as_uri()}
    return {"uri": quote(os.fsencode(_posix(path))), "uriBaseId": "%SRCROOT%"}


def _physical(loc: Location) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": _artifact(loc.path)}
    if loc.line is not None and loc.line >= 1:
        region = {"startLine": loc.line}
        if loc.column is not None and loc.column >= 1:
            region["startColumn"] = loc.column
        physical["region"] = region
    return physical


def sarif_fingerprint(finding: Finding) -> str:
    """What code scanning uses to follow a finding across commits: the record's content
    fingerprint, the code and where in the record (not the line, which moves)."""
    loc = finding.location
    anchor = finding.fingerprint or f"file:{display_path(_posix(loc.path))}"
    return f"{anchor}:{finding.code}:{loc.pointer or ''}"


def _sarif_rule(rule: type[Rule]) -> dict[str, Any]:
    documentation = rule.documentation()
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": documentation.split("\n\n", 1)[0]},
        "help": {"text": documentation},
        "defaultConfiguration": {"level": _SARIF_LEVEL[rule.severity]},
    }


def _sarif_result(finding: Finding, index: Mapping[str, int]) -> dict[str, Any]:
    text = finding.message if not finding.hint else f"{finding.message}. {finding.hint}"
    result: dict[str, Any] = {
        "ruleId": finding.code,
        "level": _SARIF_LEVEL[finding.severity],
        "message": {"text": text},
        "locations": [{"physicalLocation": _physical(finding.location)}],
        "partialFingerprints": {"ftprepRecord/v1": sarif_fingerprint(finding)},
    }
    if finding.code in index:
        result["ruleIndex"] = index[finding.code]
    if finding.location.record is not None:
        result["properties"] = {"record": finding.location.record}
    if finding.related:
        result["relatedLocations"] = [
            {"id": i, "physicalLocation": _physical(r)}
            for i, r in enumerate(finding.related, start=1)
        ]
    return result


def write_sarif(
    findings: Sequence[Finding], rules: Sequence[type[Rule]], out: TextIO, *, version: str
) -> None:
    """A SARIF 2.1.0 log with one run: every rule in ``rules`` described in
    ``tool.driver.rules`` and one result per finding."""
    index = {rule.code: i for i, rule in enumerate(rules)}
    driver = {"name": "ftprep", "version": version, "rules": [_sarif_rule(r) for r in rules]}
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {"tool": {"driver": driver}, "columnKind": "unicodeCodePoints", "results": [_ITEMS]}
        ],
    }
    _write_document(log, (_sarif_result(f, index) for f in findings), out)


# --- JUnit XML ------------------------------------------------------------------------------

_XML_NONCHARACTERS = re.compile("[\ufffe\uffff]")


def _xml(text: str) -> str:
    """``text`` as XML 1.0 may hold it: control characters (:func:`printable`) and the
    non-characters XML forbids even as references are shown escaped (``\\x00``,
    ``\\ufffe``)."""
    return _XML_NONCHARACTERS.sub(lambda m: f"\\u{ord(m.group()):04x}", printable(text))


def write_junit(findings: Sequence[Finding], out: TextIO) -> None:
    """JUnit XML as ruff writes it: one ``testsuite`` per file, one failing ``testcase``
    per finding (named ``ftprep.CODE``), for CI systems that show test reports. The
    findings come grouped by file, as a check returns them sorted."""
    per_file = Counter(f.path for f in findings)
    total = sum(per_file.values())
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(f'<testsuites name="ftprep" tests="{total}" failures="{total}" errors="0">\n')
    for path, group in groupby(findings, key=lambda f: f.path):
        name = quoteattr(_xml(display_path(path)))
        count = per_file[path]
        out.write(
            f'  <testsuite name={name} tests="{count}" disabled="0" errors="0" '
            f'failures="{count}" package="ftprep">\n'
        )
        for finding in group:
            loc = finding.location
            where = "" if loc.line is None else f' line="{loc.line}" column="{loc.column or 1}"'
            place = "" if loc.line is None else f"line {loc.line}, col {loc.column or 1}, "
            message = _xml(finding.message)
            out.write(
                f'    <testcase name="ftprep.{finding.code}" classname={name}{where}>\n'
                f"      <failure message={quoteattr(message)}>"
                f"{escape(place + message)}</failure>\n"
                "    </testcase>\n"
            )
        out.write("  </testsuite>\n")
    out.write("</testsuites>\n")


# --- GitLab Code Quality --------------------------------------------------------------------

_GITLAB_SEVERITY = {Severity.ERROR: "major", Severity.WARNING: "minor", Severity.INFO: "info"}


def _gitlab_issues(findings: Iterable[Finding]) -> Iterable[dict[str, Any]]:
    """Code Quality issues. The fingerprint (which GitLab uses to tell new issues from old
    ones, and requires unique) hashes the record's content, the code, the place in the record
    and the message, not the line; repeats of the same key are numbered."""
    seen: Counter[bytes] = Counter()
    for finding in findings:
        key = f"{sarif_fingerprint(finding)}:{finding.message}".encode("utf-8", "replace")
        digest = hashlib.blake2b(key, digest_size=16).digest()
        repeat = seen[digest]
        seen[digest] += 1
        fingerprint = digest.hex() if not repeat else f"{digest.hex()}-{repeat}"
        location: dict[str, Any] = {"path": display_path(_posix(finding.path))}
        location["lines"] = {"begin": finding.line or 1}
        yield {
            "type": "issue",
            "check_name": finding.code,
            "description": printable(finding.message),
            "severity": _GITLAB_SEVERITY[finding.severity],
            "fingerprint": fingerprint,
            "location": location,
        }


def write_gitlab(findings: Sequence[Finding], out: TextIO) -> None:
    """A GitLab Code Quality report: a JSON array of issues (``artifacts: reports:
    codequality:`` in ``.gitlab-ci.yml``)."""
    _write_document([_ITEMS], _gitlab_issues(findings), out)


# --- dispatch -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Context:
    summary: Summary
    rules: Sequence[type[Rule]]
    version: str
    color: bool


_WRITERS: dict[str, Callable[[Sequence[Finding], TextIO, _Context], None]] = {
    "text": lambda f, out, c: write_text(f, out, color=c.color),
    "json": lambda f, out, c: write_json(f, c.summary, out),
    "jsonl": lambda f, out, c: write_jsonl(f, out),
    "json-lines": lambda f, out, c: write_jsonl(f, out),
    "github": lambda f, out, c: write_github(f, out),
    "sarif": lambda f, out, c: write_sarif(f, c.rules, out, version=c.version),
    "junit": lambda f, out, c: write_junit(f, out),
    "gitlab": lambda f, out, c: write_gitlab(f, out),
}

FORMATS = tuple(_WRITERS)
"""Names accepted by ``--format`` / ``--output-format`` (``json-lines`` is ruff's spelling of
``jsonl``)."""


def write_findings(
    fmt: str,
    findings: Sequence[Finding],
    summary: Summary,
    out: TextIO,
    *,
    rules: Sequence[type[Rule]] = (),
    version: str = "",
    color: bool = False,
) -> None:
    """Write ``findings`` to ``out`` in format ``fmt`` (one of :data:`FORMATS`), each
    finding as it is rendered."""
    writer = _WRITERS.get(fmt)
    if writer is None:
        raise ValueError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    writer(findings, out, _Context(summary, rules, version, color))


def render(
    fmt: str,
    findings: Sequence[Finding],
    summary: Summary,
    *,
    rules: Sequence[type[Rule]] = (),
    version: str = "",
    color: bool = False,
) -> str:
    """:func:`write_findings` into a string."""
    buffer = io.StringIO()
    write_findings(fmt, findings, summary, buffer, rules=rules, version=version, color=color)
    return buffer.getvalue()
