"""The C extensions (MinHash signing, content-key text, rule triggers); the rest is in
pyproject.toml.

They are optional accelerators: where no C compiler works, or with ``FTPREP_PURE_PYTHON=1``,
ftprep installs without them and uses its plain-Python fallbacks (the same results, slower;
see ``ftprep/_accel.py``)."""

import os
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import CCompilerError, ExecError, PlatformError

# -O3: the permutation loop is vectorised only from -O3 on (GCC, clang).
OPTIMISE = [] if sys.platform == "win32" else ["-O3"]
PURE_PYTHON = os.environ.get("FTPREP_PURE_PYTHON", "") not in ("", "0")
BUILD_ERRORS = (CCompilerError, ExecError, PlatformError, OSError)


class OptionalBuildExt(build_ext):
    """Builds each extension it can; one that fails to build (no compiler, a compiler that
    fails) is left out with a warning instead of failing the install."""

    def run(self) -> None:
        if PURE_PYTHON:
            print("ftprep: FTPREP_PURE_PYTHON is set: not building the C accelerators")
            self._drop_stale(self.extensions)
            return
        try:
            super().run()
        except BUILD_ERRORS as err:  # no usable compiler at all
            self._left_out("the C accelerators", err, self.extensions)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except BUILD_ERRORS as err:
            self._left_out(ext.name, err, [ext])

    def _left_out(self, what: str, err: Exception, extensions: list[Extension]) -> None:
        print(
            f"WARNING: ftprep: could not build {what} ({err}); installing without: the "
            "plain-Python fallback gives the same results, more slowly",
            file=sys.stderr,
        )
        self._drop_stale(extensions)

    def _drop_stale(self, extensions: list[Extension]) -> None:
        # A build folder reused from an earlier build may hold these extensions built from
        # older sources: they must not end up in the wheel.
        for ext in extensions:
            Path(self.get_ext_fullpath(ext.name)).unlink(missing_ok=True)


setup(
    cmdclass={"build_ext": OptionalBuildExt},
    ext_modules=[
        Extension(f"ftprep.{name}", [f"ftprep/{path}.c"], extra_compile_args=OPTIMISE)
        for name, path in (
            ("dedup._minhash", "dedup/_minhash"),
            ("dedup._keys", "dedup/_keys"),
            ("validate._triggers", "validate/_triggers"),
        )
    ],
)
