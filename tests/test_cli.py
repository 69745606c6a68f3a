"""The command line: exit codes, configuration, formats, and never a traceback."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ftprep import __version__, cli
from ftprep.load.paths import expand_paths
from ftprep.report.formats import FORMATS, use_color
from ftprep.rules.registry import ALL_RULES

ROOT = Path(__file__).resolve().parents[1]
CLI_FIXTURES = ROOT / "fixtures" / "cli"
CORRUPT = ROOT / "fixtures" / "corrupt"
BAD = CLI_FIXTURES / "bad.jsonl"
REALDATA = ROOT.parent / "shared" / "realdata"
DRONE = REALDATA / "openai_cookbook" / "drone_training.jsonl"
TOY = ROOT / "fixtures" / "realdata" / "toy_chat_fine_tuning.jsonl"


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GITHUB_ACTIONS", "FTPREP_DEBUG", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_process(*argv: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "FTPREP_DEBUG")}
    return subprocess.run(
        [sys.executable, "-m", "ftprep.cli", *map(str, argv)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        check=False,
    )


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"ftprep {__version__}"


def test_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["check", "--help"])
    out = capsys.readouterr().out
    assert "examples:" in out and "ftprep check train.jsonl --fix" in out


def test_clean_real_file_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", DRONE, "--select", "L,S")
    assert code == 0
    assert out.strip() == "All checks passed! 103 records (1 file)."


def test_findings_exit_one_ruff_style(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", BAD, "--select", "L")
    assert code == 1
    lines = out.splitlines()
    assert lines[4].startswith(f"{BAD}:3:101: L001 invalid JSON: ")
    assert lines[-1] == ("Found 2 errors, 2 warnings in 5 records (1 file). 2 fixable with --fix.")


def test_exit_zero_and_strict(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "check", BAD, "--select", "L", "--exit-zero")[0] == 0
    # Warnings alone pass, unless --strict.
    assert run(capsys, "check", BAD, "--select", "L005")[0] == 0
    assert run(capsys, "check", BAD, "--select", "L005", "--strict")[0] == 1


def test_select_ignore_and_extend_select(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "check", BAD, "--select", "L", "--ignore", "L001,L003")
    codes = {line.split()[1] for line in out.splitlines() if line.startswith(str(BAD))}
    assert codes == {"L005", "L006"}
    _, out, _ = run(capsys, "check", BAD, "--select", "L005", "--extend-select", "l006")
    codes = {line.split()[1] for line in out.splitlines() if line.startswith(str(BAD))}
    assert codes == {"L005", "L006"}


def test_closest_config_applies_and_flags_override(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "sub" / "data.jsonl"
    data.parent.mkdir()
    data.write_bytes(BAD.read_bytes())
    (tmp_path / "pyproject.toml").write_text('[tool.ftprep]\nselect = ["L"]\nignore = ["L005"]\n')
    _, out, _ = run(capsys, "check", data)
    assert " L005 " not in out and " L001 " in out
    _, out, _ = run(capsys, "check", data, "--select", "L005")
    assert " L005 " in out and " L001 " not in out
    other = tmp_path / "other.toml"
    other.write_text('select = ["L001"]\n')
    _, out, _ = run(capsys, "check", data, "--config", other)
    assert " L001 " in out and " L006 " not in out


def test_bad_configuration_exits_two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data.jsonl"
    data.write_bytes(TOY.read_bytes())
    (tmp_path / "ftprep.toml").write_text('selct = ["L"]\n')
    code, out, err = run(capsys, "check", data)
    assert code == 2 and out == ""
    assert "unknown key 'selct'" in err and "ftprep.toml" in err
    (tmp_path / "ftprep.toml").write_text("[rules.L001]\nnope = 1\n")
    code, _, err = run(capsys, "check", data)
    assert code == 2 and "L001" in err
    code, _, err = run(capsys, "check", data, "--config", tmp_path / "missing.toml")
    assert code == 2 and "not found" in err


@pytest.mark.parametrize(
    ("flags", "names"),
    [
        (["--target", "nope"], "openai"),
        (["--model", "gpt-0"], "gpt-4o-mini"),
        (["--dialect", "nope"], "known: auto, "),
        (["--select", "Z9"], "ftprep rules"),
    ],
)
def test_unknown_names_exit_two_with_the_known_ones(
    flags: list[str], names: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "check", TOY, *flags)
    assert code == 2 and out == ""
    assert err.startswith("ftprep: error: ") and names in err


def test_inputs_under_different_configurations_exit_two(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``check a/x.jsonl b/y.jsonl`` must not check y under a's configuration."""
    for name, config in (("a", 'select = ["L"]\n'), ("b", 'select = ["L"]\nignore = ["L005"]\n')):
        (tmp_path / name).mkdir()
        (tmp_path / name / "ftprep.toml").write_text(config)
        (tmp_path / name / "data.jsonl").write_bytes(BAD.read_bytes())
    x, y = tmp_path / "a" / "data.jsonl", tmp_path / "b" / "data.jsonl"
    for command in (["check"], ["stats"], ["baseline", "write", "--baseline", tmp_path / "b.json"]):
        code, out, err = run(capsys, *command[:1], *command[1:2], x, y, *command[2:])
        assert code == 2 and out == ""
        assert err.startswith("ftprep: error: the inputs have different configurations: ")
        assert f"{tmp_path / 'a' / 'ftprep.toml'} for {x}" in err
        assert f"{tmp_path / 'b' / 'ftprep.toml'} for {y}" in err
    code, out, _ = run(capsys, "check", x, y, "--config", tmp_path / "b" / "ftprep.toml")
    assert code == 1 and " L005 " not in out and out.count(" L001 ") == 2


@pytest.mark.parametrize(
    ("flags", "key"),
    [
        (["--max-tokens", "0"], "'max-tokens': Input should be greater than or equal to 1"),
        (["--workers", "0"], "'workers': Input should be greater than or equal to 1"),
    ],
)
def test_bad_option_values_exit_two_without_pydantic_links(
    flags: list[str], key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "check", TOY, *flags)
    assert code == 2 and out == ""
    assert err == f"ftprep: error: invalid configuration in the options:\n  {key}\n"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--max-file-bytes", "0"], "max_file_bytes must be positive, not 0"),
        (["--stratify", ""], "stratify needs a field name (a dotted path into the record)"),
        (["--holdout", "1.5"], "holdout fraction must be within [0, 1], not 1.5"),
    ],
)
def test_bad_prepare_options_exit_two(
    flags: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "prepare", TOY, "--out", tmp_path / "out", *flags)
    assert code == 2 and out == ""
    assert err == f"ftprep: error: {message}\n"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["prepare", "convert"])
def test_a_value_error_inside_a_job_is_an_internal_error(
    command: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A bug must not pass for a usage error (exit 2 either way, but said as what it is)."""

    def broken(*_args: object, **_kwargs: object) -> None:
        raise ValueError("a bug")

    monkeypatch.setattr(cli, command, broken)
    extra = ["--to", "openai"] if command == "convert" else []
    code, _, err = run(capsys, command, TOY, "--out", tmp_path / "out.jsonl", *extra)
    assert code == 2
    assert err.splitlines()[0] == "ftprep: internal error: ValueError: a bug"


def test_a_bad_tokenizer_exits_two_without_a_traceback(tmp_path: Path) -> None:
    """Large inputs run in worker processes; the tokenizer is loaded once before them."""
    data = tmp_path / "big.jsonl"
    line = TOY.read_bytes().splitlines(keepends=True)[0]
    data.write_bytes(line * (5 * (1 << 20) // len(line)))
    for tokenizer in ("missing/tokenizer.json", "mistral:nope"):
        done = run_process(
            "check", data, "--target", "self-hosted", "--tokenizer", tokenizer, "--workers", "2"
        )
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.startswith(f"ftprep: error: cannot load the tokenizer {tokenizer!r}: ")
        assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1


def test_usage_error_exits_two(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["check", TOY.as_posix(), "--format", "xml"])
    assert exit_.value.code == 2


def test_internal_error_is_one_line_unless_debugging(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(cli, "lint_files", explode)
    code, out, err = run(capsys, "check", TOY)
    assert code == 2 and out == ""
    assert err.splitlines()[0] == "ftprep: internal error: RuntimeError: boom"
    assert "Traceback" not in err
    monkeypatch.setenv("FTPREP_DEBUG", "1")
    with pytest.raises(RuntimeError, match="boom"):
        cli.main(["check", str(TOY)])


def test_machine_formats_keep_stdout_parseable(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check", BAD, "--select", "L", "--format", "json")
    assert code == 1
    document = json.loads(out)
    assert document["summary"]["errors"] == 2
    assert {d["code"] for d in document["diagnostics"]} == {"L001", "L003", "L005", "L006"}
    assert err.startswith("Found 2 errors")
    _, out, _ = run(capsys, "check", BAD, "--select", "L", "--format", "jsonl")
    assert [json.loads(line)["line"] for line in out.splitlines()] == [1, 2, 3, 4]
    _, out, _ = run(capsys, "check", BAD, "--select", "L", "--format", "sarif")
    assert json.loads(out)["runs"][0]["results"][0]["ruleId"] == "L003"


def test_github_format_is_automatic_in_actions(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    _, out, err = run(capsys, "check", BAD, "--select", "L001")
    assert out.startswith(f"::error file={BAD},line=3,col=101,title=L001::invalid JSON")
    assert "Found 1 error" in err
    _, out, _ = run(capsys, "check", BAD, "--select", "L001", "--format", "text")
    assert out.startswith(f"{BAD}:3:101: L001")


def test_colour_needs_a_terminal_and_no_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_color(Terminal())
    assert not use_color(io.StringIO())
    assert use_color(io.StringIO(), "always") and not use_color(Terminal(), "never")
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color(Terminal())
    assert use_color(io.StringIO(), "always")
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert use_color(io.StringIO())
    assert not use_color(Terminal(), "never")


@pytest.mark.parametrize(
    ("env", "flag", "coloured"),
    [
        ({}, [], False),
        ({"FORCE_COLOR": "1"}, [], True),
        ({"FORCE_COLOR": "1"}, ["--color", "never"], False),
        ({"NO_COLOR": "1"}, ["--color", "always"], True),
    ],
)
def test_color_flag_and_force_color_on_a_real_run(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    flag: list[str],
    coloured: bool,
) -> None:
    for name in ("FORCE_COLOR", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, out, _err = run(capsys, "check", str(BAD), "--format", "text", *flag)
    assert code == 1 and "L001" in out
    assert ("\x1b[" in out) is coloured


def test_progress_only_for_a_person_watching(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    for name in ("CI", "PRE_COMMIT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "stderr", Terminal())
    args = cli.build_parser().parse_args(["check", "x.jsonl"])
    assert cli._progress_wanted(args)
    assert not cli._progress_wanted(cli.build_parser().parse_args(["check", "x", "--no-progress"]))
    monkeypatch.setenv("PRE_COMMIT", "1")
    assert not cli._progress_wanted(args)
    monkeypatch.delenv("PRE_COMMIT")
    monkeypatch.setenv("CI", "true")
    assert not cli._progress_wanted(args)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    monkeypatch.delenv("CI")
    assert not cli._progress_wanted(args)


def test_folders_expand_to_data_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.jsonl").write_bytes(TOY.read_bytes())
    (tmp_path / "y.ndjson").write_bytes(TOY.read_bytes())
    (tmp_path / "notes.txt").write_text("not data")
    assert expand_paths([str(tmp_path)]) == [
        str(tmp_path / "a" / "x.jsonl"),
        str(tmp_path / "y.ndjson"),
    ]


@pytest.mark.parametrize("command", ["check", "prepare", "convert", "baseline", "stats"])
def test_a_folder_without_data_files_is_a_usage_error(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing is read from it, so nothing may be written or reported clean (exit 2)."""
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not data")
    extra = {
        "check": [],
        "stats": [],
        "prepare": ["--out", str(tmp_path / "out")],
        "convert": ["--to", "openai", "--out", str(tmp_path / "out.jsonl")],
        "baseline": ["--baseline", str(tmp_path / "b.json")],
    }[command]
    words = ["baseline", "write"] if command == "baseline" else [command]
    code, out, err = run(capsys, *words, empty, *extra)
    assert code == 2 and out == ""
    suffixes = ".jsonl, .ndjson, .jsonl.gz, .ndjson.gz, .json, .json.gz"
    assert err == f"ftprep: error: no data files ({suffixes}) under the folder {empty}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]


def test_missing_file_is_a_finding(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", tmp_path / "nope.jsonl", "--select", "L")
    assert code == 1 and "L010 cannot open file" in out


def test_rules_lists_every_rule(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rules")
    assert code == 0
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == [r.code for r in ALL_RULES]
    assert lines[0].split()[1:3] == ["error", "invalid-json"]


def test_rules_code_prints_its_documentation(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rules", "utf8-bom")
    assert code == 0
    assert out.startswith("L003 utf8-bom: File starts with a UTF-8 byte order mark\n")
    assert "Fixable with --fix" in out
    assert "Fix: save the file as UTF-8 without BOM" in out
    where = next(line for line in out.splitlines() if line.startswith("Defined in: "))
    path, line = where.removeprefix("Defined in: ").rsplit(":", 1)
    source = (ROOT / path).read_text().splitlines()
    assert source[int(line) - 1].startswith("class Utf8Bom(")
    code, _, err = run(capsys, "rules", "Q999")
    assert code == 2 and "unknown rule" in err


def test_stats_on_real_data(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "stats", TOY, "--format", "json")
    assert code == 0
    stats = json.loads(out)
    assert (stats["records"], stats["loaded"]) == (5, 5)
    by_name = {d["name"]: d for d in stats["distributions"]}
    assert by_name["messages"]["total"] == 19
    assert by_name["assistant"]["count"] == 5
    assert by_name["system"]["count"] == 4
    assert by_name["tokens"]["max"] >= by_name["tokens"]["p99"] >= by_name["tokens"]["p50"]
    code, out, _ = run(capsys, "stats", TOY, "--price", "3", "--epochs", "2")
    assert code == 0
    assert "2 epochs x" in out and "estimated cost:" in out


def _corrupt_inputs() -> list[Path]:
    files = sorted(p for p in CLI_FIXTURES.iterdir() if p.name != "README.md")
    if CORRUPT.is_dir():
        files += sorted(p for p in CORRUPT.rglob("*") if p.is_file() and p.suffix != ".md")
    return files


@pytest.mark.parametrize("fmt", FORMATS)
def test_corrupt_input_never_prints_a_traceback(fmt: str) -> None:
    inputs = _corrupt_inputs()
    result = run_process("check", *inputs, "--format", fmt, "--no-progress")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    if fmt in ("json", "sarif"):
        json.loads(result.stdout)
    summary = result.stdout if fmt == "text" else result.stderr
    assert summary.strip().splitlines()[-1].startswith("Found ")


def test_each_corrupt_file_alone_is_reported_not_crashed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for path in _corrupt_inputs():
        code, out, err = run(capsys, "check", path, "--no-progress")
        assert code in (0, 1), (path, err)
        assert "internal error" not in err, (path, err)
        assert out.splitlines()[-1].startswith(("Found ", "All checks passed!")), path
