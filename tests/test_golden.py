"""Every finding over ``../shared/realdata/`` and ``fixtures/`` equals the committed golden
snapshot (code, severity, location, message, hint, data, related, fingerprint).

A change that alters findings on purpose rewrites the snapshot (``python -m
tests.golden.snapshot``) and says why in its commit; a refactor never does."""

from __future__ import annotations

import difflib

import needs
from golden import snapshot

pytestmark = needs.path_mark(snapshot.REALDATA, "needs ../shared/realdata")


def test_findings_equal_the_golden_snapshot() -> None:
    expected = snapshot.read_snapshot()
    actual = snapshot.snapshot_rows()
    if actual != expected:
        diff = difflib.unified_diff(
            [line.decode() for line in expected],
            [line.decode() for line in actual],
            "golden",
            "now",
            lineterm="",
            n=0,
        )
        shown = "\n".join(list(diff)[:60])
        raise AssertionError(
            f"{len(expected)} golden findings, {len(actual)} now; first differences:\n{shown}"
        )
