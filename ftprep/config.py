"""Configuration: ``[tool.ftprep]`` in ``pyproject.toml``, or a top-level ``.ftprep.toml``
or ``ftprep.toml``.

The configuration file closest to the checked file wins (searching its folder, then each
parent; in one folder ``.ftprep.toml``, then ``ftprep.toml``, then ``pyproject.toml``, as
ruff searches). Keys use dashes in TOML (``per-file-ignores``) and underscores in Python.
Unknown keys and bad values are rejected with the file, the key and what was expected.
Paths in a configuration file (``per-file-ignores`` patterns, ``baseline``) are relative to
its folder, so a run gives the same result from any working directory. Settings that reach
the network (:data:`NETWORK_SETTINGS`) are read only from the user's own configuration (the
working directory's, or a file named with ``--config``) or the command line: a dataset's own
``ftprep.toml`` that sets them gets a warning and is otherwise obeyed.

>>> Config.model_validate({"select": ["S", "R"], "ignore": ["Q002"]}).is_enabled("S001")
True
"""

from __future__ import annotations

import fnmatch
import functools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ftprep.log import logger

CONFIG_FILES = (".ftprep.toml", "ftprep.toml", "pyproject.toml")
STDIN = "-"
"""The input name that means standard input."""


class ConfigError(ValueError):
    """A configuration file or option is invalid; the message says where and why."""


def _dashes_to_underscores(data: Any) -> Any:
    if isinstance(data, dict):
        return {(k.replace("-", "_") if isinstance(k, str) else k): v for k, v in data.items()}
    return data


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class DedupConfig(_Section):
    """Duplicate, contradiction and leakage detection (the X rules)."""

    compare: str = Field("conversation", pattern="^(conversation|prompt|answer)$")
    """What near-duplicate detection compares: the whole conversation without system
    messages, the prompt side, or the answer side."""
    threshold: float = Field(0.8, gt=0.0, le=1.0)
    """Jaccard similarity at or above which two examples are near duplicates."""
    margin: float = Field(0.025, ge=0.0, le=0.2)
    """A candidate pair is reported when its *estimated* similarity reaches ``threshold +
    margin``. The estimate from 128 permutations has a standard error of about 0.035, so
    without a margin pairs just under the threshold are reported on noise (bench/
    dedup_accuracy.py, three seeds: precision 0.907 at margin 0, 0.952-0.964 at 0.025, with
    recall of pairs at 0.85 or more 0.965-0.982)."""
    num_perm: int = Field(128, ge=16, le=1024)
    """MinHash permutations (signature length)."""
    bands: int | None = Field(None, ge=2)
    """LSH bands; default: chosen for recall at the threshold (16 x 8 at 0.8)."""
    rows: int | None = Field(None, ge=1)
    """LSH rows per band (``bands * rows <= num_perm``)."""
    shingle: int = Field(5, ge=1, le=32)
    """Shingle length in words (of the normalised text, see :mod:`ftprep.dedup.signatures`)."""
    case_sensitive: bool = True
    """Compare texts case-sensitively (the default): ``false`` folds case wherever content is
    compared exactly (exact duplicates, contradictions, holdout leakage, system prompts and
    the split's content keys)."""
    seed: int = 1
    """MinHash seed (datasketch's ``seed``)."""
    storage: str = Field("memory", pattern="^(memory|redis)$")
    """Where the LSH index lives: in memory, or in Redis (the ``redis`` extra)."""
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = "ftprep"
    """Key prefix of the Redis index. Each run adds a random part of its own below it, so
    concurrent runs on one database never touch each other's keys."""
    multi_answer_share: float = Field(0.5, ge=0.0, le=1.0)
    """Contradictions: when more than this share of all distinct prompts have several
    different answers (or a tenth of them with 3 or more answers on average: sampled
    completions), the data has several answers per prompt by design and X003 stays quiet
    (X005 says so once). 1 reports every contradiction."""
    drop: bool = True
    """prepare: keep one representative per duplicate cluster and reject the rest."""

    @field_validator("rows")
    @classmethod
    def _bands_and_rows_together(cls, rows: int | None, info: Any) -> int | None:
        bands = info.data.get("bands")
        if (rows is None) != (bands is None):
            raise ValueError("set both bands and rows, or neither")
        num_perm = info.data.get("num_perm", 128)
        if rows is not None and bands * rows > num_perm:
            raise ValueError(f"bands * rows = {bands * rows} exceeds num-perm = {num_perm}")
        return rows


FIXES = ("whitespace", "nfc")
"""The safe fixes ``prepare`` can apply to message text (see :mod:`ftprep.write.fixes`)."""


SEVERITIES = ("info", "warning", "error")


class RejectPolicy(_Section):
    """Which findings leave a record out of ``prepare``'s train and holdout files (it goes to
    ``rejected.jsonl``, with those findings as its reasons).

    A finding rejects its record when the longest code prefix matching it among ``select``
    (and ``by-dialect`` for the record's input dialect) and ``ignore`` is a ``select`` one;
    when none matches, when its severity is ``severity`` or above. Findings about the file or
    the dataset as a whole (D001, L004...) never reject a record. The default rejects errors
    everywhere and, in raw input/ideal-output pairs, what that workflow's own validation
    refuses: answers under 10 or over 2,000 characters (C002, C003, whose bounds are those
    rules' options) and AI boilerplate (Q001 disclaimers, Q002 refusals); empty (C001) and
    placeholder answers (Q005) are errors anyway. Those defaults are the rules' own
    (``rejects_in``); ``by-dialect`` replaces them. Kept records that still carry findings
    are counted per code in the manifest (``kept_with_findings``)::

        [tool.ftprep.prepare.reject]
        severity = "warning"          # reject warnings too
        ignore = ["X001"]             # ...but never for an exact duplicate
        by-dialect = {raw_pairs = []} # no extra rejects for raw pairs
    """

    severity: str = Field("error", pattern="^(info|warning|error)$")
    """The lowest severity that rejects a record."""
    select: list[str] = Field(default_factory=list)
    """Code prefixes that reject a record whatever their severity."""
    ignore: list[str] = Field(default_factory=list)
    """Code prefixes that never reject a record."""
    by_dialect: dict[str, list[str]] | None = None
    """Code prefixes that reject records of one input dialect, whatever their severity
    (``None``: the rules' defaults, :func:`ftprep.rules.registry.default_rejects`)."""

    @field_validator("select", "ignore")
    @classmethod
    def _upper(cls, codes: list[str]) -> list[str]:
        return [c.strip().upper() for c in codes]

    def rejects(
        self,
        code: str,
        severity: str,
        dialect: str,
        defaults: dict[str, list[str]] | None = None,
    ) -> bool:
        """Whether a finding of ``code`` at ``severity`` rejects a record of ``dialect``;
        ``defaults`` stands for :attr:`by_dialect` when that is ``None``."""
        best, decided = -1, None
        by_dialect = self.by_dialect if self.by_dialect is not None else defaults or {}
        selected = [*self.select, *(c.upper() for c in by_dialect.get(dialect, ()))]
        for prefixes, value in ((selected, True), (self.ignore, False)):
            for prefix in prefixes:
                length = 0 if prefix == "ALL" else len(prefix)
                if (prefix == "ALL" or code.startswith(prefix)) and length >= best:
                    best, decided = length, value
        if decided is not None:
            return decided
        return SEVERITIES.index(severity) >= SEVERITIES.index(self.severity)


class PrepareConfig(_Section):
    """``ftprep prepare``: split and fix settings (command-line options override them)."""

    holdout: float = Field(0.1, ge=0.0, le=1.0)
    """Fraction of examples held out for evaluation."""
    holdout_count: int | None = Field(None, ge=0)
    """Hold out exactly this many examples instead of a fraction."""
    seed: int = 0
    """Seed of the split hash: another seed gives another (equally stable) split."""
    stratify: str | None = None
    """Metadata field (dotted path into the raw record) whose values each get the fraction."""
    stable_split: bool = False
    """Decide each example's side by its content hash alone: no example ever changes sides
    as the data grows, but the fraction held out is approximate. By default the fraction is
    met within one example (see :mod:`ftprep.split.assign`)."""
    reject: RejectPolicy = Field(default_factory=RejectPolicy)
    """Which findings leave a record out (:class:`RejectPolicy`)."""
    fixes: list[str] = Field(default_factory=lambda: list(FIXES))
    """Safe fixes applied to message text: ``whitespace`` (trim stray whitespace), ``nfc``."""
    redact: bool | list[str] = False
    """Replace secrets and personal data with typed placeholders (``[EMAIL]``) in the outputs
    instead of rejecting the records the privacy rules report: ``true`` (``--redact``) for
    every privacy rule, or the code prefixes of those to redact. The others stay with the
    reject policy, which rejects (``[prepare.reject] select``, errors by default) or keeps
    the record with the finding counted (``ignore``)::

        [tool.ftprep.prepare]
        redact = ["P004", "P005"]   # e-mail addresses, phone numbers: [EMAIL], [PHONE]

        [tool.ftprep.prepare.reject]
        select = ["P009"]           # IBANs reject their record (a warning otherwise)
        ignore = ["P003"]           # JWTs are kept as they are, counted
    """

    @field_validator("redact")
    @classmethod
    def _redact_upper(cls, redact: bool | list[str]) -> bool | list[str]:
        return redact if isinstance(redact, bool) else [c.strip().upper() for c in redact]

    def redacts(self, code: str) -> bool:
        """Whether the values a finding of ``code`` reports are redacted (by
        :attr:`redact`; only the privacy rules' findings are redactable)."""
        if isinstance(self.redact, bool):
            return self.redact
        return any(prefix == "ALL" or code.startswith(prefix) for prefix in self.redact)

    @field_validator("fixes")
    @classmethod
    def _known_fixes(cls, fixes: list[str]) -> list[str]:
        unknown = sorted(set(fixes) - set(FIXES))
        if unknown:
            raise ValueError(f"unknown fix {unknown[0]!r}; known: {', '.join(FIXES)}")
        return fixes


class Config(_Section):
    """All ftprep settings. Every field has a sensible default."""

    select: list[str] | None = None
    """Code prefixes to enable (default: every rule on by default). ``ALL`` selects every
    rule and is the least specific selector: ``select = ["ALL"], ignore = ["Q"]`` runs
    everything but the Q rules."""
    extend_select: list[str] = Field(default_factory=list)
    """Code prefixes to enable on top of ``select``."""
    ignore: list[str] = Field(default_factory=list)
    """Code prefixes not to run. The longest matching prefix among the three lists decides."""
    per_file_ignores: dict[str, list[str]] = Field(default_factory=dict)
    """Code prefixes not to run for files matching a glob pattern, relative to the
    configuration file's folder (a pattern without ``/`` also matches the file name alone):
    ``{"data/generated/*" = ["Q"]}``."""
    severity: dict[str, str] = Field(default_factory=dict)
    """Override a rule's severity: ``{"Q006" = "error"}``."""
    rules: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Per-rule options keyed by code or name: ``[tool.ftprep.rules.C003] max-chars = 4000``."""
    baseline: str | None = None
    """Baseline file that ``check`` filters with and ``baseline write`` writes by default
    (relative to the configuration file's folder); ``--baseline`` overrides it."""

    target: str = "openai"
    model: str | None = None
    dialect: str = "auto"
    system_prompt: str | None = None
    input_field: str = "input"
    output_field: str = "ideal_output"
    max_line_bytes: int = Field(64 * 1024 * 1024, ge=1024)
    price_per_million: float | None = Field(None, ge=0)
    """Training price in currency units per million trained tokens, for cost estimates."""
    tokenizer: str | None = None
    """Self-hosted target: a tokenizer.json path, model directory or mistral tokenizer name."""
    max_tokens: int | None = Field(None, ge=1)
    """Self-hosted target: the training sequence length."""
    chat_template: str | None = None
    """Self-hosted target: a Jinja file used instead of the tokenizer's own chat template
    (as trainers let you override it: TRL's ``chat_template_path``, Axolotl's
    ``chat_template_jinja``)."""
    trainer: str | None = Field(None, pattern="^(trl|axolotl|llamafactory|unsloth)$")
    """Self-hosted target: the trainer whose handling of long rows the token rules replay
    (:mod:`ftprep.trainers`: ``trl`` and ``unsloth`` truncate keeping the start, ``axolotl``
    drops long rows, ``llamafactory`` shares the length between prompt and answer)."""
    trainer_config: str | None = None
    """A LLaMA-Factory ``dataset_info.json`` or an Axolotl YAML configuration: the inputs are
    read through its column mappings (:mod:`ftprep.load.trainer_config`)."""
    workers: int | None = Field(None, ge=1)
    """Worker processes for the record pass (default: one per core)."""
    engine: str = Field("local", pattern="^(local|ray)$")
    """Where the record pass runs: a local process pool, or Ray (the ``ray`` extra)."""
    ray_address: str | None = None
    """Ray cluster to join (``auto``, ``ray://host:10001``); a local Ray starts when unset."""
    dedup: DedupConfig = Field(default_factory=DedupConfig)
    prepare: PrepareConfig = Field(default_factory=PrepareConfig)

    source: str | None = None
    """The file this configuration was read from (set by the loader)."""
    root: str | None = None
    """The folder relative paths in the configuration start from: the configuration file's
    (set by the loader); the working directory when ``None``."""

    @field_validator("select", "extend_select", "ignore")
    @classmethod
    def _upper(cls, codes: list[str] | None) -> list[str] | None:
        return None if codes is None else [c.strip().upper() for c in codes]

    def is_enabled(self, code: str, default: bool = True, path: str | None = None) -> bool:
        """Whether rule ``code`` runs, given select / extend-select / ignore and, for
        ``path``, per-file-ignores. The longest matching prefix decides, as in ruff."""
        best_len, enabled = -1, default if self.select is None else False
        for prefixes, value in (
            (self.select or [], True),
            (self.extend_select, True),
            (self.ignore, False),
        ):
            for prefix in prefixes:
                # ALL matches every code with the weight of an empty prefix: anything
                # more specific (even one letter) overrides it.
                length = 0 if prefix == "ALL" else len(prefix)
                if (prefix == "ALL" or code.startswith(prefix)) and length >= best_len:
                    best_len, enabled = length, value
        if enabled and path is not None and self.is_ignored_for(code, path):
            return False
        return enabled

    def is_ignored_for(self, code: str, path: str) -> bool:
        """Whether ``per-file-ignores`` switches ``code`` off for ``path``."""
        for pattern, prefixes in self.per_file_ignores.items():
            if _glob_match(path, pattern, self.root) and any(
                code.startswith(p.upper()) or p.upper() == "ALL" for p in prefixes
            ):
                return True
        return False

    def with_overrides(self, **overrides: Any) -> Config:
        """A copy with the given (non-``None``) fields replaced, validated; raises
        :class:`ConfigError` naming the option and what it expects."""
        data = self.model_dump()
        data.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return Config.model_validate(data)
        except ValidationError as err:
            raise ConfigError(_format_error(err, "the options")) from None

    def baseline_path(self) -> str | None:
        """The configured baseline file, resolved against :attr:`root`."""
        if self.baseline is None:
            return None
        return str(Path(self.root or Path.cwd()) / self.baseline)


def _glob_match(path: str, pattern: str, root: str | None) -> bool:
    """Whether ``pattern`` matches ``path`` relative to ``root`` (the working directory when
    ``None``), ``path`` made absolute when the pattern is, or the file name alone when the
    pattern has no ``/``."""
    if "/" not in pattern and fnmatch.fnmatch(Path(path).name, pattern):
        return True
    if path == STDIN:
        return fnmatch.fnmatch(path, pattern)
    absolute, relative = _anchored(path, root or str(Path.cwd()))
    return fnmatch.fnmatch(absolute if Path(pattern).is_absolute() else relative, pattern)


@functools.lru_cache(maxsize=4096)
def _anchored(path: str, root: str) -> tuple[str, str]:
    """``path`` absolute, and relative to ``root``, both in POSIX form (cached: findings
    ask once each)."""
    absolute = str(Path(path).resolve())
    try:
        relative = os.path.relpath(absolute, root)
    except ValueError:  # another drive on Windows
        relative = absolute
    return Path(absolute).as_posix(), Path(relative).as_posix()


def _format_error(err: ValidationError, where: str) -> str:
    lines = [f"invalid configuration in {where}:"]
    for problem in err.errors():
        key = ".".join(str(p).replace("_", "-") for p in problem["loc"])
        if problem["type"] == "extra_forbidden":
            lines.append(f"  unknown key '{key}'")
        else:
            lines.append(f"  '{key}': {problem['msg']}")
    return "\n".join(lines)


def parse_config(data: dict[str, Any], where: str = "<config>") -> Config:
    """Validate a raw ``[tool.ftprep]`` mapping."""
    data = _dashes_to_underscores(data)
    if isinstance(data.get("dedup"), dict):
        data["dedup"] = _dashes_to_underscores(data["dedup"])
    if isinstance(data.get("prepare"), dict):
        data["prepare"] = _dashes_to_underscores(data["prepare"])
        if isinstance(data["prepare"].get("reject"), dict):
            data["prepare"]["reject"] = _dashes_to_underscores(data["prepare"]["reject"])
    if isinstance(data.get("rules"), dict):
        data["rules"] = {k: _dashes_to_underscores(v) for k, v in data["rules"].items()}
    for key in ("source", "root"):  # set by the loader, not by the file
        if isinstance(data, dict) and key in data:
            raise ConfigError(f"invalid configuration in {where}:\n  unknown key '{key}'")
    try:
        config = Config.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_format_error(err, where)) from None
    return config.model_copy(update={"source": where})


def read_config_file(path: Path) -> Config | None:
    """The ftprep configuration in ``path``, or ``None`` for a pyproject without a
    ``[tool.ftprep]`` table."""
    import tomllib  # only when there is a file to read: compiling its parser takes ~5 ms

    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"cannot parse {path}: {err}") from None
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err.strerror}") from None
    if path.name == "pyproject.toml":
        section = document.get("tool", {}).get("ftprep")
        if section is None:
            return None
        config = parse_config(section, f"{path} [tool.ftprep]")
    else:
        config = parse_config(document, str(path))
    return config.model_copy(update={"root": str(path.resolve().parent)})


def find_config_file(start: str | Path) -> Path | None:
    """The closest file holding an ftprep configuration to ``start`` (a file or folder):
    ``.ftprep.toml``, ``ftprep.toml``, or a ``pyproject.toml`` with a ``[tool.ftprep]``
    table."""
    folder = Path(start).resolve()
    if not folder.is_dir():
        folder = folder.parent
    for candidate in (folder, *folder.parents):
        for name in CONFIG_FILES:
            path = candidate / name
            if path.is_file() and (name != "pyproject.toml" or read_config_file(path)):
                return path
    return None


def find_config(start: str | Path) -> Config:
    """The closest configuration to ``start`` (a file or folder), or the defaults."""
    path = find_config_file(start)
    config = None if path is None else read_config_file(path)
    return Config() if config is None else config


def load_config_file(path: str | os.PathLike[str]) -> Config:
    """The configuration in a file named explicitly (``--config``, ``config=``); unlike
    :func:`read_config_file` a missing file or a ``pyproject.toml`` without a
    ``[tool.ftprep]`` table is an error."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"configuration file not found: {file}")
    config = read_config_file(file)
    if config is None:
        raise ConfigError(f"{file} has no [tool.ftprep] table")
    return config


def config_for_inputs(inputs: Sequence[str]) -> Config:
    """The configuration closest to the inputs (to the working directory for stdin or no
    input). Inputs whose closest configuration files differ would each be checked under
    the other's settings, so that is an error rather than a silent choice."""
    files: dict[Path | None, str] = {}
    by_folder: dict[Path, Path | None] = {}
    for name in inputs or [STDIN]:
        folder = Path.cwd() if name == STDIN else Path(name).resolve().parent
        if folder not in by_folder:
            by_folder[folder] = find_config_file(folder)
        files.setdefault(by_folder[folder], name)
    if len(files) > 1:
        (first, a), (second, b) = list(files.items())[:2]
        raise ConfigError(
            f"the inputs have different configurations: {_describe(first)} for {a} and "
            f"{_describe(second)} for {b}; check them separately or name one configuration "
            "(--config FILE, or config= in Python)"
        )
    (path,) = files
    if path is None:
        return Config()
    config = load_config_file(path)
    return config if path == find_config_file(Path.cwd()) else without_network(config)


NETWORK_SETTINGS = ("ray_address", "dedup.storage", "dedup.redis_url")
"""Settings that make a run reach another machine or service. A configuration file found
beside the data (not the working directory's, not named with ``--config``) may not set them:
a downloaded dataset's own ``ftprep.toml`` could otherwise send its records or signatures
anywhere."""


def _is_set(config: Config, name: str) -> bool:
    """Whether the file ``config`` was read from sets ``name`` (``section.key`` or ``key``)."""
    section, _, key = name.rpartition(".")
    model: BaseModel = getattr(config, section) if section else config
    return key in model.model_fields_set


def without_network(config: Config) -> Config:
    """``config`` with the :data:`NETWORK_SETTINGS` its file sets put back to their defaults,
    and a warning naming them (they come from the user's own configuration, ``--config`` or
    the command line)."""
    found = [name for name in NETWORK_SETTINGS if _is_set(config, name)]
    if not found:
        return config
    logger.warning(
        "%s sets %s: settings that reach the network are ignored in a configuration found "
        "beside the data; set them in your own configuration (the working directory's), on "
        "the command line, or name the file with --config to trust it",
        config.source,
        ", ".join(name.replace("_", "-") for name in found),
    )
    defaults = Config()
    dedup = {
        key: getattr(defaults.dedup, key)
        for key in (name.removeprefix("dedup.") for name in found if name.startswith("dedup."))
    }
    update: dict[str, Any] = {name: getattr(defaults, name) for name in found if "." not in name}
    update["dedup"] = config.dedup.model_copy(update=dedup)
    return config.model_copy(update=update)


def _describe(path: Path | None) -> str:
    return "the defaults (no configuration file)" if path is None else str(path)


def base_config(
    inputs: Sequence[str], config: Config | str | os.PathLike[str] | None = None
) -> Config:
    """``config`` itself, the configuration file it names, or the one closest to the
    inputs: what options given with a run apply to."""
    if isinstance(config, Config):
        return config
    if config is not None:
        return load_config_file(config)
    return config_for_inputs(inputs)
