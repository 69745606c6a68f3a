"""ftprep installs as a new user installs it, offline against the configured package indexes.

A fresh clone of this repository (its committed ``HEAD``) and a fresh virtual environment
(``python -m venv``, no system site-packages): the README's first command runs there as
written, then the second one's install step (``./scripts/test --install-only``) and a smoke
test of the suite. In the same environment, a wheel and an sdist built with ``python -m
build`` install and check ``fixtures/drone``, and the sdist installs without a working C
compiler (or with ``FTPREP_PURE_PYTHON=1``), leaving the C extensions out, and finds the same
as with them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import needs
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REALDATA_FILE = SHARED / "realdata" / "llamafactory" / "glaive_toolcall_en_demo.json"

pytestmark = [pytest.mark.slow, needs.path_mark(REALDATA_FILE, "needs ../shared/realdata")]
if shutil.which("git") is None:
    needs.missing("git is not installed")


@dataclass(frozen=True)
class Fresh:
    """A fresh clone and virtual environment."""

    work: Path
    clone: Path
    venv: Path
    env: dict[str, str]

    def run(self, command: list[str] | str, cwd: Path | None = None, **env: str) -> str:
        """Run ``command`` (a list, or a shell line) in the environment, with the variables
        ``env`` added; its output."""
        result = subprocess.run(
            command,
            shell=isinstance(command, str),
            cwd=cwd or self.work,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
        assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def check(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``ftprep check`` by the environment's own ``ftprep`` (findings exit 1)."""
        result = subprocess.run(
            [str(self.venv / "bin" / "ftprep"), "check", "--no-progress", *args],
            cwd=self.work,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode in (0, 1), result.stderr
        return result

    def extensions(self) -> list[str]:
        """The C extensions installed in the environment's ``ftprep``."""
        located = self.run([str(self.venv / "bin" / "python"), "-c", _PACKAGE_DIR])
        return sorted(p.name for p in Path(located.strip()).rglob("*.so"))


# Run from outside the clone, so that it finds the installed package, not the checkout.
_PACKAGE_DIR = "import os, ftprep; print(os.path.dirname(ftprep.__file__))"


def readme_commands() -> list[str]:
    """The lines of the README's first code block, without their comments."""
    block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    assert block is not None
    return [line.split("#")[0].strip() for line in block[1].splitlines() if line.strip()]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Fresh:
    """The clone, the environment, and the README's first command run in them."""
    work = tmp_path_factory.mktemp("fresh")
    clone = work / "ftprep"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    (work / "shared").symlink_to(SHARED)  # the clone's ../shared, as next to this checkout
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "FTPREP_PURE_PYTHON", "VIRTUAL_ENV")
    }
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}", VIRTUAL_ENV=str(venv))
    fresh = Fresh(work, clone, venv, env)
    fresh.run(readme_commands()[0], cwd=clone)
    return fresh


def test_readme_first_command_prepares_the_drone_data(fresh: Fresh) -> None:
    assert readme_commands()[0] == "pip install . && ftprep prepare fixtures/drone --out out/"
    out = fresh.clone / "out"
    assert {p.name for p in out.iterdir()} >= {
        "train.jsonl",
        "holdout.jsonl",
        "rejected.jsonl",
        "report.html",
        "manifest.json",
    }
    written = sum(
        len((out / name).read_text().splitlines())
        for name in ("train.jsonl", "holdout.jsonl", "rejected.jsonl")
    )
    assert written == len((ROOT / "fixtures/drone/drone_training.jsonl").read_text().splitlines())
    assert len(fresh.extensions()) == 3  # compiled by the install


def test_readme_second_command_installs_what_the_suite_needs(fresh: Fresh) -> None:
    command = readme_commands()[1]
    assert command == "./scripts/test"
    installed = fresh.run(f"{command} --install-only", cwd=fresh.clone)
    # ftprep was installed from the clone, not editable: made editable; the test extra added.
    assert "installing ftprep (editable" in installed
    assert re.search(r"^installing pytest \d", installed, re.MULTILINE), installed
    # Only what is missing: a second run installs nothing.
    assert fresh.run(f"{command} --install-only", cwd=fresh.clone) == ""
    # A smoke test of the suite there: lint, and the findings with and without the fallbacks.
    fresh.run("ruff check ftprep tests bench", cwd=fresh.clone)
    smoke = "python -m pytest -q -p no:cacheprovider tests/test_golden.py tests/test_accel.py"
    assert " passed" in fresh.run(smoke, cwd=fresh.clone)


@pytest.fixture(scope="module")
def dist(fresh: Fresh) -> Path:
    """The sdist and the wheel ``python -m build`` makes of the clone."""
    out = fresh.work / "dist"
    fresh.run(["python", "-m", "build", "--outdir", str(out), str(fresh.clone)])
    return out


def _install(fresh: Fresh, package: Path, **env: str) -> None:
    pip = ["python", "-m", "pip", "install", "--quiet", "--force-reinstall", "--no-deps"]
    fresh.run([*pip, "--no-cache-dir", str(package)], **env)


def test_wheel_and_sdist_install_and_check(fresh: Fresh, dist: Path) -> None:
    expected = subprocess.run(
        [sys.executable, "-m", "ftprep", "check", "--no-progress", "fixtures/drone"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    for package in (wheel, sdist):
        _install(fresh, package)
        assert len(fresh.extensions()) == 3
        result = fresh.check(str(fresh.clone / "fixtures" / "drone"))
        assert result.returncode == expected.returncode
        assert result.stdout.replace(str(fresh.clone), str(ROOT)) == expected.stdout
        assert "Found 1 info in 103 records (1 file)." in result.stdout


@pytest.mark.parametrize("no_compiler", [{"CC": "/bin/false"}, {"FTPREP_PURE_PYTHON": "1"}])
def test_sdist_installs_without_a_compiler(
    fresh: Fresh, dist: Path, no_compiler: dict[str, str]
) -> None:
    (sdist,) = dist.glob("*.tar.gz")
    _install(fresh, sdist)
    with_c = fresh.check("--format", "json", str(REALDATA_FILE)).stdout
    _install(fresh, sdist, **no_compiler)
    assert fresh.extensions() == []
    without = fresh.check("--format", "json", str(REALDATA_FILE)).stdout
    assert '"X003"' in without and '"Q001"' in without
    assert without == with_c
