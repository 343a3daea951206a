"""Review-page benchmark in a real browser, with 20,000 candidates.

    python bench/app.py [--candidates 20000] [--clicks 20]

Builds a dataset (the bundled sample repeated with fresh ids, alias swap through the
core pipeline) and one run of exactly ``--candidates`` variants in a temporary data
directory, starts ``streamlit run app.py`` on it and drives Debian's Chromium with
Playwright. Prints JSON lines:

* ``first_render``: from navigation to ``/review?dataset=<hash>`` to the page idle with
  its first candidates shown (cold: first load of the candidates into the server's cache;
  warm: a second tab).
* ``accept_click``: from an accept click to the app idle again (the fragment rerun
  finished and two animation frames painted), measured inside the page; median, p90, max.

A benchmark, not a test: the figures go in the README (targets: < 300 ms per decision,
< 2 s first render, on a 2-core machine).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from augment_core.alias_swap import AliasSwap  # noqa: E402
from augment_core.aliases import load_alias_table  # noqa: E402
from augment_core.dataset import content_hash, read_table  # noqa: E402
from augment_core.dataset_settings import build_from_settings, default_settings  # noqa: E402
from augment_core.pipeline import run_augmentation  # noqa: E402
from augment_core.review.store import Store  # noqa: E402

CLICK_JS = """
async ([selector, index]) => {
  const app = document.querySelector("[data-testid='stApp']");
  const button = document.querySelectorAll(selector)[index];
  let sawRunning = false;
  const t0 = performance.now();
  const done = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no rerun within 20 s")), 20000);
    const obs = new MutationObserver(() => {
      const s = app.getAttribute("data-test-script-state");
      if (s === "running") sawRunning = true;
      if (sawRunning && s === "notRunning") { obs.disconnect(); clearTimeout(timer); resolve(); }
    });
    obs.observe(app, {attributes: true, attributeFilter: ["data-test-script-state"]});
  });
  button.click();
  await done;
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  return performance.now() - t0;
}
"""


def build_data(data_dir: Path, n_candidates: int) -> str:
    rows = list(csv.reader(io.StringIO((ROOT / "data" / "projects.csv").read_text(encoding="utf-8"))))
    header, body = rows[0], rows[1:]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    copy = 0
    while True:
        for r in body:
            w.writerow([f"{copy}-{r[0]}", *r[1:]])
        copy += 1
        if copy * len(body) >= n_candidates * 2:
            break
    data = buf.getvalue().encode()
    table = read_table(data, "projects-x%d.csv" % copy)
    settings = default_settings(table)
    dataset = build_from_settings(table, settings)
    aliases = load_alias_table(ROOT / "data" / "tags.json")
    out = run_augmentation(dataset, [AliasSwap(aliases, max_swaps=2)], 4, False, 0)
    originals = [r for r in out if r["augmenter"] == "original"]
    variants = [r for r in out if r["augmenter"] != "original"]
    if len(variants) < n_candidates:
        raise SystemExit(f"only {len(variants)} variants; raise the repeat count")
    store = Store(data_dir)
    h = content_hash(data)
    store.add_dataset(h, f"projects-x{copy}.csv", data, settings)
    store.add_run(h, {"augmenters": [{"name": "alias_swap"}], "n_per_original": 4, "seed": 0,
                      "variants": n_candidates}, originals + variants[:n_candidates], settings=settings)
    store.close()
    return h


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--candidates", type=int, default=20_000)
    ap.add_argument("--clicks", type=int, default=20)
    args = ap.parse_args()

    import test_browser as tb
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="augment-review-bench-"))
    t = time.perf_counter()
    h = build_data(tmp / "data", args.candidates)
    print(json.dumps({"setup": "data", "candidates": args.candidates, "seconds": round(time.perf_counter() - t, 2)}))
    proc, url = tb.start_server(tmp / "data")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=tb.CHROMIUM, args=tb.CHROMIUM_ARGS)
            renders = {}
            for label in ("cold", "warm"):
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(url)  # the app shell; not timed
                tb.wait_idle(page)
                t0 = time.perf_counter()
                page.goto(f"{url}/review?dataset={h}")
                page.wait_for_selector("[class*='st-key-review_a_'] button", timeout=120_000)
                page.wait_for_selector(tb.IDLE, timeout=120_000)
                renders[label] = (time.perf_counter() - t0) * 1000
                if label == "cold":
                    page.close()
            print(json.dumps({"metric": "first_render_ms", "cold": round(renders["cold"]), "warm": round(renders["warm"])}))
            tb.wait_idle(page)
            times = []
            for i in range(args.clicks):
                n_buttons = page.locator("[class*='st-key-review_a_'] button").count()
                ms = page.evaluate(CLICK_JS, ["[class*='st-key-review_a_'] button", (i * 2) % n_buttons])
                times.append(ms)
            times.sort()
            p90 = times[max(0, int(round(0.9 * len(times))) - 1)]
            print(json.dumps({
                "metric": "accept_click_to_idle_ms", "clicks": len(times), "median": round(statistics.median(times)),
                "p90": round(p90), "max": round(times[-1]), "min": round(times[0]),
            }))
            accepted = page.locator("[data-testid='stMetric']").filter(has_text="Accepted").locator("[data-testid='stMetricValue']").inner_text()
            print(json.dumps({"check": "accepted_after_clicks", "value": accepted}))
            browser.close()
    finally:
        tb.stop_server(proc)


if __name__ == "__main__":
    main()
