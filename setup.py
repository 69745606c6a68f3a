"""The MinHash C extension; everything else is configured in pyproject.toml."""

import sys

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "ftprep.dedup._minhash",
            ["ftprep/dedup/_minhash.c"],
            # -O3: the permutation loop is vectorised only from -O3 on (GCC, clang).
            extra_compile_args=[] if sys.platform == "win32" else ["-O3"],
        )
    ]
)
