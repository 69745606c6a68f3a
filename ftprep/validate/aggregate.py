"""Repeated findings folded into one, as they stream by.

Two shapes of repetition make a report unreadable and a check's memory grow with the input:

- a **run**: the same finding (same code, severity, message shape, hint shape and place in
  the record) on consecutive lines, such as a million blank lines, becomes one finding
  placed at the run's first line, with :attr:`~ftprep.findings.Finding.count` and
  :attr:`~ftprep.findings.Finding.last_line`;
- a **file-wide condition**: the findings of a rule that declares ``per_file_summary``
  (something the way the file was made causes: raw template tokens in every record, tool
  calls in a file that declares no tools) become one finding per file and message shape
  once there are more than :data:`SUMMARY_AFTER` of them, placed at the first, with the
  count and the next few lines as ``related`` locations.

The :class:`Aggregator` holds at most one open run per key and :data:`SUMMARY_AFTER`
findings per file-wide key, so memory stays bounded however many findings stream through.
Folding is associative: folding the output of several pieces of a file (shards) again gives
what folding the whole file at once gives, which is how the engine stitches shards.

A folded finding's fingerprint is the sum (modulo 2**64) of its members' record
fingerprints: editing a record of the run makes it new to a baseline, inserting records
elsewhere does not.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field, replace

from ftprep.findings import Finding, Location, plural

SUMMARY_AFTER = 5
"""A file-wide condition is shown as separate findings up to this many times per file, and
as one finding with a count beyond it; the summary lists the first this many places."""

EACH = "message_each"
"""``data`` key of a folded finding: the message of its first member, as the rule wrote it."""
SAME = "same_message"
"""``data`` key of a folded finding: whether every member's message was that same text."""

_VALUES = re.compile(r"'[^']*'|\"[^\"]*\"|\d+(?:[.,]\d+)*")
_MASK = (1 << 64) - 1

RunKey = tuple[str, str, str, str, str, int | None, str | None]
WideKey = tuple[str, str, str, str]


def shape(text: str | None) -> str:
    """``text`` with its quoted values and numbers blanked: what repeats of one finding
    share (``calls 'f', but the example declares no tools`` and the same of ``'g'``)."""
    return "" if text is None else _VALUES.sub("…", text)


def _add_fingerprints(first: str | None, second: str | None) -> str | None:
    if first is None or second is None:
        return None
    return f"{(int(first, 16) + int(second, 16)) & _MASK:016x}"


@dataclass(slots=True)
class _Group:
    """Findings folded so far under one key: the first, how many, and what varies."""

    first: Finding
    count: int
    last_line: int | None
    fingerprint: str | None
    alike: bool = True
    """Whether every member's message is the same text (not only the same shape)."""
    places: list[Location] = field(default_factory=list)

    @classmethod
    def of(cls, finding: Finding) -> _Group:
        """A group holding ``finding`` (itself possibly a folded finding)."""
        base = finding.data.get(EACH, finding.message)
        first = replace(finding, message=base) if finding.count > 1 else finding
        return cls(
            first,
            finding.count,
            finding.last_line if finding.last_line is not None else finding.line,
            finding.fingerprint,
            finding.data.get(SAME, True),
            [finding.location, *finding.related][:SUMMARY_AFTER]
            if finding.count > 1
            else [finding.location],
        )

    def fold(self, finding: Finding) -> None:
        """Add ``finding`` (placed after every member so far) to the group."""
        other = _Group.of(finding)
        self.count += other.count
        self.last_line = other.last_line
        self.fingerprint = _add_fingerprints(self.fingerprint, other.fingerprint)
        self.alike = self.alike and other.alike and other.first.message == self.first.message
        if len(self.places) < SUMMARY_AFTER:
            self.places.extend(other.places[: SUMMARY_AFTER - len(self.places)])

    def run(self) -> Finding:
        """The group as one finding about consecutive lines."""
        first = self.first
        if self.count == 1:
            return first
        lines = f"lines {first.line:,}-{self.last_line:,}"
        message = (
            f"{first.message} ({self.count:,} times, on {lines})"
            if self.alike
            else f"{first.message} (and {self.count - 1:,} more like it, on {lines})"
        )
        return self._folded(message, first.related, self.last_line)

    def summary(self) -> Finding:
        """The group as one finding about the whole file."""
        first = self.first
        if self.count == 1:
            return first
        places = self.places
        shown = ", ".join(str(p.line) for p in places if p.line is not None)
        where = f"; first on lines {shown}" if shown else ""
        like = "the same" if self.alike else "alike"
        message = f"{first.message} ({plural(self.count, 'finding')} {like} in this file{where})"
        return self._folded(message, tuple(places[1:]), None)

    def _folded(
        self, message: str, related: tuple[Location, ...], last_line: int | None
    ) -> Finding:
        first = self.first
        data = {**first.data, EACH: first.message, SAME: self.alike}
        return replace(
            first,
            message=message,
            count=self.count,
            last_line=last_line,
            related=related,
            fingerprint=self.fingerprint,
            data=data,
        )


class Aggregator:
    """Folds the findings of one file as they come, record after record.

    ``file_wide``: codes of the rules whose findings are summarised per file
    (``per_file_summary``). Feed each record's findings with :meth:`add` in line order
    (findings already folded, from a piece of the file, may be fed too), then :meth:`finish`;
    both yield the findings that are complete.
    """

    def __init__(self, file_wide: Collection[str]) -> None:
        self.file_wide = file_wide
        self.runs: dict[RunKey, _Group] = {}
        self.held: dict[WideKey, list[Finding]] = {}
        self.wide: dict[WideKey, _Group] = {}
        self.line = 0
        """The line the last finding fed starts on."""

    def add(self, findings: Iterable[Finding]) -> Iterator[Finding]:
        """Take findings, in the order of the lines they start on, and yield those that are
        complete."""
        for finding in findings:
            if finding.code in self.file_wide:
                self._add_wide(finding)
                continue
            line = finding.line
            if line is None:
                yield finding
                continue
            if line != self.line:
                # A run that ends before the line above can never continue: close it. The
                # open runs are those of the last line or two, so this stays short.
                self.line = line
                for done in [k for k, g in self.runs.items() if (g.last_line or 0) < line - 1]:
                    yield self.runs.pop(done).run()
            loc = finding.location
            key: RunKey = (
                loc.path,
                finding.code,
                finding.severity.value,
                shape(finding.data.get(EACH, finding.message)),
                shape(finding.hint),
                loc.message,
                loc.pointer,
            )
            group = self.runs.get(key)
            if group is not None and group.last_line == line - 1:
                group.fold(finding)
                continue
            if group is not None:
                yield group.run()
            self.runs[key] = _Group.of(finding)

    def _add_wide(self, finding: Finding) -> None:
        key: WideKey = (
            finding.path,
            finding.code,
            finding.severity.value,
            shape(finding.data.get(EACH, finding.message)),
        )
        group = self.wide.get(key)
        if group is not None:
            group.fold(finding)
            return
        held = self.held.setdefault(key, [])
        held.append(finding)
        if sum(f.count for f in held) > SUMMARY_AFTER:
            group = _Group.of(held[0])
            for other in held[1:]:
                group.fold(other)
            self.wide[key] = group
            del self.held[key]

    def finish(self) -> Iterator[Finding]:
        """Yield everything still held back: open runs, and file-wide findings (one summary
        where there were more than :data:`SUMMARY_AFTER`, else each of them)."""
        for group in self.runs.values():
            yield group.run()
        self.runs.clear()
        for held in self.held.values():
            yield from held
        self.held.clear()
        for group in self.wide.values():
            yield group.summary()
        self.wide.clear()


def aggregate(findings: Iterable[Finding], file_wide: Collection[str]) -> Iterator[Finding]:
    """Fold ``findings`` (of one file, in line order), as :class:`Aggregator` does."""
    folder = Aggregator(file_wide)
    yield from folder.add(findings)
    yield from folder.finish()
