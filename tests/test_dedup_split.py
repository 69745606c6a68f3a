"""prepare keeps every group of similar records on one side of the split: copies that differ
only in case, punctuation or spacing never straddle train and holdout."""

from __future__ import annotations

import json
import random
from pathlib import Path

from ftprep import prepare
from ftprep.config import Config

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
ALPACA = REALDATA / "llamafactory" / "alpaca_en_demo.json"


def _reformat(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    for i in rng.sample(range(len(words)), max(1, len(words) // 4)):
        words[i] = rng.choice((words[i].upper(), words[i] + ",", words[i] + " "))
    return " ".join(words)


def test_format_only_copies_stay_on_one_side(tmp_path: Path) -> None:
    rng = random.Random(0)
    rows = [r for r in json.loads(ALPACA.read_text(encoding="utf-8")) if len(r["output"]) > 200]
    rows = list({r["instruction"]: r for r in rows}.values())[:60]
    lines = []
    for row in rows:
        for text in (row["output"], _reformat(row["output"], rng)):
            messages = [
                {"role": "user", "content": row["instruction"]},
                {"role": "assistant", "content": text},
            ]
            lines.append(json.dumps({"messages": messages}))
    data = tmp_path / "data.jsonl"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    # Keep the copies (no dedup) to see where each lands.
    config = Config.model_validate({"dedup": {"drop": False}, "prepare": {"fixes": []}})
    prepare([data], out_dir=tmp_path / "out", holdout=0.3, config=config)
    sides: dict[str, set[str]] = {}
    for side in ("train", "holdout"):
        for line in (tmp_path / "out" / f"{side}.jsonl").read_text().splitlines():
            prompt = json.loads(line)["messages"][0]["content"]
            sides.setdefault(prompt, set()).add(side)
    assert len(sides) == 60
    assert all(len(s) == 1 for s in sides.values())
    assert {"train", "holdout"} == set().union(*sides.values())
