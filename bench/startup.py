"""Benchmark: the start-up cost of ``ftprep check`` on a small file.

Times, each in a fresh process and alternately, so that the machine's drift hits both alike:

- **the imports**: ``python -c "import pydantic, tiktoken, orjson, numpy"``, the dependencies
  any check needs, and nothing else;
- **``ftprep check``** of a 10-record file (the first records of ``fixtures/drone/``), with
  the vocabulary cache filled beforehand by one untimed run, as after a first use;
- with ``--cold``, also ``ftprep check`` with the cache off (``FTPREP_NO_CACHE=1``): the
  vocabulary read from the bundled file and its token finder made, as on a first use (or
  every run, where the cache cannot be written).

It prints, for each command, the medians of the wall time and the CPU time (user + system,
the operating system's accounting of the finished child), and the ratios to the imports:
the ratio of the medians and the median of the run-by-run ratios. Both sides import
byte-compiled code, as installed packages do (ftprep is compiled first: an editable install
under ``PYTHONDONTWRITEBYTECODE`` would compile it on every run). The cache lives in a
temporary directory (``FTPREP_CACHE_DIR``), so the user's own is neither used nor touched.

    python bench/startup.py               # 15 runs of each
    python bench/startup.py --runs 30 --cold
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "fixtures" / "drone" / "drone_training.jsonl"
RECORDS = 10
IMPORTS = "import pydantic, tiktoken, orjson, numpy"


def ftprep_command() -> list[str]:
    """The ``ftprep`` console script of this interpreter, as a user runs it (else ``-m``)."""
    script = shutil.which("ftprep", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "ftprep"]


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``command`` (its output thrown away)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{command} failed ({done.returncode}): {done.stderr.decode()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs of each command")
    parser.add_argument("--cold", action="store_true", help="also time a check with no cache")
    args = parser.parse_args()

    compileall.compile_dir(REPO / "ftprep", quiet=1)
    with tempfile.TemporaryDirectory(prefix="ftprep-startup-") as tmp:
        sample = Path(tmp) / "ten.jsonl"
        with SOURCE.open("rb") as source:
            sample.write_bytes(b"".join(source.readline() for _ in range(RECORDS)))
        env = {**os.environ, "FTPREP_CACHE_DIR": str(Path(tmp) / "cache")}
        env.pop("FTPREP_NO_CACHE", None)
        check = [*ftprep_command(), "check", str(sample)]
        commands: dict[str, tuple[list[str], dict[str, str]]] = {
            "imports": ([sys.executable, "-c", IMPORTS], env),
            "check": (check, env),
        }
        if args.cold:
            commands["check, no cache"] = (check, {**env, "FTPREP_NO_CACHE": "1"})
        for command, command_env in commands.values():  # warm-up; fills the cache
            timed(command, command_env)
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, (command, command_env) in commands.items():
                times[name].append(timed(command, command_env))

    base = times["imports"]
    print(f"{args.runs} runs each, load average {os.getloadavg()[0]:.2f}, {sys.version.split()[0]}")
    print(f"{'command':<18} {'wall s':>7} {'cpu s':>7} {'wall x':>7} {'cpu x':>7}  (x: run by run)")
    for name, runs in times.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        wall_x = statistics.median(w / b for (w, _), (b, _) in zip(runs, base, strict=True))
        cpu_x = statistics.median(c / b for (_, c), (_, b) in zip(runs, base, strict=True))
        print(f"{name:<18} {wall:7.3f} {cpu:7.3f} {wall_x:7.2f} {cpu_x:7.2f}")


if __name__ == "__main__":
    main()
