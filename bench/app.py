"""Review-page benchmark in a real browser, with 20,000 candidates.

    python bench/app.py [--candidates 20000] [--clicks 20] [--keys 200]

Builds a dataset (the bundled sample repeated with fresh ids, alias swap through the
core pipeline) and one run of exactly ``--candidates`` variants in a temporary data
directory, starts ``streamlit run app.py`` on it and drives Debian's Chromium with
Playwright. Prints JSON lines:

* ``first_render``: from navigation to ``/review?dataset=<hash>`` to the page idle with
  its first candidates shown (cold: first load of the candidates into the server's cache;
  warm: a second tab).
* ``rerun`` mode (``AUGMENT_REVIEW_INSTANT=0``: the rows as Streamlit buttons, the way the page
  worked before the component): click to the app idle again (the fragment rerun finished and
  two animation frames painted), which is when the decision shows; and keyboard decisions in
  the one-at-a-time mode, each waiting for its rerun.
* ``instant`` mode (the component): click to paint (the chip changed and two animation frames
  drawn) and click to saved (the row marked "saved": written and confirmed), measured inside
  the page; and ``--keys`` keyboard decisions typed as fast as Playwright types, in the
  one-at-a-time view, until all are saved.

``--scale 20000,500000``: instead of the above, for each size builds the sample's alias-swap
run repeated (fresh ids; the dataset is the sample repeated as many times) and prints, with
the component, the first render (cold, warm), a page change (Next, to the new rows shown) and
the server's RSS (now and peak, from ``/proc``); then a bulk accept over the largest tag's
variants (over 100,000 at 500,000) and its undo, timed in the store. ``--old-tree DIR`` (a
checkout of an earlier commit, e.g. ``git archive <commit> | tar -x -C DIR``) serves the same
data from that code too, in the same run, for the figures before (a cap of ``--old-timeout``
seconds a render).

A benchmark, not a test: the figures go in docs/benchmarks.md (targets: click to paint p50 < 50 ms,
click to saved < 500 ms, < 2 s first render, on a 2-core machine).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from augment_core.augment.alias_swap import AliasSwap  # noqa: E402
from augment_core.augment.aliases import load_alias_table  # noqa: E402
from augment_core.data.dataset import content_hash, read_table  # noqa: E402
from augment_core.data.dataset_settings import build_from_settings, default_settings  # noqa: E402
from augment_core.review.database import DATABASE_URL_ENV  # noqa: E402
from augment_core.review.facts import store_run  # noqa: E402
from augment_core.review.store import Store  # noqa: E402
from augment_core.runners.pipeline import run_augmentation  # noqa: E402

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
    store_run(store, h, {"augmenters": [{"name": "alias_swap"}], "n_per_original": 4, "seed": 0,
                      "variants": n_candidates}, originals + variants[:n_candidates], settings)
    store.close()
    return h


PAINT_JS = """
async ([index]) => {
  const rows = async () => {  // the list is there (it is drawn again when remounted)
    for (let i = 0; i < 2000; i++) {
      const all = document.querySelectorAll(".rv-row[data-key]");
      if (all.length) return all;
      await new Promise(r => setTimeout(r, 5));
    }
    throw new Error("no rows");
  };
  const all = await rows();
  const row = all[index % all.length];
  const key = row.getAttribute("data-key");
  const find = () => document.querySelector(`.rv-row[data-key="${CSS.escape(key)}"]`);
  if (row.getAttribute("data-state") !== "undecided") throw new Error("row already decided: " + key);
  const t0 = performance.now();
  row.querySelector(".rv-accept").click();
  // painted: the chip says so (set synchronously by the click handler) and two frames drawn
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const chip = find().querySelector(".rv-chip").textContent;
  const paint = performance.now() - t0;
  const saved = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("not saved within 20 s")), 20000);
    const poll = () => {
      const r = find();
      if (r && r.querySelector(".rv-note").getAttribute("data-status") === "saved") { clearTimeout(timer); resolve(performance.now() - t0); }
      else setTimeout(poll, 2);
    };
    poll();
  });
  return [paint, saved, chip];
}
"""


def stats(times: list[float]) -> dict:
    times = sorted(times)
    p90 = times[max(0, int(round(0.9 * len(times))) - 1)]
    return {"n": len(times), "p50": round(statistics.median(times), 1), "p90": round(p90, 1), "max": round(times[-1], 1)}


def first_render(browser, tb, url: str, h: str, selector: str, timeout: int = 120_000) -> dict:
    renders = {}
    page = None
    for label in ("cold", "warm"):
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        # the app shell, not timed, on a link to no dataset (the Data page, the default one,
        # would read the whole dataset file into this server and weigh on every later run)
        page.goto(f"{url}/review?dataset={'0' * 64}")
        tb.wait_idle(page)
        t0 = time.perf_counter()
        page.goto(f"{url}/review?dataset={h}")
        page.wait_for_selector(selector, timeout=timeout)
        page.wait_for_selector(tb.IDLE, timeout=timeout)
        renders[label] = round((time.perf_counter() - t0) * 1000)
        if label == "cold":
            page.close()
    return {"page": page, **renders}


def one_at_a_time(page, tb) -> None:
    page.locator(".st-key-review_mode [data-baseweb='select'], .st-key-review_mode [role='combobox']").first.click()
    page.get_by_role("option").filter(has_text="One at a time").click()
    tb.wait_idle(page)


def keyboard_rerun(page, tb, n: int) -> dict:
    """Today's one-at-a-time mode: each key clicks a Streamlit button (a rerun per decision)."""
    one_at_a_time(page, tb)
    page.wait_for_function("window.__augmentReviewKeys === true")
    page.evaluate("document.activeElement && document.activeElement.blur()")
    t0 = time.perf_counter()
    for i in range(n):
        page.keyboard.press("a" if i % 2 == 0 else "r")
        tb.wait_idle(page)  # the next key acts on the next variant only once the rerun shows it
    return {"decisions": n, "seconds": round(time.perf_counter() - t0, 2),
            "per_second": round(n / (time.perf_counter() - t0), 1)}


def keyboard_instant(page, tb, n: int, store_count) -> dict:
    one_at_a_time(page, tb)
    page.wait_for_selector(".rv-root[data-mode='focus'] .rv-one")
    page.wait_for_function("window.__augmentReviewKeys === true")
    page.evaluate("document.activeElement && document.activeElement.blur()")
    before = store_count()
    t0 = time.perf_counter()
    for i in range(n):
        page.keyboard.press("a" if i % 2 == 0 else "r")
    shown = time.perf_counter() - t0
    sync = page.locator(".rv-sync")
    while sync.get_attribute("data-saving") != "0" or sync.get_attribute("data-unsaved") != "0":
        time.sleep(0.01)
    saved = time.perf_counter() - t0
    return {"decisions": n, "typed_and_shown_s": round(shown, 2), "per_second": round(n / shown, 1),
            "all_saved_s": round(saved, 2), "stored": store_count() - before}


def build_repeated(data_dir: Path, n_candidates: int) -> str:
    """The sample's alias-swap run (4 per original) repeated with fresh ids up to
    ``n_candidates`` variants; the dataset is the sample repeated as often."""
    from augment_core.augment.agreement import fit_to_train
    from augment_core.augment.registry import build_augmenters

    raw = (ROOT / "data" / "projects.csv").read_bytes()
    table = read_table(raw, "projects.csv")
    settings = default_settings(table)
    dataset = build_from_settings(table, settings)
    keywords = fit_to_train(load_alias_table(ROOT / "data" / "tags.json"), dataset)
    out = run_augmentation(dataset, build_augmenters(["alias_swap"], {}, keywords), 4, True, 0)
    variants = [r for r in out if r["augmenter"] != "original"]
    originals = [r for r in out if r["augmenter"] == "original"]
    copies = -(-n_candidates // len(variants))
    lines = list(csv.reader(io.StringIO(raw.decode("utf-8"))))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(lines[0])
    id_column = settings["mapping"].get("id_column")
    for c in range(copies):
        for r in lines[1:]:
            w.writerow([f"{c}-{r[0]}", *r[1:]])
    data = buf.getvalue().encode()

    def fresh(r: dict, c: int) -> dict:
        r2 = dict(r, id=f"{c}-{r['id']}", parent_id=f"{c}-{r['parent_id']}")
        if id_column in r2:
            r2[id_column] = f"{c}-{r[id_column]}"
        return r2

    rows = [fresh(r, c) for c in range(copies) for r in originals]
    rows += [fresh(r, c) for c in range(copies) for r in variants][:n_candidates]
    store = Store(data_dir)
    h = content_hash(data)
    store.add_dataset(h, f"projects-x{copies}.csv", data, settings)
    store_run(store, h, {"augmenters": [{"name": "alias_swap"}], "n_per_original": 4, "seed": 0}, rows, settings)
    store.close()
    return h


def older_format(data_dir: Path) -> None:
    """Put the datasets' bytes back in their ``datasets`` rows, where code from before
    ``dataset_files`` reads them (this code reads ``dataset_files`` first)."""
    import sqlite3

    db = sqlite3.connect(data_dir / "augment-review.sqlite3")
    with db:
        db.execute("UPDATE datasets SET data = (SELECT f.data FROM dataset_files f WHERE f.hash = datasets.hash)"
                   " WHERE hash IN (SELECT hash FROM dataset_files)")
    db.close()


def rss_mib(pid: int) -> dict:
    """The server's resident memory now and at its peak (VmRSS, VmHWM), in MiB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            name, kb = line.split()[:2]
            out["rss_mib" if name == "VmRSS:" else "peak_rss_mib"] = round(int(kb) / 1024)
    return out


def page_changes(page, tb, n: int) -> dict:
    """Click Next n times; each timed to the new page's rows drawn and the app idle."""
    times = []
    for _ in range(n):
        first = page.locator(".rv-row[data-key]").first.get_attribute("data-key")
        t0 = time.perf_counter()
        page.locator(".st-key-review_next button").click()
        page.wait_for_function(
            "k => { const r = document.querySelector('.rv-row[data-key]'); return r && r.getAttribute('data-key') !== k; }",
            arg=first, timeout=120_000)
        page.wait_for_selector(tb.IDLE, timeout=120_000)
        times.append((time.perf_counter() - t0) * 1000)
    return stats(times)


def scale(args, browser, tb) -> None:
    import subprocess

    for n in [int(x) for x in args.scale.split(",")]:
        tmp = Path(tempfile.mkdtemp(prefix=f"augment-review-scale-{n}-"))
        t = time.perf_counter()
        h = build_repeated(tmp / "data", n)
        print(json.dumps({"setup": "data", "candidates": n, "seconds": round(time.perf_counter() - t, 1)}), flush=True)
        trees = [("now", ROOT)] + ([("before", Path(args.old_tree))] if args.old_tree else [])
        for label, tree in trees:
            env = {"AUGMENT_REVIEW_INSTANT": "1"}
            if tree != ROOT:
                env["PYTHONPATH"] = str(tree)
                older_format(tmp / "data")
            old_root = tb.ROOT
            tb.ROOT = tree  # start_server runs tree/app.py
            try:
                proc, url = tb.start_server(tmp / "data", tmp / f"cache-{label}", extra_env=env)
            finally:
                tb.ROOT = old_root
            try:
                timeout = args.old_timeout * 1000 if label == "before" else 120_000
                try:
                    r = first_render(browser, tb, url, h, ".rv-row[data-key] .rv-accept", timeout)
                except Exception as exc:  # noqa: BLE001 - a cap reached is a figure too
                    print(json.dumps({"candidates": n, "code": label, "metric": "first_render_ms",
                                      "error": f"not shown within {args.old_timeout} s: {type(exc).__name__}",
                                      **rss_mib(proc.pid)}), flush=True)
                    continue
                page = r.pop("page")
                print(json.dumps({"candidates": n, "code": label, "metric": "first_render_ms", **r, **rss_mib(proc.pid)}),
                      flush=True)
                tb.wait_idle(page)
                print(json.dumps({"candidates": n, "code": label, "metric": "page_change_ms",
                                  **page_changes(page, tb, args.pages), **rss_mib(proc.pid)}), flush=True)
                page.close()
            finally:
                tb.stop_server(proc)
        bulk_in_store(tmp / "data", h, n)
        subprocess.run(["rm", "-rf", str(tmp)], check=False)


def bulk_in_store(data_dir: Path, h: str, n: int) -> None:
    from augment_core.review import filters as review
    from augment_core.review import query

    store = Store(data_dir)
    scope = query.scope_of(store, h)
    tag, count = query.facets(store, scope)["facets"]["tag"].most_common(1)[0]
    flt = review.Filter(tags=frozenset({tag}), status="undecided")
    t0 = time.perf_counter()
    result = query.bulk(store, scope, flt, "accepted", True, origin="bench", seen=time.time())
    bulk_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    store.undo(h, origin="bench")
    undo_s = time.perf_counter() - t0
    print(json.dumps({"candidates": n, "metric": "bulk_accept_in_store", "filter": f"tag {tag}",
                      "decisions": result.changed, "seconds": round(bulk_s, 2), "undo_seconds": round(undo_s, 2)}),
          flush=True)
    store.close()


def clear_decisions(data_dir: Path) -> None:
    """Every decision gone (the run stays): each mode starts from an undecided run, on the
    store's backend (the SQLite file in ``data_dir``, or ``$AUGMENT_REVIEW_DATABASE_URL``)."""
    s = Store(data_dir)
    try:
        with s.db.write() as c:
            for table in ("decisions", "action_items", "actions", "client_actions"):
                c.execute(f"DELETE FROM {table}")
    finally:
        s.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--candidates", type=int, default=20_000)
    ap.add_argument("--clicks", type=int, default=20)
    ap.add_argument("--keys", type=int, default=200)
    ap.add_argument("--rerun-keys", type=int, default=20, help="keyboard decisions timed in the rerun-based mode")
    ap.add_argument("--scale", default="", help="e.g. 20000,500000: first render, page change, RSS and bulk at each size")
    ap.add_argument("--pages", type=int, default=5, help="page changes timed (--scale)")
    ap.add_argument("--old-tree", default="", help="a checkout of an earlier commit, served on the same data (--scale)")
    ap.add_argument("--old-timeout", type=int, default=120, help="seconds a render of --old-tree may take")
    ap.add_argument("--backends", default="sqlite",
                    help="sqlite,postgresql: the same data and clicks on each backend (PostgreSQL: a throw-away "
                         "server, as bench/store_backends.py starts)")
    ap.add_argument("--modes", default="rerun,instant", help="rerun (Streamlit buttons), instant (the component)")
    args = ap.parse_args()

    import browser_helpers as tb
    from playwright.sync_api import sync_playwright

    if args.scale:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=tb.CHROMIUM, args=tb.CHROMIUM_ARGS)
            scale(args, browser, tb)
            browser.close()
        return

    server = None
    try:
        for backend in args.backends.split(","):
            if backend == "postgresql":
                from helpers import PostgresServer

                server = server or PostgresServer()
                os.environ[DATABASE_URL_ENV] = server.url(server.create_database())
            else:
                os.environ.pop(DATABASE_URL_ENV, None)
            print(json.dumps({"backend": backend}))
            bench_backend(args, tb, tuple(args.modes.split(",")))
    finally:
        if server is not None:
            server.stop()
    print(json.dumps({"load_average": os.getloadavg(), "cpus": os.cpu_count()}), flush=True)


def bench_backend(args, tb, modes: tuple[str, ...]) -> None:
    """The click and keyboard timings on the store's backend (the environment's)."""
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="augment-review-bench-"))
    t = time.perf_counter()
    h = build_data(tmp / "data", args.candidates)
    print(json.dumps({"setup": "data", "candidates": args.candidates, "seconds": round(time.perf_counter() - t, 2)}))

    def store_count() -> int:
        s = Store(tmp / "data")
        try:
            return len(s.decisions(h))
        finally:
            s.close()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=tb.CHROMIUM, args=tb.CHROMIUM_ARGS)
        # today's rerun-based rows (Streamlit buttons), then the component, in the same run
        for mode in modes:
            clear_decisions(tmp / "data")  # each mode starts from an undecided run
            env = {"AUGMENT_REVIEW_INSTANT": "0" if mode == "rerun" else "1"}
            proc, url = tb.start_server(tmp / "data", extra_env=env)
            try:
                selector = "[class*='st-key-review_a_'] button" if mode == "rerun" else ".rv-row[data-key] .rv-accept"
                r = first_render(browser, tb, url, h, selector)
                page = r.pop("page")
                print(json.dumps({"mode": mode, "metric": "first_render_ms", **r}))
                tb.wait_idle(page)
                if mode == "rerun":
                    times = []
                    for i in range(args.clicks):
                        n_buttons = page.locator(selector).count()
                        times.append(page.evaluate(CLICK_JS, [selector, (i * 2) % n_buttons]))
                    print(json.dumps({"mode": mode, "metric": "click_to_paint_ms (= click to idle)", **stats(times)}))
                    print(json.dumps({"mode": mode, "metric": "keyboard", **keyboard_rerun(page, tb, args.rerun_keys)}))
                else:
                    paint, saved = [], []
                    for i in range(args.clicks):
                        ms_paint, ms_saved, chip = page.evaluate(PAINT_JS, [i * 2])
                        assert chip == "accepted", chip
                        paint.append(ms_paint)
                        saved.append(ms_saved)
                    print(json.dumps({"mode": mode, "metric": "click_to_paint_ms", **stats(paint)}))
                    print(json.dumps({"mode": mode, "metric": "click_to_saved_ms", **stats(saved)}))
                    tb.wait_idle(page)
                    print(json.dumps({"mode": mode, "metric": "keyboard", **keyboard_instant(page, tb, args.keys, store_count)}))
                page.close()
            finally:
                tb.stop_server(proc)
        browser.close()
    print(json.dumps({"check": "decisions_stored", "value": store_count()}))




if __name__ == "__main__":
    main()
