"""Contradictions are judged among all distinct prompts; tools and preference pairs are part
of what makes examples different."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from ftprep.config import Config
from ftprep.validate.check import run_check

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
ALPACA = REALDATA / "llamafactory" / "alpaca_en_demo.json"


def _chat(prompt: str, answer: str, **extra: object) -> str:
    messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]
    return json.dumps({"messages": messages, **extra})


def _codes(path: Path) -> Counter[str]:
    return Counter(f.code for f in run_check([path], Config()).findings)


def _real_pairs(limit: int) -> list[tuple[str, str]]:
    rows = json.loads(ALPACA.read_text(encoding="utf-8"))
    pairs = [(r["instruction"] + "\n" + r["input"], r["output"]) for r in rows]
    return [p for p in pairs if p[1].strip()][:limit]


def test_three_conflicts_among_hundreds_of_prompts_are_reported(tmp_path: Path) -> None:
    # 400 real prompts, each asked once, but 3 asked again with another answer and 1 asked
    # again with the same answer: three contradictions, not a multi-answer design (which
    # "3 of the 4 repeated prompts conflict" used to conclude).
    pairs = _real_pairs(404)
    lines = [_chat(p, a) for p, a in pairs[:400]]
    lines += [_chat(pairs[i][0], pairs[400 + i][1]) for i in range(3)]
    lines.append(_chat(*pairs[3]))
    data = tmp_path / "data.jsonl"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_check([data], Config())
    conflicts = [(f.line, f.related[0].line) for f in result.findings if f.code == "X003"]
    assert conflicts == [(401, 1), (402, 2), (403, 3)]
    assert not [f for f in result.findings if f.code == "X005"]


def test_sampled_completions_are_multi_answer_by_design(tmp_path: Path) -> None:
    # A fifth of the prompts with four sampled answers each: a design, said once.
    pairs = _real_pairs(220)
    lines = [_chat(p, a) for p, a in pairs[:200]]
    for i in range(40):
        lines += [_chat(pairs[i][0], pairs[200 + (i + k) % 20][1]) for k in range(3)]
    data = tmp_path / "data.jsonl"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    codes = _codes(data)
    assert codes["X003"] == 0 and codes["X005"] == 1


def test_same_words_with_other_tools_are_neither_copies_nor_contradictions(
    tmp_path: Path,
) -> None:
    def tool(name: str) -> dict[str, object]:
        function = {"name": name, "description": "Search.", "parameters": {"type": "object"}}
        return {"type": "function", "function": function}

    prompt = "Find me something in Rome for next week, please."
    lines = [
        _chat(prompt, "Let me look that up for you right away.", tools=[tool("search_flights")]),
        _chat(prompt, "Let me look that up for you right away.", tools=[tool("search_hotels")]),
        _chat(prompt, "Looking it up.", tools=[tool("search_cars")]),
        _chat(prompt, "Searching now.", tools=[tool("search_trains")]),
    ]
    data = tmp_path / "tools.jsonl"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    codes = _codes(data)
    assert not {"X001", "X002", "X003", "X005"} & set(codes)


def test_several_rejected_answers_to_one_prompt_are_the_design(tmp_path: Path) -> None:
    pairs = _real_pairs(6)
    prompt, chosen = pairs[0]
    lines = [
        json.dumps(
            {
                "messages": [{"role": "user", "content": prompt}],
                "chosen": [{"role": "assistant", "content": chosen}],
                "rejected": [{"role": "assistant", "content": rejected}],
            }
        )
        for _prompt, rejected in pairs[1:]
    ]
    data = tmp_path / "preference.jsonl"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    codes = _codes(data)
    assert not {"X001", "X002", "X003", "X005"} & set(codes)
