"""Progress bars: tqdm when asked for and installed, silence otherwise."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ftprep.config import Config
from ftprep.progress import interactive, progress_bar, track
from ftprep.validate.check import run_check

TOY = Path(__file__).resolve().parents[1] / "fixtures" / "realdata" / "toy_chat_fine_tuning.jsonl"


def test_bar_follows_the_engine_callback(capsys: pytest.CaptureFixture[str]) -> None:
    size = TOY.stat().st_size
    with progress_bar(total=size, desc="check", unit="B", enabled=True) as advance:
        result = run_check([TOY], Config(), progress=advance)
    assert result.records == 5
    err = capsys.readouterr().err
    assert "check" in err and "100%" in err


def test_track_yields_items_and_counts(capsys: pytest.CaptureFixture[str]) -> None:
    assert list(track(range(7), desc="rows", enabled=True)) == list(range(7))
    assert "7/7" in capsys.readouterr().err


def test_disabled_is_silent(capsys: pytest.CaptureFixture[str]) -> None:
    assert list(track([1, 2], enabled=False)) == [1, 2]
    with progress_bar(total=2, enabled=False) as advance:
        advance(2)
    assert capsys.readouterr().err == ""


def test_without_tqdm_is_silent(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    assert list(track([1, 2, 3], enabled=True)) == [1, 2, 3]
    assert capsys.readouterr().err == ""


def test_default_is_quiet_under_pytest(capsys: pytest.CaptureFixture[str]) -> None:
    """pytest captures stderr (not a TTY) and runs no kernel: nobody is watching."""
    assert list(track([1, 2, 3])) == [1, 2, 3]
    assert capsys.readouterr().err == ""


def test_interactive_means_a_running_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    import ipykernel  # noqa: F401  (imported but not running: nobody is watching)

    for name in ("CI", "PRE_COMMIT"):
        monkeypatch.delenv(name, raising=False)
    assert not interactive()

    class Shell:
        kernel = object()

    fake = types.ModuleType("IPython")
    fake.get_ipython = Shell  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", fake)
    assert interactive()
    # Under CI or pre-commit nobody watches, even a kernel (a notebook run by nbclient).
    for name in ("CI", "PRE_COMMIT"):
        monkeypatch.setenv(name, "1")
        assert not interactive()
        monkeypatch.delenv(name)
