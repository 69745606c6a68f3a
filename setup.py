"""The C extensions (MinHash signing, content-key text); the rest is in pyproject.toml."""

import sys

from setuptools import Extension, setup

# -O3: the permutation loop is vectorised only from -O3 on (GCC, clang).
OPTIMISE = [] if sys.platform == "win32" else ["-O3"]

setup(
    ext_modules=[
        Extension(f"ftprep.dedup.{name}", [f"ftprep/dedup/{name}.c"], extra_compile_args=OPTIMISE)
        for name in ("_minhash", "_keys")
    ]
)
