"""Progress bars through ``tqdm.auto`` (a widget in notebooks, a text bar in terminals) when
tqdm is installed, and silence otherwise.

By default a bar shows only where someone is watching: in a Jupyter kernel or when standard
error is a terminal, and not under CI or pre-commit, so that logs and pipes stay clean.

>>> with progress_bar(total=3, enabled=False) as advance:
...     for _ in range(3):
...         advance(1)
>>> list(track([1, 2, 3], enabled=False))
[1, 2, 3]
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Sized
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

Advance = Callable[[int], None]
"""Moves a bar on by ``n`` units; the shape of :func:`ftprep.validate.check.run_check`'s
``progress`` callback."""


def interactive() -> bool:
    """Whether a person is likely watching: inside a Jupyter kernel, or stderr is a TTY; and
    not under CI or pre-commit (whose logs a bar would only clutter)."""
    if os.environ.get("CI") or os.environ.get("PRE_COMMIT"):
        return False
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    # A Jupyter kernel's shell has a kernel; a terminal IPython session has none.
    if getattr(shell, "kernel", None) is not None:
        return True
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def _tqdm_class() -> Any | None:
    try:
        with warnings.catch_warnings():
            # tqdm.auto warns about its notebook mode and about missing ipywidgets, then
            # falls back to the text bar by itself; neither warning helps the user.
            warnings.simplefilter("ignore")
            from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm


def _open_bar(enabled: bool | None, **options: Any) -> Any | None:
    if not (interactive() if enabled is None else enabled):
        return None
    tqdm = _tqdm_class()
    return None if tqdm is None else tqdm(**options)


@contextmanager
def progress_bar(
    total: int | None = None,
    *,
    desc: str | None = None,
    unit: str = "it",
    unit_scale: bool = False,
    enabled: bool | None = None,
) -> Iterator[Advance]:
    """A bar for work counted by hand: yields a function that advances it by ``n``.

    ``unit="B", unit_scale=True`` shows bytes as kB/MB. ``enabled`` forces the bar on or off
    (default: :func:`interactive`); without tqdm it is always silent.
    """
    bar = _open_bar(enabled, total=total, desc=desc, unit=unit, unit_scale=unit_scale)
    if bar is None:
        yield _ignore
        return
    try:
        yield bar.update
    finally:
        bar.close()


def track(
    items: Iterable[T],
    *,
    total: int | None = None,
    desc: str | None = None,
    unit: str = "it",
    enabled: bool | None = None,
) -> Iterator[T]:
    """Yield ``items`` unchanged, advancing a bar by one per item (``total`` defaults to
    ``len(items)`` where there is one)."""
    if total is None and isinstance(items, Sized):
        total = len(items)
    with progress_bar(total, desc=desc, unit=unit, enabled=enabled) as advance:
        for item in items:
            yield item
            advance(1)


def _ignore(_n: int) -> None:
    """Advance nothing (the silent bar)."""
