"""``ftprep review``: the server as a process, its API's refusals, a crash while saving, and
the page driven in headless Chromium (Selenium with Debian's chromium-driver)."""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import needs
import orjson
import pytest
from test_review import lines, write_data

from ftprep import Review
from ftprep.cli import main

FTPREP = (sys.executable, "-m", "ftprep")


@dataclass
class Served:
    process: subprocess.Popen[str]
    url: str
    review: Path

    @property
    def base(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def token(self) -> str:
        return self.url.rpartition("token=")[2]


@contextlib.contextmanager
def serving(data: Path, review: Path) -> Iterator[Served]:
    """``ftprep review DATA --no-browser`` on a free port, until the block ends."""
    process = subprocess.Popen(
        [*FTPREP, "review", str(data), "--review", str(review), "--no-browser", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = ""
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("Open "):
                url = line.split()[1]
                break
        assert url.startswith("http://127.0.0.1:"), "the server did not start"
        yield Served(process, url, review)
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=10)


def request(
    served: Served,
    path: str,
    body: Any = None,
    *,
    token: str | None = "",
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """``(status, JSON)`` of a request to the server (``token`` as header: the session's by
    default, none with ``None``)."""
    sent = dict(headers or {})
    if token is not None:
        sent["X-Ftprep-Token"] = token or served.token
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else orjson.dumps(body)
        sent.setdefault("Content-Type", "application/json")
    call = urllib.request.Request(served.base + path, data=data, headers=sent)
    try:
        with urllib.request.urlopen(call, timeout=10) as response:
            return response.status, orjson.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, orjson.loads(err.read())


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return write_data(tmp_path / "data.jsonl")


def item_of_line(served: Served, line: int) -> dict[str, Any]:
    status, listing = request(served, "/api/list")
    assert status == 200
    row = next(r["row"] for r in listing["rows"] if r["line"] == line)
    return request(served, f"/api/item?row={row}")[1]  # type: ignore[no-any-return]


def test_requests_without_the_token_are_refused(data: Path, tmp_path: Path) -> None:
    with serving(data, tmp_path / "r.review") as served:
        assert request(served, "/api/meta", token=None)[0] == 403
        assert request(served, "/api/meta", token="wrong")[0] == 403
        assert request(served, "/api/meta?token=%C3%A9t%C3%A9", token=None)[0] == 403
        assert request(served, f"/api/meta?token={served.token}", token=None)[0] == 200
        with urllib.request.urlopen(served.url, timeout=10) as page:  # the printed address
            assert b"ftprep review" in page.read()
            cookie = page.headers["Set-Cookie"].split(";")[0]
        assert request(served, "/api/meta", token=None, headers={"Cookie": cookie})[0] == 200
        item = item_of_line(served, 4)
        decision = {"fingerprint": item["fingerprint"], "decision": "accept", "rev": 0}
        # A write needs the header: the cookie alone (which another page could make the
        # browser send) is not enough.
        status, _ = request(served, "/api/decide", decision, token=None, headers={"Cookie": cookie})
        assert status == 403
        other_host = {"Host": f"attacker.example:{urlsplit(served.url).port}"}
        assert request(served, "/api/meta", headers=other_host)[0] == 403
    assert not (tmp_path / "r.review").exists()


def test_bad_decisions_get_a_clear_error_and_leave_the_file_alone(
    data: Path, tmp_path: Path
) -> None:
    review = tmp_path / "r.review"
    with serving(data, review) as served:
        meta = request(served, "/api/meta")[1]
        item = item_of_line(served, 4)
        good = {
            "fingerprint": item["fingerprint"],
            "decision": "reject",
            "reason": "low quality",
            "rev": 0,
            "version": meta["version"],
        }
        status, saved = request(served, "/api/decide", good)
        assert status == 200 and saved["decision"]["reason"] == "low quality"
        before = review.read_bytes()
        refused = [
            ({**good, "fingerprint": "0123456789abcdef", "rev": 1}, 404, "no record"),
            ({**good, "rev": 0}, 409, "changed elsewhere"),  # another tab decided first
            ({**good, "rev": 1, "decision": "maybe"}, 400, "unknown decision"),
            (
                {**good, "rev": 1, "decision": "edit", "turn": "messages/9", "text": "x"},
                400,
                "turn",
            ),
            ({**good, "rev": 1, "version": "old"}, 409, "earlier review session"),
            (b"{not json", 400, "not valid JSON"),
            (b"[1, 2]", 400, "JSON object"),
        ]
        for body, code, message in refused:
            status, answer = request(served, "/api/decide", body)
            assert (status, message in answer["error"]) == (code, True), answer
        assert request(served, "/api/item?row=x")[0] == 400
        assert request(served, "/api/item?row=999")[0] == 404
        assert review.read_bytes() == before
        # The data changes under the page: decisions are refused until the review restarts.
        data.write_bytes(data.read_bytes() + data.read_bytes().splitlines(keepends=True)[0])
        status, answer = request(served, "/api/decide", {**good, "rev": 1})
        assert status == 409 and "data files changed" in answer["error"]
        assert review.read_bytes() == before


def test_killing_the_server_while_it_saves_leaves_a_valid_review_file(
    data: Path, tmp_path: Path
) -> None:
    review = tmp_path / "r.review"
    with serving(data, review) as served:
        meta = request(served, "/api/meta")[1]
        items = [request(served, f"/api/item?row={row}")[1] for row in range(30)]
        saved: list[str] = []
        stop = threading.Event()

        def decide(start: int) -> None:
            # Rewrite decisions with long edits (a save takes a while) until the server dies.
            rev = {}
            for n in range(10_000):
                item = items[(start + n) % 30]
                body = {
                    "fingerprint": item["fingerprint"],
                    "decision": "edit",
                    "turn": "messages/0",
                    "text": f"edit {n} " + "x" * 20_000,
                    "rev": rev.get(item["row"], 0),
                    "version": meta["version"],
                }
                try:
                    status, answer = request(served, "/api/decide", body)
                except (OSError, ValueError, http.client.HTTPException):
                    return  # the server died: refused, reset, or cut mid-answer
                if status == 200:
                    rev[item["row"]] = answer["rev"]
                    saved.append(item["fingerprint"])
                if stop.is_set():
                    return

        writers = [threading.Thread(target=decide, args=(s,)) for s in (0, 15)]
        for writer in writers:
            writer.start()
        while len(saved) < 40 and all(w.is_alive() for w in writers):
            threading.Event().wait(0.01)
        os.kill(served.process.pid, signal.SIGKILL)
        stop.set()
        for writer in writers:
            writer.join(timeout=20)
    decisions = Review(review).decisions()  # every line parses
    assert set(saved) <= set(decisions)
    assert all(len(d.edits["messages/0"]) > 20_000 for d in decisions.values())


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Debian Chromium under Selenium, through Debian's chromium-driver."""
    webdriver = needs.module("selenium.webdriver", "test")
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if binary is None or driver_path is None:
        needs.missing("needs Debian's chromium and chromium-driver (scripts/test installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,900",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    try:
        yield driver
    finally:
        driver.quit()


def test_review_in_a_browser_then_prepare_honours_it(
    data: Path, tmp_path: Path, browser: Any
) -> None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    # The page re-renders an example as it saves: an element found may be replaced at once,
    # so every check of the page is a wait that looks again.
    wait = WebDriverWait(browser, 15, ignored_exceptions=(StaleElementReferenceException,))

    def text_of(selector: str) -> str:
        found = browser.find_elements(By.CSS_SELECTOR, selector)
        return str(found[0].text) if found else ""

    def until(selector: str, expected: str) -> None:
        wait.until(lambda _: text_of(selector) == expected)

    def shown(where: str) -> None:
        until("#example h2", where)

    def click(selector: str, by: str = By.CSS_SELECTOR) -> None:
        wait.until(lambda _: browser.find_element(by, selector).click() or True)

    review = tmp_path / "data.jsonl.review"
    with serving(data, review) as served:
        browser.get(served.url)
        until("#progress-text", "0 of 30 reviewed")
        Select(browser.find_element(By.ID, "f-code")).select_by_value("Q002")
        until("#matched", "2 matching")
        shown("data.jsonl:4")
        # The finding sits under the turn it is about, the refusal it quotes highlighted.
        flagged = '.turn.flagged[data-turn="messages/1"]'
        wait.until(lambda _: "Q002" in text_of(f"{flagged} .finding"))
        assert text_of(f"{flagged} mark").startswith("I'm sorry")

        # Reject line 4 with a reason from the list: the page moves on to line 8.
        click("#reject")
        click("//button[contains(., 'wrong or misleading answer')]", By.XPATH)
        shown("data.jsonl:8")
        until("#progress-text", "1 of 30 reviewed")

        # Edit line 8's answer.
        click('.turn[data-turn="messages/1"] button.edit')
        area = browser.find_element(By.CSS_SELECTOR, '.turn[data-turn="messages/1"] textarea')
        area.clear()
        area.send_keys("7 plus 7 is 14.")
        click("button.save")
        until("#status", "edited")

        # Reload: the filter, the record shown and both decisions are kept.
        browser.refresh()
        shown("data.jsonl:8")
        until("#status", "edited")
        until('.turn[data-turn="messages/1"] .text', "7 plus 7 is 14.")
        until('#list a[data-row="3"] .badge.reject', "reject")
        until('#list a[data-row="7"] .badge.edit', "edit")
        until("#progress-text", "2 of 30 reviewed")
        click('#list a[data-row="3"]')
        shown("data.jsonl:4")
        until("#status", "rejected: wrong or misleading answer")

        # Keyboard: n moves on.
        browser.find_element(By.TAG_NAME, "body").send_keys("n")
        shown("data.jsonl:8")

        # A duplicate links to its cluster, and the list can show that cluster alone.
        Select(browser.find_element(By.ID, "f-code")).select_by_value("X001")
        shown("data.jsonl:12")
        wait.until(lambda _: text_of(".cluster a").endswith("data.jsonl:11"))
        click("#show-cluster")
        until("#matched", "2 matching")
        shown("data.jsonl:12")

        # The data changes under the page: the next decision (a: accept) is refused on the
        # page, and the record stays as saved.
        data.write_bytes(data.read_bytes() + b"\n")
        browser.find_element(By.TAG_NAME, "body").send_keys("a")
        wait.until(lambda _: "data files changed" in text_of("#error-text"))
        until("#status", "not reviewed")
    data.write_bytes(data.read_bytes()[:-1])

    out = tmp_path / "out"
    assert main(["prepare", str(data), "--out", str(out), "--review", str(review)]) == 0
    rejected = {r["source"]["line"]: r for r in lines(out / "rejected.jsonl")}  # type: ignore[index]
    assert rejected[4]["reasons"] == [{"review": "reject", "message": "wrong or misleading answer"}]
    answers = [
        r["messages"][1]["content"]  # type: ignore[index]
        for split in ("train", "holdout")
        for r in lines(out / f"{split}.jsonl")
    ]
    assert "7 plus 7 is 14." in answers
