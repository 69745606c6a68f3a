"""The C extensions (MinHash signing, content-key text, rule triggers); the rest is in
pyproject.toml.

They are optional accelerators: where no C compiler works, or with ``FTPREP_PURE_PYTHON=1``,
ftprep installs without them and uses its plain-Python fallbacks (the same results, slower;
see ``ftprep/_accel.py``)."""

import os
import sys

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
            return
        try:
            super().run()
        except BUILD_ERRORS as err:  # no usable compiler at all
            self._left_out("the C accelerators", err)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except BUILD_ERRORS as err:
            self._left_out(ext.name, err)

    @staticmethod
    def _left_out(what: str, err: Exception) -> None:
        print(
            f"WARNING: ftprep: could not build {what} ({err}); installing without: the "
            "plain-Python fallback gives the same results, more slowly",
            file=sys.stderr,
        )


setup(
    cmdclass={"build_ext": OptionalBuildExt},
    ext_modules=[
        Extension(f"ftprep.{name}", [f"ftprep/{path}.c"], extra_compile_args=OPTIMISE)
        for name, path in (
            ("dedup._minhash", "dedup/_minhash"),
            ("dedup._keys", "dedup/_keys"),
            ("rules._triggers", "rules/_triggers"),
        )
    ],
)
