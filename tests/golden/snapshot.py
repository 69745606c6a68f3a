"""The golden snapshot of every finding over ``../shared/realdata/`` and ``fixtures/``.

Refactors keep this snapshot identical; a change of behaviour rewrites it on purpose and the
commit names the change. Each data file is checked on its own with the default configuration,
so a finding never depends on which other files sit in the same folder.

    python -m tests.golden.snapshot          # rewrite tests/golden/findings.jsonl.gz
"""

from __future__ import annotations

import gzip
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
REALDATA = REPO.parent / "shared" / "realdata"
SNAPSHOT = HERE / "findings.jsonl.gz"
SUFFIXES = (".jsonl", ".json", ".ndjson", ".jsonl.gz", ".json.gz")


def data_files() -> list[tuple[str, Path]]:
    """``(name, path)`` of every data file in the snapshot, names relative to their root."""
    out: list[tuple[str, Path]] = []
    for label, root in (("realdata", REALDATA), ("fixtures", REPO / "fixtures")):
        for path in sorted(root.rglob("*")):
            name = path.relative_to(root).as_posix()
            if name.startswith(("tokenizers/", "trainer_config/")):
                continue  # tokenizers and trainer configurations of the tests, not data
            if path.is_file() and path.name.endswith(SUFFIXES):
                out.append((f"{label}/{name}", path))
    return out


def findings_of(name: str, path: Path) -> Iterator[dict[str, Any]]:
    """The findings of a check of ``path`` alone, as plain rows (path replaced by ``name``)."""
    from ftprep import check
    from ftprep.config import Config, ConfigError
    from ftprep.load.paths import InputError

    try:
        result = check([str(path)], config=Config(), progress=False)
    except (ConfigError, InputError) as err:
        yield {"file": name, "error": f"{type(err).__name__}: {err}"}
        return
    for finding in result.findings:
        row = finding.to_dict()
        row["path"] = name
        for rel in row.get("related", ()):
            rel["path"] = name if rel["path"] == str(path) else rel["path"]
        yield {"file": name, **row}


def snapshot_rows() -> list[bytes]:
    """Every finding of every data file, one JSON line each, in a stable order."""
    lines: list[bytes] = []
    for name, path in data_files():
        lines.extend(
            orjson.dumps(row, option=orjson.OPT_SORT_KEYS) for row in findings_of(name, path)
        )
    return lines


def read_snapshot() -> list[bytes]:
    """The committed snapshot's lines."""
    return gzip.decompress(SNAPSHOT.read_bytes()).splitlines()


def main() -> int:
    rows = snapshot_rows()
    SNAPSHOT.write_bytes(gzip.compress(b"\n".join(rows) + b"\n", mtime=0))
    print(f"{len(rows)} findings over {len(data_files())} files -> {SNAPSHOT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
