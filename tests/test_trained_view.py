"""The trained view: what a self-hosted trainer makes of each example, with a BPE tokenizer
trained here (tests/tokenizer_fixtures.py) and real chat templates written as test data.

Each file mixes examples that fit with examples each finding is about, and the tests assert
every finding at its line and none on the others.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import needs
import pytest
import tokenizer_fixtures as tf

from ftprep.config import Config
from ftprep.trainers import PROFILES, infer_seqlen, kept_trained
from ftprep.validate.check import run_check

tokenizers = needs.module("tokenizers", "hf")

USER = "I fell off my bike today."
SHORT = "Great, you get to ride again!"
LONG_ANSWER = " ".join([SHORT, "Falling off is how everyone learns to ride a bike."] * 4)
LONG_PROMPT = " ".join(["Be happy and positive, be brief, be kind to the user."] * 5)


def _chat(*turns: tuple[str, str], **extra: Any) -> str:
    return json.dumps(
        {"messages": [{"role": r, "content": c} for r, c in turns], **extra}, ensure_ascii=False
    )


FITS = _chat(("user", USER), ("assistant", SHORT))
PROMPT_FILLS = _chat(("system", LONG_PROMPT), ("user", USER), ("assistant", SHORT))
ANSWER_CUT = _chat(("user", USER), ("assistant", LONG_ANSWER))
WINDOW = 40


@pytest.fixture(scope="module")
def trained() -> tokenizers.Tokenizer:
    return tf.train()


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory, trained: tokenizers.Tokenizer) -> Path:
    root = tmp_path_factory.mktemp("models")
    tf.write_model(root / "chatml", "chatml_generation.jinja", tokenizer=trained)
    tf.write_model(root / "eos-outside", "chatml_eos_outside.jinja", tokenizer=trained)
    tf.write_model(root / "llama3", "llama3.jinja", adds_bos=True)
    tf.write_model(root / "no-system", "no_system.jinja", tokenizer=trained)
    tf.write_model(root / "strict", "strict.jinja", tokenizer=trained)
    tf.write_model(root / "qwen3", "qwen3_no_think.jinja", tokenizer=trained)
    tf.write_model(root / "gemma", "gemma_generation.jinja", tokenizer=trained)
    return root


def _findings(tmp_path: Path, lines: list[str], **settings: Any) -> dict[int, list[str]]:
    data = tmp_path / "data.jsonl"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = Config(target="self-hosted", **settings)
    result = run_check([data], config, aggregate=False)  # each line's own findings
    by_line: dict[int, list[str]] = {}
    for finding in result.findings:
        if finding.code.startswith("T"):
            by_line.setdefault(finding.line or 0, []).append(finding.code)
    return by_line


def _window_findings(tmp_path: Path, models: Path, trainer: str | None) -> dict[int, list[str]]:
    lines = [FITS, PROMPT_FILLS, FITS, ANSWER_CUT, FITS]
    return _findings(
        tmp_path,
        lines,
        tokenizer=str(models / "chatml"),
        max_tokens=WINDOW,
        trainer=trainer,
    )


def test_truncating_trainers_tell_a_full_prompt_from_a_cut_answer(
    tmp_path: Path, models: Path
) -> None:
    for trainer in (None, "trl", "unsloth"):
        assert _window_findings(tmp_path, models, trainer) == {2: ["T004"], 4: ["T005"]}


def test_axolotl_drops_both_long_rows(tmp_path: Path, models: Path) -> None:
    assert _window_findings(tmp_path, models, "axolotl") == {2: ["T006"], 4: ["T006"]}


def test_llamafactory_keeps_a_share_of_the_answer(tmp_path: Path, models: Path) -> None:
    # infer_seqlen keeps an answer shorter than half the window whole: line 2 trains fully.
    assert _window_findings(tmp_path, models, "llamafactory") == {4: ["T005"]}


def test_axolotl_sequence_len_is_the_window_unless_max_tokens_is_given(
    tmp_path: Path, models: Path
) -> None:
    """The Axolotl configuration read with ``trainer-config`` sets the window: its
    ``sequence_len`` when no ``max-tokens`` is given, ``max-tokens`` otherwise; and the
    trainer (Axolotl drops long rows) unless another is named."""
    pytest.importorskip("yaml")
    from ftprep.api import resolve_config

    data = tmp_path / "data.jsonl"
    data.write_text("\n".join([FITS, PROMPT_FILLS, FITS, ANSWER_CUT, FITS]) + "\n")
    axolotl = tmp_path / "axolotl.yml"
    axolotl.write_text(
        f"sequence_len: {WINDOW}\ndatasets:\n  - path: data.jsonl\n    type: chat_template\n",
        encoding="utf-8",
    )

    def found(**settings: Any) -> dict[int, list[str]]:
        base = Config(target="self-hosted", tokenizer=str(models / "chatml"))
        config = resolve_config([str(data)], base, trainer_config=str(axolotl), **settings)
        result = run_check([data], config, aggregate=False)
        return {f.line or 0: [f.code] for f in result.findings if f.code.startswith("T")}

    assert found() == {2: ["T006"], 4: ["T006"]}
    assert found(trainer="trl") == {2: ["T004"], 4: ["T005"]}
    assert found(max_tokens=4096) == {}


def test_the_cut_answer_says_how_many_trained_tokens_are_lost(
    tmp_path: Path, models: Path, trained: tokenizers.Tokenizer
) -> None:
    data = tmp_path / "data.jsonl"
    data.write_text(ANSWER_CUT + "\n", encoding="utf-8")
    config = Config(
        target="self-hosted", tokenizer=str(models / "chatml"), max_tokens=WINDOW, trainer="trl"
    )
    (finding,) = [f for f in run_check([data], config).findings if f.code == "T005"]
    prompt = len(trained.encode(f"<|im_start|>user\n{USER}<|im_end|>\n<|im_start|>assistant\n").ids)
    answer = len(trained.encode(LONG_ANSWER + "<|im_end|>").ids)
    assert finding.data["trained"] == answer
    assert finding.data["lost"] == answer - (WINDOW - prompt)
    assert f"{answer - (WINDOW - prompt)} of {answer} trained tokens are cut off" in finding.message


def test_the_summary_counts_what_the_trainer_drops_or_cuts(tmp_path: Path, models: Path) -> None:
    data = tmp_path / "data.jsonl"
    data.write_text("\n".join([FITS, PROMPT_FILLS, ANSWER_CUT, ANSWER_CUT]) + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "ftprep", "check", str(data), "--target", "self-hosted",
         "--tokenizer", str(models / "chatml"), "--max-tokens", str(WINDOW)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert "At the training window: 1 example left with nothing to train on, 2 examples with " \
        "answers cut." in done.stdout, done.stdout  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "ftprep", "check", str(data), "--target", "self-hosted",
         "--tokenizer", str(models / "chatml"), "--max-tokens", str(WINDOW),
         "--trainer", "axolotl"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert "At the training window: 3 examples dropped." in done.stdout, done.stdout


def test_template_checks_fire_at_their_lines_only(tmp_path: Path, models: Path) -> None:
    system = _chat(("system", "Be happy."), ("user", USER), ("assistant", SHORT))
    reasoning = json.dumps(
        {
            "messages": [
                {"role": "user", "content": USER},
                {"role": "assistant", "content": SHORT, "reasoning_content": "Cheer them up."},
            ]
        }
    )
    tools = _chat(
        ("user", "Weather in Paris?"),
        ("assistant", "It is sunny."),
        tools=[{"type": "function", "function": {"name": "get_weather", "parameters": {}}}],
    )
    no_answer = _chat(("user", USER))
    lines = [FITS, system, FITS, reasoning, tools, no_answer, FITS]
    assert _findings(tmp_path, lines, tokenizer=str(models / "no-system")) == {
        2: ["T007"],
        4: ["T007"],
        5: ["T007"],
    }
    # ChatML with generation blocks renders the system prompt and the tools.
    assert _findings(tmp_path, lines, tokenizer=str(models / "chatml")) == {4: ["T007"]}


def test_generation_blocks_that_miss_the_answers(tmp_path: Path, models: Path) -> None:
    """Blocks written for the role "model": answers rendered, none trained; an example
    without an answer is S009's finding, not T010's."""
    lines = [FITS, _chat(("user", USER)), FITS]
    assert _findings(tmp_path, lines, tokenizer=str(models / "gemma")) == {
        1: ["T010"],
        3: ["T010"],
    }


def test_a_template_that_rejects_the_system_role(tmp_path: Path, models: Path) -> None:
    system = _chat(("system", "Be happy."), ("user", USER), ("assistant", SHORT))
    assert _findings(tmp_path, [FITS, system, FITS], tokenizer=str(models / "strict")) == {
        2: ["T003"]
    }


def test_eos_outside_the_generation_block(tmp_path: Path, models: Path) -> None:
    lines = [FITS, ANSWER_CUT]
    assert _findings(tmp_path, lines, tokenizer=str(models / "eos-outside")) == {
        1: ["T008"],
        2: ["T008"],
    }
    assert _findings(tmp_path, lines, tokenizer=str(models / "chatml")) == {}


def test_bos_twice(tmp_path: Path, models: Path) -> None:
    """Llama 3: the template writes BOS and the tokenizer's post-processor adds one."""
    assert _findings(tmp_path, [FITS], tokenizer=str(models / "llama3")) == {1: ["T009"]}
    llama3 = str(tf.TEMPLATES / "llama3.jinja")
    chatml = str(models / "chatml")
    assert _findings(tmp_path, [FITS], tokenizer=chatml, chat_template=llama3) == {}


def test_training_and_inference_renderings_differ(tmp_path: Path, models: Path) -> None:
    lines = [FITS, _chat(("user", USER)), FITS]
    assert _findings(tmp_path, lines, tokenizer=str(models / "qwen3")) == {1: ["T011"], 3: ["T011"]}


# A template whose turns look ahead: the last user turn is written differently, so the
# inference prompt is not the training rendering's start (its T011 is real).
LOOKS_AHEAD = (
    "{%- for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}"
    "{% if loop.last %} (last){% endif %}<|im_end|>\n{% endfor %}"
    "{%- if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _rendering(counter: Any, example: Any) -> Any:
    try:
        return counter.rendering(example)
    except ValueError as err:  # the template's refusal
        return str(err)


def test_the_inference_prompt_is_derived_only_where_rendering_it_gives_the_same(
    tmp_path: Path, models: Path
) -> None:
    """Templates whose turns never look ahead get their inference prompt from the training
    rendering (one rendering per example); the facts are those of rendering it, data that
    holds the turn mark included. A template that looks ahead, or reads a message other than
    the first outside its loop, is rendered twice."""
    from ftprep.model import Example
    from ftprep.tokens.hf import _TURN, HFChatTokenizer

    examples = [
        Example.model_validate(json.loads(line))
        for line in (
            FITS,
            _chat(("system", "Be happy."), ("user", USER), ("assistant", SHORT)),
            _chat(("user", USER), ("assistant", SHORT), ("user", "Again?"), ("assistant", " Yes ")),
            _chat(("user", f"a{_TURN}b"), ("assistant", SHORT)),
            json.dumps(
                {
                    **json.loads(
                        _chat(("system", "Be brief."), ("user", USER), ("assistant", SHORT))
                    ),
                    "tools": [{"type": "function", "function": {"name": "now", "parameters": {}}}],
                }
            ),
            json.dumps(
                {
                    "messages": [
                        {"role": "user", "content": USER},
                        {"role": "assistant", "content": SHORT, "reasoning_content": "Be kind."},
                    ]
                }
            ),
        )
    ]
    looks_ahead = tmp_path / "looks_ahead.jinja"
    looks_ahead.write_text(LOOKS_AHEAD, encoding="utf-8")
    reads_last = tmp_path / "reads_last.jinja"  # reads a message other than the first
    reads_last.write_text(
        "{% if messages[-1]['role'] == 'assistant' %}(answered){% endif %}"
        + LOOKS_AHEAD.replace("{% if loop.last %} (last){% endif %}", ""),
        encoding="utf-8",
    )
    derived = set()
    for template in [*sorted(tf.TEMPLATES.glob("*.jinja")), looks_ahead, reads_last]:
        counter = HFChatTokenizer(models / "chatml", chat_template=template)
        if counter._turns is None:
            continue
        derived.add(template.name)
        for example in examples:
            once = _rendering(counter, example)
            turns, counter._turns = counter._turns, None
            assert _rendering(counter, example) == once, (template.name, example)
            counter._turns = turns
    assert derived == {
        "chatml_eos_outside.jinja",
        "chatml_generation.jinja",
        "gemma_generation.jinja",
        "llama3.jinja",
        "no_system.jinja",
        "qwen3_no_think.jinja",
        "strict.jinja",
    }
    found = _findings(
        tmp_path, [FITS], tokenizer=str(models / "chatml"), chat_template=str(looks_ahead)
    )
    assert found == {1: ["T011"]}


def test_bos_twice_is_one_finding_per_file(tmp_path: Path, models: Path) -> None:
    """The template and the tokenizer add a BOS to every row: one T009 for the file, with
    the count and the first lines, across a row that does not load."""
    data = tmp_path / "data.jsonl"
    data.write_text("\n".join([FITS] * 4 + ["{broken"] + [FITS] * 4) + "\n", encoding="utf-8")
    config = Config(target="self-hosted", tokenizer=str(models / "llama3"))
    (finding,) = [f for f in run_check([data], config).findings if f.code == "T009"]
    assert (finding.line, finding.count) == (1, 8)
    assert [r.line for r in finding.related] == [2, 3, 4, 6]


def test_llama3_fits_without_findings_but_bos(tmp_path: Path, models: Path) -> None:
    """A Llama 3 rendering of ordinary examples: only the tokenizer's extra BOS."""
    system = _chat(("system", "Be happy."), ("user", USER), ("assistant", SHORT))
    found = _findings(tmp_path, [FITS, system], tokenizer=str(models / "llama3"), max_tokens=4096)
    assert found == {1: ["T009"], 2: ["T009"]}


def test_committed_fixture_tokenizers_are_what_training_gives(tmp_path: Path) -> None:
    tf.write_all(tmp_path)
    for name in tf.MODELS:
        for file in ("tokenizer.json", "tokenizer_config.json"):
            committed = tf.FIXTURES / "tokenizers" / name / file
            assert (tmp_path / name / file).read_bytes() == committed.read_bytes(), committed


def test_llamafactory_infer_seqlen() -> None:
    # LLaMA-Factory's own split (src/llamafactory/data/processor/processor_utils.py).
    assert infer_seqlen(100, 10, 64) == (54, 10)  # a short answer is kept whole
    assert infer_seqlen(10, 100, 64) == (10, 54)  # a short prompt is kept whole
    assert infer_seqlen(100, 100, 64) == (32, 32)  # both long: in proportion


def test_kept_trained_per_trainer() -> None:
    segments = [30, 20, 5, 15, 2]  # prompt, answer, next prompt, next answer, tail
    assert kept_trained(segments, 100, PROFILES["trl"]) == 35
    assert kept_trained(segments, 40, PROFILES["trl"]) == 10
    assert kept_trained(segments, 40, PROFILES["axolotl"]) == 0
    assert kept_trained(segments, 25, PROFILES["trl"]) == 0
    # The first pair shares the 40 tokens 24/16 in proportion; nothing is left for the second.
    assert kept_trained(segments, 40, PROFILES["llamafactory"]) == 16
    # With 60: the first pair whole (50), then 10 shared 3/7 with the second.
    assert kept_trained(segments, 60, PROFILES["llamafactory"]) == 20 + 7


def test_show_prints_the_rendering_with_trained_spans_and_the_cut(
    tmp_path: Path, models: Path, trained: tokenizers.Tokenizer
) -> None:
    data = tmp_path / "data.jsonl"
    data.write_text("\n".join([FITS, ANSWER_CUT]) + "\n", encoding="utf-8")
    command = [sys.executable, "-m", "ftprep", "show", f"{data}:2"]
    done = subprocess.run(
        [*command, "--tokenizer", str(models / "chatml"), "--max-tokens", str(WINDOW)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    prompt = f"<|im_start|>user\n{USER}<|im_end|>\n<|im_start|>assistant\n"
    answer = len(trained.encode(LONG_ANSWER + "<|im_end|>").ids)
    total = len(trained.encode(prompt).ids) + answer
    kept = WINDOW - len(trained.encode(prompt).ids)
    header, blank, *body = done.stdout.splitlines()
    assert blank == ""
    assert header == (
        f"{data}:2: {total} tokens, {answer} trained ({answer / total:.0%}) with "
        f"{models / 'chatml'}; window {WINDOW}: the trainer keeps the first {WINDOW} tokens "
        f"(max-tokens), {kept} of {answer} trained tokens kept"
    )
    text = "\n".join(body)
    assert text.startswith(f"<|im_start|>user\n{USER}<|im_end|>\n<|im_start|>assistant\n⟦")
    assert text.endswith(f"<|im_end|>⟧[{answer}]")
    # The cut sits where the first WINDOW tokens end.
    before_cut = text.split("✂")[0].replace("⟦", "")
    assert len(trained.encode(before_cut).ids) <= WINDOW < len(trained.encode(text).ids)
    assert "\x1b[" not in done.stdout  # piped: markers, no colour


def test_show_without_a_tokenizer_and_in_a_notebook(tmp_path: Path) -> None:
    import ftprep

    data = tmp_path / "data.jsonl"
    data.write_text(FITS + "\n", encoding="utf-8")
    view = ftprep.show(f"{data}:1")
    assert str(view) == (
        f"{data}:1: 26 tokens, 8 trained (31%) with o200k_base\n\n"
        f"<|user|>\n{USER}\n<|assistant|>\n⟦{SHORT}⟧[8]\n"
    )
    page = view._repr_html_()
    assert f"<mark style='background:#c8f7c5' title='trained: 8 tokens'>{SHORT}</mark>" in page
    assert "with o200k_base" in page


def test_show_reports_the_template_error(tmp_path: Path, models: Path) -> None:
    data = tmp_path / "data.jsonl"
    data.write_text(_chat(("system", "Be happy."), ("user", USER), ("assistant", SHORT)) + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "ftprep", "show", f"{data}:1",
         "--tokenizer", str(models / "strict")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "failed: TemplateError: System role not supported" in done.stdout
    done = subprocess.run(
        [sys.executable, "-m", "ftprep", "show", f"{data}:7"], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert done.stderr == f"ftprep: error: {data}:7: no record starts at this line\n"


def test_report_html_shows_the_flagged_examples(tmp_path: Path, models: Path) -> None:
    import ftprep

    data = tmp_path / "data.jsonl"
    data.write_text("\n".join([FITS, ANSWER_CUT, FITS]) + "\n", encoding="utf-8")
    config = Config(target="self-hosted", tokenizer=str(models / "chatml"), max_tokens=WINDOW)
    report = ftprep.Report.from_check(run_check([data], config))
    assert [view.where for view in report.trained] == [f"{data}:2"]
    page = report.to_html()
    assert "What the model trains on (flagged examples)" in page
    assert f"{data}:2: " in page and "<mark style='background:#c8f7c5'" in page
    assert "✂" in page
    assert ftprep.Report.from_check(run_check([data], Config())).trained == ()


def test_mistral_tokenizers_replay_the_window_too(tmp_path: Path) -> None:
    """mistral-common's own encoding: each answer's tokens end the encoding of the
    conversation up to it (bundled tokenizer files, nothing downloaded)."""
    needs.module("mistral_common", "mistral")
    lines = [FITS, PROMPT_FILLS, FITS, ANSWER_CUT, FITS]
    found = _findings(tmp_path, lines, tokenizer="mistral:v3", max_tokens=WINDOW)
    assert found == {2: ["T004"], 4: ["T005"]}
    found = _findings(tmp_path, lines, tokenizer="mistral:v3", max_tokens=WINDOW, trainer="axolotl")
    assert found == {2: ["T006"], 4: ["T006"]}
