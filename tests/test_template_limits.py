"""A chat template cannot stall a check: rendering one example has a time and a size limit,
and a template over either is a T003 finding for that example, not a hang (a template with
nested loops rendered for as long as it took). The limits are lowered here so the cases end
fast; the test asserts what is reported, not how long it took."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import needs
import pytest
from test_tokens_hf import CHATML, _model_dir, trained_tokenizer

from ftprep import cli
from ftprep.model import Example
from ftprep.tokens import hf
from ftprep.tokens.hf import HFChatTokenizer

tokenizers = needs.module("tokenizers", "hf")
__all__ = ["trained_tokenizer"]  # the fixture, shared with test_tokens_hf

SILENT_LOOPS = (
    "{% for m in messages %}{% for a in range(100000) %}{% for b in range(100000) %}"
    "{% endfor %}{% endfor %}{% endfor %}" + CHATML
)
"""10^10 iterations that write nothing (each inner range is a call the sandbox sees)."""
LOOPS_OVER_A_NAME = (
    "{% set s = messages[0]['content'] %}{% for a in s %}{% for b in s %}{% for c in s %}"
    "{% endfor %}{% endfor %}{% endfor %}" + CHATML
)
"""Loops over a plain variable: no call, attribute or item lookup inside them."""
WRITING_LOOPS = (
    "{% for a in range(100000) %}{% for b in range(100000) %}{{ messages[0]['content'] }}"
    "{% endfor %}{% endfor %}"
)
"""Output without end."""


def _example(text: str = "What is the capital of France?") -> Example:
    return Example.model_validate(
        {
            "messages": [
                {"role": "user", "content": text},
                {"role": "assistant", "content": "Paris."},
            ]
        }
    )


@pytest.fixture(autouse=True)
def _small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hf, "RENDER_SECONDS", 0.3)
    monkeypatch.setattr(hf, "RENDER_CHARS", 100_000)


@pytest.mark.parametrize(
    ("template", "text", "limit"),
    [
        (SILENT_LOOPS, "hi", "time"),
        (LOOPS_OVER_A_NAME, "x" * 3000, "time"),
        (WRITING_LOOPS, "hi there", "size"),
    ],
)
def test_a_runaway_template_is_an_error_of_the_example(
    template: str,
    text: str,
    limit: str,
    tmp_path: Path,
    trained_tokenizer: tokenizers.Tokenizer,
) -> None:
    counter = HFChatTokenizer(_model_dir(tmp_path, trained_tokenizer, template))
    before = signal.getsignal(signal.SIGALRM)
    first, second = counter.count_batch([_example(text), _example(text)])
    for result in (first, second):  # each rendering has its own limit
        assert result.template_error is not None
        assert f"over the {limit} limit" in result.template_error
    # The alarm's handler installed for the batch is gone, no alarm left pending.
    assert signal.getsignal(signal.SIGALRM) is before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    # The next example renders normally with a template that behaves.
    (tmp_path / "fine").mkdir()
    fine = HFChatTokenizer(_model_dir(tmp_path / "fine", trained_tokenizer, CHATML))
    (ok,) = fine.count_batch([_example()])
    assert ok.template_error is None and ok.total > 0


def test_check_reports_it_as_t003(
    tmp_path: Path, trained_tokenizer: tokenizers.Tokenizer, capsys: pytest.CaptureFixture[str]
) -> None:
    model = _model_dir(tmp_path, trained_tokenizer, SILENT_LOOPS)
    data = tmp_path / "data.jsonl"
    data.write_text(json.dumps(_example().model_dump(include={"messages"})) + "\n")
    code = cli.main(["check", str(data), "--tokenizer", str(model), "--select", "T003"])
    out, err = capsys.readouterr()
    assert code == 1 and "internal error" not in err
    assert "T003" in out and "over the time limit" in out
