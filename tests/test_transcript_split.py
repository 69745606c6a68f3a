"""Transcript-style preference pairs (``\\n\\nHuman: ... \\n\\nAssistant: ...``) split on a turn
boundary on real data (issue 18 §3): on the 2,000 HH-RLHF harmless records of the precision
benchmark, every shared prompt ends with an ``Assistant:`` marker, and the prompt plus each
continuation gives back the text as written (nothing cut inside a word, nothing lost)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from ftprep.api import load
from ftprep.model import Example

HH = Path(__file__).resolve().parent.parent / "bench/precision/data/hh_rlhf_harmless/test.jsonl.gz"


def test_hh_pairs_split_on_the_last_shared_assistant_marker() -> None:
    raws = [json.loads(line) for line in gzip.decompress(HH.read_bytes()).splitlines()]
    examples = [e for e in load(str(HH)) if isinstance(e, Example)]
    assert len(examples) == len(raws) == 2000
    mid_word = 0
    for raw, example in zip(raws, examples, strict=True):
        prompt = "".join(str(m.content) for m in example.conversation())
        chosen = "".join(str(m.content) for m in example.chosen)
        rejected = "".join(str(m.content) for m in example.rejected)
        assert prompt.endswith("\n\nAssistant:"), prompt[-40:]
        assert prompt + chosen == raw["chosen"] and prompt + rejected == raw["rejected"]
        mid_word += chosen[:1].isalnum() or rejected[:1].isalnum()
    assert mid_word == 0
