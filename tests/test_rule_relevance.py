"""The engine skips a record rule for examples whose :class:`~ftprep.rules.structure.Traits`
the rule declares irrelevant (``RecordRule.relevant``). That must never hide a finding: on
every rule case and on real files of every shape, a rule the traits rule out finds nothing
when run anyway."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import needs
import pytest

from ftprep.config import Config, parse_config
from ftprep.load import load_path
from ftprep.model import Example
from ftprep.rules.context import Hits, RecordContext
from ftprep.validate.engine import RecordPass
from ftprep.view import ExampleView

REPO = Path(__file__).resolve().parent.parent
CASES_DIR = REPO / "fixtures" / "rules"
REALDATA = REPO.parent / "shared" / "realdata"
REAL_FILES = [
    "openai_cookbook/drone_training.jsonl",
    "openai_cookbook/toy_chat_fine_tuning.jsonl",
    "llamafactory/glaive_toolcall_en_demo.json",
    "llamafactory/dpo_en_demo.json",
    "llamafactory/kto_en_demo.json",
    "llamafactory/identity.json",
    "llamafactory/v1_sft_demo.jsonl",
    "fastchat/dummy_conversation.json",
    "mlx_examples/wwdc25_data_train.jsonl",
    "mlx_examples/lora_data_valid.jsonl",
]


def _case_inputs() -> Iterator[tuple[str, dict[str, Any], list[str]]]:
    for path in sorted(CASES_DIR.glob("*.toml")):
        document = tomllib.loads(path.read_text(encoding="utf-8"))
        base = document.get("config", {})
        for kind in ("fail", "pass"):
            for number, case in enumerate(document.get(kind, [])):
                lines = case.get("records") or ([case["record"]] if "record" in case else [])
                if lines:
                    config = {"extend-select": [path.stem], **base, **case.get("config", {})}
                    yield f"{path.stem}-{kind}-{number}", config, lines


def _skipped_findings(config: Config, examples: list[Example]) -> list[str]:
    """``code: message`` of findings a rule reports on an example its traits or the
    prefilter's hits rule out, or reports differently when it reads the hits."""
    record_pass = RecordPass(config)
    prefilter = record_pass.prefilter
    ctx = RecordContext(record_pass.target, record_pass.model, config)
    hidden = []
    for example in examples:
        ctx.tokens = record_pass.tokenizer.count(example)
        view = ctx.view = ExampleView.of(example)
        bits = prefilter.scan(view.texts)
        for rule in record_pass.rules:
            ctx.hits = Hits()  # no scan: every trigger counts as hit
            unfiltered = [f"{f.code}: {f.message}" for f in rule.check(example, ctx)]
            if not (
                rule.relevant(view.traits, ctx) and prefilter.may_find(rule, view.traits, bits)
            ):
                hidden += unfiltered
                continue
            ctx.hits = prefilter.hits(bits)
            found = [f"{f.code}: {f.message}" for f in rule.check(example, ctx)]
            if found != unfiltered:
                hidden.append(f"{rule.code}: finds {found} with the hits, {unfiltered} without")
    return hidden


def _examples(path: Path) -> list[Example]:
    return [item.example for item in load_path(path) if item.example is not None]


CASES = list(_case_inputs())


def test_cases_cover_rules_skipped_on_ordinary_examples() -> None:
    # Guard against a vacuous test: the cases hold records of many different traits.
    traits = set()
    for _name, _config, lines in CASES:
        for line in lines:
            try:
                example = Example.model_validate_json(line)
            except ValueError:
                continue
            traits.add(ExampleView.of(example).traits)
    assert len(traits) > 50


@pytest.mark.parametrize(("name", "config", "lines"), CASES, ids=[c[0] for c in CASES])
def test_no_finding_hidden_on_rule_cases(
    name: str, config: dict[str, Any], lines: list[str], tmp_path: Path
) -> None:
    data = tmp_path / "data.jsonl"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert _skipped_findings(parse_config(config), _examples(data)) == []


@needs.path_mark(REALDATA, "needs ../shared/realdata")
@pytest.mark.parametrize("name", REAL_FILES)
def test_no_finding_hidden_on_real_data(name: str) -> None:
    examples = _examples(REALDATA / name)
    assert examples
    for target in ("openai", "mistral", "self-hosted"):
        assert _skipped_findings(Config(target=target), examples) == []
