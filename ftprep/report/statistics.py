r"""``--statistics``: how many findings of each code, as ruff prints them.

>>> from ftprep.findings import Finding, Location, Severity
>>> found = [Finding("L005", Severity.WARNING, "blank line", Location("a.jsonl", 3))] * 2
>>> render_statistics(statistics(found))
'2\tL005\t[*] blank-line\n'
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TextIO

import orjson

from ftprep.findings import Finding
from ftprep.rules.registry import rule_for

STATISTICS_FORMATS = ("text", "json")
"""Formats :func:`write_statistics` writes; every other output format shows statistics as
JSON (as ruff does)."""


@dataclass(frozen=True, slots=True)
class Statistic:
    """The findings of one code: how many, and whether ``--fix`` repairs them."""

    code: str
    name: str
    summary: str
    count: int
    """Occurrences (a finding folded from a run counts each of its lines)."""
    fix: str | None
    """``"safe"``, ``"unsafe"`` (needs ``--unsafe-fixes``) or ``None``."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with ruff's ``fixable`` flag beside the safety."""
        return {**asdict(self), "fixable": self.fix is not None}


def statistics(findings: Iterable[Finding]) -> list[Statistic]:
    """One :class:`Statistic` per code found, most frequent first (then by code); a folded
    finding counts each occurrence it stands for."""
    counts: Counter[str] = Counter()
    for f in findings:
        counts[f.code] += f.count
    out = []
    for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        try:
            rule = rule_for(code)
        except KeyError:  # not a registered rule (a finding made outside the registry)
            out.append(Statistic(code, code, "", count, None))
            continue
        out.append(Statistic(code, rule.name, rule.summary, count, rule.fix_safety()))
    return out


def write_statistics(stats: Sequence[Statistic], out: TextIO, fmt: str = "text") -> None:
    """``count<TAB>code<TAB>[*] name`` lines as ruff prints them (``[*]`` for codes ``--fix``
    repairs, ``[-]`` for those only ``--unsafe-fixes`` does, the marks only when some code has
    a fix), or with ``fmt="json"`` a JSON array of :meth:`Statistic.to_dict`."""
    if fmt == "json":
        data = [s.to_dict() for s in stats]
        out.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    count_width = max((len(str(s.count)) for s in stats), default=0)
    code_width = max((len(s.code) for s in stats), default=0)
    marks = any(s.fix for s in stats)
    for s in stats:
        mark = {"safe": "[*] ", "unsafe": "[-] ", None: "    "}[s.fix] if marks else ""
        out.write(f"{s.count:>{count_width}}\t{s.code:<{code_width}}\t{mark}{s.name}\n")


def render_statistics(stats: Sequence[Statistic], fmt: str = "text") -> str:
    """:func:`write_statistics` into a string."""
    buffer = io.StringIO()
    write_statistics(stats, buffer, fmt)
    return buffer.getvalue()
