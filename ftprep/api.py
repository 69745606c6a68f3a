"""The public Python API: :func:`check`, :func:`prepare`, :func:`convert` and :func:`load`,
and :func:`lint_files`, the command line's ``check`` (fixes and a baseline on top of a check).

Each takes its inputs (one path, or several; folders stand for the data files under them)
and keyword options mirroring the command line, resolves the configuration as the command
line does (:func:`resolve_config`) and returns plain results. Bad options
raise :class:`~ftprep.config.ConfigError`, unusable inputs
:class:`~ftprep.load.paths.InputError`, outputs that cannot be written
:class:`~ftprep.write.files.OutputError`.

>>> from ftprep.api import prepare  # doctest: +SKIP
>>> result = prepare("data.jsonl", out_dir="out", holdout=0.1, seed=0)  # doctest: +SKIP
>>> result.counts  # doctest: +SKIP
{'input': 1000, 'train': 880, 'holdout': 98, 'rejected': 22}
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ftprep.baseline import Baseline
from ftprep.config import Config, ConfigError, base_config
from ftprep.dialects import DialectOptions, dialect_names
from ftprep.findings import Finding, Severity
from ftprep.load import load_path, load_records
from ftprep.load.containers import DEFAULT_MAX_LINE_BYTES
from ftprep.load.paths import Inputs, PathLike, expand_paths, input_bytes
from ftprep.log import stage
from ftprep.model import Example
from ftprep.progress import progress_bar
from ftprep.report.statistics import Statistic, statistics
from ftprep.rules.registry import ProblemRules, fix_safety, validate_rule_config
from ftprep.targets import get_target
from ftprep.tokens import check_tokenizer
from ftprep.validate.check import CheckResult, run_check
from ftprep.validate.engine import Progress

if TYPE_CHECKING:
    from ftprep.facts import FactTable
    from ftprep.fix import FileFix
    from ftprep.report.stats import TokenStats
    from ftprep.tokens.billing import BillingEstimate
    from ftprep.write import ConvertResult, PrepareResult

REPORT = "report.html"


def check_names(config: Config) -> None:
    """Raise :class:`ConfigError` with the known names when the configuration's target,
    model or dialect does not exist, or a rule selector selects no rule; with the reason when
    its tokenizer cannot be loaded."""
    try:
        get_target(config.target).model_spec(config.model)
    except KeyError as err:
        raise ConfigError(err.args[0]) from None
    known = dialect_names()
    if config.dialect != "auto" and config.dialect not in known:
        raise ConfigError(f"unknown dialect {config.dialect!r}; known: auto, {', '.join(known)}")
    validate_rule_config(config)
    check_tokenizer(config)


def resolve_config(
    inputs: Sequence[str],
    config: Config | str | os.PathLike[str] | None = None,
    **overrides: Any,
) -> Config:
    """The configuration of a run over ``inputs``: ``config`` itself, the file it names, or
    the one closest to the inputs (:func:`~ftprep.config.config_for_inputs`); with the non-``None``
    ``overrides`` applied and the target, model and dialect names checked. The command line
    and the Python API both resolve their configuration here."""
    resolved = base_config(inputs, config).with_overrides(**overrides)
    check_names(resolved)
    return resolved


@contextmanager
def reading_bar(paths: Sequence[str], enabled: bool | None) -> Iterator[Progress]:
    """A progress bar over the bytes of ``paths`` (a widget in Jupyter, text on stderr),
    shown when ``enabled``, or when it is ``None`` and a person is watching
    (:func:`ftprep.progress.interactive`); silent without tqdm. Yields the callback
    :func:`~ftprep.validate.check.run_check` advances."""
    total = input_bytes(paths)
    with progress_bar(total, desc="ftprep", unit="B", unit_scale=True, enabled=enabled) as bar:
        yield bar


def check_files(
    paths: Sequence[str],
    config: Config,
    *,
    against: Sequence[str] = (),
    progress: bool | None = None,
) -> CheckResult:
    """:func:`~ftprep.validate.check.run_check` of resolved inputs, with a
    :func:`reading_bar` (the command line's check)."""
    with reading_bar([*paths, *against], progress) as bar:
        return run_check(paths, config, against=against, progress=bar)


@dataclass(slots=True)
class LintResult:
    """A check with its fixes and baseline applied (:func:`lint_files`)."""

    check: CheckResult
    """The last check run (after the fixes, when files changed)."""
    findings: list[Finding]
    """The check's findings less those the baseline accepts."""
    suppressed: int = 0
    """Findings the baseline accepted."""
    fixes: list[FileFix] = field(default_factory=list)
    """What fixing did (or, with ``diff``, would do) to each file."""
    unsafe_fixes: bool = False

    @property
    def changed(self) -> bool:
        """Whether fixing changed (or, with ``diff``, would change) a file."""
        return any(fix.total for fix in self.fixes)

    def summary(self) -> dict[str, int]:
        """The check's summary, with finding counts of :attr:`findings`."""
        return {
            **self.check.summary(),
            "errors": sum(1 for f in self.findings if f.severity is Severity.ERROR),
            "warnings": sum(1 for f in self.findings if f.severity is Severity.WARNING),
            "infos": sum(1 for f in self.findings if f.severity is Severity.INFO),
        }

    def statistics(self) -> list[Statistic]:
        """A count per code of :attr:`findings`, with whether ``--fix`` repairs it."""
        return statistics(self.findings)

    def fixable(self) -> tuple[int, int]:
        """Occurrences left that a fix run would repair (a folded finding counts each), and
        how many more only ``--unsafe-fixes`` would (0 when they were asked for)."""
        counts: Counter[str | None] = Counter()
        for f in self.findings:
            counts[fix_safety(f.code)] += f.count
        if self.unsafe_fixes:
            return counts["safe"] + counts["unsafe"], 0
        return counts["safe"], counts["unsafe"]


def lint_files(
    paths: Sequence[str],
    config: Config,
    *,
    against: Sequence[str] = (),
    fix: bool = False,
    unsafe_fixes: bool = False,
    diff: bool = False,
    baseline: str | None = None,
    progress: bool | None = None,
) -> LintResult:
    """``ftprep check``: check resolved inputs; with ``fix``, fix them in place (the safe
    fixes, and with ``unsafe_fixes`` those that drop records) and check again when a file
    changed; with ``diff``, only work out the fixes' diffs. Findings the baseline (``baseline``,
    else the configured one) accepts are left out."""
    baseline_file = baseline or config.baseline_path()
    accepted = Baseline.read(baseline_file) if baseline_file else None
    result = check_files(paths, config, against=against, progress=progress)
    fixes: list[FileFix] = []
    if fix or diff:
        from ftprep.fix import content_fixes_for, fix_files  # a plain check does without

        with stage("fix"):
            fixes = fix_files(
                paths,
                result.findings,
                content_fixes=content_fixes_for(config),
                unsafe=unsafe_fixes,
                write=not diff,
            )
        if not diff and any(f.total for f in fixes):
            result = check_files(paths, config, against=against, progress=progress)
    findings, suppressed = accepted.filter(result.findings) if accepted else (result.findings, 0)
    return LintResult(result, findings, suppressed, fixes, unsafe_fixes)


def check(
    inputs: Inputs,
    *,
    target: str | None = None,
    model: str | None = None,
    config: Config | PathLike | None = None,
    against: Inputs = (),
    progress: bool | None = None,
) -> CheckResult:
    """Check ``inputs`` (and, for holdout leakage, ``against``) and return every finding
    with the per-record facts. ``progress``: show a progress bar (default: when someone is
    watching, in Jupyter or a terminal)."""
    paths = expand_paths(inputs)
    resolved = resolve_config(paths, config, target=target, model=model)
    return check_files(paths, resolved, against=expand_paths(against), progress=progress)


def prepare(
    inputs: Inputs,
    *,
    out_dir: PathLike,
    target: str | None = None,
    model: str | None = None,
    holdout: float | None = None,
    holdout_count: int | None = None,
    seed: int | None = None,
    stratify: str | None = None,
    config: Config | PathLike | None = None,
    eval_file: bool = False,
    max_file_bytes: int | None = None,
    report: bool = True,
    progress: bool | None = None,
) -> PrepareResult:
    """Check, fix, split and write ``inputs`` as upload-ready files in ``out_dir``.

    Writes ``train.jsonl`` and ``holdout.jsonl`` in the target's format, ``rejected.jsonl``
    (every record left out, verbatim, with its reasons), ``holdout.eval.jsonl`` with
    ``eval_file``, ``report.html`` (the standalone report, unless ``report`` is false)
    and, last, ``manifest.json``. Unset options come from the ``[prepare]``
    configuration (defaults: ``holdout=0.1``, ``seed=0``). Give ``holdout`` (a fraction) or
    ``holdout_count`` (an exact number of examples), not both. ``progress`` as in
    :func:`check`, for the checking pass.
    """
    from ftprep.split import SplitSpec  # imported here: a check needs neither
    from ftprep.write import prepare_files

    if holdout is not None and holdout_count is not None:
        raise ConfigError("give holdout or holdout_count, not both")
    if max_file_bytes is not None and max_file_bytes <= 0:
        raise ConfigError(f"max_file_bytes must be positive, not {max_file_bytes}")
    paths = expand_paths(inputs)
    resolved = resolve_config(paths, config, target=target, model=model)
    settings = resolved.prepare
    stratify = stratify if stratify is not None else settings.stratify
    if stratify is not None and not stratify.strip():
        raise ConfigError("stratify needs a field name (a dotted path into the record)")
    if holdout is None and holdout_count is None:
        holdout, holdout_count = settings.holdout, settings.holdout_count
    try:
        spec = SplitSpec(None if holdout_count is not None else holdout, holdout_count)
    except ValueError as err:  # the split's own check of the amount held out
        raise ConfigError(str(err)) from None
    with reading_bar(paths, progress) as bar:
        return prepare_files(
            paths,
            out_dir,
            resolved,
            spec=spec,
            seed=settings.seed if seed is None else seed,
            stratify=stratify,
            eval_file=eval_file,
            max_file_bytes=max_file_bytes,
            attachments=_report_page if report else None,
            progress=bar,
        )


def list_rules() -> list[dict[str, Any]]:
    """Every rule as plain data: code, name, summary, default severity, scope, whether it
    runs by default, its fix safety, where it is defined and its documentation."""
    from ftprep.rules.registry import ALL_RULES

    return [rule.info() for rule in ALL_RULES]


def explain(rule: str) -> dict[str, Any]:
    """One rule, by code (``Q006``) or name (``truncated-answer``), as :func:`list_rules`
    gives it. Raises :class:`KeyError` for an unknown rule."""
    from ftprep.rules.registry import rule_for

    return rule_for(rule).info()


@dataclass(frozen=True, slots=True)
class StatsResult:
    """Token distributions of a dataset and what training on it would bill."""

    tokens: TokenStats
    billing: BillingEstimate
    model: dict[str, Any]
    """What the bill is for: ``target``, ``model`` and its per-example ``limit``."""

    def format(self, fmt: str = "text") -> str:
        """As an aligned text table, or as JSON with ``fmt="json"``."""
        from ftprep.report.stats import format_stats

        return format_stats(self.tokens, fmt, billing=(self.model, self.billing))


def stats(
    inputs: Inputs,
    *,
    target: str | None = None,
    model: str | None = None,
    config: Config | PathLike | None = None,
    epochs: int | None = None,
    price_per_million: float | None = None,
    progress: bool | None = None,
) -> StatsResult:
    """Token distributions per role of ``inputs`` (loaded, not checked: only the load rules
    run) and the billed tokens and cost of training on them (``epochs`` as the provider
    picks them by default; ``price_per_million`` from the configuration when not given)."""
    from ftprep.report.stats import token_stats
    from ftprep.tokens.billing import estimate_facts

    paths = expand_paths(inputs)
    resolved = resolve_config(paths, config, target=target, model=model)
    result = check_files(paths, resolved.with_overrides(select=["L"]), progress=progress)
    spec = get_target(resolved.target).spec_for(resolved)
    price = price_per_million if price_per_million is not None else resolved.price_per_million
    bill = estimate_facts(result.facts, spec.max_tokens, epochs=epochs, price_per_million=price)
    about = {"target": resolved.target, "model": spec.name, "limit": spec.max_tokens}
    return StatsResult(token_stats(result.facts), bill, about)


def _report_page(check_result: CheckResult, splits: dict[str, FactTable]) -> dict[str, bytes]:
    """``report.html`` for a prepare run: the check, with totals per split."""
    from ftprep.report.report import Report

    page = Report.from_check(check_result, splits=splits).to_html()
    return {REPORT: page.encode("utf-8")}


def convert(
    inputs: Inputs,
    *,
    to: str,
    out: PathLike,
    config: Config | PathLike | None = None,
) -> ConvertResult:
    """Rewrite every record of ``inputs`` in dialect ``to`` into ``out`` (JSON Lines).

    No checks, fixes or splits; records that do not load or that ``to`` cannot express go
    to ``<out stem>.rejected.jsonl``.
    """
    from ftprep.write import convert_files

    if to not in dialect_names():
        raise ConfigError(f"unknown dialect {to!r}; known: {', '.join(dialect_names())}")
    paths = expand_paths(inputs)
    return convert_files(paths, out, to=to, config=resolve_config(paths, config))


def load(
    source: str | os.PathLike[str] | Iterable[Any],
    *,
    dialect: str = "auto",
    system_prompt: str | None = None,
    input_field: str = "input",
    output_field: str = "ideal_output",
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    config: Config | None = None,
) -> Iterator[Example | Finding]:
    """Load examples from a path (``-`` for stdin), an iterable of dicts, a pandas DataFrame
    or a Hugging Face ``datasets.Dataset``.

    Yields an :class:`~ftprep.model.Example` per record that loaded, and a
    :class:`~ftprep.findings.Finding` for every record that did not (and for non-fatal
    notes such as a BOM), so every input line is accounted for: a finding of its load rule,
    with the severity ``config`` gives it.
    """
    problems = ProblemRules(config or Config())
    options = DialectOptions(
        system_prompt=system_prompt, input_field=input_field, output_field=output_field
    )
    if isinstance(source, str | os.PathLike):
        stream = load_path(source, dialect=dialect, options=options, max_line_bytes=max_line_bytes)
    else:
        stream = load_records(source, dialect=dialect, options=options)
    for item in stream:
        yield from (problems.finding(p) for p in item.problems)
        if item.example is not None:
            yield item.example
