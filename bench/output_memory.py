"""Benchmark: the peak memory of ``ftprep check --format F`` against the same check through
the library (``ftprep.check``), on the corpus ``bench/perf.py`` builds.

The command line writes findings as it renders them (:func:`ftprep.report.formats.
write_findings`), so printing a million findings should cost little beyond the check itself;
the target is a peak within 1.2x the library's. Each run is a fresh interpreter, its output
going to a file; memory is sampled as in ``bench/perf.py`` (summed RSS and PSS of the process
tree, every 20 ms). Runs start in the corpus folder, so ``--python`` measures the ftprep
installed for that interpreter (``python -m`` would import a checkout in the working
directory).

    python bench/output_memory.py                      # 100,728 examples (4 copies)
    python bench/output_memory.py --copies 40          # 1,007,280 examples
    python bench/output_memory.py --python /other/python  # another installation's ftprep
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from perf import MemorySampler, build_corpus

LIBRARY = (
    "import sys, ftprep\n"
    "result = ftprep.check(sys.argv[1], progress=False)\n"
    "print(len(result.findings))\n"
)


def measure(command: list[str], out: Path) -> dict[str, Any]:
    """Run ``command`` with its standard output going to ``out``: wall time; the high-water
    mark of the largest process's RSS (``maxrss`` from ``wait4``: the kernel's own peak,
    which catches the short spike of rendering a whole document that 20 ms samples can
    miss); and the sampled peaks of the summed RSS and PSS of the process tree (MB)."""
    start = time.perf_counter()
    with out.open("wb") as sink, tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, stdout=sink, stderr=errors, cwd=out.parent)
        sampler = MemorySampler(process.pid)
        sampler.start()
        _pid, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        sampler.stop()
        if process.returncode not in (0, 1):
            errors.seek(0)
            raise RuntimeError(f"{command} failed:\n{errors.read().decode(errors='replace')}")
    return {
        "s": round(time.perf_counter() - start, 2),
        "maxrss_mb": round(usage.ru_maxrss / 1024, 1),
        "tree_rss_mb": round(sampler.peak_rss_kb / 1024, 1),
        "tree_pss_mb": round(sampler.peak_pss_kb / 1024, 1),
        "out_mb": round(out.stat().st_size / 1e6, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, nargs="*", default=[4])
    parser.add_argument("--formats", nargs="*", default=["json", "jsonl", "sarif"])
    parser.add_argument("--python", default=sys.executable, help="the interpreter to measure")
    parser.add_argument("--keep", type=Path, help="write (and reuse) the corpora in this folder")
    parser.add_argument("--limit", type=int, help="records per copy (a smoke run)")
    args = parser.parse_args(argv)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="ftprep-output-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    for copies in args.copies:
        corpus = folder / f"corpus-{copies}x{'-' + str(args.limit) if args.limit else ''}.jsonl"
        if not corpus.exists():
            build_corpus(corpus, copies, limit=args.limit)
        library = measure([args.python, "-c", LIBRARY, str(corpus)], folder / "library.out")
        row: dict[str, Any] = {"copies": copies, "library": library}
        for fmt in args.formats:
            cli = [args.python, "-m", "ftprep.cli", "check", str(corpus), "--no-progress"]
            result = measure([*cli, "--format", fmt], folder / f"cli.{fmt}")
            for key in ("maxrss_mb", "tree_rss_mb", "tree_pss_mb"):
                result[f"ratio_{key[:-3]}"] = round(result[key] / library[key], 2)
            row[fmt] = result
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
