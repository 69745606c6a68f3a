"""Start-up of a small check: the vocabulary cache (written on first use, read after, never
used when stale or damaged, optional), the imports a small check does without, no worker
process for a small input, and the command's fast exit. Speed itself is measured by
``bench/startup.py``, never asserted."""

from __future__ import annotations

import json
import logging
import multiprocessing.process
import subprocess
import sys
from pathlib import Path

import pytest
import tiktoken_ext.openai_public as public

from ftprep import cache
from ftprep.config import Config
from ftprep.tokens import encodings
from ftprep.validate.check import run_check

REPO = Path(__file__).resolve().parent.parent
DRONE = REPO / "fixtures" / "drone" / "drone_training.jsonl"
BAD = REPO / "fixtures" / "cli" / "bad.jsonl"
NAME = "cl100k_base"


@pytest.fixture(scope="module")
def expected_hash() -> str:
    """The sha256 tiktoken expects of the cl100k_base vocabulary file."""
    seen: list[str] = []

    def capture(_url: str, expected_hash: str | None = None) -> dict[bytes, int]:
        assert expected_hash is not None
        seen.append(expected_hash)
        return {}

    original = public.load_tiktoken_bpe
    public.load_tiktoken_bpe = capture
    try:
        public.ENCODING_CONSTRUCTORS[NAME]()
    finally:
        public.load_tiktoken_bpe = original
    return seen[0]


@pytest.fixture(scope="module")
def bundled(expected_hash: str) -> dict[bytes, int]:
    """The ranks read from the file ftprep ships."""
    return encodings._read_bundled(NAME, expected_hash)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the vocabularies read from the package (not from the cache)."""
    seen: list[str] = []
    read = encodings._read_bundled

    def spy(name: str, expected_hash: str | None) -> dict[bytes, int]:
        seen.append(name)
        return read(name, expected_hash)

    monkeypatch.setattr(encodings, "_read_bundled", spy)
    return seen


@pytest.fixture
def cache_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("FTPREP_CACHE_DIR", str(root))
    monkeypatch.delenv("FTPREP_NO_CACHE", raising=False)
    return root


def entries(root: Path) -> list[Path]:
    folder = root / encodings.CACHE_FOLDER
    return sorted(folder.iterdir()) if folder.exists() else []


def test_first_use_writes_the_cache_and_the_next_reads_it(
    cache_root: Path, reads: list[str], expected_hash: str, bundled: dict[bytes, int]
) -> None:
    first = encodings._bundled_ranks(NAME, expected_hash)
    assert reads == [NAME]
    (entry,) = entries(cache_root)
    assert expected_hash[:16] in entry.name
    second = encodings._bundled_ranks(NAME, expected_hash)
    assert reads == [NAME]  # not read from the package again
    assert first == second == bundled
    assert list(second.values()) == list(range(len(bundled)))  # ranks in order
    assert [p.name for p in entries(cache_root)] == [entry.name]  # no temporary file left


def test_an_encoding_from_the_cache_encodes_as_the_bundled_one(
    cache_root: Path, reads: list[str]
) -> None:
    text = DRONE.read_text(encoding="utf-8")
    first = encodings.BundledEncoding(NAME).encode_ordinary(text)
    second = encodings.BundledEncoding(NAME).encode_ordinary(text)
    assert reads == [NAME]
    assert first == second and len(first) > 10_000


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data[:-1] + bytes([data[-1] ^ 1]), id="flipped-bit"),
        pytest.param(lambda data: data[: len(data) // 2], id="cut-short"),
        pytest.param(lambda data: data.replace(b"marshal", b"marshaL", 1), id="other-key"),
        pytest.param(lambda data: b"", id="empty"),
    ],
)
def test_a_damaged_or_stale_entry_is_ignored_and_rewritten(
    cache_root: Path,
    reads: list[str],
    expected_hash: str,
    bundled: dict[bytes, int],
    damage: object,
    caplog: pytest.LogCaptureFixture,
) -> None:
    encodings._bundled_ranks(NAME, expected_hash)
    (entry,) = entries(cache_root)
    good = entry.read_bytes()
    assert callable(damage)
    entry.write_bytes(damage(good))
    with caplog.at_level(logging.DEBUG, logger="ftprep"):
        assert encodings._bundled_ranks(NAME, expected_hash) == bundled
    assert reads == [NAME, NAME]
    assert "stale or damaged" in caplog.text
    assert entry.read_bytes() == good  # rewritten
    assert encodings._bundled_ranks(NAME, expected_hash) == bundled
    assert reads == [NAME, NAME]


def test_an_entry_that_is_not_ranks_is_ignored(
    cache_root: Path, reads: list[str], expected_hash: str, bundled: dict[bytes, int]
) -> None:
    encodings._bundled_ranks(NAME, expected_hash)
    (entry,) = entries(cache_root)
    key = entry.read_bytes().split(b"\n")[1].decode()
    cache.write_entry(encodings.CACHE_FOLDER, entry.name, key, b"N")  # marshal's None
    assert encodings._bundled_ranks(NAME, expected_hash) == bundled
    assert reads == [NAME, NAME]


def test_an_unwritable_cache_costs_only_speed(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    reads: list[str],
    expected_hash: str,
    bundled: dict[bytes, int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setenv("FTPREP_CACHE_DIR", str(blocker))
    with caplog.at_level(logging.DEBUG, logger="ftprep"):
        assert encodings._bundled_ranks(NAME, expected_hash) == bundled
        assert encodings._bundled_ranks(NAME, expected_hash) == bundled
    assert reads == [NAME, NAME]
    assert "not written" in caplog.text
    assert blocker.read_text() == "a file where the cache folder would be"


def test_the_cache_can_be_turned_off(
    cache_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    reads: list[str],
    expected_hash: str,
    bundled: dict[bytes, int],
) -> None:
    monkeypatch.setenv("FTPREP_NO_CACHE", "1")
    assert cache.cache_dir() is None
    assert encodings._bundled_ranks(NAME, expected_hash) == bundled
    assert encodings._bundled_ranks(NAME, expected_hash) == bundled
    assert reads == [NAME, NAME]
    assert not cache_root.exists()


def test_cache_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for variable in ("FTPREP_CACHE_DIR", "FTPREP_NO_CACHE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.cache_dir() == tmp_path / "home" / ".cache" / "ftprep"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/is/ignored")
    assert cache.cache_dir() == tmp_path / "home" / ".cache" / "ftprep"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() == tmp_path / "xdg" / "ftprep"
    monkeypatch.setenv("FTPREP_CACHE_DIR", str(tmp_path / "mine"))
    assert cache.cache_dir() == tmp_path / "mine"
    monkeypatch.setenv("FTPREP_NO_CACHE", "0")
    assert cache.cache_dir() == tmp_path / "mine"


def test_a_small_check_imports_only_what_it_uses(tmp_path: Path) -> None:
    sample = tmp_path / "ten.jsonl"
    with DRONE.open("rb") as source:
        sample.write_bytes(b"".join(source.readline() for _ in range(10)))
    script = (
        "import json, sys\n"
        "from ftprep.cli import main\n"
        f"code = main(['check', {str(sample)!r}])\n"
        "print(json.dumps([code, sorted(sys.modules)]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    code, modules = json.loads(done.stdout.splitlines()[-1])
    assert code == 0
    assert "ftprep.validate.engine" in modules and "tiktoken" in modules  # it did check
    unused = {
        "ftprep.report.report",
        "ftprep.report.html",
        "ftprep.report.svg",
        "ftprep.write.prepare",
        "ftprep.write.convert",
        "ftprep.split",
        "ftprep.fix",
        "ftprep.engines.ray",
        "ftprep.tokens.hf",
        "ftprep.tokens.mistral",
        "tomllib",
        "ray",
        "pandas",
        "datasketch",
        "tokenizers",
        "redis",
        "jinja2",
    }
    assert unused.isdisjoint(modules), sorted(unused.intersection(modules))


def test_a_small_input_starts_no_worker_process(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_process(self: object) -> None:
        raise AssertionError("a small check started a worker process")

    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", no_process)
    config = Config()
    assert config.workers is None  # the default: the engine decides
    result = run_check([DRONE, BAD], config)
    assert result.records == 103 + 5


def test_the_command_exits_fast_with_its_code_and_all_its_output(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ftprep", "check", str(BAD)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 1
    # The summary is printed last, into the buffer of a pipe: flushed before the exit.
    assert done.stdout.endswith("\n")
    assert done.stdout.splitlines()[-1].startswith("Found 3 errors, 2 warnings in 5 records")
    assert done.stdout.count(str(BAD)) == 5


def test_exit_now_runs_the_exit_handlers() -> None:
    script = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('handler ran'))\n"
        "from ftprep.cli import exit_now\n"
        "print('before', end=' ')\n"
        "sys.stderr.write('on stderr')\n"
        "exit_now(3)\n"
        "print('never')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 3
    assert done.stdout == "before handler ran\n"
    assert done.stderr == "on stderr"


def test_the_benchmark_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "startup.py"), "--runs", "1", "--cold"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    rows = [line.split() for line in done.stdout.splitlines()[2:]]
    assert [row[0] for row in rows] == ["imports", "check", "check,"]
    assert rows[0][-2:] == ["1.00", "1.00"]
    assert all(float(value) > 0 for row in rows for value in row[-4:])
