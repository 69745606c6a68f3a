"""``convert``: rewrite records in another dialect, without checking, fixing or splitting.

Records that do not load, or that the output dialect cannot express, go to a rejects file
beside the output (``data.v2.jsonl`` -> ``data.v2.rejected.jsonl``, same shape as
prepare's ``rejected.jsonl``), so nothing is lost. Both files are written atomically; a
rejects file from an earlier run is removed when this run rejects nothing. Input may come
from stdin (``-``): convert reads it once.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ftprep.config import Config
from ftprep.dialects import DialectOptions, get_dialect
from ftprep.findings import Finding
from ftprep.load import load_path
from ftprep.rules.load import UnreadableFile
from ftprep.rules.registry import ProblemRules
from ftprep.write.encode import encode
from ftprep.write.files import Staging, check_output_file, write_bytes
from ftprep.write.prepare import unreadable
from ftprep.write.rejects import drop_reason, reason, reject_line


@dataclass(slots=True)
class ConvertResult:
    """What a conversion wrote and what it left out (and why)."""

    out: Path
    written: int = 0
    rejected: int = 0
    rejects_path: Path | None = None
    findings: list[Finding] = field(default_factory=list)
    """Load findings and what the writer reported, in input order."""


def rejects_path_for(out: Path) -> Path:
    """Where the rejects of a conversion to ``out`` go: ``out``'s name without ``.jsonl``,
    plus ``.rejected.jsonl`` (so ``data.v1.jsonl`` and ``data.v2.jsonl`` keep their own)."""
    return out.with_name(f"{out.name.removesuffix('.jsonl')}.rejected.jsonl")


def convert_files(
    paths: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    to: str,
    config: Config,
) -> ConvertResult:
    """Convert every record of ``paths`` (read with their detected or configured dialect)
    to dialect ``to``, into the JSON Lines file ``out``.

    Raises :class:`~ftprep.write.files.OutputError` when ``out`` (or its rejects file) is
    one of ``paths``, a folder, a special file or a symbolic link, or cannot be written, and
    :class:`~ftprep.write.errors.PrepareError` when an input cannot be read to its end (a
    missing file, a truncated or corrupt gzip): nothing is written then."""
    out_path = Path(out)
    options = DialectOptions.from_config(config)
    writer = get_dialect(to, options)
    result = ConvertResult(out_path)
    problems = ProblemRules(config)
    inputs = [str(p) for p in paths]
    check_output_file(out_path, inputs)
    rejects_file = rejects_path_for(out_path)
    check_output_file(rejects_file, inputs)
    with Staging(out_path.parent) as staging:
        target = staging.open(out_path.name)
        rejects = staging.open(rejects_file.name)
        for path in paths:
            for item in load_path(
                str(path),
                dialect=config.dialect,
                options=options,
                max_line_bytes=config.max_line_bytes,
            ):
                if item.raw.error is not None and item.raw.error.kind == UnreadableFile.name:
                    raise unreadable(item.raw.error.location.path, item.raw.error.message)
                loaded = [problems.finding(p) for p in item.problems]
                result.findings.extend(loaded)
                if item.example is None:
                    reasons = [reason(f) for f in loaded]
                    write_bytes(rejects, reject_line(item.raw, reasons or _not_loaded()))
                    result.rejected += 1
                    continue
                line, written = encode(writer, item.example)
                found = [problems.finding(p) for p in written]
                result.findings.extend(found)
                if line is None:
                    write_bytes(rejects, reject_line(item.raw, [reason(f) for f in found]))
                    result.rejected += 1
                    continue
                write_bytes(target, line)
                result.written += 1
        staging.close(target, "converted")
        if result.rejected:
            staging.close(rejects, "rejected")
            result.rejects_path = rejects_file
        else:
            staging.drop(rejects)
            rejects_file.unlink(missing_ok=True)
        staging.commit()
    return result


def _not_loaded() -> list[dict[str, object]]:
    return [drop_reason("not-loaded", "the record did not load")]
