"""The public Python API: :func:`check`, :func:`prepare`, :func:`convert` and :func:`load`,
and :func:`lint_files`, the command line's ``check`` (fixes and a baseline on top of a check).

Each takes its inputs (one path, or several; folders stand for the data files under them;
or the records themselves: a list or iterable of dicts, a pandas DataFrame, a Hugging Face
``datasets.Dataset``, see :mod:`ftprep.load.memory`) and keyword options mirroring the
command line, resolves the configuration as the command
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
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ftprep.baseline import Baseline
from ftprep.config import Config, ConfigError, PrepareConfig, base_config
from ftprep.dialects import DialectOptions, dialect_names
from ftprep.findings import Finding, Severity
from ftprep.load import load_path, load_records
from ftprep.load.containers import DEFAULT_MAX_LINE_BYTES
from ftprep.load.memory import as_files, renamed
from ftprep.load.paths import Inputs, PathLike, expand_paths, input_bytes, require_readable
from ftprep.load.trainer_config import with_trainer_settings
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
    from ftprep.report.trained import TrainedView
    from ftprep.review import Review
    from ftprep.review.data import Reviewed
    from ftprep.split import SplitSpec
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
    the one closest to the inputs (:func:`~ftprep.config.config_for_inputs`); with the
    non-``None`` ``overrides`` applied, the trainer and the training window taken from the
    trainer configuration where not given
    (:func:`~ftprep.load.trainer_config.with_trainer_settings`), and the target, model and
    dialect names checked. The command line and the Python API both resolve their
    configuration here."""
    resolved = with_trainer_settings(base_config(inputs, config).with_overrides(**overrides))
    check_names(resolved)
    return resolved


Data = Inputs | Iterable[Any]
"""What the Python API takes as inputs: paths (:data:`~ftprep.load.paths.Inputs`), or
records: a list or iterable of dicts, a pandas DataFrame or a Hugging Face Dataset."""


@dataclass(frozen=True, slots=True)
class Opened:
    """Inputs ready for the path-based jobs (:func:`opened`)."""

    paths: list[str]
    """The files read (a temporary file for in-memory records)."""
    names: dict[str, str]
    """Temporary file to the name shown for it (``<memory>``); empty for paths."""

    @property
    def config_inputs(self) -> list[str]:
        """The inputs a configuration is looked up for: none (the working directory) for
        in-memory records."""
        return [] if self.names else self.paths


@contextmanager
def opened(inputs: Data) -> Iterator[Opened]:
    """``inputs`` as files for a run: folders expanded, records written to a temporary file
    shown by their in-memory name while the block runs (:func:`ftprep.load.memory.as_files`)."""
    with as_files(inputs) as (given, names):
        yield Opened(expand_paths(given), names)


def in_memory_names(result: CheckResult, names: dict[str, str]) -> CheckResult:
    """``result`` with the temporary files of in-memory inputs replaced by their names (and
    their flagged records kept, for :meth:`CheckResult.examples`). Call it while the files
    still exist."""
    if names:
        from ftprep.validate.flagged import capture_records

        result.kept_records = capture_records(result.paths, names, result.findings)
        result.findings = renamed(result.findings, names)
        result.paths = [names.get(p, p) for p in result.paths]
    return result


def _record_options(
    dialect: str | None,
    system_prompt: str | None,
    input_field: str | None,
    output_field: str | None,
) -> dict[str, Any]:
    """The record-shape keyword arguments, as configuration overrides."""
    return {
        "dialect": dialect,
        "system_prompt": system_prompt,
        "input_field": input_field,
        "output_field": output_field,
    }


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
    reviewed: int = 0
    """Findings a review file settled (accepted, or of rejected or edited records)."""
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
    review: str | None = None,
) -> LintResult:
    """``ftprep check``: check resolved inputs; with ``fix``, fix them in place (the safe
    fixes, and with ``unsafe_fixes`` those that drop records) and check again when a file
    changed; with ``diff``, only work out the fixes' diffs. Findings the baseline (``baseline``,
    else the configured one) accepts are left out, and so are those a review file
    (``review``) settles: accepted findings, rejected records, and an edited record's findings
    of its old text (those of its new text are reported instead)."""
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
    settled = 0
    if review is not None:
        findings, settled = _reviewed(result, findings, review)
    return LintResult(result, findings, suppressed, settled, fixes, unsafe_fixes)


def _reviewed(
    result: CheckResult, findings: list[Finding], review: str
) -> tuple[list[Finding], int]:
    """``findings`` (of ``result``) less those the review file ``review`` settles, and how
    many it settled."""
    from dataclasses import replace

    from ftprep.review import Review
    from ftprep.review.data import apply_review

    reviewed = apply_review(replace(result, findings=findings), Review(review))
    rejected = {f"{int(result.facts.fingerprint[row]):016x}" for row in reviewed.rejected}
    kept = [f for f in reviewed.check.findings if f.fingerprint not in rejected]
    return kept, max(len(findings) - len(kept), 0)  # an edit's check may find more


def check(
    inputs: Data,
    *,
    target: str | None = None,
    model: str | None = None,
    config: Config | PathLike | None = None,
    against: Inputs = (),
    dialect: str | None = None,
    system_prompt: str | None = None,
    input_field: str | None = None,
    output_field: str | None = None,
    progress: bool | None = None,
) -> CheckResult:
    """Check ``inputs`` (and, for holdout leakage, ``against``) and return every finding
    with the per-record facts. ``dialect``, ``system_prompt``, ``input_field`` and
    ``output_field`` set how records are read (raw pairs: ``{"input", "ideal_output"}`` plus
    one system prompt), over the configuration. ``progress``: show a progress bar (default:
    when someone is watching, in Jupyter or a terminal)."""
    shape = _record_options(dialect, system_prompt, input_field, output_field)
    with opened(inputs) as data:
        resolved = resolve_config(data.config_inputs, config, target=target, model=model, **shape)
        result = check_files(data.paths, resolved, against=expand_paths(against), progress=progress)
        return in_memory_names(result, data.names)


def prepare(
    inputs: Data,
    *,
    out_dir: PathLike,
    target: str | None = None,
    model: str | None = None,
    holdout: float | None = None,
    holdout_count: int | None = None,
    seed: int | None = None,
    stratify: str | None = None,
    stable_split: bool | None = None,
    config: Config | PathLike | None = None,
    dialect: str | None = None,
    system_prompt: str | None = None,
    input_field: str | None = None,
    output_field: str | None = None,
    eval_file: bool = False,
    max_file_bytes: int | None = None,
    report: bool = True,
    progress: bool | None = None,
    review: Review | PathLike | None = None,
    against: Inputs = (),
) -> PrepareResult:
    """Check, fix, split and write ``inputs`` as upload-ready files in ``out_dir``.

    Writes ``train.jsonl`` and ``holdout.jsonl`` in the target's format, ``rejected.jsonl``
    (every record left out, verbatim, with its reasons), ``holdout.eval.jsonl`` with
    ``eval_file``, ``report.html`` (the standalone report, unless ``report`` is false)
    and, last, ``manifest.json``. Unset options come from the ``[prepare]``
    configuration (defaults: ``holdout=0.1``, ``seed=0``). Give ``holdout`` (a fraction) or
    ``holdout_count`` (an exact number of examples), not both. A fraction is met within one
    example; ``stable_split=True`` instead decides each example's side by its content hash
    alone (the size is then approximate, but no example ever changes sides as the data
    grows). Which findings leave a record out is the ``[prepare.reject]`` policy
    (:class:`~ftprep.config.RejectPolicy`). ``dialect``, ``system_prompt``, ``input_field``
    and ``output_field`` as in :func:`check`; ``progress`` as in :func:`check`, for the
    checking pass. A missing or unreadable input raises
    :class:`~ftprep.load.paths.InputError` before anything is written.
    ``review``: a review file (or :class:`~ftprep.review.Review`) whose decisions apply:
    rejected records go to ``rejected.jsonl`` with the reviewer's reason, edited records are
    checked again and written edited, accepted findings are suppressed; the manifest records
    the file's sha256 and counts.
    ``against``: evaluation files (as for :func:`check`); training records holding their items
    (X006) or examples (X004) are rejected; the manifest's ``against`` gives each one's rate.
    """
    from ftprep.write import prepare_files  # imported here: a check does not need it

    if holdout is not None and holdout_count is not None:
        raise ConfigError("give holdout or holdout_count, not both")
    if max_file_bytes is not None and max_file_bytes <= 0:
        raise ConfigError(f"max_file_bytes must be positive, not {max_file_bytes}")
    shape = _record_options(dialect, system_prompt, input_field, output_field)
    with opened(inputs) as data:
        paths = data.paths
        require_readable(paths)
        resolved = resolve_config(data.config_inputs, config, target=target, model=model, **shape)
        settings = resolved.prepare
        stratify = stratify if stratify is not None else settings.stratify
        if stratify is not None and not stratify.strip():
            raise ConfigError("stratify needs a field name (a dotted path into the record)")
        spec = _split_spec(settings, holdout, holdout_count, stable_split)
        evaluation = expand_paths(against)
        with reading_bar([*paths, *evaluation], progress) as bar:
            result = prepare_files(
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
                review=None if review is None else _review_step(review),
                against=evaluation,
            )
        in_memory_names(result.check, data.names)
        result.dataset_findings = renamed(result.dataset_findings, data.names)
        return result


def _split_spec(
    settings: PrepareConfig,
    holdout: float | None,
    holdout_count: int | None,
    stable_split: bool | None,
) -> SplitSpec:
    """The split asked for: the arguments given, else the ``[prepare]`` settings."""
    from ftprep.split import SplitSpec  # imported here: a check does not need it

    if holdout is None and holdout_count is None:
        holdout, holdout_count = settings.holdout, settings.holdout_count
    stable = settings.stable_split if stable_split is None else stable_split
    try:
        return SplitSpec(None if holdout_count is not None else holdout, holdout_count, stable)
    except ValueError as err:  # the split's own check of the amount held out
        raise ConfigError(str(err)) from None


def _review_step(review: Review | PathLike) -> Callable[[CheckResult], Reviewed]:
    """What ``prepare`` does with a review file: apply it to pass 1's check."""
    from ftprep.review import Review
    from ftprep.review.data import apply_review

    file = review if isinstance(review, Review) else Review(review)
    return lambda check: apply_review(check, file)


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


def show(where: str, *, config: Config | PathLike | None = None) -> TrainedView:
    """One example as the model sees it in training (``ftprep show``): the record at
    ``where`` (``"data.jsonl:12"``) rendered with the configured tokenizer's chat template,
    its trained spans and token counts, and where ``max-tokens`` cuts it. Prints as text;
    in a notebook it displays as HTML. Raises :class:`~ftprep.config.ConfigError` for a bad
    location and :class:`~ftprep.load.paths.InputError` when no record loads at that line."""
    from ftprep.report.trained import show as show_record

    path = where.rpartition(":")[0] or where
    return show_record(where, resolve_config([path], config))


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
    inputs: Data,
    *,
    target: str | None = None,
    model: str | None = None,
    config: Config | PathLike | None = None,
    dialect: str | None = None,
    system_prompt: str | None = None,
    input_field: str | None = None,
    output_field: str | None = None,
    epochs: int | None = None,
    price_per_million: float | None = None,
    progress: bool | None = None,
) -> StatsResult:
    """Token distributions per role of ``inputs`` (loaded, not checked: only the load rules
    run) and the billed tokens and cost of training on them (``epochs`` as the provider
    picks them by default; ``price_per_million`` from the configuration when not given).
    ``dialect``, ``system_prompt``, ``input_field`` and ``output_field`` as in :func:`check`."""
    from ftprep.report.stats import token_stats
    from ftprep.tokens.billing import estimate_facts

    shape = _record_options(dialect, system_prompt, input_field, output_field)
    with opened(inputs) as data:
        resolved = resolve_config(data.config_inputs, config, target=target, model=model, **shape)
        lenient = resolved.with_overrides(select=["L"])
        result = check_files(data.paths, lenient, progress=progress)
    spec = get_target(resolved.target).spec_for(resolved)
    price = price_per_million if price_per_million is not None else resolved.price_per_million
    bill = estimate_facts(result.facts, spec.max_tokens, epochs=epochs, price_per_million=price)
    about = {"target": resolved.target, "model": spec.name, "limit": spec.max_tokens}
    return StatsResult(token_stats(result.facts), bill, about)


def _report_page(check_result: CheckResult, splits: dict[str, FactTable]) -> dict[str, bytes]:
    """``report.html`` for a prepare run: the check, with totals per split, and what the
    written examples still carry (nothing is kept silently)."""
    import dataclasses

    from ftprep.report.report import Advice, Report

    report = Report.from_check(check_result, splits=splits)
    records, codes = _kept_with_findings(check_result, splits)
    if records:
        listed = ", ".join(f"{code} {count:,}" for code, count in codes.most_common())
        note = Advice(
            Severity.INFO,
            f"{records:,} kept examples still carry findings",
            f"{listed}. The reject policy (prepare.reject) kept them in train or holdout; "
            "their findings are listed below.",
        )
        report = dataclasses.replace(report, advice=(*report.advice, note))
    return {REPORT: report.to_html().encode("utf-8")}


def _kept_with_findings(
    check_result: CheckResult, splits: dict[str, FactTable]
) -> tuple[int, Counter[str]]:
    """Records written to train or holdout that carry findings, and those records per code."""
    index = {path: i for i, path in enumerate(check_result.paths)}
    kept = {
        (int(p), int(r))
        for name in ("train", "holdout")
        if name in splits
        for p, r in zip(splits[name].path.tolist(), splits[name].record.tolist(), strict=True)
    }
    carried: dict[tuple[int, int], set[str]] = {}
    for finding in check_result.findings:
        key = (index.get(finding.path, -1), finding.location.record)
        if finding.location.record is not None and key in kept:
            carried.setdefault(key, set()).add(finding.code)
    return len(carried), Counter(code for codes in carried.values() for code in codes)


def convert(
    inputs: Data,
    *,
    to: str,
    out: PathLike,
    config: Config | PathLike | None = None,
    dialect: str | None = None,
    system_prompt: str | None = None,
    input_field: str | None = None,
    output_field: str | None = None,
) -> ConvertResult:
    """Rewrite every record of ``inputs`` in dialect ``to`` into ``out`` (JSON Lines).

    No checks, fixes or splits; records that do not load or that ``to`` cannot express go
    to ``<out stem>.rejected.jsonl``. ``dialect``, ``system_prompt``, ``input_field`` and
    ``output_field`` as in :func:`check` (they also name the fields ``to="raw_pairs"``
    writes). A missing or unreadable input raises :class:`~ftprep.load.paths.InputError`
    before anything is written.
    """
    from ftprep.write import convert_files

    if to not in dialect_names():
        raise ConfigError(f"unknown dialect {to!r}; known: {', '.join(dialect_names())}")
    shape = _record_options(dialect, system_prompt, input_field, output_field)
    with opened(inputs) as data:
        require_readable(data.paths)
        resolved = resolve_config(data.config_inputs, config, **shape)
        result = convert_files(data.paths, out, to=to, config=resolved)
        result.findings = renamed(result.findings, data.names)
        return result


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
