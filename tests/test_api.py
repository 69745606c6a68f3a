"""The Python API resolves inputs and configuration exactly as the command line does: one
path or several, folders expanded, the closest configuration (refused when inputs disagree),
bad names and options as :class:`ConfigError` with the known names, a progress bar only when
asked or watched."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import ftprep
from ftprep.api import resolve_config
from ftprep.config import Config, ConfigError, config_for_inputs
from ftprep.load.paths import InputError, expand_paths, input_names
from ftprep.targets import TARGETS
from ftprep.tokens import make_tokenizer

ROOT = Path(__file__).resolve().parents[1]
DRONE = ROOT / "fixtures" / "drone"
TOY = ROOT / "fixtures" / "realdata" / "toy_chat_fine_tuning.jsonl"


def two_projects(tmp_path: Path) -> tuple[Path, Path]:
    """``a/x.jsonl`` under a configuration ignoring nothing, ``b/y.jsonl`` under one ignoring
    Q003 (the review's reproduction)."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "ftprep.toml").write_text('target = "openai"\n')
    (tmp_path / "b" / "pyproject.toml").write_text('[tool.ftprep]\nignore = ["Q003"]\n')
    shutil.copy(TOY, tmp_path / "a" / "x.jsonl")
    shutil.copy(TOY, tmp_path / "b" / "y.jsonl")
    return tmp_path / "a" / "x.jsonl", tmp_path / "b" / "y.jsonl"


def test_inputs_with_different_configurations_are_refused(tmp_path: Path) -> None:
    x, y = two_projects(tmp_path)
    with pytest.raises(ConfigError) as err:
        ftprep.check([x, y])
    message = str(err.value)
    assert str(tmp_path / "a" / "ftprep.toml") in message and str(x) in message
    assert str(tmp_path / "b" / "pyproject.toml") in message and str(y) in message
    with pytest.raises(ConfigError, match="different configurations"):
        ftprep.prepare([x, y], out_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()
    # One named configuration settles it; so does checking each project on its own.
    result = ftprep.check([x, y], config=tmp_path / "b" / "pyproject.toml")
    assert result.config.ignore == ["Q003"] and len(result.paths) == 2
    assert ftprep.check(y).config.ignore == ["Q003"]
    assert ftprep.check(x).config.ignore == []


def test_a_configuration_file_against_the_defaults_is_refused(tmp_path: Path) -> None:
    x, _ = two_projects(tmp_path)
    (tmp_path / "c").mkdir()
    z = tmp_path / "c" / "z.jsonl"
    shutil.copy(TOY, z)
    with pytest.raises(ConfigError, match=r"the defaults \(no configuration file\) for"):
        config_for_inputs([str(x), str(z)])


def test_inputs_under_one_configuration_share_it(tmp_path: Path) -> None:
    x, _ = two_projects(tmp_path)
    (tmp_path / "a" / "sub").mkdir()
    deeper = tmp_path / "a" / "sub" / "w.jsonl"
    shutil.copy(TOY, deeper)
    # A pyproject without [tool.ftprep] in between does not count as a configuration.
    (tmp_path / "a" / "sub" / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    config = config_for_inputs([str(x), str(deeper)])
    assert config.source == str(tmp_path / "a" / "ftprep.toml")


def test_unknown_names_are_config_errors_with_the_known_names() -> None:
    with pytest.raises(ConfigError, match="unknown target 'nope'; known: openai, together"):
        ftprep.check(TOY, target="nope")
    with pytest.raises(ConfigError, match="target 'openai' has no model 'gpt-0'; known: "):
        ftprep.check(TOY, model="gpt-0")
    with pytest.raises(ConfigError, match="unknown dialect 'csv'; known: auto, bedrock"):
        ftprep.check(TOY, config=Config(dialect="csv"))
    with pytest.raises(ConfigError, match="unknown target 'nope'"):
        ftprep.prepare(TOY, out_dir="unused", target="nope")


def test_a_named_file_without_configuration_is_an_error(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text("[project]\nname = 'x'\n")
    with pytest.raises(ConfigError, match=r"pyproject.toml has no \[tool.ftprep\] table"):
        ftprep.check(TOY, config=pyproject)
    with pytest.raises(ConfigError, match="configuration file not found"):
        ftprep.check(TOY, config=tmp_path / "missing.toml")


def test_folders_expand_in_the_api_too() -> None:
    result = ftprep.check([DRONE])
    assert result.paths == [str(DRONE / "drone_training.jsonl")]
    assert result.records == 103
    assert not any(f.code == "L010" for f in result.findings)


def test_a_folder_without_data_files_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InputError, match="no data files"):
        ftprep.check(tmp_path)
    with pytest.raises(InputError):
        ftprep.convert(tmp_path, to="openai", out=tmp_path / "out.jsonl")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_single_path_is_one_input(tmp_path: Path) -> None:
    assert input_names("train.jsonl") == ["train.jsonl"]
    assert input_names(Path("a.jsonl")) == ["a.jsonl"]
    assert expand_paths(p for p in [str(TOY)]) == [str(TOY)]
    for given in (str(TOY), TOY):
        result = ftprep.check(given)
        assert result.paths == [str(TOY)] and result.records == 5
    prepared = ftprep.prepare(str(TOY), out_dir=tmp_path / "out", holdout_count=1)
    assert prepared.counts["input"] == 5
    converted = ftprep.convert(TOY, to="sharegpt", out=tmp_path / "toy.sharegpt.jsonl")
    assert converted.written == 5


def test_bad_options_are_config_errors_without_pydantic_links(tmp_path: Path) -> None:
    for bad in (
        {"max_tokens": 0},
        {"workers": 0},
        {"engine": "spark"},
    ):
        with pytest.raises(ConfigError) as err:
            resolve_config([str(TOY)], Config(), **bad)
        text = str(err.value)
        assert "pydantic" not in text and text.startswith("invalid configuration in the options")
        assert f"'{next(iter(bad)).replace('_', '-')}'" in text
    out = tmp_path / "out"
    for options, message in (
        ({"holdout": 1.5}, "holdout fraction must be within"),
        ({"holdout": 0.1, "holdout_count": 2}, "not both"),
        ({"max_file_bytes": 0}, "max_file_bytes must be positive"),
        ({"stratify": " "}, "stratify needs a field name"),
    ):
        with pytest.raises(ConfigError, match=message):
            ftprep.prepare(TOY, out_dir=out, **options)  # type: ignore[arg-type]
    assert not out.exists()
    with pytest.raises(ConfigError, match="unknown dialect 'csv'"):
        ftprep.convert(TOY, to="csv", out=tmp_path / "x.jsonl")


@pytest.mark.parametrize(
    "name", ["missing/tokenizer.json", "mistral:no-such-tokenizer", "fixtures"]
)
def test_a_bad_tokenizer_is_a_config_error(name: str) -> None:
    config = Config(target="self-hosted", tokenizer=name)
    with pytest.raises(ConfigError, match=re.escape(f"cannot load the tokenizer {name!r}: ")):
        make_tokenizer(config, TARGETS["self-hosted"].spec_for(config))
    with pytest.raises(ConfigError, match="cannot load the tokenizer"):
        ftprep.check(TOY, config=config)


def test_progress_bar_when_asked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ftprep.check(TOY, progress=True)
    err = capsys.readouterr().err
    assert "ftprep" in err and "100%" in err
    ftprep.check(TOY, progress=False)
    ftprep.check(TOY)  # pytest captures stderr and runs no kernel: nobody is watching
    assert capsys.readouterr().err == ""
    ftprep.prepare(TOY, out_dir=tmp_path / "out", holdout_count=1, progress=True)
    assert "100%" in capsys.readouterr().err


def test_a_bad_tokenizer_fails_before_any_worker_starts(tmp_path: Path) -> None:
    """The engine builds its record pass (and so the tokenizer) in this process before
    forking workers: a bad tokenizer is one ConfigError, not a broken process pool."""
    from ftprep.validate.check import run_check

    data = tmp_path / "big.jsonl"
    line = TOY.read_bytes().splitlines(keepends=True)[0]
    data.write_bytes(line * (5 * (1 << 20) // len(line)))
    config = Config(target="self-hosted", tokenizer="missing/tokenizer.json", workers=2)
    with pytest.raises(ConfigError, match="cannot load the tokenizer 'missing/tokenizer"):
        run_check([data], config)


def test_stats_is_a_library_call() -> None:
    import ftprep

    result = ftprep.stats(TOY, model="gpt-4o-mini")
    assert result.tokens.records == result.tokens.loaded > 0
    assert result.model["model"] == "gpt-4o-mini" and result.billing.examples > 0
    assert '"billing"' in result.format("json")


def test_rules_are_plain_data_from_the_library() -> None:
    import ftprep

    rules = ftprep.list_rules()
    assert len(rules) > 70 and len({r["code"] for r in rules}) == len(rules)
    q006 = ftprep.explain("truncated-answer")
    assert q006 == ftprep.explain("Q006") == next(r for r in rules if r["code"] == "Q006")
    assert q006["source"].startswith("ftprep/rules/quality.py:")
    assert q006["documentation"].rsplit("\n\n", 1)[-1].startswith("Fix: ")
    with pytest.raises(KeyError):
        ftprep.explain("Q999")
