"""A data folder's own configuration cannot send data elsewhere: settings that reach the
network (a Ray address, a Redis server) are taken only from the user's own configuration (the
one the working directory finds, or a file named with --config) or the command line. A
dataset that carries an ftprep.toml setting them gets a warning, and they are ignored."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from ftprep import cli
from ftprep.api import resolve_config

NETWORK = """\
ray-address = "ray://127.0.0.1:1"
ignore = ["Q"]

[dedup]
storage = "redis"
redis-url = "redis://127.0.0.1:1/0"
"""


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """A downloaded dataset folder whose ftprep.toml names network services."""
    folder = tmp_path / "dataset"
    folder.mkdir()
    (folder / "ftprep.toml").write_text(NETWORK)
    with (folder / "train.jsonl").open("w") as handle:
        for i in range(12):
            messages = [
                {"role": "user", "content": f"Question {i}: what is {i} times {i + 3}?"},
                {"role": "assistant", "content": f"It is {i * (i + 3)}."},
            ]
            handle.write(json.dumps({"messages": messages}) + "\n")
    (tmp_path / "work").mkdir()
    return folder


def test_network_settings_beside_the_data_are_reported_and_ignored(
    dataset: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.chdir(dataset.parent / "work")
    with caplog.at_level(logging.WARNING, logger="ftprep"):
        config = resolve_config([str(dataset / "train.jsonl")])
    assert config.ray_address is None
    assert config.dedup.storage == "memory"
    assert config.dedup.redis_url == "redis://127.0.0.1:6379/0"
    assert config.ignore == ["Q"]  # the rest of the file still applies
    warning = caplog.text
    assert "ray-address" in warning and "dedup.storage" in warning and "redis-url" in warning
    assert str(dataset / "ftprep.toml") in warning


def test_the_command_line_checks_such_a_dataset_without_connecting(
    dataset: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(dataset.parent / "work")
    code = cli.main(["check", str(dataset)])
    _out, err = capsys.readouterr()
    assert code == 0, err
    assert "ftprep: warning:" in err and "ray-address" in err and "ignored" in err


def test_the_users_own_configuration_may_set_them(
    dataset: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    data = str(dataset / "train.jsonl")
    with caplog.at_level(logging.WARNING, logger="ftprep"):
        named = resolve_config([data], dataset / "ftprep.toml")
        monkeypatch.chdir(dataset)
        working_directorys = resolve_config([data])
        monkeypatch.chdir(dataset.parent / "work")
        command_line = resolve_config([data], ray_address="auto")
    for config in (named, working_directorys):
        assert config.ray_address == "ray://127.0.0.1:1"
        assert config.dedup.redis_url == "redis://127.0.0.1:1/0"
    assert command_line.ray_address == "auto"
    assert command_line.dedup.storage == "memory"
    assert "ignored" in caplog.text  # only for the last one
    assert caplog.text.count("ignored") == 1
