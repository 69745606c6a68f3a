"""Inputs and outputs in a hostile environment: unreadable, truncated or endless inputs,
special files, read-only and full file systems, concurrent runs. Each case ends in a clear
error or a finding, never a hang, an internal error or a silently short output."""

from __future__ import annotations

import errno
import gzip
import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ftprep import cli
from ftprep.write import MANIFEST, verify_output
from ftprep.write import files as write_files
from ftprep.write.files import TMP_SUFFIX, Staging

ROOT = Path(__file__).resolve().parents[1]
GUARD = 120
"""Seconds after which a run is taken to hang (a guard, not a measurement)."""


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GITHUB_ACTIONS", "FTPREP_DEBUG", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)


def chats(path: Path, count: int, *, topic: str = "topic") -> Path:
    """``count`` distinct, clean chat records in ``path``."""
    with path.open("w") as handle:
        for i in range(count):
            record = {
                "messages": [
                    {"role": "user", "content": f"Question {i} about {topic} number {i * 7}?"},
                    {"role": "assistant", "content": f"Answer {i}: it is {i * i} {topic}s."},
                ]
            }
            handle.write(json.dumps(record) + "\n")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "internal error" not in err
    return code, out, err


def run_process(
    *argv: str | Path, stdin: bytes | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "FTPREP_DEBUG")}
    done = subprocess.run(
        [sys.executable, "-m", "ftprep.cli", *map(str, argv)],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        env=env,
        check=False,
        timeout=GUARD,
    )
    assert b"internal error" not in done.stderr
    return done


def _mount(folder: Path, options: str) -> bool:
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder nobody may write to, holding ``data.jsonl`` (blank line, duplicate): a
    mode 0555 folder, or for root (whom modes do not stop) a read-only tmpfs."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    data = chats(tmp_path / "data.jsonl", 12).read_bytes()
    first = data.split(b"\n", 1)[0] + b"\n"
    if os.geteuid() != 0:
        (folder / "data.jsonl").write_bytes(data + b"\n" + first)
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    if not _mount(folder, "size=1m"):
        pytest.skip("cannot mount a tmpfs to make a folder read-only for root")
    try:
        (folder / "data.jsonl").write_bytes(data + b"\n" + first)
        if not _mount(folder, "remount,ro"):
            pytest.skip("cannot remount a tmpfs read-only")
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


# --- prepare: an input that cannot be read to its end is an error of the run ----------------


def test_prepare_fails_when_one_input_cannot_be_opened(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = chats(tmp_path / "good.jsonl", 30)
    out = tmp_path / "out"
    code, _out, err = run(capsys, "prepare", good, tmp_path / "gone.jsonl", "--out", out)
    assert code == 2
    assert "gone.jsonl" in err and "cannot read" in err
    assert not (out / MANIFEST).exists()
    assert not list(out.glob("*.jsonl"))


def _gzip_of(path: Path, records: int) -> bytes:
    return gzip.compress(chats(path, records).read_bytes(), mtime=0)


def test_prepare_fails_on_a_truncated_gzip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _gzip_of(tmp_path / "plain.jsonl", 400)
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(data[: len(data) // 2])
    code, _out, err = run(capsys, "prepare", cut, "--out", tmp_path / "out")
    assert code == 2
    assert "cut.jsonl.gz" in err and "to its end" in err
    assert not (tmp_path / "out" / MANIFEST).exists()


def test_prepare_fails_on_a_gzip_corrupt_mid_stream_and_keeps_the_earlier_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = bytearray(_gzip_of(tmp_path / "plain.jsonl", 400))
    data[len(data) // 2] ^= 0xFF
    bad = tmp_path / "bad.jsonl.gz"
    bad.write_bytes(bytes(data))
    out = tmp_path / "out"
    assert run(capsys, "prepare", tmp_path / "plain.jsonl", "--out", out)[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    code, _out, err = run(capsys, "prepare", bad, "--out", out)
    assert code == 2 and "bad.jsonl.gz" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert verify_output(out) == []


def test_check_still_reports_the_truncated_fixture(capsys: pytest.CaptureFixture[str]) -> None:
    fixture = ROOT / "fixtures" / "cli" / "truncated.jsonl.gz"
    code, out, _err = run(capsys, "check", fixture)
    assert code == 1 and "L010" in out


# --- prepare: one run per output folder; nothing of an earlier run survives ------------------


def test_prepare_refuses_an_output_folder_another_run_is_writing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = chats(tmp_path / "data.jsonl", 30)
    out = tmp_path / "out"
    with Staging(out):
        code, _out, err = run(capsys, "prepare", data, "--out", out)
    assert code == 2 and "another ftprep run" in err
    assert run(capsys, "prepare", data, "--out", out)[0] == 0


def test_a_file_system_without_locks_still_gets_its_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fcntl = pytest.importorskip("fcntl")

    def no_locks(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr(fcntl, "flock", no_locks)
    out = tmp_path / "out"
    assert run(capsys, "prepare", chats(tmp_path / "data.jsonl", 30), "--out", out)[0] == 0
    assert verify_output(out) == []


def test_two_concurrent_prepares_never_mix_their_outputs(tmp_path: Path) -> None:
    inputs = [chats(tmp_path / f"{name}.jsonl", 3000, topic=name) for name in ("apple", "pear")]
    out = tmp_path / "out"
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "ftprep.cli", "prepare", str(path), "--out", str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
        )
        for path in inputs
    ]
    results = [(p.wait(timeout=GUARD), p.stderr.read() if p.stderr else b"") for p in processes]
    for code, err in results:
        assert code == 0 or b"another ftprep run" in err, err
    assert any(code == 0 for code, _err in results)
    assert verify_output(out) == []
    manifest = json.loads((out / MANIFEST).read_text())
    winner = manifest["inputs"][0]["path"]
    topic = Path(winner).stem
    other = "pear" if topic == "apple" else "apple"
    train = (out / "train.jsonl").read_text()
    assert topic in train and other not in train


def test_stale_parts_of_an_earlier_run_are_removed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = chats(tmp_path / "data.jsonl", 30)
    out = tmp_path / "out"
    assert run(capsys, "prepare", data, "--out", out, "--max-file-bytes", "800")[0] == 0
    assert list(out.glob("train-0000*.jsonl"))
    (out / MANIFEST).unlink()  # as a run killed before writing its manifest leaves it
    assert run(capsys, "prepare", data, "--out", out)[0] == 0
    assert not list(out.glob("train-0000*.jsonl"))
    assert verify_output(out) == []


# --- prepare onto a full disk ------------------------------------------------------------


def _assert_no_space_reported(err: str, out: Path) -> None:
    assert "no space left" in err.lower()
    assert not list(out.glob(f".*{TMP_SUFFIX}"))
    assert not (out / MANIFEST).exists()


def test_prepare_on_a_full_disk_cleans_up_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = chats(tmp_path / "data.jsonl", 300)
    out = tmp_path / "out"
    real = write_files.write_bytes
    budget = iter(range(100))

    def filling(part: write_files._Part, chunk: bytes) -> None:
        if next(budget, None) is None:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(part, chunk)

    monkeypatch.setattr(write_files, "write_bytes", filling)
    code, _out, err = run(capsys, "prepare", data, "--out", out)
    assert code == 2
    _assert_no_space_reported(err, out)


def test_prepare_onto_a_small_tmpfs(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or not _mount(disk, "size=64k"):
        pytest.skip("mounting a tmpfs needs root")
    try:
        data = chats(tmp_path / "data.jsonl", 3000)
        done = run_process("prepare", data, "--out", disk / "out")
        assert done.returncode == 2
        _assert_no_space_reported(done.stderr.decode(), disk / "out")
    finally:
        subprocess.run(["umount", str(disk)], check=False)


# --- environment problems are clear errors or findings --------------------------------------


def test_a_symlink_loop_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.jsonl").symlink_to(tmp_path / "b.jsonl")
    (tmp_path / "b.jsonl").symlink_to(tmp_path / "a.jsonl")
    for command in (("check",), ("prepare", "--out", tmp_path / "out")):
        code, _out, err = run(capsys, command[0], tmp_path / "a.jsonl", *command[1:])
        assert code == 2 and "symbolic link" in err


def test_an_unwritable_output_folder_is_a_clear_error(
    read_only_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = chats(tmp_path / "input.jsonl", 30)
    for out in (read_only_folder, read_only_folder / "out"):
        code, _out, err = run(capsys, "prepare", data, "--out", out)
        assert code == 2 and "cannot write" in err
    code, _out, err = run(
        capsys, "convert", data, "--to", "sharegpt", "--out", read_only_folder / "x.jsonl"
    )
    assert code == 2 and "cannot write" in err


def test_a_broken_symlink_in_a_folder_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    chats(folder / "good.jsonl", 12)
    (folder / "broken.jsonl").symlink_to(tmp_path / "nowhere.jsonl")
    code, out, _err = run(capsys, "check", folder)
    assert code == 1
    assert any("broken.jsonl" in line and "L010" in line for line in out.splitlines())


def test_a_file_in_a_read_only_folder_is_reported_not_crashed(
    read_only_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = read_only_folder / "data.jsonl"
    before = path.read_bytes()
    cli.main(["check", str(path), "--fix"])
    out, err = capsys.readouterr()
    assert f"Not fixed: {path}: " in err and "internal error" not in err
    assert "X001" in out and "L005" in out
    assert path.read_bytes() == before


# --- convert refuses what it must not replace ------------------------------------------------


def test_convert_refuses_to_write_over_its_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = chats(tmp_path / "data.jsonl", 5)
    before = data.read_bytes()
    for out in (data, tmp_path / "." / "data.jsonl"):
        code, _out, err = run(capsys, "convert", data, "--to", "sharegpt", "--out", out)
        assert code == 2 and "input" in err
    assert data.read_bytes() == before


def test_convert_refuses_special_files_folders_and_symlinks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = chats(tmp_path / "data.jsonl", 5)
    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)
    target = tmp_path / "target.jsonl"
    target.write_text("keep me\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    outs = [fifo, link, tmp_path, Path()]
    node = tmp_path / "null.jsonl"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        outs.append(node)
    except PermissionError:
        pass  # only root can make a device node
    monkeypatch.chdir(tmp_path)
    for out in outs:
        code, _out, err = run(capsys, "convert", data, "--to", "sharegpt", "--out", out)
        assert code == 2 and "ftprep: error:" in err, out
    assert stat.S_ISFIFO(fifo.lstat().st_mode) and link.is_symlink()
    assert target.read_text() == "keep me\n"
    if node.exists():
        assert stat.S_ISCHR(node.lstat().st_mode)


def test_convert_rejects_odd_records_instead_of_aborting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "odd.jsonl"
    records = [
        {"messages": [{"role": ["user"], "content": "hi"}, {"role": "assistant", "content": "yo"}]},
        {
            "messages": [
                {"role": "user", "content": "weather?"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [{"id": "c1", "type": "function", "function": None}],
                },
            ]
        },
        {"messages": [{"role": "user", "content": "ok"}, {"role": "assistant", "content": "ok"}]},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "out.jsonl"
    code, stdout, _err = run(capsys, "convert", path, "--to", "sharegpt", "--out", out)
    assert code == 1
    assert "1 records written" in stdout and "2 rejected" in stdout
    rejected = [json.loads(line) for line in (tmp_path / "out.rejected.jsonl").open()]
    assert [r["source"]["line"] for r in rejected] == [1, 2]
    assert all(r["reasons"] for r in rejected)


# --- check: special files are refused or read once, never hang -------------------------------


def feeding(fifo: Path, data: bytes) -> threading.Thread:
    """Make ``fifo`` and start a thread writing ``data`` into it (it blocks until read)."""
    os.mkfifo(fifo)

    def feed() -> None:
        with fifo.open("wb") as handle:
            handle.write(data)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    return writer


def test_check_reads_a_fifo_once(tmp_path: Path) -> None:
    data = chats(tmp_path / "data.jsonl", 12).read_bytes()
    fifo = tmp_path / "pipe.jsonl"
    writer = feeding(fifo, data)
    done = run_process("check", fifo, "--format", "json")
    writer.join(timeout=GUARD)
    assert json.loads(done.stdout)["summary"]["records"] == 12


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_check_refuses_character_devices(device: str) -> None:
    done = run_process("check", device)
    assert done.returncode == 2
    assert b"not a regular file" in done.stderr


def test_an_endless_baseline_is_refused(tmp_path: Path) -> None:
    data = chats(tmp_path / "data.jsonl", 12)
    done = run_process("check", data, "--baseline", "/dev/zero")
    assert done.returncode == 2
    assert b"not a regular file" in done.stderr


def test_gzip_on_standard_input_is_recognised(tmp_path: Path) -> None:
    plain = chats(tmp_path / "data.jsonl", 12).read_bytes()
    piped = run_process("check", "-", "--format", "json", stdin=gzip.compress(plain))
    direct = run_process("check", "-", "--format", "json", stdin=plain)
    assert json.loads(piped.stdout)["summary"] == json.loads(direct.stdout)["summary"]
    assert b"L002" not in piped.stdout


def test_prepare_refuses_a_fifo_it_would_have_to_read_twice(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    done = run_process("prepare", fifo, "--out", tmp_path / "out")
    assert done.returncode == 2
    assert b"save" in done.stderr and b"pipe.jsonl" in done.stderr


def test_prepare_replaces_no_special_file_or_link_in_its_output_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = chats(tmp_path / "data.jsonl", 30)
    out = tmp_path / "out"
    out.mkdir()
    elsewhere = tmp_path / "elsewhere.jsonl"
    elsewhere.write_text("keep me\n")
    (out / "train.jsonl").symlink_to(elsewhere)
    code, _out, err = run(capsys, "prepare", data, "--out", out)
    assert code == 2 and "symbolic link" in err
    assert (out / "train.jsonl").is_symlink() and elsewhere.read_text() == "keep me\n"
    assert not list(out.glob(f".*{TMP_SUFFIX}"))


def test_standard_input_from_a_character_device_is_refused() -> None:
    with open(os.devnull, "rb") as null:
        done = subprocess.run(
            [sys.executable, "-m", "ftprep.cli", "check", "-"],
            stdin=null,
            capture_output=True,
            cwd=ROOT,
            check=False,
            timeout=GUARD,
        )
    assert done.returncode == 2
    assert b"standard input is a character device" in done.stderr


def test_fix_on_a_fifo_reads_it_once(tmp_path: Path) -> None:
    data = chats(tmp_path / "data.jsonl", 12).read_bytes() + b"\n"
    fifo = tmp_path / "pipe.jsonl"
    writer = feeding(fifo, data)
    done = run_process("check", fifo, "--fix", "--select", "L")
    writer.join(timeout=GUARD)
    assert b"only regular files are fixed in place" in done.stderr
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_a_baseline_is_never_written_over_a_special_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = chats(tmp_path / "data.jsonl", 12)
    fifo = tmp_path / "baseline.json"
    os.mkfifo(fifo)
    code, _out, err = run(capsys, "baseline", "write", data, "--baseline", fifo)
    assert code == 2 and "a FIFO" in err
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    target = tmp_path / "real-baseline.json"
    link = tmp_path / "link.json"
    link.symlink_to(target)
    assert run(capsys, "baseline", "write", data, "--baseline", link)[0] == 0
    assert link.is_symlink() and json.loads(target.read_text())["version"] == 1
