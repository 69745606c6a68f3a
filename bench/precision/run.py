"""Precision benchmark: how many of ftprep's findings on real data nobody tuned on are right.

Each dataset under ``data/`` (listed with its source and licence in ``datasets.json``) is
checked on its own with the default configuration (plus the field names a raw-pairs file
needs), through the library's :func:`ftprep.check`. From the findings, a deterministic sample
is drawn: every error-level finding, and up to 20 findings per code per file, chosen by a
seeded hash of the finding (so a rule change that adds or drops a few findings leaves the rest
of the sample in place). Each sampled finding is labelled by a person who read the record, in
``labels.jsonl``: ``true`` (a real defect), ``false`` (a false alarm) or ``debatable``, with a
one-line reason. Precision counts a debatable label as half.

    python bench/precision/run.py                      # precision per rule, overall, per dataset
    python bench/precision/run.py --markdown           # the same as Markdown (docs/precision.md)
    python bench/precision/run.py --unlabelled --show  # unlabelled sampled findings, with records
    python bench/precision/run.py --check              # exit 1 when a sampled finding has no label

A label is keyed by file, code, line, message index, JSON pointer and a short hash of the
record's content, so it survives a rule's rewording and follows its record, and a label whose
record changed no longer applies.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson

from ftprep import Config, Finding, Severity, check

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
MANIFEST = HERE / "datasets.json"
PER_CODE = 20
"""At most this many findings per code per file are sampled (errors: all of them)."""
SEED = "ftprep precision benchmark, issue 18"
VERDICTS = {"true": 1.0, "debatable": 0.5, "false": 0.0}


@dataclass(frozen=True, order=True)
class Key:
    """What a label is attached to."""

    file: str
    code: str
    line: int | None
    message: int | None
    pointer: str | None
    record: str
    """A short hash of the record's content (``-`` for a finding about the whole file)."""
    n: int = 0
    """The finding's rank among those sharing the fields above, in ftprep's order (one record
    can hold several phone numbers)."""

    def as_dict(self) -> dict[str, Any]:
        """The key's fields, as written in ``labels.jsonl``."""
        return {
            "file": self.file,
            "code": self.code,
            "line": self.line,
            "message": self.message,
            "pointer": self.pointer,
            "record": self.record,
            "n": self.n,
        }


@dataclass(frozen=True)
class Label:
    """A person's verdict on one finding."""

    verdict: str
    reason: str


@dataclass(frozen=True)
class Sampled:
    """A sampled finding, with the record it points into."""

    dataset: str
    key: Key
    finding: Finding
    raw: Any
    """The record as written in the file (``None`` for a finding about the whole file)."""


def manifest() -> dict[str, dict[str, Any]]:
    """``datasets.json``: per dataset, its file, source, licence, shape and configuration."""
    data: dict[str, dict[str, Any]] = json.loads(MANIFEST.read_text(encoding="utf-8"))
    return data


class Records:
    """The raw records of one data file, found by a finding's location."""

    def __init__(self, path: Path) -> None:
        self.path = path
        text = path.read_bytes()
        if path.name.endswith(".gz"):
            text = gzip.decompress(text)
        self.lines: list[bytes] = []
        self.array: list[Any] = []
        if path.name.endswith(".json"):
            self.array = orjson.loads(text)
        else:
            self.lines = text.splitlines()

    def get(self, finding: Finding) -> Any:
        """The record ``finding`` points into, or ``None`` for a finding about the file."""
        loc = finding.location
        if self.array:
            return None if loc.record is None else self.array[loc.record]
        if loc.line is None or not 0 < loc.line <= len(self.lines):
            return None
        line = self.lines[loc.line - 1]
        try:
            return orjson.loads(line)
        except orjson.JSONDecodeError:
            return line.decode("utf-8", "replace")


def record_hash(raw: Any) -> str:
    """A short, stable hash of a record's content (key order does not matter)."""
    if raw is None:
        return "-"
    return hashlib.sha256(orjson.dumps(raw, option=orjson.OPT_SORT_KEYS)).hexdigest()[:12]


def findings_of(name: str, spec: dict[str, Any]) -> list[Finding]:
    """The findings of a check of the dataset's file on its own, default configuration."""
    result = check([str(DATA / spec["file"])], config=Config(**spec["config"]), progress=False)
    return result.findings


def _rank(key: Key, finding: Finding) -> str:
    fields = key.as_dict()
    if not key.n:  # a finding alone on its record ranks without the rank field
        del fields["n"]
    blob = json.dumps([SEED, fields, finding.message], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def sample(name: str, spec: dict[str, Any], findings: Sequence[Finding]) -> list[Sampled]:
    """Every error, and up to :data:`PER_CODE` other findings per code, of one dataset."""
    records = Records(DATA / spec["file"])
    by_code: dict[str, list[tuple[str, Sampled]]] = defaultdict(list)
    out: list[Sampled] = []
    seen: Counter[Key] = Counter()
    for finding in findings:
        raw = records.get(finding)
        loc = finding.location
        key = Key(spec["file"], finding.code, loc.line, loc.message, loc.pointer, record_hash(raw))
        seen[key] += 1
        key = replace(key, n=seen[key] - 1)
        item = Sampled(name, key, finding, raw)
        if finding.severity is Severity.ERROR:
            out.append(item)
        else:
            by_code[finding.code].append((_rank(key, finding), item))
    for ranked in by_code.values():
        out.extend(item for _, item in sorted(ranked, key=lambda pair: pair[0])[:PER_CODE])
    return sorted(out, key=lambda s: (s.key, s.finding.message))


def key_of(row: dict[str, Any]) -> Key:
    """The key of a ``labels.jsonl`` row."""
    fields = (row["file"], row["code"], row["line"], row["message"], row["pointer"])
    return Key(*fields, row["record"], row.get("n", 0))


def label_files() -> list[Path]:
    """``labels.jsonl`` and any ``labels-*.jsonl`` beside it (labels written apart, merged here)."""
    return sorted(HERE.glob("labels*.jsonl"))


def read_labels(paths: Iterable[Path] | None = None) -> dict[Key, Label]:
    """Every label file as one mapping; a key given twice is an error (labels must not clash)."""
    labels: dict[Key, Label] = {}
    for path in label_files() if paths is None else paths:
        read_label_file(path, labels)
    return labels


def read_label_file(path: Path, labels: dict[Key, Label]) -> None:
    """Add the labels of one file to ``labels``."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        key = key_of(row)
        if row["label"] not in VERDICTS:
            raise ValueError(f"{path.name}:{number}: unknown label {row['label']!r}")
        if not row.get("reason", "").strip():
            raise ValueError(f"{path.name}:{number}: a label needs a reason")
        if key in labels:
            raise ValueError(f"{path.name}:{number}: {key} is labelled twice")
        labels[key] = Label(row["label"], row["reason"])


def label_row(item: Sampled, verdict: str, reason: str) -> dict[str, Any]:
    """One line of ``labels.jsonl`` for ``item`` (the finding's text kept for readers)."""
    return {
        **item.key.as_dict(),
        "label": verdict,
        "reason": reason,
        "severity": item.finding.severity.value,
        "finding": item.finding.message[:160],
    }


def prune(stale: set[Key]) -> None:
    """Rewrite the label files without the labels of ``stale`` keys (a rule no longer makes
    those findings, or the sample no longer draws them), keeping the others in order."""
    for path in label_files():
        kept = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if key_of(json.loads(line)) not in stale:
                kept.append(line + "\n")
        path.write_text("".join(kept), encoding="utf-8")


def collect(names: Iterable[str] | None = None) -> tuple[list[Sampled], dict[str, int]]:
    """The sample over every dataset (or ``names``), and the finding count per dataset."""
    specs = manifest()
    sampled: list[Sampled] = []
    totals: dict[str, int] = {}
    for name in names or specs:
        found = findings_of(name, specs[name])
        totals[name] = len(found)
        sampled.extend(sample(name, specs[name], found))
    return sampled, totals


@dataclass
class Tally:
    """Verdict counts of a group of sampled findings."""

    true: int = 0
    false: int = 0
    debatable: int = 0
    unlabelled: int = 0

    def add(self, label: Label | None) -> None:
        """Count one sampled finding."""
        if label is None:
            self.unlabelled += 1
        else:
            setattr(self, label.verdict, getattr(self, label.verdict) + 1)

    def merge(self, other: Tally) -> None:
        """Add ``other``'s counts to this one."""
        self.true += other.true
        self.false += other.false
        self.debatable += other.debatable
        self.unlabelled += other.unlabelled

    @property
    def labelled(self) -> int:
        """Sampled findings with a label."""
        return self.true + self.false + self.debatable

    @property
    def precision(self) -> float | None:
        """Share of labelled findings that are right, a debatable one counting half."""
        if not self.labelled:
            return None
        return (self.true + 0.5 * self.debatable) / self.labelled

    def cells(self) -> list[str]:
        """``sampled, true, false, debatable, unlabelled, precision`` as table cells."""
        counts = (self.labelled + self.unlabelled, self.true, self.false, self.debatable)
        precision = "-" if self.precision is None else f"{self.precision:.2f}"
        return [*map(str, counts), str(self.unlabelled), precision]


TALLY_HEAD = ["sampled", "true", "false", "debatable", "unlabelled", "precision"]


def tables(
    sampled: Sequence[Sampled], labels: dict[Key, Label], totals: dict[str, int]
) -> tuple[list[list[str]], list[list[str]], list[list[str]]]:
    """Precision per rule, per dataset, and per dataset and rule, as tables of cells."""
    per_code: dict[str, Tally] = defaultdict(Tally)
    per_set: dict[str, Tally] = defaultdict(Tally)
    per_pair: dict[tuple[str, str], Tally] = defaultdict(Tally)
    severities: dict[str, set[str]] = defaultdict(set)
    for item in sampled:
        label = labels.get(item.key)
        for tally in (per_code[item.key.code], per_set[item.dataset]):
            tally.add(label)
        per_pair[item.dataset, item.key.code].add(label)
        severities[item.key.code].add(item.finding.severity.value)
    overall = Tally()
    per_severity: dict[str, Tally] = defaultdict(Tally)
    rules = [["rule", "severity", *TALLY_HEAD, "files", "per-file mean"]]
    for code, tally in sorted(per_code.items()):
        overall.merge(tally)
        per_severity["/".join(sorted(severities[code]))].merge(tally)
        per_file = [t.precision for (_, c), t in per_pair.items() if c == code]
        known = [p for p in per_file if p is not None]
        mean = f"{sum(known) / len(known):.2f}" if known else "-"
        severity = "/".join(sorted(severities[code]))
        rules.append([code, severity, *tally.cells(), str(len(per_file)), mean])
    for severity in ("error", "warning", "info"):
        if severity in per_severity:
            rules.append([f"all {severity}s", severity, *per_severity[severity].cells(), "", ""])
    rules.append(["all", "", *overall.cells(), str(len(per_set)), ""])
    sets = [["dataset", "findings", *TALLY_HEAD]]
    sets.extend([name, str(totals[name]), *per_set[name].cells()] for name in sorted(totals))
    pairs = [["dataset", "rule", *TALLY_HEAD]]
    pairs.extend([name, code, *tally.cells()] for (name, code), tally in sorted(per_pair.items()))
    return rules, sets, pairs


def render_text(table: list[list[str]]) -> str:
    """A table as aligned plain text."""
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = ("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in table)
    return "\n".join(line.rstrip() for line in lines)


def render_markdown(table: list[list[str]]) -> str:
    """A table as GitHub Markdown."""

    def row(cells: list[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    lines = [row(table[0]), "|" + "---|" * len(table[0])]
    lines.extend(row(cells) for cells in table[1:])
    return "\n".join(lines)


def datasets_table() -> list[list[str]]:
    """The datasets: shape, language, size and source."""
    rows = [["dataset", "shape", "language", "records", "written by", "source", "licence"]]
    for name, spec in manifest().items():
        rows.append(
            [
                name,
                spec["shape"],
                spec["language"],
                f"{spec['records']:,}",
                spec["origin"],
                f"{spec['repo']} @ {spec['commit'][:8]}, `{spec['path']}`",
                spec["licence"],
            ]
        )
    return rows


def pointed_text(raw: Any, pointer: str | None) -> Any:
    """The deepest part of ``raw`` that a JSON pointer names (``/chosen/0/content`` names the
    ``chosen`` string of a record whose ``chosen`` is a whole transcript)."""
    node = raw
    for part in (pointer or "").lstrip("/").split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            break
    return node


def show(item: Sampled, width: int) -> str:
    """A sampled finding with its record, for a person who labels it."""
    f, k = item.finding, item.key
    head = f"{k.file}:{k.line} {f.code} [{f.severity.value}] {f.message}"
    where = f"  at {k.pointer} (message {k.message}) record {k.record}"
    part = pointed_text(item.raw, k.pointer)
    text = part if isinstance(part, str) else json.dumps(part, ensure_ascii=False)
    # Keep more of the end: cut-off answers and refusals are seen there.
    body = text if len(text) <= width else f"{text[: width // 3]} [...] {text[-2 * width // 3 :]}"
    return f"{head}\n{where}\n  > " + body.replace("\n", "\n  > ")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print what was asked."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", action="append", help="only this dataset (repeatable)")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--unlabelled", action="store_true", help="list unlabelled findings")
    parser.add_argument("--show", action="store_true", help="with --unlabelled: the record too")
    parser.add_argument("--width", type=int, default=1200, help="characters of record shown")
    parser.add_argument("--check", action="store_true", help="exit 1 if any finding is unlabelled")
    parser.add_argument(
        "--prune", action="store_true", help="drop labels of findings no longer sampled"
    )
    args = parser.parse_args(argv)

    sampled, totals = collect(args.dataset)
    labels = read_labels()
    unlabelled = [s for s in sampled if s.key not in labels]
    if args.unlabelled:
        for item in unlabelled:
            print(show(item, args.width) if args.show else f"{item.key} {item.finding.message}")
        return 0
    rules, sets, pairs = tables(sampled, labels, totals)
    render = render_markdown if args.markdown else render_text
    if args.markdown:
        print("### Datasets\n\n" + render(datasets_table()) + "\n")
    print(("### Precision per rule\n\n" if args.markdown else "") + render(rules) + "\n")
    print(("### Precision per dataset\n\n" if args.markdown else "") + render(sets) + "\n")
    print(("### Precision per dataset and rule\n\n" if args.markdown else "") + render(pairs))
    keys = {s.key for s in sampled}
    checked = {manifest()[name]["file"] for name in totals}
    stale = [k for k in labels if k.file in checked and k not in keys]
    if args.prune and stale:
        prune(set(stale))
    print(f"\n{len(sampled)} sampled findings, {len(unlabelled)} unlabelled, {len(stale)} stale")
    if unlabelled:
        print("unlabelled (label them in labels.jsonl; --unlabelled --show prints the records):")
        for item in unlabelled[:50]:
            print(f"  {item.key.file}:{item.key.line} {item.key.code} {item.finding.message[:100]}")
    return 1 if args.check and unlabelled else 0


if __name__ == "__main__":
    sys.exit(main())
