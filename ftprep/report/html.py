"""Rendering a :class:`~ftprep.report.report.Report` for people: a standalone HTML page, an
HTML fragment for notebooks (styles scoped to ``.ftprep-report``) and plain text.

The page has no external asset and no script: styles are inline, charts are inline SVG
(:mod:`ftprep.report.svg`), so it works offline and from a CI artifact. Output is
deterministic (no timestamps), and every string from the data is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from ftprep.findings import Finding, Location, Severity, display_path, plural, printable
from ftprep.report import svg
from ftprep.report.report import Report

MAX_BARS = 15
"""Codes shown in the findings chart (the table lists every code)."""
MAX_CLUSTERS = 20
"""Duplicate clusters listed (the largest)."""

SEVERITY_COLOR = {Severity.ERROR: "#c0362c", Severity.WARNING: "#b7791f", Severity.INFO: "#3b6fb6"}

CSS = """
.ftprep-report {
  --ink: #1f2933; --muted: #616e7c; --line: #e4e7eb; --card: #ffffff; --soft: #f5f7fa;
  --accent: #2f5f98;
  --error: #b42318; --error-bg: #fef3f2; --warning: #93370d; --warning-bg: #fffaeb;
  --info: #175cd3; --info-bg: #eff8ff; --ok: #067647; --ok-bg: #ecfdf3;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
    sans-serif;
  font-size: 15px; line-height: 1.5; color: var(--ink);
  max-width: 1040px; margin: 0 auto; text-align: left;
}
.ftprep-report * { box-sizing: border-box; }
.ftprep-report header { padding: 8px 0 4px; }
.ftprep-report h1 { font-size: 28px; line-height: 1.2; margin: 0 0 6px; font-weight: 650; }
.ftprep-report h2 {
  font-size: 18px; margin: 0 0 12px; font-weight: 650; border: 0; padding: 0;
}
.ftprep-report h3 { font-size: 15px; margin: 18px 0 6px; font-weight: 600; }
.ftprep-report p { margin: 6px 0; }
.ftprep-report .muted { color: var(--muted); }
.ftprep-report p.note { color: var(--muted); font-size: 13px; }
.ftprep-report.fragment { background: #f5f7fa; padding: 12px 18px; border-radius: 12px; }
.ftprep-report section {
  background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 20px 24px; margin: 16px 0;
}
.ftprep-report .stats {
  display: grid; grid-template-columns: repeat(auto-fit, minmax(130px, 1fr)); gap: 12px;
  margin: 16px 0;
}
.ftprep-report .stat {
  background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 12px 16px;
}
.ftprep-report .stat .value {
  display: block; font-size: 24px; font-weight: 650; font-variant-numeric: tabular-nums;
}
.ftprep-report .stat .label {
  display: block; color: var(--muted); font-size: 12px; text-transform: uppercase;
  letter-spacing: 0.05em;
}
.ftprep-report .stat.error .value { color: var(--error); }
.ftprep-report .stat.warning .value { color: var(--warning); }
.ftprep-report .badge {
  display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px;
  font-weight: 600; white-space: nowrap;
}
.ftprep-report .badge.error { color: var(--error); background: var(--error-bg); }
.ftprep-report .badge.warning { color: var(--warning); background: var(--warning-bg); }
.ftprep-report .badge.info { color: var(--info); background: var(--info-bg); }
.ftprep-report .badge.met { color: var(--ok); background: var(--ok-bg); }
.ftprep-report .badge.unmet { color: var(--muted); background: var(--soft); }
.ftprep-report .goals {
  display: grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); gap: 12px;
  margin: 4px 0 16px;
}
.ftprep-report .goal {
  border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px;
  background: var(--soft);
}
.ftprep-report .goal.met { background: var(--ok-bg); border-color: #abefc6; }
.ftprep-report .goal strong { display: block; }
.ftprep-report ul.advice { list-style: none; padding: 0; margin: 0; }
.ftprep-report ul.advice li {
  border-left: 4px solid var(--info); background: var(--info-bg); border-radius: 4px;
  padding: 8px 12px; margin: 8px 0;
}
.ftprep-report ul.advice li.error { border-color: var(--error); background: var(--error-bg); }
.ftprep-report ul.advice li.warning {
  border-color: #dc9a2c; background: var(--warning-bg);
}
.ftprep-report ul.advice li span { display: block; color: var(--muted); font-size: 14px; }
.ftprep-report .scroll { overflow-x: auto; }
.ftprep-report table { border-collapse: collapse; width: 100%; font-size: 14px; margin: 0; }
.ftprep-report th {
  text-align: left; color: var(--muted); font-weight: 600; font-size: 12px;
  text-transform: uppercase; letter-spacing: 0.04em; border-bottom: 2px solid var(--line);
  padding: 6px 8px; background: none;
}
.ftprep-report td {
  border-bottom: 1px solid var(--line); padding: 7px 8px; vertical-align: top;
  text-align: left; background: none;
}
.ftprep-report tr:last-child td { border-bottom: 0; }
.ftprep-report th.num, .ftprep-report td.num {
  text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap;
}
.ftprep-report code {
  font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", monospace;
  font-size: 13px; background: var(--soft); padding: 1px 4px; border-radius: 4px;
}
.ftprep-report details { margin-top: 4px; }
.ftprep-report summary { cursor: pointer; color: var(--accent); font-size: 13px; }
.ftprep-report ol.locations { margin: 6px 0 0; padding-left: 20px; font-size: 13px; }
.ftprep-report ol.locations li { margin: 3px 0; overflow-wrap: anywhere; }
.ftprep-report .chart { margin: 8px 0 4px; }
.ftprep-report .chart svg { display: block; max-width: 100%; height: auto; }
.ftprep-report footer { color: var(--muted); font-size: 13px; padding: 8px 0 24px; }
@media (max-width: 640px) {
  .ftprep-report section { padding: 14px; }
  .ftprep-report h1 { font-size: 22px; }
}
"""

PAGE_CSS = """
html { background: #f5f7fa; }
body { margin: 0; padding: 24px 20px; }
"""


def _e(value: object) -> str:
    return escape(str(value))


def _num(value: int) -> str:
    return f"{value:,}"


def _path(path: str) -> str:
    """An escaped path that may wrap after its slashes in narrow table cells."""
    return f"<code>{_e(display_path(path)).replace('/', '/<wbr>')}</code>"


def _badge(severity: Severity) -> str:
    return f'<span class="badge {severity.value}">{severity.value}</span>'


def _where(location: Location, paths: tuple[str, ...]) -> str:
    """``path:line:column (record n) /pointer``; the path is left out when there is only
    one input."""
    parts = [] if paths == (location.path,) else [location.path]
    if location.line is not None:
        parts.append(f"line {location.line}" if not parts else str(location.line))
        if location.column is not None:
            parts.append(str(location.column))
    text = ":".join(parts) or location.path
    if location.record is not None:
        text += f" (record {location.record})"
    if location.pointer:
        text += f" {location.pointer}"
    return text


def _table(head: Iterable[tuple[str, bool]], rows: Iterable[Iterable[str]]) -> str:
    """A table from header cells ``(label, numeric)`` and rows of ready HTML cells."""
    head = list(head)
    th = "".join(f"<th{' class=num' if num else ''}>{_e(label)}</th>" for label, num in head)
    body = []
    for row in rows:
        cells = (
            f"<td{' class=num' if num else ''}>{cell}</td>"
            for cell, (_label, num) in zip(row, head, strict=True)
        )
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<div class="scroll"><table><thead><tr>{th}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _header(report: Report) -> str:
    files = len(report.paths)
    shown = ", ".join(_path(p) for p in report.paths[:4])
    more = f" and {files - 4:,} more" if files > 4 else ""
    return (
        f"<header><h1>{_e(report.title)}</h1>"
        f'<p class="muted">Target <strong>{_e(report.target)}</strong>, model '
        f"<strong>{_e(report.model)}</strong>, limit {_num(report.limit)} tokens per example."
        f"</p><p class=muted>Input: {shown}{more}</p></header>"
    )


def _stats(report: Report) -> str:
    s = report.summary
    tokens = sum(t.tokens for t in report.totals)
    cards = [
        ("records", s["records"], ""),
        ("loaded", s["loaded"], ""),
        ("usable", s["usable"], ""),
        ("errors", s["errors"], "error" if s["errors"] else ""),
        ("warnings", s["warnings"], "warning" if s["warnings"] else ""),
        ("tokens", tokens, ""),
    ]
    body = "".join(
        f'<div class="stat {cls}"><span class="value">{_num(value)}</span>'
        f'<span class="label">{label}</span></div>'
        for label, value, cls in cards
    )
    return f'<div class="stats">{body}</div>'


def _readiness(report: Report) -> str:
    goals = "".join(
        f'<div class="goal{" met" if g.met else ""}"><strong>{_e(g.name.capitalize())}</strong>'
        f'{_num(g.needed)}+ examples <span class="badge {"met" if g.met else "unmet"}">'
        f"{'met' if g.met else 'not yet'}</span></div>"
        for g in report.goals
    )
    advice = "".join(
        f'<li class="{a.severity.value}"><strong>{_e(a.title)}</strong>'
        f"{f'<span>{_e(a.detail)}</span>' if a.detail else ''}</li>"
        for a in report.advice
    )
    return (
        f'<section><h2>Readiness</h2><div class="goals">{goals}</div>'
        f'<ul class="advice">{advice}</ul></section>'
    )


def _locations(first: tuple[Finding, ...], total: int, paths: tuple[str, ...]) -> str:
    items = "".join(f"<li>{_path(_where(f.location, paths))} {_e(f.message)}</li>" for f in first)
    more = f"<p class=muted>and {total - len(first):,} more</p>" if total > len(first) else ""
    label = "first location" if len(first) == 1 else f"first {len(first)} locations"
    return f'<details><summary>{label}</summary><ol class="locations">{items}</ol>{more}</details>'


def _findings(report: Report) -> str:
    if not report.codes:
        return "<section><h2>Findings</h2><p>No findings.</p></section>"
    bars = [
        svg.Bar(f"{c.code} {c.name}".strip(), c.weight, SEVERITY_COLOR[c.severity], c.summary)
        for c in sorted(report.codes, key=lambda c: (-c.weight, c.code))[:MAX_BARS]
    ]
    chart = svg.bar_chart(bars, title="Records affected per code", unit="records")
    rows = [
        (
            f"<code>{_e(c.code)}</code>",
            _badge(c.severity),
            f"<strong>{_e(c.name)}</strong><br>{_e(c.summary)}"
            + (f'<br><span class="muted">Fix: {_e(c.hint)}</span>' if c.hint else "")
            + _locations(c.first, c.findings, report.paths),
            _num(c.records) if c.records else "\u2014",
            _num(c.findings),
        )
        for c in report.codes
    ]
    table = _table(
        [
            ("code", False),
            ("severity", False),
            ("rule", False),
            ("records", True),
            ("findings", True),
        ],
        rows,
    )
    shown = "" if len(report.codes) <= MAX_BARS else f" (the {MAX_BARS} largest)"
    return (
        f"<section><h2>Findings</h2><h3>Records affected per code{shown}</h3>"
        f'<div class="chart">{chart}</div>{table}</section>'
    )


def _tokens(report: Report) -> str:
    hist = svg.histogram(
        report.histogram.edges,
        report.histogram.counts,
        limit=report.limit,
        title="Tokens per example",
    )
    spread = svg.spread_chart(report.lengths, limit=report.limit, title="Tokens per role")
    rows = [
        (
            _e(d.label),
            _num(d.count),
            _num(d.min),
            _num(d.p50),
            f"{d.mean:,.1f}",
            _num(d.p90),
            _num(d.max),
        )
        for d in report.lengths
    ]
    table = _table(
        [
            ("tokens of", False),
            ("examples", True),
            ("min", True),
            ("median", True),
            ("mean", True),
            ("p90", True),
            ("max", True),
        ],
        rows,
    )
    return (
        "<section><h2>Token lengths</h2><h3>Tokens per example</h3>"
        f'<div class="chart">{hist}</div>'
        "<h3>Tokens per role</h3>"
        '<p class="note">Whiskers span min to max, the box the middle half, the bar marks the '
        "median and the dot the 90th percentile. Roles count content tokens, over the examples "
        "with some content in that role.</p>"
        f'<div class="chart">{spread}</div>{table}</section>'
    )


def _totals(report: Report) -> str:
    rows = [
        (
            _path(t.name) if not report.split_totals else _e(t.name),
            _num(t.records),
            _num(t.examples),
            _num(t.usable),
            _num(t.tokens),
            _num(t.trained),
            _num(t.over_limit),
        )
        for t in report.totals
    ]
    table = _table(
        [
            ("split" if report.split_totals else "file", False),
            ("records", True),
            ("loaded", True),
            ("usable", True),
            ("tokens", True),
            ("trained tokens", True),
            ("over limit", True),
        ],
        rows,
    )
    title = "Splits" if report.split_totals else "Files"
    return f"<section><h2>{title}</h2>{table}</section>"


def _estimate(report: Report) -> str:
    est = report.estimate
    if est is None:
        return ""
    cost = (
        f"{est.cost:,.2f} at {est.price_per_million:g} per million tokens"
        if est.cost is not None and est.price_per_million is not None
        else "set <code>price-per-million</code> in the configuration to estimate it"
    )
    rows = [
        ("training examples", _num(est.examples)),
        ("default epochs", _num(est.epochs)),
        ("tokens per epoch", _num(est.tokens_per_epoch)),
        ("billed tokens", _num(est.billed_tokens)),
        ("cost", cost),
    ]
    body = "".join(f"<tr><td>{_e(k)}</td><td class=num>{v}</td></tr>" for k, v in rows)
    return (
        "<section><h2>Training estimate</h2>"
        '<p class="note">OpenAI\'s default epoch heuristic; each example is billed up to the '
        f'model limit, once per epoch.</p><div class="scroll"><table><tbody>{body}</tbody>'
        "</table></div></section>"
    )


def _clusters(report: Report) -> str:
    if not report.clusters:
        return ""
    rows = [
        (
            f"<code>{_e(c.code)}</code>",
            _num(c.size),
            _path(_where(c.first, report.paths)),
            ", ".join(_path(_where(loc, report.paths)) for loc in c.copies[:5])
            + (f" and {len(c.copies) - 5:,} more" if len(c.copies) > 5 else ""),
        )
        for c in report.clusters[:MAX_CLUSTERS]
    ]
    table = _table(
        [("code", False), ("size", True), ("first occurrence", False), ("copies", False)], rows
    )
    more = (
        f'<p class="muted">The {MAX_CLUSTERS} largest of {len(report.clusters):,} clusters.</p>'
        if len(report.clusters) > MAX_CLUSTERS
        else ""
    )
    return f"<section><h2>Duplicate clusters</h2>{table}{more}</section>"


def _trained(report: Report) -> str:
    if not report.trained:
        return ""
    views = "".join(view._repr_html_() for view in report.trained)
    return f"<section><h2>What the model trains on (flagged examples)</h2>{views}</section>"


def _body(report: Report) -> str:
    return "".join(
        (
            _header(report),
            _stats(report),
            _readiness(report),
            _findings(report),
            _trained(report),
            _tokens(report),
            _totals(report),
            _estimate(report),
            _clusters(report),
            "<footer>Generated by ftprep.</footer>",
        )
    )


def render_fragment(report: Report) -> str:
    """The report as an HTML fragment with its own scoped styles (for ``_repr_html_``)."""
    return f'<div class="ftprep-report fragment"><style>{CSS}</style>{_body(report)}</div>'


def render_page(report: Report) -> str:
    """The report as a standalone HTML page."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(report.title)}</title><style>{PAGE_CSS}{CSS}</style></head>"
        f'<body><main class="ftprep-report">{_body(report)}</main></body></html>\n'
    )


def render_text(report: Report) -> str:
    """The report as plain text: summary, codes, token lengths, totals, advice."""
    s = report.summary
    lines = [
        printable(report.title),
        f"  {plural(s['files'], 'file')}, {s['records']:,} records, {s['loaded']:,} loaded, "
        f"{s['usable']:,} usable; {plural(s['errors'], 'error')}, "
        f"{plural(s['warnings'], 'warning')}, {plural(s['infos'], 'info')}",
        f"  target {report.target}, model {report.model}, "
        f"limit {report.limit:,} tokens per example",
    ]
    if report.codes:
        lines.append("Findings by code:")
        width = max(len(c.name) for c in report.codes)
        lines.extend(
            f"  {c.code} {c.severity.value:<7} {c.name:<{width}} {c.weight:>8,}  {c.summary}"
            for c in report.codes
        )
    if report.lengths:
        lines.append("Tokens (median / p90 / max):")
        lines.extend(
            f"  {d.label:<26} {d.p50:>8,} {d.p90:>8,} {d.max:>8,}  ({d.count:,} examples)"
            for d in report.lengths
        )
    lines.append("Splits:" if report.split_totals else "Files:")
    lines.extend(
        f"  {printable(t.name)}: {t.usable:,} usable of {t.records:,}, {t.tokens:,} tokens"
        for t in report.totals
    )
    if report.estimate is not None:
        est = report.estimate
        cost = f", cost {est.cost:,.2f}" if est.cost is not None else ""
        lines.append(
            f"Estimate: {est.epochs} epochs x {est.tokens_per_epoch:,} tokens = "
            f"{est.billed_tokens:,} billed tokens{cost}"
        )
    if report.clusters:
        lines.append(f"Duplicate clusters: {len(report.clusters):,}")
    lines.append("Readiness:")
    lines.extend(
        f"  [{a.severity.value}] {a.title}" + (f"\n      {a.detail}" if a.detail else "")
        for a in report.advice
    )
    return "\n".join(lines)
