"""How ftprep starts Ray: never with the dashboard or usage reporting (whose processes probe
cloud metadata endpoints and a public DNS server), so data and telemetry stay on the
machine. Ray itself is replaced by a stand-in recording what it was asked: no Ray needed."""

from __future__ import annotations

import os
import sys
import types
from typing import Any

import pytest

from ftprep.config import Config
from ftprep.engines.ray import RayExecutor


class _Started(Exception):
    """Raised by the stand-in's ``init`` once it has recorded its call."""


@pytest.fixture
def fake_ray(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    ray = types.ModuleType("ray")
    util = types.ModuleType("ray.util")

    def init(**kwargs: Any) -> None:
        seen["kwargs"] = kwargs
        seen["usage_stats"] = os.environ.get("RAY_USAGE_STATS_ENABLED")
        raise _Started

    ray.is_initialized = lambda: False  # type: ignore[attr-defined]
    ray.init = init  # type: ignore[attr-defined]
    util.ActorPool = object  # type: ignore[attr-defined]
    ray.util = util  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ray", ray)
    monkeypatch.setitem(sys.modules, "ray.util", util)
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "1")
    return seen


def _start(executor: RayExecutor) -> None:
    with pytest.raises(_Started):
        next(iter(executor.map([], Config())))


def test_a_ray_started_here_has_no_dashboard_and_no_usage_reporting(
    fake_ray: dict[str, Any],
) -> None:
    _start(RayExecutor(workers=2))
    assert fake_ray["kwargs"] == {
        "include_dashboard": False,
        "log_to_driver": False,
        "configure_logging": False,
        "num_cpus": 2,
    }
    assert fake_ray["usage_stats"] == "0"
    assert os.environ["RAY_USAGE_STATS_ENABLED"] == "1"  # the process's setting is restored


def test_joining_a_cluster_names_only_its_address(fake_ray: dict[str, Any]) -> None:
    _start(RayExecutor(address="ray://127.0.0.1:10001"))
    assert fake_ray["kwargs"]["address"] == "ray://127.0.0.1:10001"
    assert fake_ray["kwargs"]["include_dashboard"] is False
