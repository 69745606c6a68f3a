"""The pre-commit hooks, run by the real pre-commit against a throwaway git repository.

The data repository's ``.pre-commit-config.yaml`` names the hook repository and its
revision, as a user's does, and ``pre-commit run`` installs it as for every user: a fresh
virtualenv of its own (no site-packages of the test's interpreter) into which pip installs the
repository with its dependencies, from the package indexes pip is configured with, compiling
the C extensions where it can. The hook repository is a snapshot of this checkout (package,
build files, hooks file) committed into a temporary git repository, so the test sees the code
on disk whatever the state of this checkout's git history. pre-commit keeps the hook
environment in its cache, which the module's tests share: it is built once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import needs
import orjson
import pytest

ROOT = Path(__file__).resolve().parents[1]
BAD = ROOT / "fixtures" / "cli" / "bad.jsonl"
DRONE = ROOT.parent / "shared" / "realdata" / "openai_cookbook" / "drone_training.jsonl"
SNAPSHOT = ("pyproject.toml", "setup.py", "README.md", ".pre-commit-hooks.yaml", "ftprep")

needs.module("pre_commit")
if shutil.which("git") is None:
    needs.missing("git is not installed")


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=ftprep", "-c", "user.email=ftprep@example.invalid", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("hook-repo")
    for name in SNAPSHOT:
        source = ROOT / name
        if source.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.so", "*.pyd")  # built here
            shutil.copytree(source, repo / name, ignore=ignore)
        else:
            shutil.copy2(source, repo / name)
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "snapshot")
    return repo


@pytest.fixture
def data_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "data-repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    return repo


def _environment(home: Path) -> dict[str, str]:
    # Nothing of this interpreter's environment leaks into the hook's: a user's shell has no
    # VIRTUAL_ENV or PYTHONPATH of ours either.
    leaks = ("PRE_COMMIT", "GIT_", "VIRTUALENV_", "VIRTUAL_ENV", "PYTHONPATH", "FTPREP_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(leaks)}
    env.update(PRE_COMMIT_HOME=str(home), PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


def _home(hook_repo: Path) -> Path:
    """pre-commit's cache, where it keeps the hook environment: one for the module."""
    return hook_repo.with_name(f"{hook_repo.name}-pre-commit-home")


def _run_hook(hook_repo: Path, data_repo: Path, hook: str, *files: str) -> tuple[int, str]:
    revision = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=hook_repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    config = f"repos:\n- repo: {hook_repo}\n  rev: {revision}\n  hooks:\n  - id: {hook}\n"
    (data_repo / ".pre-commit-config.yaml").write_text(config)
    _git(data_repo, "add", ".pre-commit-config.yaml")
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", hook, "--files", *files],
        cwd=data_repo,
        env=_environment(_home(hook_repo)),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    return result.returncode, result.stdout + result.stderr


def test_bad_file_fails_the_hook_with_its_findings(hook_repo: Path, data_repo: Path) -> None:
    shutil.copy(BAD, data_repo / "train.jsonl")
    code, output = _run_hook(hook_repo, data_repo, "ftprep", "train.jsonl")
    assert code == 1, output
    assert "ftprep check" in output and "Failed" in output
    assert "train.jsonl:3:101: L001 invalid JSON" in output
    assert "Traceback" not in output


def test_good_file_passes_the_hook(hook_repo: Path, data_repo: Path) -> None:
    shutil.copy(DRONE, data_repo / "train.jsonl")
    code, output = _run_hook(hook_repo, data_repo, "ftprep", "train.jsonl")
    assert code == 0, output
    assert "Passed" in output and "Skipped" not in output
    # The environment pre-commit built: a virtualenv of its own, the C extensions compiled.
    (config,) = _home(hook_repo).rglob("pyvenv.cfg")
    assert "include-system-site-packages = false" in config.read_text()
    assert len(list(config.parent.rglob("site-packages/ftprep/**/_*.so"))) == 3


def test_fix_hook_rewrites_the_file(hook_repo: Path, data_repo: Path) -> None:
    data = data_repo / "train.jsonl"
    data.write_bytes(b"\xef\xbb\xbf" + DRONE.read_bytes() + b"\n")
    code, output = _run_hook(hook_repo, data_repo, "ftprep-fix", "train.jsonl")
    assert code == 1, output
    assert "Fixed 2 issues in train.jsonl" in output
    assert data.read_bytes() == DRONE.read_bytes()


def test_json_datasets_are_checked_and_other_json_skipped(hook_repo: Path, data_repo: Path) -> None:
    records = [orjson.loads(line) for line in DRONE.read_bytes().splitlines()]
    (data_repo / "train.json").write_bytes(orjson.dumps(records, option=orjson.OPT_INDENT_2))
    (data_repo / "package.json").write_text('{"name": "demo", "version": "1.0.0"}\n')
    code, output = _run_hook(hook_repo, data_repo, "ftprep", "train.json", "package.json")
    assert code == 0, output  # package.json is skipped (pre-commit hides a passing hook's lines)
    assert "Passed" in output
