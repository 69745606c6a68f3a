"""report.html in a real browser: headless Chromium renders it offline, without console
errors, with its charts in the DOM, and paints a page that is not blank.

The screenshot stays in ``tests/artifacts/report.png`` for people to look at.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

import needs
import pytest
from PIL import Image

from ftprep.config import Config
from ftprep.report.html import SEVERITY_COLOR
from ftprep.report.report import Report
from ftprep.validate.check import run_check

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "realdata"
INPUTS = [
    SHARED / "openai_cookbook" / "drone_training.jsonl",
    SHARED / "llamafactory" / "alpaca_en_demo.json",
    ROOT / "fixtures" / "realdata" / "toy_chat_fine_tuning.jsonl",
]
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
]


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        needs.missing("chromium is not installed (scripts/test installs Debian's package)")
    return found


def run_browser(*args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


@pytest.fixture(scope="module")
def page() -> Path:
    inputs = [p for p in INPUTS if p.exists()]
    report = Report.from_check(run_check(inputs, Config()))
    ARTIFACTS.mkdir(exist_ok=True)
    return report.write_html(ARTIFACTS / "report.html")


def console_problems(stderr: str) -> list[str]:
    return [
        line
        for line in stderr.splitlines()
        if "CONSOLE" in line or "Uncaught" in line or "Failed to load resource" in line
    ]


def test_dom_has_the_charts(page: Path) -> None:
    done = run_browser("--dump-dom", page.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert dom.count("<svg") == 3
    assert len(re.findall(r'role="img"', dom)) == 3
    assert "Readiness" in dom and "Token lengths" in dom
    assert console_problems(done.stderr) == []


def test_screenshot_is_a_rendered_page(page: Path) -> None:
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    done = run_browser(f"--screenshot={shot}", "--window-size=1280,2000", page.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    assert console_problems(done.stderr) == []
    with Image.open(shot) as image:
        assert image.size == (1280, 2000)
        data = image.convert("RGB").tobytes()
    pixels = Counter(zip(data[0::3], data[1::3], data[2::3], strict=True))
    assert len(pixels) > 500, "text, badges and charts paint many distinct colours"
    assert pixels.most_common(1)[0][1] < 0.8 * 1280 * 2000, "the page is not one flat colour"
    bars = [tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)) for c in SEVERITY_COLOR.values()]
    assert sum(pixels[b] for b in bars) > 300, "the findings chart's bars are painted"
