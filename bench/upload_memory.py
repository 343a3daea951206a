"""Server memory while a large CSV is uploaded in the app, in a real browser.

    python bench/upload_memory.py [--rows 532000] [--app-dir DIR]

Writes a CSV of ``--rows`` rows (the bundled sample repeated with fresh ids: 150 MB for
532,000 rows) under ``/tmp/augment-review-upload/`` (not in the repository), starts
``streamlit run app.py`` on an empty data directory, uploads the file on the Data page
with Debian's Chromium through Playwright, and waits for the page to show the stored
dataset with its tag counts. Prints JSON lines with the server's resident memory
(``/proc/<pid>/status``): before the upload, its peak (``VmHWM``), and what it holds once
the page is idle again, plus the upload-to-page time.

A benchmark, not a test: the figures go in docs/benchmarks.md (target: peak < 1.5 GB, memory
released after).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

OUT_DIR = Path("/tmp/augment-review-upload")


def make_csv(n_rows: int) -> Path:
    path = OUT_DIR / f"projects-{n_rows}.csv"
    if path.exists():
        return path
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    rows = list(csv.reader(io.StringIO((ROOT / "data" / "projects.csv").read_text(encoding="utf-8"))))
    header, body = rows[0], rows[1:]
    tmp = path.with_suffix(".part")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        written, copy = 0, 0
        while written < n_rows:
            chunk = body[: n_rows - written]
            w.writerows([f"{copy}-{r[0]}", *r[1:]] for r in chunk)
            written += len(chunk)
            copy += 1
    tmp.rename(path)
    return path


def status(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) // 1024  # MiB
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=532_000)
    ap.add_argument("--app-dir", type=Path, default=ROOT, help="the checkout whose app.py to serve")
    args = ap.parse_args()

    import browser_helpers as tb
    from playwright.sync_api import sync_playwright

    path = make_csv(args.rows)
    size_mb = path.stat().st_size / 1e6
    print(json.dumps({"file": str(path), "rows": args.rows, "MB": round(size_mb, 1)}))
    tb.ROOT = args.app_dir
    data_dir = Path(tempfile.mkdtemp(prefix="augment-review-upload-data-"))
    proc, url = tb.start_server(data_dir)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=tb.CHROMIUM, args=tb.CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            page.wait_for_selector("[data-testid='stFileUploaderDropzoneInput']", state="attached", timeout=120_000)
            tb.wait_idle(page)
            before = status(proc.pid)
            print(json.dumps({"stage": "before upload", **before}))
            t0 = time.perf_counter()
            page.set_input_files("[data-testid='stFileUploaderDropzoneInput']", str(path))
            page.get_by_text("Tags per split").wait_for(timeout=900_000)
            page.wait_for_selector(tb.IDLE, timeout=900_000)
            seconds = time.perf_counter() - t0
            after = status(proc.pid)
            print(json.dumps({"stage": "page shown", "seconds": round(seconds, 1), **after}))
            # held: once idle for a while (the server's caches keep the parsed dataset)
            deadline = time.monotonic() + 20
            last = after["VmRSS"]
            while time.monotonic() < deadline:
                page.wait_for_timeout(2000)
                now = status(proc.pid)["VmRSS"]
                if abs(now - last) < 5:
                    break
                last = now
            held = status(proc.pid)
            print(json.dumps({
                "result": "upload", "rows": args.rows, "MB": round(size_mb, 1), "seconds": round(seconds, 1),
                "rss_before_MiB": before["VmRSS"], "peak_MiB": held["VmHWM"], "held_after_MiB": held["VmRSS"],
            }))
            browser.close()
    finally:
        tb.stop_server(proc)


if __name__ == "__main__":
    main()
