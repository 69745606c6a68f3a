"""Benchmark: ``ftprep check`` against the floor of reading and tokenising the same bytes.

Builds a corpus from ``../shared/realdata/`` (every Alpaca- and ShareGPT-shaped file,
converted to OpenAI chat with ftprep's own loaders and writer: about 25,000 examples), and a
larger version of N copies that differ only in their system prompt (``--copies 4``: about
100,000 examples). Then it times, each in a fresh process, alternately, under the same
conditions:

- the floor: parse every line with orjson and count the o200k_base tokens of every message
  content with tiktoken's ``encode_ordinary``, in one plain loop, in one process, importing
  only orjson and tiktoken (which loads o200k_base from its own cache, filled beforehand from
  the copy ftprep ships, as a user's cache would be);
- ``ftprep check`` with every default rule, near duplicates included (``--engine ray`` runs
  it on Ray, ``--compare-local`` then also locally; ``--hf`` adds a run counting with a BPE
  ``tokenizer.json`` trained on the corpus, with a ChatML template, as self-hosted models
  count);

and prints wall time, peak memory and the ratio check / floor, with the load average before
each run (other processes on the machine skew both). Both sides import byte-compiled code, as
installed packages are (pip compiles them at install): ftprep is compiled first, since an
editable install under ``PYTHONDONTWRITEBYTECODE`` would otherwise compile it on every run.
Memory is sampled from ``/proc`` every 20 ms over the process and all its children: the peak
of the summed RSS, and the peak of the summed PSS (``smaps_rollup``), which counts pages that
forked workers share copy-on-write (the tiktoken vocabulary, the loaded modules) once instead
of once per process.

    python bench/perf.py                 # 1x and 4x corpora
    python bench/perf.py --copies 40     # about 1,000,000 examples
    python bench/perf.py --smoke         # a tiny corpus, to keep the script working
    python bench/perf.py --stages        # where the time of the record pass goes
"""

from __future__ import annotations

import argparse
import compileall
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parent.parent
REALDATA = REPO.parent / "shared" / "realdata"
SOURCES = (
    "stanford_alpaca_pr152/alpaca_5000.json",
    "alpaca_cleaned_extensions/gsm_8k/gsm_8k_train.json",
    "alpaca_cleaned_extensions/GPTeacher/Roleplay/roleplay-simple-deduped-roleplay-dataset.json",
    "alpaca_cleaned_extensions/GPTeacher/Toolformer/toolformer-dedupe-only-dataset.json",
    "llamafactory/alpaca_en_demo.json",
    "llamafactory/identity.json",
    "llamafactory/glaive_toolcall_en_demo.json",
    "fastchat/dummy_conversation.json",
)
SYSTEM_PROMPTS = (
    "You are a helpful assistant.",
    "You are a concise assistant. Answer precisely.",
    "You are a friendly tutor who explains step by step.",
    "You are an expert assistant for a software company.",
)
CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def _system_prompt(copy: int) -> str:
    base = SYSTEM_PROMPTS[copy % len(SYSTEM_PROMPTS)]
    return base if copy < len(SYSTEM_PROMPTS) else f"{base} (variant {copy})"


def _chat_records() -> Iterator[dict[str, Any]]:
    from ftprep.dialects import get_dialect
    from ftprep.load import load_path

    writer = get_dialect("openai")
    for name in SOURCES:
        for item in load_path(REALDATA / name):
            if item.example is None:
                continue
            written = writer.write(item.example)
            if written.record is not None:
                yield written.record


def build_corpus(path: Path, copies: int, limit: int | None = None) -> int:
    """Write ``copies`` copies of the real-data corpus as OpenAI chat JSONL; each copy has its
    own system prompt. Returns the number of examples written."""
    records = list(_chat_records())[:limit]
    count = 0
    with path.open("wb") as out:
        for copy in range(copies):
            system = {"role": "system", "content": _system_prompt(copy)}
            for record in records:
                messages = [m for m in record["messages"] if m.get("role") != "system"]
                out.write(orjson.dumps({**record, "messages": [system, *messages]}) + b"\n")
                count += 1
    return count


def build_tokenizer(folder: Path) -> Path:
    """A small byte-level BPE ``tokenizer.json`` trained on the corpus's own text, with a
    ChatML template: a stand-in for a self-hosted model's tokenizer (nothing downloaded)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    folder.mkdir(parents=True, exist_ok=True)
    texts = [
        str(m.get("content") or "")
        for record in _chat_records()
        for m in record.get("messages", [])
    ]
    tokenizer = Tokenizer(models.BPE(unk_token=None))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    special = ["<|im_start|>", "<|im_end|>", "<|endoftext|>"]
    trainer = trainers.BpeTrainer(
        vocab_size=8000,
        special_tokens=special,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(texts, trainer)
    tokenizer.save(str(folder / "tokenizer.json"))
    config = {"chat_template": CHATML, "eos_token": "<|im_end|>"}
    (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


FLOOR = """
import sys, time
t0 = time.perf_counter()
import orjson, tiktoken
encode = tiktoken.get_encoding("o200k_base").encode_ordinary
tokens = 0
with open(sys.argv[1], "rb") as handle:
    for line in handle:
        for message in orjson.loads(line)["messages"]:
            content = message.get("content")
            if isinstance(content, str):
                tokens += len(encode(content))
print(time.perf_counter() - t0, tokens)
"""

O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"


def tiktoken_cache(folder: Path) -> Path:
    """A tiktoken cache folder holding o200k_base (decompressed from the copy ftprep ships),
    so that the floor loads it the way plain tiktoken does, with no network."""
    cache = folder / "tiktoken-cache"
    target = cache / hashlib.sha1(O200K_URL.encode()).hexdigest()
    if not target.exists():
        from importlib import resources

        cache.mkdir(parents=True, exist_ok=True)
        vocab = resources.files("ftprep.tokens").joinpath("vocab", "o200k_base.tiktoken.gz")
        target.write_bytes(gzip.decompress(vocab.read_bytes()))
    return cache


CHECK = """
import json, sys, time
t0 = time.perf_counter()
from ftprep.config import Config
from ftprep.validate.check import run_check
result = run_check([sys.argv[1]], Config(**json.loads(sys.argv[2])))
print(time.perf_counter() - t0, result.loaded, len(result.findings))
"""


def _tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text()
                queue.extend(int(child) for child in children.split())
        except OSError:
            continue
    return found


def _memory_kb(pid: int, field: str, source: str) -> int:
    try:
        with open(f"/proc/{pid}/{source}") as handle:
            for line in handle:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class MemorySampler(threading.Thread):
    """Samples the summed RSS and PSS of a process tree until stopped; keeps the peaks."""

    def __init__(self, pid: int, interval: float = 0.02):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_rss_kb = self.peak_pss_kb = self.peak_processes = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            pids = _tree(self.pid)
            rss = sum(_memory_kb(p, "VmRSS:", "status") for p in pids)
            pss = sum(_memory_kb(p, "Pss:", "smaps_rollup") for p in pids)
            self.peak_rss_kb = max(self.peak_rss_kb, rss)
            self.peak_pss_kb = max(self.peak_pss_kb, pss)
            self.peak_processes = max(self.peak_processes, len(pids))
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def run_measured(
    script: str, *args: str, env: dict[str, str] | None = None, memory: bool = False
) -> dict[str, Any]:
    """Run ``script`` in a fresh interpreter with ``args``; return its printed numbers (the
    first is its own wall time, start-up and imports included), its load average before the
    run and, with ``memory``, its peak memory (process tree: summed RSS and PSS, MB).

    Memory is sampled in runs of its own: reading ``smaps_rollup`` every 20 ms takes CPU the
    check's worker processes need (measured: 0.3-0.5 s more wall time at 4x on two cores).
    """
    load = os.getloadavg()[0]
    process = subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )
    sampler = MemorySampler(process.pid)
    if memory:
        sampler.start()
    out, err = process.communicate()
    if memory:
        sampler.stop()
    if process.returncode:
        raise RuntimeError(f"benchmark run failed:\n{err}")
    numbers = [float(x) for x in out.split()]
    return {
        "wall": numbers[0],
        "numbers": numbers[1:],
        "load": load,
        "rss_mb": sampler.peak_rss_kb / 1024,
        "pss_mb": sampler.peak_pss_kb / 1024,
        "processes": sampler.peak_processes,
    }


def measure(corpus: Path, repeats: int, configs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The floor and a check per configuration in ``configs``, run alternately ``repeats``
    times for time and once more each for memory: the best wall time of each, the peak memory
    of each, and their ratios to the floor. Keys of checks other than the first are prefixed
    with their name, and they have the ratio of their time to the first's too
    (``hf_over_check``: counting with the trained BPE against counting with tiktoken)."""
    floors: list[dict[str, Any]] = []
    checks: dict[str, list[dict[str, Any]]] = {name: [] for name in configs}
    env = {"TIKTOKEN_CACHE_DIR": str(tiktoken_cache(corpus.parent))}
    for run in range(repeats + 1):
        memory = run == repeats
        floors.append(run_measured(FLOOR, str(corpus), env=env, memory=memory))
        for name, config in configs.items():
            checks[name].append(run_measured(CHECK, str(corpus), json.dumps(config), memory=memory))
    floor = min(floors[:-1], key=lambda r: r["wall"])
    floor_rss = max(r["rss_mb"] for r in floors)
    row: dict[str, Any] = {
        "floor_s": round(floor["wall"], 2),
        "floor_mb": round(floor_rss, 1),
        "load_floor": round(floor["load"], 2),
    }
    first = 0.0
    for position, (name, runs) in enumerate(checks.items()):
        check = min(runs[:-1], key=lambda r: r["wall"])
        first = first or check["wall"]
        check_rss = max(r["rss_mb"] for r in runs)
        check_pss = max(r["pss_mb"] for r in runs)
        prefix = "" if position == 0 else f"{name}_"
        row.update(
            {
                f"{prefix}check_s": round(check["wall"], 2),
                f"{prefix}ratio": round(check["wall"] / floor["wall"], 2),
                f"{prefix}check_rss_mb": round(check_rss, 1),
                f"{prefix}check_pss_mb": round(check_pss, 1),
                f"{prefix}memory_ratio_rss": round(check_rss / floor_rss, 2),
                f"{prefix}memory_ratio_pss": round(check_pss / floor_rss, 2),
                f"{prefix}processes": max(r["processes"] for r in runs),
                f"{prefix}loaded": int(check["numbers"][0]),
                f"{prefix}findings": int(check["numbers"][1]),
                f"{prefix}load_check": round(check["load"], 2),
            }
        )
        if position:
            row[f"{prefix}over_check"] = round(check["wall"] / first, 2)
    return row


def stages(corpus: Path, repeats: int = 3) -> list[tuple[str, float]]:
    """Microseconds per record of each stage of the record pass, in one process (best of
    ``repeats``): reading and parsing, building examples, counting tokens, record rules,
    content keys, MinHash signatures, and the dataset pass over the fact table."""
    import gc

    from ftprep.config import Config
    from ftprep.dedup.keys import record_keys
    from ftprep.dialects import DialectOptions
    from ftprep.load import DialectDetector, detect_dialect
    from ftprep.load.containers import read_records
    from ftprep.rules.context import DatasetContext, RecordContext
    from ftprep.rules.registry import dataset_rules
    from ftprep.validate.check import run_check
    from ftprep.validate.engine import RecordPass
    from ftprep.view import ExampleView

    config = Config(workers=1)
    record_pass = RecordPass(config)
    dialect = detect_dialect(str(corpus)) or "auto"
    ctx = RecordContext(record_pass.target, record_pass.model, config)
    best: dict[str, float] = {}

    def timed(name: str, start: float) -> None:
        best[name] = min(best.get(name, float("inf")), time.perf_counter() - start)

    gc.disable()
    try:
        for _ in range(repeats):
            start = time.perf_counter()
            raws = list(read_records(str(corpus)))
            timed("read and parse (orjson)", start)
            start = time.perf_counter()
            detector = DialectDetector(dialect, DialectOptions.from_config(config))
            examples = [e for e in (detector.classify(r).example for r in raws) if e]
            timed("build examples (pydantic)", start)
            start = time.perf_counter()
            counted = record_pass.count_batch(examples)
            timed("count tokens (tiktoken + chat overhead)", start)
            start = time.perf_counter()
            by_traits: dict[Any, Any] = {}
            prefilter = record_pass.prefilter
            for example, tokens in zip(examples, counted, strict=True):
                ctx.tokens = tokens
                view = ctx.view = ExampleView.of(example)
                traits, bits = view.traits, prefilter.scan(view.texts)
                choice = by_traits.get((traits, bits))
                if choice is None:
                    choice = by_traits[traits, bits] = (
                        [
                            r
                            for r in record_pass.rules
                            if r.relevant(traits, ctx) and prefilter.may_find(r, traits, bits)
                        ],
                        prefilter.hits(bits),
                    )
                active, view.hits = choice
                for rule in active:
                    list(rule.check(example, ctx))
            timed("record rules (S R C T Q P O)", start)
            start = time.perf_counter()
            for example in examples:
                record_keys(example)
            timed("content keys", start)
            start = time.perf_counter()
            batch = record_pass.signer.batch()
            for row, example in enumerate(examples):
                batch.add(row, ExampleView.of(example))
            import numpy as np

            signatures = np.empty((len(examples), record_pass.signer.num_perm), np.uint32)
            batch.fill(signatures)
            timed("MinHash signatures", start)
            del raws, examples, counted
        facts = run_check([str(corpus)], config).facts
        for _ in range(repeats):
            start = time.perf_counter()
            dataset_ctx = DatasetContext(
                record_pass.target, record_pass.model, config, facts, [str(corpus)]
            )
            for rule in dataset_rules(config):
                list(rule.check_dataset(dataset_ctx))
            timed("dataset rules (duplicates, composition)", start)
    finally:
        gc.enable()
    n = len(facts)
    return [(name, seconds * 1e6 / n) for name, seconds in best.items()]


def _print_stages(rows: list[tuple[str, float]]) -> None:
    total = sum(us for _name, us in rows)
    print("| stage | µs/record | share |")
    print("|---|---:|---:|")
    for name, us in rows:
        print(f"| {name} | {us:.1f} | {us / total:.0%} |")
    print(f"| total | {total:.1f} | 100% |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, nargs="*", default=[1, 4])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="a tiny corpus, one repeat")
    parser.add_argument("--keep", type=Path, help="write the corpora into this folder")
    parser.add_argument("--stages", action="store_true", help="time the stages, 1x corpus")
    parser.add_argument("--engine", default="local", choices=["local", "ray"])
    parser.add_argument("--workers", type=int, help="worker processes (default: one per core)")
    parser.add_argument(
        "--hf", action="store_true", help="also check counting with a trained BPE (self-hosted)"
    )
    parser.add_argument(
        "--tokenizer",
        type=Path,
        help="with --hf, count with this tokenizer.json or model folder instead of the BPE",
    )
    parser.add_argument(
        "--compare-local", action="store_true", help="with --engine ray, also the local engine"
    )
    args = parser.parse_args(argv)
    compileall.compile_dir(REPO / "ftprep", quiet=1)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="ftprep-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    copies = [1] if args.smoke or args.stages else args.copies
    repeats = 1 if args.smoke else args.repeats
    limit = 300 if args.smoke else None
    configs: dict[str, dict[str, Any]] = {
        args.engine: {"engine": args.engine, "workers": args.workers}
    }
    if args.compare_local and args.engine != "local":
        configs["local"] = {"workers": args.workers}
    if args.hf:
        tokenizer = args.tokenizer or folder / "bpe-chatml"
        if args.tokenizer is None and not (tokenizer / "tokenizer.json").exists():
            build_tokenizer(tokenizer)
        # The same check counting with tiktoken (o200k_base) and with the trained BPE.
        configs["hf"] = {**configs[args.engine], "tokenizer": str(tokenizer)}
        configs["hf"]["target"] = configs[args.engine]["target"] = "self-hosted"
    try:
        for n in copies:
            corpus = folder / f"corpus-{n}x{'-smoke' if args.smoke else ''}.jsonl"
            if not corpus.exists():
                count = build_corpus(corpus, n, limit=limit)
            else:
                count = sum(1 for _ in corpus.open("rb"))
            if args.stages:
                _print_stages(stages(corpus, repeats))
                continue
            row: dict[str, Any] = {
                "copies": n,
                "examples": count,
                "mb": round(corpus.stat().st_size / 1e6, 1),
            }
            row.update(measure(corpus, repeats, configs))
            print(json.dumps(row), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
