"""The ``ftprep`` command line.

Each subcommand is one ``add_<name>`` function that registers its parser on the subparsers
and points ``handler`` at one ``run_<name>`` function, so a new subcommand is a local edit:
write the pair and list ``add_<name>`` in :data:`SUBCOMMANDS`. Options shared by several
subcommands (configuration, rule selection) come from :func:`add_config_options` and are
turned into a :class:`~ftprep.config.Config` by :func:`config_from_args`.

Exit codes, as in ruff: 0 clean, 1 findings at or above the failing severity, 2 a usage,
configuration or internal error. No traceback is ever printed unless ``FTPREP_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import atexit
import os
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

import orjson

from ftprep import log
from ftprep._version import __version__
from ftprep.api import (
    LintResult,
    check_files,
    convert,
    lint_files,
    prepare,
    resolve_config,
    show,
    stats,
)
from ftprep.baseline import DEFAULT_PATH as DEFAULT_BASELINE
from ftprep.baseline import Baseline, BaselineError
from ftprep.config import Config, ConfigError, base_config
from ftprep.dialects import dialect_names
from ftprep.findings import Severity, plural, printable
from ftprep.load.paths import InputError, expand_paths
from ftprep.progress import interactive
from ftprep.report.formats import COLOR_CHOICES, FORMATS, summary_line, use_color, write_findings
from ftprep.report.statistics import write_statistics
from ftprep.review.store import ReviewError
from ftprep.rules.registry import ALL_RULES, check_selectors, fix_safety, rule_for
from ftprep.targets import TARGETS
from ftprep.validate.check import CheckResult
from ftprep.write.errors import AccountingError, OutputError, PrepareError

EXAMPLES = """\
examples:
  ftprep check train.jsonl                      check one file against the OpenAI target
  ftprep check data/ --model gpt-4.1-mini       every .jsonl under data/, for one model
  ftprep check train.jsonl --against eval.jsonl also look for eval examples leaking into train
  ftprep check train.jsonl --select S,R --ignore R002
  ftprep check train.jsonl --fix                apply safe fixes in place, report the rest
  ftprep check train.jsonl --fix --diff         show what --fix would change, change nothing
  ftprep check train.jsonl --statistics         a count per rule code instead of every finding
  ftprep check train.jsonl --output-format sarif > ftprep.sarif
  ftprep baseline write train.jsonl             accept today's findings; report only new ones
  ftprep rules                                  list every rule; `ftprep rules S001` explains one
  ftprep stats train.jsonl                      token distributions per role
  ftprep prepare data.jsonl --out out/          train/holdout/rejected files + manifest
  ftprep convert data.json --to openai --out data.jsonl
  ftprep review data.jsonl                      accept, reject, edit examples in a browser
"""


class UsageError(Exception):
    """A bad command line (unknown rule selector, rule...): exit 2 with the message."""


USAGE_ERRORS = (
    ConfigError,
    UsageError,
    BaselineError,
    InputError,
    PrepareError,
    OutputError,
    ReviewError,
)
"""Errors in what the user asked for (options, configuration, inputs, output folder): the
message and exit 2, never a traceback."""


Handler = Callable[[argparse.Namespace], int]


# --- shared options and configuration -------------------------------------------------------


def _codes(values: list[str] | None) -> list[str] | None:
    """``--select S,R --select Q`` -> ``["S", "R", "Q"]``."""
    if values is None:
        return None
    return [code.strip().upper() for value in values for code in value.split(",") if code.strip()]


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """Options every data-reading subcommand shares: configuration, target, rule selection."""
    group = parser.add_argument_group("configuration")
    group.add_argument(
        "--config",
        metavar="FILE",
        help="read settings from FILE (ftprep.toml or pyproject.toml) instead of the closest one",
    )
    group.add_argument("--target", metavar="T", help=f"target profile ({', '.join(TARGETS)})")
    group.add_argument("--model", metavar="M", help="model to check against (token limits)")
    group.add_argument(
        "--dialect", metavar="D", help="input shape (default: detect per file; see --help)"
    )
    group.add_argument(
        "--system-prompt", metavar="S", help="system prompt for shapes that have none"
    )
    group.add_argument(
        "--workers", metavar="N", type=int, help="worker processes (default: one per core)"
    )
    group.add_argument(
        "--tokenizer",
        metavar="PATH",
        help="count tokens with a tokenizer.json or model folder (chat template included), "
        "or a Mistral tokenizer (mistral:v3, mistral:tekken...)",
    )
    group.add_argument(
        "--max-tokens", metavar="N", type=int, help="training sequence length (self-hosted)"
    )
    group.add_argument(
        "--chat-template",
        metavar="FILE",
        help="a Jinja chat template to render with instead of the tokenizer's own",
    )
    group.add_argument(
        "--trainer",
        choices=("trl", "axolotl", "llamafactory", "unsloth"),
        help="replay this trainer's handling of rows longer than --max-tokens",
    )
    group.add_argument(
        "--trainer-config",
        metavar="PATH",
        help="read the inputs as a LLaMA-Factory dataset_info.json or an Axolotl config maps them",
    )
    group.add_argument(
        "--engine", choices=("local", "ray"), help="where the record pass runs (default local)"
    )
    group.add_argument(
        "--ray-address", metavar="ADDR", help="Ray cluster to join (auto, ray://host:10001)"
    )
    rules = parser.add_argument_group("rule selection (comma-separated code prefixes)")
    rules.add_argument("--select", action="append", metavar="CODES", help="run only these")
    rules.add_argument(
        "--extend-select", action="append", metavar="CODES", help="run these as well"
    )
    rules.add_argument("--ignore", action="append", metavar="CODES", help="do not run these")


def add_logging_options(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    """``-v``/``--verbose`` and ``-q``/``--quiet``, given before or after the subcommand (the
    subcommand's own copies default to nothing, so they never undo the top-level ones)."""
    default: dict[str, Any] = {"default": False} if top else {"default": argparse.SUPPRESS}
    group = parser.add_argument_group("logging")
    verbosity = group.add_mutually_exclusive_group()
    verbosity.add_argument(
        "-v", "--verbose", action="store_true", help="log each stage's time", **default
    )
    verbosity.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print the findings (or the command's output) and nothing else",
        **default,
    )


def config_from_args(args: argparse.Namespace, paths: Sequence[str]) -> Config:
    """The configuration for this run: the closest configuration file (or ``--config``)
    with the command-line flags on top, resolved as the Python API resolves it
    (:func:`ftprep.api.resolve_config`). ``--extend-select`` and ``--ignore`` add to the
    configured selection; ``--select`` replaces it (configured ignores included)."""
    config = base_config(paths, args.config)
    select = _codes(args.select)
    extend = _codes(args.extend_select) or []
    ignore = _codes(args.ignore) or []
    check_selectors(select or [], "--select")
    check_selectors(extend, "--extend-select")
    check_selectors(ignore, "--ignore")
    if select is None:
        # Without --select the flags add to the configured selection; with it they replace
        # it, ignores included, as ruff's selection layers do.
        extend = [*config.extend_select, *extend]
        ignore = [*config.ignore, *ignore]
    return resolve_config(
        paths,
        config,
        select=select,
        extend_select=extend,
        ignore=ignore,
        target=args.target,
        model=args.model,
        dialect=args.dialect,
        system_prompt=args.system_prompt,
        workers=args.workers,
        tokenizer=args.tokenizer,
        max_tokens=args.max_tokens,
        chat_template=args.chat_template,
        trainer=args.trainer,
        trainer_config=args.trainer_config,
        engine=args.engine,
        ray_address=args.ray_address,
    )


def _status(
    args: argparse.Namespace, text: str, stream: TextIO | None = None, *, escape: bool = True
) -> None:
    """Print a status line (a summary, what was written) unless ``--quiet``; control
    characters in it (from a file name) are shown escaped unless ``escape`` is false (a line
    ftprep coloured itself)."""
    if not getattr(args, "quiet", False):
        print(printable(text, newlines=True) if escape else text, file=stream or sys.stdout)


def _emit(text: str, stream: TextIO) -> None:
    if text:
        stream.write(text)
        stream.flush()


def _progress_wanted(args: argparse.Namespace) -> bool:
    """A progress bar only for a person watching (:func:`ftprep.progress.interactive`:
    stderr is a terminal, not under pre-commit or CI), and not with ``--no-progress``."""
    return not getattr(args, "no_progress", False) and interactive()


def check_paths(
    args: argparse.Namespace, paths: Sequence[str], config: Config, against: Sequence[str] = ()
) -> CheckResult:
    """:func:`ftprep.api.check_files` with the progress bar the command line wants."""
    return check_files(paths, config, against=against, progress=_progress_wanted(args))


def add_review_option(parser: argparse.ArgumentParser) -> None:
    """``--review FILE``: apply the decisions of a review file (see ``ftprep review``)."""
    parser.add_argument(
        "--review",
        metavar="FILE",
        help="apply the decisions of a review file (`ftprep review` writes it): accepted "
        "findings are suppressed, rejected records rejected, edited records used as edited",
    )


# --- check ----------------------------------------------------------------------------------


def add_check(sub: Any) -> None:
    """Register ``ftprep check``."""
    parser = sub.add_parser(
        "check",
        help="validate data files and report findings",
        description="Validate fine-tuning data files and report every problem found.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or folders; - for stdin")
    parser.add_argument(
        "--against",
        nargs="+",
        default=[],
        metavar="HOLDOUT",
        help="holdout files to check for leakage into PATH",
    )
    parser.add_argument(
        "--output-format",
        "--format",
        dest="format",
        choices=FORMATS,
        help="output format (default: text; github when GITHUB_ACTIONS=true); "
        "json-lines is jsonl; gitlab is a GitLab Code Quality report",
    )
    parser.add_argument(
        "--statistics",
        action="store_true",
        help="print a count per rule code instead of the findings (as JSON with a JSON format)",
    )
    parser.add_argument(
        "--color",
        choices=COLOR_CHOICES,
        default="auto",
        help="colour the text output (auto: on a terminal unless NO_COLOR is set; "
        "FORCE_COLOR forces it)",
    )
    parser.add_argument(
        "--exit-zero", action="store_true", help="exit 0 even when findings fail the check"
    )
    parser.add_argument("--strict", action="store_true", help="fail on warnings as well as errors")
    fixing = parser.add_argument_group("fixes")
    fixing.add_argument(
        "--fix",
        action="store_true",
        help="apply safe fixes in place (JSON Lines only), then report what is left",
    )
    fixing.add_argument(
        "--unsafe-fixes",
        action="store_true",
        help="with --fix or --diff, also apply fixes that drop records (later exact duplicates)",
    )
    fixing.add_argument(
        "--show-fixes", action="store_true", help="with --fix, list every fix made, by line"
    )
    fixing.add_argument(
        "--diff",
        action="store_true",
        help="print the unified diff --fix would make and change nothing (exit 1 if any)",
    )
    parser.add_argument(
        "--baseline",
        metavar="FILE",
        help="report only findings not recorded in FILE (default: the configured baseline; "
        "see `ftprep baseline write`)",
    )
    add_review_option(parser)
    parser.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    add_config_options(parser)
    add_logging_options(parser)
    parser.set_defaults(handler=run_check_command)


def _output_format(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    return "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"


def _report_fixes(args: argparse.Namespace, run: LintResult) -> None:
    """What fixing did (stderr) or, with ``--diff``, would do (the diffs, on stdout)."""
    for fix in run.fixes:
        if args.diff:
            _emit(fix.diff, sys.stdout)
            continue
        wanted = any(f.path == fix.path and fix_safety(f.code) for f in run.check.findings)
        if fix.total or (fix.skipped and wanted):
            _status(args, fix.describe(), sys.stderr)
        if args.show_fixes:
            _emit(fix.details(), sys.stderr)


def run_check_command(args: argparse.Namespace) -> int:
    """``ftprep check``: run every enabled rule, print the findings, exit 0/1.

    With ``--fix`` the files are fixed and checked again; the exit code is then 1 when a
    file changed (as pre-commit expects of a fixing hook) or findings remain. With
    ``--diff`` nothing is written: the diffs are printed, and the exit code is 1 when there
    are any."""
    paths = expand_paths(args.paths)
    config = config_from_args(args, paths)
    run = lint_files(
        paths,
        config,
        against=expand_paths(args.against),
        fix=args.fix,
        unsafe_fixes=args.unsafe_fixes,
        diff=args.diff,
        baseline=args.baseline,
        progress=_progress_wanted(args),
        review=args.review,
    )
    _report_fixes(args, run)
    if args.diff:
        return 1 if run.changed and not args.exit_zero else 0
    fmt = _output_format(args)
    summary = run.summary()
    with log.stage("output"):
        if args.statistics:
            stats_format = "text" if fmt in ("text", "github") else "json"
            write_statistics(run.statistics(), sys.stdout, stats_format)
        else:
            color = fmt == "text" and use_color(sys.stdout, args.color)
            write_findings(
                fmt,
                run.findings,
                summary,
                sys.stdout,
                rules=ALL_RULES,
                version=__version__,
                color=color,
            )
        sys.stdout.flush()
    verdict_stream = sys.stdout if fmt == "text" else sys.stderr
    fixable, hidden = run.fixable()
    line = summary_line(
        summary,
        fixable=0 if args.fix else fixable,
        hidden=hidden,
        suppressed=run.suppressed,
        reviewed=run.reviewed,
        color=use_color(verdict_stream, args.color),
    )
    _status(args, line, verdict_stream, escape=False)
    fail_on = Severity.WARNING if args.strict else Severity.ERROR
    failed = (args.fix and run.changed) or any(fail_on <= f.severity for f in run.findings)
    return 1 if failed and not args.exit_zero else 0


# --- rules ----------------------------------------------------------------------------------


def add_rules(sub: Any) -> None:
    """Register ``ftprep rules``."""
    parser = sub.add_parser(
        "rules",
        help="list the rules, or explain one",
        description="List every rule (code, default severity, summary), or print the full "
        "documentation of one rule given by code or name.",
    )
    parser.add_argument("rule", nargs="?", metavar="CODE", help="a rule code or name")
    parser.add_argument(
        "--output-format",
        "--format",
        dest="format",
        choices=("text", "json"),
        default="text",
        help="text, or json: a list of rules (one object with CODE) with every attribute",
    )
    add_logging_options(parser)
    parser.set_defaults(handler=run_rules)


_FIX_NOTE = {
    "safe": " Fixable with --fix.",
    "unsafe": " Fixable with --fix --unsafe-fixes (drops records).",
    None: "",
}


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode("utf-8") + "\n"


def run_rules(args: argparse.Namespace) -> int:
    """``ftprep rules [CODE]``."""
    if args.rule:
        try:
            rule = rule_for(args.rule)
        except KeyError:
            raise UsageError(f"unknown rule {args.rule!r} (see `ftprep rules`)") from None
        if args.format == "json":
            _emit(_json(rule.info()), sys.stdout)
            return 0
        default = "" if rule.default_on else " (off by default)"
        print(f"{rule.code} {rule.name}: {rule.summary}")
        print(f"Severity: {rule.severity.value}{default}.{_FIX_NOTE[rule.fix_safety()]}")
        print(f"Defined in: {rule.source()}\n")
        print(rule.documentation())
        return 0
    if args.format == "json":
        everything = [rule.info() for rule in ALL_RULES]
        _emit(_json(everything), sys.stdout)
        return 0
    width = max((len(rule.name) for rule in ALL_RULES), default=0)
    for rule in ALL_RULES:
        print(f"{rule.code}  {rule.severity.value:<7}  {rule.name:<{width}}  {rule.summary}")
    return 0


# --- stats ----------------------------------------------------------------------------------


def add_stats(sub: Any) -> None:
    """Register ``ftprep stats``."""
    parser = sub.add_parser(
        "stats",
        help="token distributions per role",
        description="Count tokens per example and per role (count, min, p50, p90, p99, max).",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or folders; - for stdin")
    parser.add_argument(
        "--output-format",
        "--format",
        dest="format",
        choices=("text", "json"),
        default="text",
        help="output format",
    )
    parser.add_argument(
        "--price",
        type=float,
        metavar="USD",
        help="training price per million trained tokens, for a cost estimate",
    )
    parser.add_argument(
        "--epochs", type=int, metavar="N", help="epochs to bill (default: the provider's rule)"
    )
    parser.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    add_config_options(parser)
    add_logging_options(parser)
    parser.set_defaults(handler=run_stats)


def run_stats(args: argparse.Namespace) -> int:
    """``ftprep stats``: distributions from the fact table of a check run, and what training
    on the data would bill."""
    paths = expand_paths(args.paths)
    result = stats(
        paths,
        config=config_from_args(args, paths),
        epochs=args.epochs,
        price_per_million=args.price,
        progress=_progress_wanted(args),
    )
    _emit(result.format(args.format), sys.stdout)
    return 0


# --- baseline -------------------------------------------------------------------------------


def add_baseline(sub: Any) -> None:
    """Register ``ftprep baseline write|prune``."""
    parser = sub.add_parser(
        "baseline",
        help="accept current findings so that check reports only new ones",
        description="A baseline records findings by file, code and record content (not line "
        "number), so it survives insertions. `check --baseline FILE` then reports only "
        "findings that are not in it.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    write = actions.add_parser("write", help="record the current findings of PATH")
    write.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
    prune = actions.add_parser("prune", help="drop entries that no longer occur")
    prune.add_argument(
        "paths", nargs="*", metavar="PATH", help="files to re-check (default: the baseline's)"
    )
    for action, handler in ((write, run_baseline_write), (prune, run_baseline_prune)):
        action.add_argument(
            "--baseline",
            metavar="FILE",
            help=f"baseline file (default: the configured baseline, else {DEFAULT_BASELINE})",
        )
        action.add_argument(
            "--against", nargs="+", default=[], metavar="HOLDOUT", help="holdout files"
        )
        action.add_argument("--no-progress", action="store_true", help="never show a progress bar")
        add_config_options(action)
        add_logging_options(action)
        action.set_defaults(handler=handler)


def _baseline_file(args: argparse.Namespace, paths: Sequence[str]) -> str:
    """``--baseline``, else the configured baseline, else :data:`DEFAULT_BASELINE`."""
    if args.baseline:
        return str(args.baseline)
    return base_config(paths, args.config).baseline_path() or DEFAULT_BASELINE


def run_baseline_write(args: argparse.Namespace) -> int:
    """``ftprep baseline write``: record every current finding."""
    paths = expand_paths(args.paths)
    config = config_from_args(args, paths)
    file = _baseline_file(args, paths)
    result = check_paths(args, paths, config, expand_paths(args.against))
    baseline = Baseline.from_findings(result.findings, Path(file).resolve().parent)
    baseline.write(file)
    _status(args, f"Wrote {file}: {plural(len(baseline), 'finding')} accepted", sys.stderr)
    return 0


def run_baseline_prune(args: argparse.Namespace) -> int:
    """``ftprep baseline prune``: drop the entries no current finding matches."""
    file = _baseline_file(args, expand_paths(args.paths))
    baseline = Baseline.read(file)
    paths = expand_paths(args.paths) or [p for p in baseline.paths if Path(p).is_file()]
    config = config_from_args(args, paths)
    result = check_paths(args, paths, config, expand_paths(args.against))
    dropped = baseline.prune(result.findings)
    baseline.write(file)
    _status(args, f"Pruned {file}: {dropped:,} entries dropped, {len(baseline):,} kept")
    return 0


# --- prepare and convert --------------------------------------------------------------------


def add_prepare(sub: Any) -> None:
    """Register ``ftprep prepare``."""
    parser = sub.add_parser(
        "prepare",
        help="check, fix, split and write upload-ready files",
        description="Check the input, apply the safe fixes, drop duplicates, split train / "
        "holdout by content hash and write the target's format into --out: train.jsonl, "
        "holdout.jsonl, rejected.jsonl (every record left out, verbatim, with its reasons) "
        "and, last, manifest.json. Exit 0 when written, 1 when the written data still has "
        "a dataset-level error (too few training examples...) or no training example, 2 on "
        "usage errors. Warns when the holdout is empty or far from the fraction asked.",
    )
    parser.add_argument("paths", nargs="+", metavar="INPUT", help="files or folders")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    amount = parser.add_mutually_exclusive_group()
    amount.add_argument(
        "--holdout",
        type=float,
        metavar="F",
        help="fraction held out, met within one example (default 0.1)",
    )
    amount.add_argument(
        "--holdout-count", type=int, metavar="N", help="hold out exactly N examples"
    )
    parser.add_argument("--seed", type=int, metavar="S", help="split seed (default 0)")
    parser.add_argument(
        "--stable-split",
        action="store_true",
        default=None,
        help="decide each example's side by its content hash alone: no example changes sides "
        "as the data grows, but the fraction held out is approximate",
    )
    parser.add_argument(
        "--stratify", metavar="FIELD", help="give each value of FIELD (dotted path) its share"
    )
    parser.add_argument(
        "--eval", action="store_true", help="also write holdout.eval.jsonl (prompt + ideal)"
    )
    parser.add_argument(
        "--max-file-bytes",
        type=int,
        metavar="N",
        help="cut outputs into parts of at most N bytes (default: the target's limit)",
    )
    add_review_option(parser)
    parser.add_argument(
        "--against",
        nargs="+",
        default=[],
        metavar="EVAL",
        help="evaluation files: reject training examples that hold their items (X006, X004)",
    )
    parser.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    parser.add_argument(
        "--redact",
        action="store_true",
        help="replace secrets and personal data with placeholders such as [EMAIL] instead of "
        "rejecting the records (counted in the manifest)",
    )
    add_config_options(parser)
    add_logging_options(parser)
    parser.set_defaults(handler=run_prepare)


def run_prepare(args: argparse.Namespace) -> int:
    """``ftprep prepare``: the :func:`ftprep.api.prepare` job, with a one-line summary."""
    paths = expand_paths(args.paths)
    config = config_from_args(args, paths)
    if args.redact:
        redacting = config.prepare.model_copy(update={"redact": True})
        config = config.model_copy(update={"prepare": redacting})
    result = prepare(
        paths,
        out_dir=args.out,
        config=config,
        holdout=args.holdout,
        holdout_count=args.holdout_count,
        seed=args.seed,
        stratify=args.stratify,
        stable_split=args.stable_split,
        eval_file=args.eval,
        max_file_bytes=args.max_file_bytes,
        progress=_progress_wanted(args),
        review=args.review,
        against=args.against,
    )
    counts = result.counts
    _status(
        args,
        f"{counts['input']} records: {counts['train']} train, {counts['holdout']} holdout, "
        f"{counts['rejected']} rejected -> {args.out} (manifest.json)",
    )
    for line in result.summary_lines():
        _status(args, line)
    for finding in result.dataset_findings:
        if finding.severity is Severity.ERROR:
            print(printable(f"{finding.code} {finding.message}"), file=sys.stderr)
    for warning in result.warnings:
        print(printable(f"ftprep: warning: {warning}", newlines=True), file=sys.stderr)
    return 1 if result.failed else 0


def add_convert(sub: Any) -> None:
    """Register ``ftprep convert``."""
    parser = sub.add_parser(
        "convert",
        help="rewrite records in another format",
        description="Rewrite every record in the --to format, without checks, fixes or "
        "splits. Records that do not load or that the format cannot express go to "
        "<out stem>.rejected.jsonl with their reasons (exit 1 when there are any).",
    )
    parser.add_argument("paths", nargs="+", metavar="INPUT", help="files or folders")
    parser.add_argument("--to", required=True, choices=dialect_names(), help="output format")
    parser.add_argument("--out", required=True, metavar="FILE", help="output JSON Lines file")
    add_config_options(parser)
    add_logging_options(parser)
    parser.set_defaults(handler=run_convert)


def run_convert(args: argparse.Namespace) -> int:
    """``ftprep convert``: the :func:`ftprep.api.convert` job, with a one-line summary."""
    paths = expand_paths(args.paths)
    config = config_from_args(args, paths)
    result = convert(paths, to=args.to, out=args.out, config=config)
    rejects = f" ({result.rejects_path})" if result.rejects_path else ""
    written = f"{result.written} records written to {args.out}, {result.rejected} rejected"
    _status(args, written + rejects)
    return 1 if result.rejected else 0


# --- review ---------------------------------------------------------------------------------


def add_review(sub: Any) -> None:
    """Register ``ftprep review``."""
    parser = sub.add_parser(
        "review",
        help="read, accept, reject and edit examples on a local page",
        description="Serve a page on 127.0.0.1 to page through the examples, flagged first, "
        "and accept, reject (with a reason) or edit each one. Decisions are saved as they are "
        "made to the review file (default: beside the first input, <file>.review), which "
        "`prepare --review FILE` and `check --review FILE` honour. The address printed holds "
        "a random token; requests without it are refused. Stop with Ctrl-C.",
    )
    parser.add_argument("paths", nargs="+", metavar="DATA", help="files or folders")
    parser.add_argument(
        "--review", metavar="FILE", help="the review file (default: beside the first input)"
    )
    parser.add_argument(
        "--port", type=int, default=0, metavar="N", help="port on 127.0.0.1 (default: any free)"
    )
    parser.add_argument(
        "--no-browser", action="store_true", help="print the address, do not open a browser"
    )
    parser.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    add_config_options(parser)
    add_logging_options(parser)
    parser.set_defaults(handler=run_review)


def run_review(args: argparse.Namespace) -> int:
    """``ftprep review``: check the data, then serve the review page until interrupted."""
    import webbrowser

    from ftprep.review import Review
    from ftprep.review.data import default_review_path
    from ftprep.review.server import ReviewApp, ReviewData, make_review_server, url_of

    paths = expand_paths(args.paths)
    config = config_from_args(args, paths)
    for path in paths:
        if path == "-" or not Path(path).is_file():
            raise UsageError(f"review reads its inputs from files, not {path}")
    review = Review(args.review or default_review_path(paths))
    review.decisions()  # a file that is not a review file is an error now, not on the page
    data = ReviewData.load(check_paths(args, paths, config))
    app = ReviewApp(data, review)
    try:
        server = make_review_server(app, args.port)
    except OSError as err:
        raise UsageError(f"cannot listen on 127.0.0.1:{args.port}: {err.strerror}") from None
    url = url_of(server, app)
    print(f"Reviewing {len(data.rows):,} records into {review.path}", flush=True)
    print(f"Open {url}", flush=True)
    if not args.no_browser:
        webbrowser.open(url)
    with server:
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            _status(args, f"Stopped; decisions are in {review.path}", sys.stderr)
    return 0


# --- entry point ----------------------------------------------------------------------------

# --- show -----------------------------------------------------------------------------------


def add_show(sub: Any) -> None:
    """Register ``ftprep show``."""
    parser = sub.add_parser(
        "show",
        help="print one example as the model sees it in training",
        description="Print the record at FILE:LINE rendered as the trainer renders it (the "
        "chat template of --tokenizer), its trained spans marked (green in a terminal, "
        "between ⟦ ⟧ otherwise) with their token counts, and ✂ where --max-tokens ends.",
    )
    parser.add_argument("where", metavar="FILE:LINE", help="the record's file and line")
    add_config_options(parser)
    add_logging_options(parser)
    parser.set_defaults(handler=run_show)


def run_show(args: argparse.Namespace) -> int:
    """``ftprep show``: :func:`ftprep.api.show`, printed."""
    path = args.where.rpartition(":")[0] or args.where
    view = show(args.where, config=config_from_args(args, [path]))
    sys.stdout.write(view.text(color=use_color(sys.stdout)))
    return 1 if view.error else 0


SUBCOMMANDS: tuple[Callable[[Any], None], ...] = (
    add_check,
    add_rules,
    add_stats,
    add_baseline,
    add_prepare,
    add_convert,
    add_show,
    add_review,
)
"""Every subcommand's registration function, in ``--help`` order."""


def build_parser() -> argparse.ArgumentParser:
    """The ``ftprep`` argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="ftprep",
        description="Turn raw examples into clean, provider-ready fine-tuning data, "
        "and prove it is clean.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"ftprep {__version__}")
    add_logging_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in SUBCOMMANDS:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        with log.to_stderr(verbose=args.verbose, quiet=args.quiet):
            return handler(args)
    except AccountingError:  # a PrepareError, but a bug in ftprep rather than in the input
        return _internal_error()
    except USAGE_ERRORS as err:
        print(printable(f"ftprep: error: {err}", newlines=True), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ftprep: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``ftprep check ... | head``): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception:
        return _internal_error()


def run() -> NoReturn:
    """The ``ftprep`` command (console script and ``python -m ftprep``): :func:`main`, then
    :func:`exit_now` with its exit code."""
    exit_now(main())


def exit_now(code: int) -> NoReturn:
    """End the process with ``code`` without the interpreter's teardown, which frees every
    object one by one: ~0.1 s after a check, mostly tiktoken's tables of the vocabulary,
    memory the system takes back at once. The handlers registered with :mod:`atexit` still
    run and the standard streams are flushed. With other threads still running, the exit is
    the ordinary one (which waits for them)."""
    if threading.active_count() > 1:
        sys.exit(code)
    try:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def _internal_error() -> int:
    """Report the exception being handled as an internal error (exit 2), or re-raise it
    under ``FTPREP_DEBUG=1``."""
    err = sys.exc_info()[1]
    if os.environ.get("FTPREP_DEBUG") == "1" or err is None:
        raise
    print(printable(f"ftprep: internal error: {type(err).__name__}: {err}"), file=sys.stderr)
    print("ftprep: set FTPREP_DEBUG=1 to see the traceback", file=sys.stderr)
    return 2


if __name__ == "__main__":
    run()
