"""The pre-commit hooks, run by the real pre-commit against a throwaway git repository.

``pre-commit try-repo`` installs the hook repository into a fresh virtualenv. The hook
repository is a snapshot of this checkout (package, build files, hooks file) committed into a
temporary git repository, so the test sees the code on disk whatever the state of this
checkout's git history. The hook environment sees the test's own site-packages and pip is
told not to use an index, so nothing is downloaded.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import needs
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
            shutil.copytree(source, repo / name, ignore=shutil.ignore_patterns("__pycache__"))
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
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRE_COMMIT", "GIT_"))}
    env.update(
        PRE_COMMIT_HOME=str(home),
        VIRTUALENV_SYSTEM_SITE_PACKAGES="true",
        PIP_NO_INDEX="1",
        PIP_NO_BUILD_ISOLATION="0",  # pip's inverted spelling: build without isolation
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    return env


def _try_repo(hook_repo: Path, data_repo: Path, hook: str, *files: str) -> tuple[int, str]:
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), hook, "--files", *files],
        cwd=data_repo,
        env=_environment(data_repo.parent / "pre-commit-home"),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    return result.returncode, result.stdout + result.stderr


def test_bad_file_fails_the_hook_with_its_findings(hook_repo: Path, data_repo: Path) -> None:
    shutil.copy(BAD, data_repo / "train.jsonl")
    code, output = _try_repo(hook_repo, data_repo, "ftprep", "train.jsonl")
    assert code == 1, output
    assert "ftprep check" in output and "Failed" in output
    assert "train.jsonl:3:101: L001 invalid JSON" in output
    assert "Traceback" not in output


def test_good_file_passes_the_hook(hook_repo: Path, data_repo: Path) -> None:
    shutil.copy(DRONE, data_repo / "train.jsonl")
    code, output = _try_repo(hook_repo, data_repo, "ftprep", "train.jsonl")
    assert code == 0, output
    assert "Passed" in output and "Skipped" not in output


def test_fix_hook_rewrites_the_file(hook_repo: Path, data_repo: Path) -> None:
    data = data_repo / "train.jsonl"
    data.write_bytes(b"\xef\xbb\xbf" + DRONE.read_bytes() + b"\n")
    code, output = _try_repo(hook_repo, data_repo, "ftprep-fix", "train.jsonl")
    assert code == 1, output
    assert "Fixed 2 issues in train.jsonl" in output
    assert data.read_bytes() == DRONE.read_bytes()
