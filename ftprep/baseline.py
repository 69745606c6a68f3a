"""Baselines: accept today's findings so that a check reports only new ones.

JSON Lines has no comments to put suppressions in, so a baseline keys each finding by the
file, the code and the content fingerprint of its record (as detect-secrets does), never by
line number: inserting or deleting other records does not disturb it, and editing a record
makes its findings new again. Findings about a whole file (too few examples) are keyed by
their code alone, so a changing count in their message does not make them new. A key may
occur several times (one record, two messages with the same problem); the baseline keeps
the count and suppresses at most that many.

The file is sorted JSON so that it diffs well::

    {"version": 1, "findings": {"data/train.jsonl": {"S001": {"9f2c...": 1}}}}
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from ftprep.findings import Finding, display_path
from ftprep.load.paths import InputError, check_input

VERSION = 1
DEFAULT_PATH = ".ftprep-baseline.json"
FILE_ANCHOR = "file"
"""The key of findings about a whole file rather than a record."""

Key = tuple[str, str, str]


class BaselineError(ValueError):
    """A baseline file is missing, unreadable or not a baseline."""


def _relative(path: str, root: Path) -> str:
    """``path`` relative to the baseline's folder, in POSIX form, so the baseline works from
    any working directory (a file name that is not UTF-8 as :func:`display_path` shows it)."""
    if path in ("-", "<memory>"):
        return path
    try:
        relative = Path(os.path.relpath(Path(path).resolve(), root)).as_posix()
    except ValueError:  # another drive on Windows
        relative = Path(path).resolve().as_posix()
    return display_path(relative)


def _anchor(finding: Finding) -> str:
    return finding.fingerprint or FILE_ANCHOR


@dataclass(slots=True)
class Baseline:
    """Accepted findings, counted per (path, code, fingerprint). ``root`` is the folder paths
    are relative to (the baseline file's folder)."""

    root: Path
    counts: Counter[Key] = field(default_factory=Counter)

    def key(self, finding: Finding) -> Key:
        """The key ``finding`` is accepted under."""
        return (_relative(finding.path, self.root), finding.code, _anchor(finding))

    @classmethod
    def from_findings(cls, findings: Iterable[Finding], root: Path) -> Baseline:
        """A baseline accepting every one of ``findings``."""
        baseline = cls(root.resolve())
        baseline.counts.update(baseline.key(f) for f in findings)
        return baseline

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> Baseline:
        """Read a baseline file; raises :class:`BaselineError` with the reason."""
        file = Path(path)
        try:
            check_input(str(path), "baseline")
        except InputError as err:  # /dev/zero would be read forever
            raise BaselineError(str(err)) from None
        try:
            document = orjson.loads(file.read_bytes())
        except FileNotFoundError:
            raise BaselineError(
                f"baseline file not found: {path} (create it with `ftprep baseline write`)"
            ) from None
        except OSError as err:
            raise BaselineError(f"cannot read baseline {path}: {err.strerror}") from None
        except orjson.JSONDecodeError as err:
            raise BaselineError(f"baseline {path} is not valid JSON: {err}") from None
        findings = document.get("findings") if isinstance(document, dict) else None
        if not isinstance(findings, dict) or document.get("version") != VERSION:
            raise BaselineError(f"{path} is not an ftprep baseline (version {VERSION})")
        baseline = cls(file.resolve().parent)
        try:
            for rel, codes in findings.items():
                for code, anchors in codes.items():
                    for anchor, count in anchors.items():
                        baseline.counts[(rel, code, anchor)] = int(count)
        except (AttributeError, TypeError, ValueError):
            raise BaselineError(f"baseline {path} is malformed") from None
        return baseline

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write the baseline as sorted, indented JSON (atomically)."""
        tree: dict[str, dict[str, dict[str, int]]] = {}
        for (rel, code, anchor), count in self.counts.items():
            if count > 0:
                tree.setdefault(rel, {}).setdefault(code, {})[anchor] = count
        document = {"version": VERSION, "findings": tree}
        from ftprep.write.files import write_atomic  # a check only reads baselines

        data = orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
        write_atomic(Path(path), data + b"\n")

    def __len__(self) -> int:
        return sum(self.counts.values())

    @property
    def paths(self) -> list[str]:
        """The files the baseline has entries for, as absolute paths, sorted."""
        return sorted({str(self.root / rel) for rel, _code, _anchor in self.counts})

    def filter(self, findings: Iterable[Finding]) -> tuple[list[Finding], int]:
        """The findings not in the baseline, in order, and how many were suppressed."""
        budget = Counter(self.counts)
        new: list[Finding] = []
        suppressed = 0
        for finding in findings:
            key = self.key(finding)
            if budget[key] > 0:
                budget[key] -= 1
                suppressed += 1
            else:
                new.append(finding)
        return new, suppressed

    def prune(self, findings: Iterable[Finding]) -> int:
        """Drop entries that no longer occur in ``findings`` (counts shrink to what still
        occurs; nothing new is added). Returns how many entries were dropped."""
        current = Counter(self.key(f) for f in findings)
        before = len(self)
        self.counts = Counter(
            {k: min(n, current[k]) for k, n in self.counts.items() if current[k] > 0}
        )
        return before - len(self)
