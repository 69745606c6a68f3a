"""The Ray engine gives exactly what the local engine gives, on real data."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path

import needs
import numpy as np
import pytest

from ftprep.config import Config
from ftprep.validate import engine
from ftprep.validate.check import run_check

ray = needs.module("ray", "ray")
pytestmark = pytest.mark.ray

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
FILES = [
    REALDATA / "openai_cookbook" / "drone_training.jsonl",
    REALDATA / "llamafactory" / "v1_sft_demo.jsonl",
    REALDATA / "mlx_examples" / "wwdc25_data_train.jsonl",
    REALDATA / "llamafactory" / "identity.json",
]


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def test_check_on_ray_equals_local(local_ray: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # Small shards so every file is cut into several units and renumbering is exercised.
    monkeypatch.setattr(engine, "SHARD_BYTES", 64 * 1024)
    local = run_check(FILES, Config(workers=2))
    on_ray = run_check(FILES, Config(workers=2, engine="ray"))
    assert len(engine.plan_units([str(f) for f in FILES], Config())) > len(FILES)
    assert local.findings == on_ray.findings
    assert [f.location for f in local.findings] == [f.location for f in on_ray.findings]
    for column in fields(local.facts):
        assert np.array_equal(
            getattr(local.facts, column.name), getattr(on_ray.facts, column.name)
        ), column.name
    assert local.records == on_ray.records > 0


def test_prepare_on_ray_writes_the_same_bytes(local_ray: None, tmp_path: Path) -> None:
    from ftprep.api import prepare

    outputs = {}
    for engine_name in ("local", "ray"):
        out = tmp_path / engine_name
        result = prepare(FILES, out_dir=out, config=Config(workers=2, engine=engine_name))
        outputs[engine_name] = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
        manifest = result.manifest
        assert manifest["counts"]["input"] == sum(
            manifest["counts"][s] for s in ("train", "holdout", "rejected")
        )
    local, on_ray = outputs["local"], outputs["ray"]
    assert local.keys() == on_ray.keys()
    for name in local:
        if name != "manifest.json":
            assert local[name] == on_ray[name], name
    assert len(local["train.jsonl"]) > 0
