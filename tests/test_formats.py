"""Output formats: each machine format parses and carries what its consumers require."""

from __future__ import annotations

import io
import json
import os
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import jsonschema
import orjson
import pytest

from ftprep.cli import main
from ftprep.findings import Finding, Location, Severity, printable
from ftprep.report.formats import FORMATS, render, summary_line, write_findings
from ftprep.rules.registry import ALL_RULES

BROKEN = Finding(
    "L001",
    Severity.ERROR,
    "invalid JSON: 50% done, then\r\nnothing: a, b",
    Location("data/train set.jsonl", line=3, column=17, record=2),
    hint="repair or remove this record",
    fingerprint="00000000000000aa",
)
BLANK = Finding(
    "L005",
    Severity.WARNING,
    "blank line",
    Location("data/train set.jsonl", line=4, column=None),
    fingerprint="00000000000000bb",
)
CRLF = Finding("L004", Severity.INFO, "file uses CRLF", Location("b,c:d.jsonl", line=1))
FILE_LEVEL = Finding("L010", Severity.ERROR, "cannot open file", Location("/abs/missing.jsonl"))
DUPLICATE = Finding(
    "L005",
    Severity.WARNING,
    "blank line",
    Location("x.jsonl", line=9, pointer="/messages/1/content", message=1),
    related=(Location("x.jsonl", line=2),),
    fingerprint="00000000000000cc",
)
FINDINGS = [BROKEN, BLANK, CRLF, FILE_LEVEL, DUPLICATE]
SUMMARY = {"files": 3, "records": 12, "loaded": 10, "errors": 2, "warnings": 2, "infos": 1}

# The parts of the SARIF 2.1.0 schema that code-scanning uploads depend on.
SARIF_MINIMAL_SCHEMA = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool", "results"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name", "rules"],
                                "properties": {
                                    "rules": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["id", "shortDescription", "help"],
                                            "properties": {
                                                "shortDescription": {"$ref": "#/$defs/message"},
                                                "help": {"$ref": "#/$defs/message"},
                                            },
                                        },
                                    }
                                },
                            }
                        },
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["ruleId", "level", "message", "locations"],
                            "properties": {
                                "level": {"enum": ["none", "note", "warning", "error"]},
                                "message": {"$ref": "#/$defs/message"},
                                "locations": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": ["physicalLocation"],
                                        "properties": {
                                            "physicalLocation": {"$ref": "#/$defs/physical"}
                                        },
                                    },
                                },
                                "partialFingerprints": {
                                    "type": "object",
                                    "additionalProperties": {"type": "string"},
                                },
                            },
                        },
                    },
                },
            },
        },
    },
    "$defs": {
        "message": {
            "type": "object",
            "required": ["text"],
            "properties": {"text": {"type": "string", "minLength": 1}},
        },
        "physical": {
            "type": "object",
            "required": ["artifactLocation"],
            "properties": {
                "artifactLocation": {
                    "type": "object",
                    "required": ["uri"],
                    "properties": {"uri": {"type": "string", "minLength": 1}},
                },
                "region": {
                    "type": "object",
                    "required": ["startLine"],
                    "properties": {
                        "startLine": {"type": "integer", "minimum": 1},
                        "startColumn": {"type": "integer", "minimum": 1},
                    },
                },
            },
        },
    },
}


def test_text_is_path_line_col_code_message_with_hint_below() -> None:
    lines = render("text", FINDINGS, SUMMARY).splitlines()
    assert lines[0] == (
        "data/train set.jsonl:3:17: L001 invalid JSON: 50% done, then\\r\\nnothing: a, b"
    )
    assert lines[1] == "  hint: repair or remove this record"
    assert "data/train set.jsonl:4:1: L005 blank line" in lines
    assert "/abs/missing.jsonl: L010 cannot open file" in lines
    assert "  at /messages/1/content" in lines
    assert "  see x.jsonl:2:1" in lines
    assert "\x1b[" not in render("text", FINDINGS, SUMMARY)


def test_text_colour_only_when_asked() -> None:
    coloured = render("text", [BROKEN], SUMMARY, color=True)
    assert "\x1b[31mL001\x1b[0m" in coloured


def test_summary_line() -> None:
    assert summary_line(SUMMARY, fixable=2) == (
        "Found 2 errors, 2 warnings, 1 info in 12 records (3 files). 2 fixable with --fix."
    )
    clean = {"files": 1, "records": 1, "loaded": 1, "errors": 0, "warnings": 0, "infos": 0}
    assert summary_line(clean, suppressed=3) == (
        "All checks passed! 1 record (1 file). 3 findings in the baseline not shown."
    )


def test_json_has_diagnostics_and_summary() -> None:
    document = json.loads(render("json", FINDINGS, SUMMARY))
    assert document["summary"] == SUMMARY
    first = document["diagnostics"][0]
    assert first["path"] == "data/train set.jsonl"
    assert (first["line"], first["column"], first["code"]) == (3, 17, "L001")
    assert first["severity"] == "error"
    assert first["message"] == BROKEN.message
    assert [d["code"] for d in document["diagnostics"]] == [f.code for f in FINDINGS]


def test_jsonl_is_one_finding_per_line() -> None:
    lines = render("jsonl", FINDINGS, SUMMARY).splitlines()
    assert len(lines) == len(FINDINGS)
    assert [json.loads(line) for line in lines] == [f.to_dict() for f in FINDINGS]
    assert render("jsonl", [], SUMMARY) == ""


def _parse_github(line: str) -> tuple[str, dict[str, str], str]:
    assert line.startswith("::")
    command, message = line[2:].split("::", 1)
    level, _, props = command.partition(" ")
    properties = dict(p.split("=", 1) for p in props.split(","))
    return level, properties, message


def _unescape(text: str) -> str:
    for escaped, raw in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(escaped, raw)
    return text


def test_github_annotations_escape_and_round_trip() -> None:
    lines = render("github", FINDINGS, SUMMARY).splitlines()
    assert len(lines) == len(FINDINGS)
    for line in lines:
        assert "\r" not in line
    level, props, message = _parse_github(lines[0])
    assert level == "error"
    assert props == {"file": "data/train set.jsonl", "line": "3", "col": "17", "title": "L001"}
    assert "%25" in message and "\\r\\n" in message  # a record's line break stays on the line
    assert _unescape(message) == f"{printable(BROKEN.message)}\n{printable(BROKEN.hint)}"
    assert _parse_github(lines[1])[0] == "warning"
    level, props, _ = _parse_github(lines[2])
    assert level == "notice"
    assert props["file"] == "b%2Cc%3Ad.jsonl"
    assert _unescape(props["file"]) == "b,c:d.jsonl"
    _, props, _ = _parse_github(lines[3])
    assert "line" not in props


def test_sarif_validates_and_tracks_records() -> None:
    log = json.loads(render("sarif", FINDINGS, SUMMARY, rules=ALL_RULES, version="9.9"))
    jsonschema.validate(log, SARIF_MINIMAL_SCHEMA)
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "ftprep" and driver["version"] == "9.9"
    assert [r["id"] for r in driver["rules"]] == [r.code for r in ALL_RULES]
    l001 = driver["rules"][[r["id"] for r in driver["rules"]].index("L001")]
    assert "Fix:" in l001["help"]["text"]
    results = run["results"]
    assert [r["ruleId"] for r in results] == [f.code for f in FINDINGS]
    assert [r["level"] for r in results] == ["error", "warning", "note", "error", "warning"]
    first = results[0]
    assert driver["rules"][first["ruleIndex"]]["id"] == "L001"
    physical = first["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"] == {
        "uri": "data/train%20set.jsonl",
        "uriBaseId": "%SRCROOT%",
    }
    assert physical["region"] == {"startLine": 3, "startColumn": 17}
    assert "region" not in results[3]["locations"][0]["physicalLocation"]
    assert results[3]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "file:///abs/missing.jsonl"
    )
    fingerprints = [r["partialFingerprints"]["ftprepRecord/v1"] for r in results]
    assert fingerprints[0] == "00000000000000aa:L001:"
    assert len(set(fingerprints)) == len(fingerprints)
    assert results[4]["relatedLocations"][0]["physicalLocation"]["region"]["startLine"] == 2


def test_sarif_fingerprint_ignores_the_line() -> None:
    moved = Finding(
        BROKEN.code,
        BROKEN.severity,
        BROKEN.message,
        Location(BROKEN.path, line=40, column=17),
        fingerprint=BROKEN.fingerprint,
    )
    before, after = (
        json.loads(render("sarif", [f], SUMMARY, rules=ALL_RULES, version="1"))["runs"][0][
            "results"
        ][0]
        for f in (BROKEN, moved)
    )
    assert before["partialFingerprints"] == after["partialFingerprints"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_render_every_format_with_no_findings(fmt: str) -> None:
    clean = {**SUMMARY, "errors": 0, "warnings": 0, "infos": 0}
    out = render(fmt, [], clean, rules=ALL_RULES, version="1")
    if fmt in ("json", "sarif"):
        json.loads(out)
    elif fmt == "gitlab":
        assert json.loads(out) == []
    elif fmt == "junit":
        assert ElementTree.fromstring(out).get("tests") == "0"
    else:
        assert out == ""


def test_render_rejects_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown format"):
        render("xml", [], SUMMARY)


def test_a_file_name_that_is_not_utf8_renders_in_every_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Linux file names are bytes; Python hands a non-UTF-8 one over with lone surrogates,
    which JSON encoders refuse. Every format shows it escaped instead of crashing."""
    folder = tmp_path / os.fsdecode(b"caf\xe9")
    folder.mkdir()
    name = folder / os.fsdecode(b"d\xe9j\xe0.jsonl")
    name.write_bytes(b'{"messages": [}\n')
    shown = f"{tmp_path}/caf\\xe9/d\\xe9j\\xe0.jsonl"
    for fmt in FORMATS:
        code = main(["check", str(name), "--select", "L", "--format", fmt])
        out, err = capsys.readouterr()
        assert code == 1 and "internal error" not in err, fmt
        if fmt == "json":
            assert json.loads(out)["diagnostics"][0]["path"] == shown
        elif fmt in ("jsonl", "json-lines"):
            assert json.loads(out)["path"] == shown
        elif fmt == "gitlab":
            assert json.loads(out)[0]["location"]["path"] == shown
        elif fmt == "junit":
            suite = ElementTree.fromstring(out).find("testsuite")
            assert suite is not None and suite.get("name") == shown
        elif fmt == "sarif":
            (result,) = json.loads(out)["runs"][0]["results"]
            uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            assert uri == f"{tmp_path.as_uri()}/caf%E9/d%E9j%E0.jsonl"
        else:
            assert shown in out
    baseline = tmp_path / "baseline.json"
    assert main(["baseline", "write", str(folder), "--baseline", str(baseline)]) == 0
    assert "caf\\\\xe9/d\\\\xe9j\\\\xe0.jsonl" in baseline.read_text()
    assert main(["check", str(name), "--baseline", str(baseline)]) == 0


def test_relative_sarif_uris_are_percent_encoded() -> None:
    finding = Finding("L001", Severity.ERROR, "x", Location("data/train set é.jsonl", line=1))
    log = json.loads(render("sarif", [finding], SUMMARY, rules=ALL_RULES, version="0"))
    location = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {
        "uri": "data/train%20set%20%C3%A9.jsonl",
        "uriBaseId": "%SRCROOT%",
    }


# --- streaming ------------------------------------------------------------------------------

CLI_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cli"


def _real_findings() -> tuple[list[Finding], dict[str, int]]:
    from ftprep.config import Config
    from ftprep.validate.check import run_check

    paths = sorted(str(p) for p in CLI_FIXTURES.iterdir() if p.suffix != ".md")
    result = run_check(paths, Config(select=["ALL"], workers=1))
    assert len(result.findings) > 10
    return result.findings, result.summary()


def _whole(document: object) -> str:
    option = orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2
    return orjson.dumps(document, option=option).decode() + "\n"


def test_streamed_documents_equal_the_whole_document_dumped_at_once() -> None:
    """json and sarif are written finding by finding, yet read exactly as the document
    dumped in one piece (as they were before streaming)."""
    findings, summary = _real_findings()
    for some in (findings, findings[:1], []):
        streamed = render("json", some, summary)
        assert streamed == _whole({"diagnostics": [f.to_dict() for f in some], "summary": summary})
        sarif = json.loads(render("sarif", some, summary, rules=ALL_RULES, version="1"))
        results = sarif["runs"][0]["results"]
        assert render("sarif", some, summary, rules=ALL_RULES, version="1") == _whole(sarif)
        assert [r["ruleId"] for r in results] == [f.code for f in some]
        assert render("gitlab", some, summary) == _whole(json.loads(render("gitlab", some, {})))


class _Tally(list[Finding]):
    """A list of findings that counts how far it has been read."""

    read = 0

    def __iter__(self) -> Iterator[Finding]:
        self.read = 0  # junit counts findings per file in a first pass
        for finding in super().__iter__():
            self.read += 1
            yield finding


class _Recorder(io.StringIO):
    """A stream that notes how many findings had been read at each write."""

    def __init__(self, findings: _Tally) -> None:
        super().__init__()
        self.findings, self.reads = findings, []

    def write(self, text: str) -> int:
        self.reads.append(self.findings.read)
        return super().write(text)


@pytest.mark.parametrize("fmt", FORMATS)
def test_findings_are_written_as_they_are_rendered(fmt: str) -> None:
    findings, summary = _real_findings()
    tally = _Tally(findings)
    out = _Recorder(tally)
    write_findings(fmt, tally, summary, out, rules=ALL_RULES, version="1")
    # Output goes out while findings are still being read: never one document at the end.
    assert len({reads for reads in out.reads if 0 < reads < len(findings)}) >= len(findings) - 1
    assert out.getvalue() == render(fmt, findings, summary, rules=ALL_RULES, version="1")


def test_writing_holds_one_finding_at_a_time() -> None:
    """The memory a format needs beyond the findings does not grow with them: writing 20,000
    findings (a 12 MB JSON document) peaks no higher than writing 2,000 (SARIF's constant
    part, every rule's documentation, aside)."""
    findings, summary = _real_findings()

    def peak(fmt: str, count: int) -> int:
        many = findings * (count // len(findings))
        sink = _Discard()
        tracemalloc.start()
        write_findings(fmt, many, summary, sink, rules=ALL_RULES, version="1")
        _size, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert sink.written > len(many) * 200  # the document really is large
        return top

    for fmt in ("json", "jsonl", "sarif"):
        peak(fmt, 20_000)  # a first run may grow interpreter-wide tables once (interned names)
        small, large = peak(fmt, 2_000), peak(fmt, 20_000)
        assert large - small < 100_000, (fmt, small, large)


class _Discard(io.TextIOBase):
    """A text stream that counts what it is given and keeps nothing."""

    written = 0

    def write(self, text: str) -> int:
        self.written += len(text)
        return len(text)
