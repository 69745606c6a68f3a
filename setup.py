"""The C extensions (MinHash signing, content-key text, rule triggers); the rest is in
pyproject.toml."""

import sys

from setuptools import Extension, setup

# -O3: the permutation loop is vectorised only from -O3 on (GCC, clang).
OPTIMISE = [] if sys.platform == "win32" else ["-O3"]

setup(
    ext_modules=[
        Extension(f"ftprep.{name}", [f"ftprep/{path}.c"], extra_compile_args=OPTIMISE)
        for name, path in (
            ("dedup._minhash", "dedup/_minhash"),
            ("dedup._keys", "dedup/_keys"),
            ("rules._triggers", "rules/_triggers"),
        )
    ]
)
