"""Peak resident memory of an ``ftprep`` command run in a child process (ru_maxrss of the
only grandchild), for tests that bound memory rather than time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

GUARD = 300
"""Seconds after which a run is taken to hang (a guard, not a measurement)."""

_PEAK = f"""
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=False, timeout={GUARD})
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def peak_mb(*argv: str | Path, cwd: Path) -> float:
    """Peak resident memory of ``ftprep argv`` (run in ``cwd``) in MB."""
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, sys.executable, "-m", "ftprep.cli", *map(str, argv)],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=True,
        timeout=GUARD,
    )
    return int(done.stdout) / 1024
