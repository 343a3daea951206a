"""Reviewing a large run (issue 10, point 6): loading it by sample against loading it whole.

Writes the bundled sample repeated with fresh ids (100k rows; ``--big`` adds 1M), makes a
streamed alias-swap run of it (5 per original, originals kept, Parquet: what ``--runner
stream`` or a Ray folder holds), stores the dataset in a fresh review store, then times
whole processes:

* ``import-run --store whole``: every variant stored as a candidate (what reviewing one by
  one needs, and the only way before this work); skipped at 1M rows unless ``--whole-big``;
* ``import-run --store sample``: the rule counts and 20 variants per rule;
* ``export-run`` of the sampled run after deciding its ten largest rules: the run's file
  read again, rule decisions applied to every row.

Peak RSS is the process tree's (``bench/scale.py``'s sampler). The review store's size
after each import is printed too.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from scale import ARGS, tree_rss, write_input  # noqa: E402

MAPPING = {"text_columns": ["title", "description"], "label_column": "tags", "label_sep": ",", "label_format": "auto",
           "split_column": None, "id_column": "id"}


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "augment_core", *argv], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    err = proc.stderr.read() if proc.stderr else ""
    if proc.returncode:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(argv)}\n{err}")
    return seconds, peak, err.strip().splitlines()[-1] if err.strip() else ""


def db_size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.glob("augment-review.sqlite3*"))


def one_size(n: int, tmp: Path, env: dict[str, str], whole: bool) -> list[tuple[str, int, float, int, int]]:
    from augment_core.data.dataset import content_hash
    from augment_core.review.store import Store, rule_key

    src = tmp / f"in-{n}.csv"
    write_input(src, n)
    run = tmp / f"run-{n}.parquet"
    timed(["augment", str(src), *ARGS, "--runner", "stream", "--output", str(run)], env)
    data = src.read_bytes()
    h = content_hash(data)
    out = []
    for how in (["whole"] if whole else []) + ["sample"]:
        store_dir = tmp / f"db-{n}-{how}"
        store = Store(store_dir)
        store.add_dataset(h, src.name, data, {"mapping": MAPPING, "split_ratios": [0.7, 0.15, 0.15], "split_seed": 42})
        store.close()
        e = {**env, "AUGMENT_REVIEW_DATA_DIR": str(store_dir)}
        seconds, peak, line = timed(["import-run", str(run), "--dataset", str(src), "--store", how], e)
        print(f"  {n:,} rows, import {how}: {seconds:.1f} s, {peak / 2**20:,.0f} MiB; {line}", flush=True)
        with sqlite3.connect(store_dir / "augment-review.sqlite3") as c:
            stored = c.execute("SELECT COUNT(*) FROM candidates").fetchone()[0]
        out.append((f"import-run --store {how}", n, seconds, peak, stored))
        print(f"    store: {db_size(store_dir) / 2**20:,.0f} MiB, {stored:,} candidate rows", flush=True)
        if how == "sample":
            store = Store(store_dir)
            rules = sorted(store.run_rules(1), key=lambda r: -r.n_rows)[:10]
            store.decide_many(h, {rule_key(1, r.rule): "accepted" for r in rules})
            store.close()
            seconds, peak, line = timed(["export-run", "1", "--dataset", str(src), "--output",
                                         str(tmp / f"curated-{n}.parquet")], e)
            print(f"  {n:,} rows, export-run (10 rules accepted): {seconds:.1f} s, {peak / 2**20:,.0f} MiB; {line}",
                  flush=True)
            out.append(("export-run, 10 rules accepted", n, seconds, peak, 0))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--big", action="store_true", help="also 1M rows")
    ap.add_argument("--whole-big", action="store_true", help="also import the 1M-row run whole (several GB)")
    args = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rows: list[tuple[str, int, float, int, int]] = []
    with tempfile.TemporaryDirectory(prefix="augment-review-import-") as d:
        tmp = Path(d)
        for n in [100_000] + ([1_000_000] if args.big else []):
            rows += one_size(n, tmp, env, whole=n <= 100_000 or args.whole_big)
    print("\n| what | input rows | seconds | peak RSS | candidates stored |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for what, n, s, peak, stored in rows:
        print(f"| {what} | {n:,} | {s:.1f} | {peak / 2**20:,.0f} MiB | {stored:,} |" if stored else
              f"| {what} | {n:,} | {s:.1f} | {peak / 2**20:,.0f} MiB | |")
    for n in sorted({r[1] for r in rows}):
        whole = next((r for r in rows if r[1] == n and r[0].endswith("whole")), None)
        sample = next(r for r in rows if r[1] == n and r[0].endswith("sample"))
        if whole:
            print(f"{n:,} rows: by sample {whole[2] / sample[2]:.1f}x faster than whole, "
                  f"{whole[3] / sample[3]:.1f}x less memory, {whole[4] / max(1, sample[4]):.0f}x fewer candidates")
    return 0


if __name__ == "__main__":
    sys.exit(main())
