"""ftprep installs as a new user installs it, offline against the configured package indexes.

A fresh clone of this repository (its committed ``HEAD``) and a fresh virtual environment
(``python -m venv``, no system site-packages): the README's first command runs there as
written. With ``FTPREP_TEST_README=1`` (``scripts/test`` sets it under CI; the install takes
minutes), so does the second one's install step (``./scripts/test --install-only``), then a
smoke test of the suite. In the same environment, a wheel and an sdist built with ``python -m
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
import zipfile
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
        """``ftprep check`` in the clone by the environment's own ``ftprep`` (findings exit
        1)."""
        result = subprocess.run(
            [str(self.venv / "bin" / "ftprep"), "check", "--no-progress", *args],
            cwd=self.clone,
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


@pytest.mark.skipif(
    os.environ.get("FTPREP_TEST_README") != "1",
    reason="installs for minutes: scripts/test runs it under CI",
)
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
    """The sdist and the wheel ``python -m build`` (the suite's own) makes of the clone."""
    out = fresh.work / "dist"
    fresh.run([sys.executable, "-m", "build", "--outdir", str(out), str(fresh.clone)])
    return out


def _install(fresh: Fresh, package: Path, **env: str) -> None:
    pip = ["python", "-m", "pip", "install", "--quiet", "--force-reinstall", "--no-deps"]
    fresh.run([*pip, "--no-cache-dir", str(package)], **env)


def _suite_check(*args: str) -> subprocess.CompletedProcess[str]:
    """``ftprep check`` in this checkout by the suite's own ftprep (with its C extensions)."""
    return subprocess.run(
        [sys.executable, "-m", "ftprep", "check", "--no-progress", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def _same_check(fresh: Fresh, *args: str) -> str:
    """Check ``args`` in the environment and by the suite: the same exit code and output."""
    expected = _suite_check(*args)
    result = fresh.check(*args)
    assert (result.returncode, result.stdout) == (expected.returncode, expected.stdout)
    return result.stdout


def test_wheel_installs_and_checks(fresh: Fresh, dist: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    _install(fresh, wheel)
    assert len(fresh.extensions()) == 3
    drone = _same_check(fresh, "fixtures/drone")
    assert "Found 1 info in 103 records (1 file)." in drone


def test_sdist_installs_without_a_compiler(fresh: Fresh, dist: Path) -> None:
    """A compiler that fails (``CC=/bin/false``) leaves the C extensions out, and the
    fallbacks find what the C extensions find."""
    (sdist,) = dist.glob("*.tar.gz")
    _install(fresh, sdist, CC="/bin/false")
    assert fresh.extensions() == []
    _same_check(fresh, "fixtures/drone")
    findings = _same_check(fresh, "--format", "json", str(REALDATA_FILE))
    assert '"X003"' in findings and '"Q001"' in findings


def test_pure_python_build_leaves_the_extensions_out(fresh: Fresh, tmp_path: Path) -> None:
    """``FTPREP_PURE_PYTHON=1`` at build time: a wheel without C extensions, and says so."""
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "-v"]
    output = subprocess.run(
        [*pip_wheel, "--wheel-dir", str(tmp_path), str(fresh.clone)],
        env={**os.environ, "FTPREP_PURE_PYTHON": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # pip shows the build's output on stderr
        text=True,
        check=True,
    ).stdout
    assert "FTPREP_PURE_PYTHON is set: not building the C accelerators" in output
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "ftprep/dedup/keys.py" in names
    assert {"index.html", "app.js", "app.css"} <= {  # the review page works offline
        name.removeprefix("ftprep/review/static/") for name in names
    }
    assert not [name for name in names if name.endswith((".so", ".pyd", ".c"))]
