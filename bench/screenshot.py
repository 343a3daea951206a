"""Take docs/review.png from the real app: the bundled sample, an alias-swap run, a few
decisions, the review page in Chromium.  python bench/screenshot.py [out.png]"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def main() -> None:
    import re

    import browser_helpers as tb
    from playwright.sync_api import expect, sync_playwright

    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "review.png"
    tmp = Path(tempfile.mkdtemp(prefix="augment-review-shot-"))
    proc, url = tb.start_server(tmp / "data")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=tb.CHROMIUM, args=tb.CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1250})
            page.goto(url)
            tb.wait_idle(page)
            page.get_by_text("Bundled sample").click()
            tb.wait_idle(page)
            tb.click(page, ".st-key-data_load_sample button")
            tb.goto_page(page, "Augment")
            # the run (with quality signals, the whole sample) may take minutes on a busy machine
            page.locator(".st-key-augment_run button").click()
            expect(page.get_by_text(re.compile(r"^Run \d+: "))).to_be_visible(timeout=600_000)
            tb.wait_idle(page)
            tb.goto_page(page, "Review")
            accepts = page.locator(tb.ACCEPT)
            rejects = page.locator(tb.REJECT)
            accepts.nth(0).click()
            rejects.nth(1).click()
            accepts.nth(2).click()
            tb.wait_saved(page)
            page.locator("[data-testid='stExpander'] summary").first.click()  # fold the filters
            tb.wait_idle(page)
            page.mouse.move(0, 0)
            page.wait_for_timeout(500)
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out))
            print(out)
            browser.close()
    finally:
        tb.stop_server(proc)


if __name__ == "__main__":
    main()
