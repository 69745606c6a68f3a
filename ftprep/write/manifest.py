"""``manifest.json``: what a prepare run read, decided and wrote, and the proof it finished.

The manifest is written last, atomically. Its ``outputs`` list names every file of the run
with its sha256, so :func:`verify_output` can tell a complete output folder from one an
interrupted run left behind (no manifest) or one edited since (a checksum differs).
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from ftprep.config import Config
from ftprep.findings import display_path
from ftprep.write.files import OutputFile, Staging, sha256_file, write_bytes

MANIFEST = "manifest.json"


def input_entry(path: str, records: int) -> dict[str, Any]:
    """One input file for the manifest: path as given, sha256, size and records read."""
    try:
        return {
            "path": display_path(path),
            "sha256": sha256_file(path),
            "bytes": Path(path).stat().st_size,
            "records": records,
        }
    except OSError as err:
        return {
            "path": display_path(path),
            "sha256": None,
            "bytes": None,
            "records": records,
            "error": err.strerror or str(err),
        }


RUN_SETTINGS = ("workers", "engine", "ray_address", "root", "baseline")
"""Settings that decide where the work runs (or what ``check`` reports: its baseline), not
what ``prepare`` writes."""
DEDUP_RUN_SETTINGS = ("storage", "redis_url", "redis_prefix")
"""Dedup settings of the same kind: where the index lives."""


def config_entries(config: Config) -> tuple[dict[str, Any], dict[str, Any]]:
    """``config`` for the manifest, as ``(config, run)``: the settings that decide the outputs,
    and those that only decide how this run was executed (workers, engine, index storage).

    Two runs with the same inputs and ``config`` write the same bytes whatever their ``run``
    (``--workers 1`` and ``--workers 2`` agree); a password in the Redis URL is masked.
    """
    settings = config.model_dump(mode="json")
    run = {key: settings.pop(key) for key in RUN_SETTINGS}
    run["dedup"] = {key: settings["dedup"].pop(key) for key in DEDUP_RUN_SETTINGS}
    url = urlsplit(run["dedup"]["redis_url"])
    if url.password is not None:
        host = url.netloc.rpartition("@")[2]
        user = url.username or ""
        run["dedup"]["redis_url"] = url._replace(netloc=f"{user}:***@{host}").geturl()
    return settings, run


def output_entry(output: OutputFile) -> dict[str, Any]:
    """One output file for the manifest."""
    return {
        "path": output.name,
        "split": output.split,
        "records": output.records,
        "bytes": output.bytes,
        "sha256": output.sha256,
    }


def dumps(manifest: dict[str, Any]) -> bytes:
    """The manifest's bytes: indented JSON, keys in the order given, ending in a newline."""
    return orjson.dumps(manifest, default=str, option=orjson.OPT_INDENT_2) + b"\n"


def read_manifest(folder: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The manifest in ``folder``, or ``None`` when there is none (or it is unreadable)."""
    try:
        data = orjson.loads((Path(folder) / MANIFEST).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def is_prepare_output(folder: str | os.PathLike[str]) -> bool:
    """Whether ``folder`` holds the manifest of a prepare run (finished or not since)."""
    if not (Path(folder) / MANIFEST).is_file():
        return False
    manifest = read_manifest(folder)
    return manifest is not None and manifest.get("command") == "prepare"


def commit_with_manifest(
    staging: Staging,
    manifest: dict[str, Any],
    outputs: Sequence[OutputFile],
    *,
    stems: Collection[str] = (),
) -> None:
    """Move the staged outputs into place, remove outputs of an earlier run that this run
    did not produce (those its manifest lists, and any ``<stem>.jsonl`` or
    ``<stem>-NNNNN.jsonl`` of ``stems``: an earlier run may have died before its manifest),
    and write the manifest last.

    The manifest is serialised before anything is touched, so one that cannot be written
    leaves the previous output complete. Then the old manifest is removed: at every moment
    the folder either has no manifest or a manifest that matches its files.
    """
    data = dumps(manifest)
    folder = staging.folder
    previous = read_manifest(folder)
    (folder / MANIFEST).unlink(missing_ok=True)
    staging.commit()
    produced = {o.name for o in outputs}
    for entry in (previous or {}).get("outputs", []):
        name = entry.get("path") if isinstance(entry, dict) else None
        if isinstance(name, str) and name not in produced and Path(name).name == name:
            (folder / name).unlink(missing_ok=True)
    if stems:
        parts = re.compile(rf"(?:{'|'.join(map(re.escape, stems))})(?:-\d{{5}})?\.jsonl")
        for path in folder.iterdir():
            if path.name not in produced and parts.fullmatch(path.name) and path.is_file():
                path.unlink()
    part = staging.open(MANIFEST)
    write_bytes(part, data)
    staging.close(part, "manifest")
    staging.commit()


def verify_output(folder: str | os.PathLike[str]) -> list[str]:
    """Problems that make ``folder`` not a complete, untouched prepare output (empty when it
    is one): a missing manifest, or a listed file that is missing or has another sha256."""
    manifest = read_manifest(folder)
    if manifest is None:
        return [f"no readable {MANIFEST}: the run did not finish"]
    problems = []
    for entry in manifest.get("outputs", []):
        path = Path(folder) / str(entry.get("path"))
        if not path.is_file():
            problems.append(f"{entry.get('path')}: missing")
        elif sha256_file(path) != entry.get("sha256"):
            problems.append(f"{entry.get('path')}: sha256 differs from the manifest")
    return problems
