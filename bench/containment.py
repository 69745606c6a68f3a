"""Benchmark: contamination by containment (X006) on real text.

Evaluation items are real GSM8K questions and answers (``../shared/realdata``, Alpaca-format
copy); the training set is real Alpaca examples (clean) plus planted contaminated examples:
an evaluation question pasted inside a longer prompt (between a real instruction and a
closing request), or an evaluation answer inside a longer answer, with its format changed
the way copies change (case, doubled spaces, punctuation at word ends). Half the evaluation
file holds prompts only. ``ftprep check TRAIN --against EVAL`` runs on both through the
library, and the benchmark reports:

- found: the share of planted examples reported by X006 (naming the right evaluation line);
- clean flagged: the share of clean examples reported by X006;
- the contamination rate X007 gives, and the time of the containment search alone for a
  larger run (``--train``/``--eval``).

    python bench/containment.py                       # 4,000 clean, 400 planted, 1,000 items
    python bench/containment.py --train 100000 --eval 10000 --timing-only
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ftprep.config import Config
from ftprep.dedup.containment import EvalIndex, find_contained
from ftprep.model import Example
from ftprep.validate.check import run_check

REALDATA = Path(__file__).resolve().parent.parent.parent / "shared" / "realdata"
EVAL_SOURCE = REALDATA / "alpaca_cleaned_extensions" / "gsm_8k" / "gsm_8k_train.json"
TRAIN_SOURCE = REALDATA / "stanford_alpaca_pr152" / "alpaca_5000.json"


def _chat(user: str, assistant: str | None) -> dict[str, object]:
    messages = [{"role": "user", "content": user}]
    if assistant is not None:
        messages.append({"role": "assistant", "content": assistant})
    return {"messages": messages}


def reformat(text: str, rng: random.Random) -> str:
    """``text`` as copies change it: some words' case, doubled spaces, punctuation."""
    words = text.split(" ")
    for i in rng.sample(range(len(words)), max(1, len(words) // 6)):
        change = rng.choice(("upper", "lower", "space", "comma"))
        if change == "upper":
            words[i] = words[i].upper()
        elif change == "lower":
            words[i] = words[i].lower()
        elif change == "space":
            words[i] += " "
        else:
            words[i] = words[i].rstrip(",.") + ","
    return " ".join(words)


@dataclass
class Result:
    """The benchmark's scores."""

    planted: int
    found: float
    clean: int
    clean_flagged: float
    rate_message: str


def run(clean: int, planted: int, items: int, seed: int) -> Result:
    """Build the files, check them, score X006."""
    rng = random.Random(seed)
    gsm = json.loads(EVAL_SOURCE.read_text(encoding="utf-8"))
    rng.shuffle(gsm)
    evals = gsm[:items]
    alpaca = [r for r in json.loads(TRAIN_SOURCE.read_text(encoding="utf-8")) if r["output"]]
    rng.shuffle(alpaca)
    train = [
        _chat(r["instruction"] + ("\n" + r["input"] if r["input"] else ""), r["output"])
        for r in alpaca[:clean]
    ]
    eval_rows = [
        # Half the evaluation file holds prompts only.
        _chat(e["instruction"], e["output"] if i % 2 else None)
        for i, e in enumerate(evals)
    ]
    planted_lines: dict[int, int] = {}
    for k in range(planted):
        target = rng.randrange(items)
        host = alpaca[clean + k]
        if k % 2 == 0 or target % 2 == 0:
            prompt = (
                f"{host['instruction']}\nBefore that, solve this: "
                f"{reformat(evals[target]['instruction'], rng)}\nShow your work."
            )
            row = _chat(prompt, host["output"])
        else:
            answer = (
                f"Here is my reasoning. {reformat(evals[target]['output'], rng)} "
                f"Also: {host['output']}"
            )
            row = _chat(host["instruction"], answer)
        position = rng.randrange(len(train) + 1)
        train.insert(position, row)
        planted_lines = {
            (line + 1 if line >= position + 1 else line): t for line, t in planted_lines.items()
        }
        planted_lines[position + 1] = target + 1
    with tempfile.TemporaryDirectory() as folder:
        train_path = Path(folder) / "train.jsonl"
        eval_path = Path(folder) / "eval.jsonl"
        train_path.write_text("\n".join(json.dumps(r) for r in train) + "\n", encoding="utf-8")
        eval_path.write_text("\n".join(json.dumps(r) for r in eval_rows) + "\n", encoding="utf-8")
        config = Config(select=["X006", "X007"])
        findings = run_check([train_path], config, against=[eval_path]).findings
    hits = {(f.line, f.data["eval_line"]) for f in findings if f.code == "X006"}
    flagged = {line for line, _e in hits}
    found = sum((line, target) in hits for line, target in planted_lines.items())
    clean_flagged = len(flagged - set(planted_lines))
    rates = [f.message for f in findings if f.code == "X007"]
    result = Result(
        planted, found / planted, clean, clean_flagged / clean, rates[0] if rates else ""
    )
    print(
        f"{clean} clean real examples + {planted} with one of {items} GSM8K items embedded: "
        f"found {result.found:.3f}, clean flagged {result.clean_flagged:.4f}\n"
        f"X007: {result.rate_message}"
    )
    return result


def timing(train_size: int, eval_size: int, seed: int) -> float:
    """Seconds of the containment search alone: ``train_size`` examples (real Alpaca texts,
    repeated) against ``eval_size`` items (real GSM8K, repeated with a suffix)."""
    rng = random.Random(seed)
    gsm = json.loads(EVAL_SOURCE.read_text(encoding="utf-8"))
    alpaca = json.loads(TRAIN_SOURCE.read_text(encoding="utf-8"))
    evals = [
        (0, i + 1, Example.model_validate(_chat(f"{g['instruction']} ({i})", g["output"])))
        for i, g in enumerate(gsm[k % len(gsm)] for k in range(eval_size))
    ]
    train = [
        Example.model_validate(_chat(a["instruction"], a["output"]))
        for a in (alpaca[rng.randrange(len(alpaca))] for _ in range(train_size))
    ]
    started = time.perf_counter()
    index = EvalIndex.build(evals)
    hits = sum(1 for _ in find_contained(index, train))
    seconds = time.perf_counter() - started
    print(
        f"containment search: {train_size} examples against {eval_size} items "
        f"({len(index.grams)} 13-grams): {seconds:.2f} s, {hits} hits"
    )
    return seconds


def main(argv: Sequence[str] | None = None) -> Result | None:
    """Command-line entry point; returns the scores."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clean", type=int, default=4000)
    parser.add_argument("--planted", type=int, default=400)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--train", type=int, default=0, help="also time this many examples")
    parser.add_argument("--eval", type=int, default=10000, help="against this many items")
    parser.add_argument("--timing-only", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    result = None
    if not args.timing_only:
        result = run(args.clean, args.planted, args.items, args.seed)
    if args.train:
        timing(args.train, args.eval, args.seed)
    return result


if __name__ == "__main__":
    main()
