"""The one registry of rules. Every rule family is one module whose ``RULES`` tuple is listed
here; a code's first letter names its family:

- ``L`` load: containers, JSON, encodings, shapes (:mod:`ftprep.rules.load`)
- ``S`` structure: keys, types, roles (:mod:`ftprep.rules.structure`)
- ``R`` role order and tool calls (:mod:`ftprep.rules.roles`)
- ``C`` content: emptiness, lengths, special tokens, images (:mod:`ftprep.rules.content`)
- ``T`` tokens: per-example limits (:mod:`ftprep.rules.tokens`)
- ``Q`` quality heuristics (:mod:`ftprep.rules.quality`)
- ``P`` privacy and secrets (:mod:`ftprep.rules.privacy`)
- ``D`` dataset composition (:mod:`ftprep.rules.dataset`)
- ``X`` duplicates, contradictions, leakage (:mod:`ftprep.rules.duplicates`)
- ``O`` output: what a target format cannot express (:mod:`ftprep.rules.output`)
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import ValidationError

from ftprep.config import Config, ConfigError
from ftprep.findings import Finding, Problem, Severity
from ftprep.rules import (
    content,
    dataset,
    duplicates,
    load,
    output,
    privacy,
    quality,
    roles,
    structure,
    tokens,
)
from ftprep.rules.base import DatasetRule, RecordRule, Rule, Scope

ALL_RULES: tuple[type[Rule], ...] = (
    *load.RULES,
    *structure.RULES,
    *roles.RULES,
    *content.RULES,
    *tokens.RULES,
    *quality.RULES,
    *privacy.RULES,
    *dataset.RULES,
    *duplicates.RULES,
    *output.RULES,
)

_BY_CODE: dict[str, type[Rule]] = {r.code: r for r in ALL_RULES}
_BY_NAME: dict[str, type[Rule]] = {r.name: r for r in ALL_RULES}


def rule_for(code_or_name: str) -> type[Rule]:
    """The rule with this code (``S001``) or name (``missing-messages``)."""
    rule = _BY_CODE.get(code_or_name.upper()) or _BY_NAME.get(code_or_name)
    if rule is None:
        raise KeyError(f"unknown rule {code_or_name!r}")
    return rule


def _instantiate(rule: type[Rule], config: Config) -> Rule:
    raw_options = config.rules.get(rule.code) or config.rules.get(rule.name) or {}
    try:
        options = rule.Options.model_validate(raw_options)
    except ValidationError as err:
        problems = "; ".join(
            f"'{'.'.join(map(str, e['loc'])).replace('_', '-')}': "
            + ("unknown option" if e["type"] == "extra_forbidden" else e["msg"])
            for e in err.errors()
        )
        where = f" in {config.source}" if config.source else ""
        raise ConfigError(
            f"invalid options for rule {rule.code} ({rule.name}){where}: {problems}"
        ) from None
    severity = config.severity.get(rule.code) or config.severity.get(rule.name)
    try:
        level = Severity(severity) if severity else None
    except ValueError:
        raise ConfigError(
            f"invalid severity {severity!r} for rule {rule.code}; use error, warning or info"
        ) from None
    return rule(options, level)


def fix_safety(code: str) -> str | None:
    """:meth:`Rule.fix_safety` of the rule with ``code`` (``None`` for an unknown code)."""
    rule = _BY_CODE.get(code)
    return None if rule is None else rule.fix_safety()


def check_selectors(codes: Iterable[str], where: str) -> None:
    """Raise :class:`ConfigError` naming the first of ``codes`` (code prefixes, or ``ALL``)
    that selects no rule; ``where`` says where it was given (``--ignore``, ``ignore in
    ftprep.toml``)."""
    for code in codes:
        upper = code.strip().upper()
        if upper != "ALL" and not any(rule.code.startswith(upper) for rule in ALL_RULES):
            raise ConfigError(f"unknown rule selector {code!r} in {where} (see `ftprep rules`)")


def validate_rule_config(config: Config) -> None:
    """Raise :class:`ConfigError` for selectors, options or severities naming unknown rules,
    and for invalid options or severities of any rule (selected or not)."""
    place = f" in {config.source}" if config.source else ""
    check_selectors(config.select or [], f"select{place}")
    check_selectors(config.extend_select, f"extend-select{place}")
    check_selectors(config.ignore, f"ignore{place}")
    for pattern, codes in config.per_file_ignores.items():
        check_selectors(codes, f"per-file-ignores {pattern!r}{place}")
    if isinstance(config.prepare.redact, list):
        redactable = rule_codes(redactable=True)
        for code in config.prepare.redact:
            if code != "ALL" and not any(c.startswith(code) for c in redactable):
                raise ConfigError(
                    f"prepare.redact{place}: {code!r} selects no privacy rule "
                    f"({', '.join(sorted(redactable))})"
                )
    for key in (*config.rules, *config.severity):
        try:
            rule = rule_for(key)
        except KeyError:
            raise ConfigError(f"configuration names an unknown rule: {key!r}") from None
        _instantiate(rule, config)


def enabled_rules(config: Config, scope: Scope) -> list[Rule]:
    """Instances of the enabled rules of ``scope``, configured, in registry order."""
    validate_rule_config(config)
    return [
        _instantiate(rule, config)
        for rule in ALL_RULES
        if rule.scope == scope and config.is_enabled(rule.code, default=rule.default_on)
    ]


def rule_codes(**attributes: bool) -> frozenset[str]:
    """Codes of the rules whose class attributes have these values:
    ``rule_codes(once_per_file=True)``."""
    return frozenset(
        r.code
        for r in ALL_RULES
        if all(getattr(r, name) == value for name, value in attributes.items())
    )


def default_rejects() -> dict[str, list[str]]:
    """Per input dialect, the codes whose findings reject a record whatever their severity
    by default (each rule's :attr:`~ftprep.rules.base.Rule.rejects_in`)."""
    by_dialect: dict[str, list[str]] = {}
    for rule in ALL_RULES:
        for dialect in rule.rejects_in:
            by_dialect.setdefault(dialect, []).append(rule.code)
    return by_dialect


def record_rules(config: Config) -> list[RecordRule]:
    """Enabled record-level rules."""
    return [r for r in enabled_rules(config, "record") if isinstance(r, RecordRule)]


def dataset_rules(config: Config) -> list[DatasetRule]:
    """Enabled dataset-level rules."""
    return [r for r in enabled_rules(config, "dataset") if isinstance(r, DatasetRule)]


class ProblemRules:
    """The rules that document the loader's and the writers' problems, as configured: they
    give a :class:`~ftprep.findings.Problem` its rule's code and configured severity (a
    severity override of a load rule applies like any other)."""

    def __init__(self, config: Config):
        validate_rule_config(config)
        self.config = config
        self._rules: dict[str, Rule] = {}
        self._enabled: dict[tuple[str, str | None], bool] = {}

    def rule(self, kind: str) -> Rule:
        """The configured rule named ``kind``."""
        rule = self._rules.get(kind)
        if rule is None:
            rule = self._rules[kind] = _instantiate(rule_for(kind), self.config)
        return rule

    def enabled(self, kind: str, path: str | None = None) -> bool:
        """Whether the rule named ``kind`` is selected (for ``path``, when given: per-file
        ignores apply)."""
        known = self._enabled.get((kind, path))
        if known is None:
            rule = self.rule(kind)
            known = self.config.is_enabled(rule.code, default=rule.default_on) and (
                path is None or not self.config.is_ignored_for(rule.code, path)
            )
            self._enabled[kind, path] = known
        return known

    def finding(self, problem: Problem) -> Finding:
        """``problem`` as a finding of its rule, selected or not (a reason a record was left
        out is given whatever the selection)."""
        return self.rule(problem.kind).finding(problem.location, problem.message, hint=problem.hint)

    def findings(self, problems: Iterable[Problem], path: str | None = None) -> list[Finding]:
        """The findings of the ``problems`` whose rule is :meth:`enabled`."""
        return [self.finding(p) for p in problems if self.enabled(p.kind, path)]
