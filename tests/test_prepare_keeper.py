"""A duplicate is dropped only for a representative that prepare keeps: when the reviewer (or
the reject policy) leaves the representative out, its near copy stays, so the content is not
lost from every split."""

from __future__ import annotations

import json
from pathlib import Path

import xxhash

from ftprep import prepare
from ftprep.review import Review

ANSWER = "Water boils at one hundred degrees Celsius at sea level, and at lower heat up high."


def _line(question: str, answer: str) -> str:
    messages = [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
    return json.dumps({"messages": messages})


def test_a_copy_of_a_rejected_representative_is_kept(tmp_path: Path) -> None:
    first = _line("At what temperature does water boil at sea level, in Celsius?", ANSWER)
    copy = _line("AT WHAT TEMPERATURE DOES WATER BOIL AT SEA LEVEL, IN CELSIUS?", ANSWER.upper())
    others = [
        _line(f"Name the capital of country number {i} in the list I gave.", f"Capital {i}.")
        for i in range(12)
    ]
    data = tmp_path / "data.jsonl"
    data.write_text("\n".join([first, copy, *others]) + "\n", encoding="utf-8")
    review = Review(tmp_path / "data.jsonl.review")
    review.reject(xxhash.xxh3_64_intdigest(first.encode()), "wrong units")

    result = prepare([data], out_dir=tmp_path / "out", review=review.path)

    rejected = [
        json.loads(line)
        for line in (tmp_path / "out" / "rejected.jsonl").read_text("utf-8").splitlines()
    ]
    assert [r["source"]["line"] for r in rejected] == [1]
    assert rejected[0]["reasons"][0]["message"] == "wrong units"
    assert result.counts["train"] + result.counts["holdout"] == 13
