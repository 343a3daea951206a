"""A tiny Parquet file of millions of rows uploaded in the app, while another reviewer saves.

    python bench/upload_parquet.py [--rows 3000000] [--text-bytes 700] [--app-dir DIR]

Writes a Parquet file of ``--rows`` rows whose text (``--text-bytes`` long) is stored once,
in the column's dictionary (a few MB however many rows), under
``/tmp/augment-review-upload/``. Starts ``streamlit run app.py`` on a data directory holding
a small reviewed dataset, opens its Review page in one browser session (the other
reviewer) and the Data page in another, uploads the file there with Debian's Chromium
through Playwright, and while the upload is processed keeps deciding variants on the Review
page, timing each (inside the page) from the click until the page shows it saved. Prints JSON lines: the
server's resident memory before, its peak (``VmHWM``) and what it holds after, the
largest parse worker seen (sampled), the upload-to-page time and what the page said,
and the other session's save latency (p50/p90) before and during the upload.

With the default limits (2,000,000 rows, 1 GiB decoded) the 3-million-row file is refused
from its footer; ``--rows 1000000`` is parsed (in a worker process).
A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from upload_memory import OUT_DIR, status  # noqa: E402

RESULT = "[data-testid='stAlert'], [data-testid='stSubheader']"


def make_parquet(n_rows: int, text_bytes: int) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = OUT_DIR / f"one-text-{n_rows}-{text_bytes}-v2.parquet"
    if path.exists():
        return path
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    idx = pa.array([0] * n_rows, pa.int32())
    text = ("a project about convolutional networks for images " * (text_bytes // 50 + 1))[:text_bytes]
    table = pa.table({"text": pa.array([text]).take(idx),
                      "tags": pa.array(['["computer-vision"]']).take(idx)})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    path.write_bytes(buf.getvalue())
    return path


SAVE_JS = """
async ([key, decision]) => {
  // timed inside the page, as bench/app.py's click to saved: Playwright's own round trips
  // (tens of ms each on a busy 2-core machine) are not the server's latency
  const find = () => document.querySelector(`.rv-row[data-key="${CSS.escape(key)}"]`);
  const sync = () => document.querySelector(".rv-sync");
  const t0 = performance.now();
  find().querySelector(decision === "accepted" ? ".rv-accept" : ".rv-reject").click();
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("not saved within 120 s")), 120000);
    const poll = () => {
      const r = find(), s = sync();
      const saved = r && r.querySelector(".rv-note").getAttribute("data-status") === "saved";
      if (saved && s && s.getAttribute("data-saving") === "0" && s.getAttribute("data-unsaved") === "0") {
        clearTimeout(timer); resolve(performance.now() - t0);
      } else setTimeout(poll, 2);
    };
    poll();
  });
}
"""


def save_once(page, key: str, decision: str) -> float:
    """Click a decision and wait until the page shows it saved (the row marked saved, nothing
    unsaved or in flight); seconds taken, measured in the page."""
    return page.evaluate(SAVE_JS, [key, decision]) / 1000


def quantiles(xs: list[float]) -> dict[str, float]:
    if not xs:
        return {}
    xs = sorted(xs)
    return {"n": len(xs), "p50_ms": round(statistics.median(xs) * 1000),
            "p90_ms": round(xs[min(len(xs) - 1, int(0.9 * len(xs)))] * 1000), "max_ms": round(xs[-1] * 1000)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=3_000_000)
    ap.add_argument("--text-bytes", type=int, default=700)
    ap.add_argument("--app-dir", type=Path, default=ROOT, help="the checkout whose app.py to serve")
    args = ap.parse_args()

    import browser_helpers as tb
    import psutil
    from helpers import review_data
    from playwright.sync_api import sync_playwright

    path = make_parquet(args.rows, args.text_bytes)
    print(json.dumps({"file": str(path), "rows": args.rows, "MB": round(path.stat().st_size / 1e6, 2)}))
    tb.ROOT = args.app_dir
    data_dir = Path(tempfile.mkdtemp(prefix="augment-review-upload-data-"))
    h, keys = review_data(data_dir, n_originals=20, per_original=2)
    proc, url = tb.start_server(data_dir)
    server = psutil.Process(proc.pid)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=tb.CHROMIUM, args=tb.CHROMIUM_ARGS)
            reviewer = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            reviewer.goto(f"{url}/review?dataset={h}")
            reviewer.wait_for_selector(".rv-row[data-key]", timeout=120_000)
            tb.wait_idle(reviewer)
            shown = reviewer.locator(".rv-row[data-key]").evaluate_all("rs => rs.map(r => r.dataset.key)")
            turn = [0]

            def save() -> float:
                i = turn[0]
                turn[0] += 1
                return save_once(reviewer, shown[i % len(shown)], "accepted" if (i // len(shown)) % 2 == 0 else "rejected")

            baseline = [save() for _ in range(10)]
            print(json.dumps({"stage": "saves before the upload", **quantiles(baseline)}))

            uploader = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            uploader.goto(url)
            uploader.wait_for_selector("[data-testid='stFileUploaderDropzoneInput']", state="attached", timeout=120_000)
            tb.wait_idle(uploader)
            before = status(proc.pid)
            print(json.dumps({"stage": "before upload", **before}))
            t0 = time.perf_counter()
            uploader.set_input_files("[data-testid='stFileUploaderDropzoneInput']", str(path))
            during: list[float] = []
            worker_peak = 0
            while True:
                during.append(save())
                for child in server.children(recursive=True):
                    try:
                        worker_peak = max(worker_peak, child.memory_info().rss >> 20)
                    except psutil.Error:
                        pass
                alerts = uploader.locator("[data-testid='stAlert']")  # this upload's answer, not the page before it
                done = alerts.filter(has_text="Cannot read this file").count() or (
                    alerts.filter(has_text="dataset").count() and uploader.get_by_text("Tags per split").count())
                if done and uploader.locator(tb.IDLE).count():
                    break
            seconds = time.perf_counter() - t0
            said = uploader.locator("[data-testid='stAlert']").all_inner_texts()
            time.sleep(5)
            held = status(proc.pid)
            print(json.dumps({
                "result": "parquet upload", "rows": args.rows, "MB": round(path.stat().st_size / 1e6, 2),
                "seconds": round(seconds, 1), "page_said": [s[:160] for s in said],
                "rss_before_MiB": before["VmRSS"], "peak_MiB": held["VmHWM"], "held_after_MiB": held["VmRSS"],
                "worker_peak_rss_MiB_sampled": worker_peak,
                "other_session_saves_before": quantiles(baseline), "other_session_saves_during": quantiles(during),
            }))
            browser.close()
    finally:
        tb.stop_server(proc)


if __name__ == "__main__":
    main()
