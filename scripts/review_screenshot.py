"""Take docs/review.png: ``ftprep review`` on a real dataset, in headless Chromium.

    python scripts/review_screenshot.py [DATA] [--out docs/review.png]

The data is copied to a temporary folder (its review file is written there), a few decisions
are made from Python as a reviewer would, and the page is shown on the first refusal with
the reject reasons open. Needs Selenium and Debian's chromium and chromium-driver.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import threading
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

import ftprep
from ftprep.review import Review
from ftprep.review.server import ReviewApp, ReviewData, make_review_server, url_of

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "realdata" / "llamafactory" / "alpaca_en_demo.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", nargs="?", default=str(DATA))
    parser.add_argument("--out", default=str(ROOT / "docs" / "review.png"))
    args = parser.parse_args()
    out = Path(args.out).resolve()
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)  # the page names the data as given: by its name here
        data = Path(Path(args.data).name)
        shutil.copy(args.data, data)
        check = ftprep.check(data)
        review = Review(f"{data}.review")
        disclaimers = [f for f in check.findings if f.code == "Q001"]
        for finding in disclaimers[:5]:
            review.accept(finding, [finding.code])
        review.reject(disclaimers[5], "low quality")
        review.edit(disclaimers[6], 1, "Here is a reinterpretation of the painting: ...")
        app = ReviewApp(ReviewData.load(check), review)
        server = make_review_server(app)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        refusal = next(f for f in check.findings if f.code == "Q002")
        row = next(r.row for r in app.data.rows if r.fingerprint == refusal.fingerprint)
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium") or "chromium"
        for argument in ("--headless=new", "--no-sandbox", "--window-size=1440,900"):
            options.add_argument(argument)
        driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
        try:
            driver.get(f"{url_of(server, app)}#row={row}")
            wait = WebDriverWait(driver, 15)
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".turn.flagged mark"))
            driver.find_element(By.TAG_NAME, "body").send_keys("r")
            wait.until(lambda d: d.find_elements(By.ID, "reasons"))
            driver.save_screenshot(str(out))
        finally:
            driver.quit()
            server.shutdown()
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
