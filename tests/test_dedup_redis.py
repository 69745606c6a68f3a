"""The LSH index in Redis (``dedup.storage = "redis"``) against a real ``redis-server``."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import needs
import numpy as np
import pytest

from ftprep.config import Config, DedupConfig
from ftprep.dedup.clusters import duplicate_clusters
from ftprep.dedup.index import RedisIndex, candidate_pairs, lsh_params
from ftprep.validate.check import run_check

redis = needs.module("redis", "redis")

MLX = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "mlx_examples"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A throwaway redis-server on a free local port, without persistence."""
    server = shutil.which("redis-server")
    if server is None:
        needs.missing("redis-server is not installed (scripts/test installs it with apt-get)")
    port = _free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        for _ in range(100):
            if process.poll() is not None:
                error = process.stderr.read().decode() if process.stderr else ""
                needs.missing(f"redis-server did not start: {error.strip()}")
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        else:
            needs.missing("redis-server did not answer within 5 s")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def train(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 300 records of mlx-examples' wwdc25 training data."""
    lines = (MLX / "wwdc25_data_train.jsonl").read_bytes().splitlines(keepends=True)
    path = tmp_path_factory.mktemp("wwdc25") / "train.jsonl"
    path.write_bytes(b"".join(lines[:300]))
    return path


def _x_findings(train: Path, config: Config) -> list[tuple[str, str, int | None, str]]:
    result = run_check([train], config, against=[MLX / "wwdc25_data_valid.jsonl"])
    return [(f.code, f.path, f.line, f.message) for f in result.findings if f.code[0] == "X"]


def test_redis_index_gives_the_same_findings_as_memory(redis_url: str, train: Path) -> None:
    memory = _x_findings(train, Config())
    in_redis = _x_findings(
        train, Config(dedup=DedupConfig(storage="redis", redis_url=redis_url, redis_prefix="t1"))
    )
    codes = {code for code, *_ in memory}
    assert {"X001", "X002", "X004"} <= codes  # the comparison covers near pairs and leakage
    assert in_redis == memory
    # The index is deleted after use.
    client = redis.Redis.from_url(redis_url)
    assert list(client.scan_iter(match="t1:*")) == []


def test_redis_clusters_equal_memory_clusters(redis_url: str, train: Path) -> None:
    config = Config()
    facts = run_check([train], config).facts
    redis_config = DedupConfig(storage="redis", redis_url=redis_url, redis_prefix="t2")
    in_memory = duplicate_clusters(facts, config.dedup)
    assert (in_memory != np.arange(len(facts))).sum() > 60
    assert np.array_equal(duplicate_clusters(facts, redis_config), in_memory)


def test_the_redis_index_is_datasketchs(redis_url: str) -> None:
    """Another process can open the same index with datasketch alone and query it."""
    from datasketch import LeanMinHash, MinHashLSH

    config = DedupConfig(storage="redis", redis_url=redis_url, redis_prefix="t3")
    bands, rows = lsh_params(config)
    rng = np.random.default_rng(7)
    signatures = rng.integers(0, 2**32, size=(3, config.num_perm), dtype=np.uint32)
    signatures[2, :64] = signatures[0, :64]  # shares the first 8 bands with row 0
    index = RedisIndex(config, bands, rows)
    try:
        index.insert(np.arange(3, dtype=np.int64), signatures)
        other = MinHashLSH(
            num_perm=config.num_perm,
            params=(bands, rows),
            storage_config={
                "type": "redis",
                "basename": index.basename,
                "redis": redis.connection.parse_url(redis_url),
            },
            prepickle=False,
        )
        query = LeanMinHash(seed=config.seed, hashvalues=signatures[0], scheme="affine32")
        assert sorted(other.query(query)) == [b"0", b"2"]
    finally:
        index.close()


def test_two_runs_on_one_redis_keep_their_own_index(redis_url: str) -> None:
    """Two runs with the same (default) prefix at once: one run closing its index, or a
    later one clearing it before use, used to delete the other's bands mid-run."""
    config = DedupConfig(storage="redis", redis_url=redis_url)
    bands, rows = lsh_params(config)
    rng = np.random.default_rng(11)
    signatures = rng.integers(0, 2**32, size=(4, config.num_perm), dtype=np.uint32)
    signatures[1] = signatures[0]
    first = RedisIndex(config, bands, rows)
    first.insert(np.arange(4, dtype=np.int64), signatures)
    second = RedisIndex(config, bands, rows)  # starts while the first is running
    second.insert(np.arange(4, dtype=np.int64), signatures)
    second.close()
    try:
        assert first.basename != second.basename
        assert candidate_pairs(first).tolist() == [(0 << 32) | 1]
    finally:
        first.close()
    client = redis.Redis.from_url(redis_url)
    assert list(client.scan_iter(match=b"ftprep:*")) == []


def test_concurrent_checks_on_one_redis_give_each_the_memory_findings(
    redis_url: str, train: Path
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    memory = _x_findings(train, Config())
    config = Config(workers=1, dedup=DedupConfig(storage="redis", redis_url=redis_url))
    with ThreadPoolExecutor(3) as pool:
        runs = list(pool.map(lambda _: _x_findings(train, config), range(3)))
    assert all(run == memory for run in runs)
