"""The package follows the data: a module imports only modules of its own layer or of layers
below it (load -> validate -> dedup -> split -> write -> report, with the API and the command
line on top and plain data types at the bottom). Every import counts, including those made
inside functions: a lazy import is still a dependency."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ftprep"

#: Top to bottom. A name stands for the module and everything under it; the longest name that
#: covers a module gives its layer.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("ftprep", "ftprep.__main__", "ftprep.cli"),
    ("ftprep.api",),
    ("ftprep.review",),
    ("ftprep.fix", "ftprep.baseline"),
    ("ftprep.report",),
    ("ftprep.write",),
    ("ftprep.split",),
    ("ftprep.validate.check",),
    ("ftprep.engines",),
    ("ftprep.validate",),
    ("ftprep.rules",),
    ("ftprep.dedup",),
    ("ftprep.load",),
    ("ftprep.dialects",),
    ("ftprep.tokens",),
    ("ftprep.targets", "ftprep.trainers"),
    ("ftprep.config", "ftprep.progress"),
    (
        "ftprep.facts",
        "ftprep.model",
        "ftprep.findings",
        "ftprep.secrets",
        "ftprep._version",
        "ftprep._accel",
        "ftprep._lazy",
        "ftprep.cache",
        "ftprep.log",
        "ftprep.view",
    ),
)


def layer_of(module: str) -> int:
    """The index in :data:`LAYERS` of the longest name covering ``module``."""
    best, depth = -1, -1
    for index, names in enumerate(LAYERS):
        for name in names:
            covers = module == name or (name != "ftprep" and module.startswith(name + "."))
            if covers and name.count(".") > depth:
                best, depth = index, name.count(".")
    if best < 0:
        best = 0 if module == "ftprep" else -1
    assert best >= 0, f"{module} is in no layer: add it to LAYERS"
    return best


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, path


MODULES = {name for name, _path in modules()}


def imports(path: Path, module: str) -> Iterator[tuple[int, str]]:
    """``(line, imported module)`` of every ftprep import in ``path``."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if base.startswith("ftprep"):
                names = {f"{base}.{alias.name}" for alias in node.names} & MODULES
                yield from ((node.lineno, name) for name in sorted(names or {base}))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("ftprep"):
                    yield node.lineno, alias.name


def test_no_module_imports_a_later_stage() -> None:
    wrong = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {module} imports {target}"
        for module, path in modules()
        for line, target in imports(path, module)
        if layer_of(target) < layer_of(module)
    ]
    assert wrong == []


def test_the_named_contracts_hold() -> None:
    """The issue's contracts, spelled out: load and dialects import no rules; rules and dedup
    import no engine, executor, writer, report, CLI or API; configuration imports no
    tokenizer; the engine imports no executor."""
    forbidden = {
        "ftprep.load": ("ftprep.rules",),
        "ftprep.dialects": ("ftprep.rules",),
        "ftprep.rules": (
            "ftprep.validate",
            "ftprep.engines",
            "ftprep.write",
            "ftprep.report",
            "ftprep.cli",
            "ftprep.api",
        ),
        "ftprep.dedup": (
            "ftprep.validate",
            "ftprep.engines",
            "ftprep.write",
            "ftprep.report",
            "ftprep.cli",
            "ftprep.api",
            "ftprep.rules",
        ),
        "ftprep.config": ("ftprep.tokens",),
        "ftprep.validate.engine": ("ftprep.engines",),
    }
    wrong = [
        f"{module} imports {target}"
        for module, path in modules()
        for _, target in imports(path, module)
        for owner, banned in forbidden.items()
        if module == owner or module.startswith(owner + ".")
        for prefix in banned
        if target == prefix or target.startswith(prefix + ".")
    ]
    assert wrong == []


def test_the_layer_map_is_not_vacuous() -> None:
    """The test itself sees real imports and real layers (a parse that found nothing would
    pass every contract)."""
    found = {target for module, path in modules() for _, target in imports(path, module)}
    assert {"ftprep.validate.engine", "ftprep.facts", "ftprep.rules.base"} <= found
    assert layer_of("ftprep.validate.engine") > layer_of("ftprep.validate.check")
    assert layer_of("ftprep.rules.quality") > layer_of("ftprep.validate.engine")


def test_no_code_outside_rules_names_a_rule_code() -> None:
    """Rules are data the framework reads: outside ``ftprep/rules`` no string in the code is
    a rule code (docstrings may cite one)."""
    import re

    code_like = re.compile(r"^[A-Z][0-9]{3}$")
    wrong = []
    for module, path in modules():
        if module.startswith("ftprep.rules"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        wrong.extend(
            f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {node.value!r}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and code_like.match(node.value)
        )
    assert wrong == []


def test_no_function_is_longer_than_80_lines() -> None:
    """Functions stay readable at a glance: a longer one is cut into named steps."""
    long = [
        f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {node.name} "
        f"({node.end_lineno - node.lineno + 1} lines)"
        for _module, path in modules()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > 80
    ]
    assert long == []
