"""Alias-swap speed: this project's CLI against the Made With ML lesson's alias swap.

Both run in this one process's lifetime on the same rows and the same tags file:
- the lesson (``../shared/bench/lesson_alias_swap.py``: a regex per key per row, Snorkel's
  PandasTFApplier with ApplyOnePolicy(n_per_original=5, keep_original=True), then
  drop_duplicates), timed by its own clock: augmentation only, imports excluded;
- ours: the whole ``python -m augment_core augment`` process (interpreter start-up,
  imports, reading, splitting, augmenting, writing the provenance CSV), with the same
  policy (--n-per-original 5 --keep-original), on the lesson's rows and on 20,000 rows (the
  sample data x10). Three alias-table situations: the bundled vocabulary (its table ships
  prebuilt, so even a first run needs no inflect), a tags file never seen before (inflect
  is imported and the table built: a first run), and that file again (the on-disk cache).

Usage: python bench/alias_swap.py [--rows 20000] [--lesson-rows 1000]
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
DATA = SHARED / "data" if (SHARED / "data" / "projects.csv").exists() else ROOT / "data"
LESSON = SHARED / "bench" / "lesson_alias_swap.py"


def make_csv(path: Path, n_rows: int) -> None:
    with (DATA / "projects.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        for i in range(n_rows):
            row = dict(rows[i % len(rows)])
            row["id"] = f"{row['id']}-{i // len(rows)}"
            writer.writerow(row)


def run_ours(csv_path: Path, out: Path, cache: Path, tags: Path) -> float:
    cmd = [sys.executable, "-m", "augment_core", "augment", str(csv_path), "--text-column", "title",
           "--text-column", "description", "--label-column", "tags", "--id-column", "id",
           "--tags", str(tags), "--augmenter", "alias_swap", "--n-per-original", "5",
           "--keep-original", "--seed", "0", "--no-quality", "--output", str(out)]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True,
                   env={**_env(), "AUGMENT_REVIEW_CACHE_DIR": str(cache)})
    return time.perf_counter() - t0


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--lesson-rows", type=int, default=1000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        big, small = t / "big.csv", t / "small.csv"
        make_csv(big, args.rows)
        make_csv(small, args.lesson_rows)

        lesson = subprocess.run(
            [sys.executable, str(LESSON), str(DATA / "tags.json"), str(small), "text", str(args.lesson_rows)],
            check=True, capture_output=True, text=True,
        )
        lesson_result = json.loads(lesson.stdout.strip().splitlines()[-1])
        lesson_rps = lesson_result["rows_in"] / lesson_result["seconds"]
        print(json.dumps({"impl": "lesson", "clock": "augmentation only", **lesson_result,
                          "rows_per_s": round(lesson_rps, 1)}))

        # the same vocabulary with one more byte: a tags file the CLI has never seen
        new_tags = t / "my-tags.json"
        new_tags.write_bytes((DATA / "tags.json").read_bytes() + b"\n")
        situations = [
            ("bundled vocabulary, empty cache", DATA / "tags.json", "cache-bundled"),
            ("new tags file, first run", new_tags, "cache-new"),
            ("new tags file, cached", new_tags, "cache-new"),
        ]
        results = {}
        for label, csv_path, n in [("same rows", small, args.lesson_rows), (f"{args.rows} rows", big, args.rows)]:
            for situation, tags, cache_name in situations:
                cache = t / f"{cache_name}-{n}"
                seconds = run_ours(csv_path, t / "out.csv", cache, tags)
                with (t / "out.csv").open(encoding="utf-8", newline="") as fh:
                    rows_out = sum(1 for _ in csv.reader(fh)) - 1
                rps = n / seconds
                results[(label, situation)] = (seconds, rps)
                print(json.dumps({"impl": "augment_core CLI", "clock": "whole process", "rows": label,
                                  "alias_table": situation, "rows_in": n, "rows_out": rows_out,
                                  "seconds": round(seconds, 3), "rows_per_s": round(rps, 1),
                                  "x_lesson": round(rps / lesson_rps, 1)}))
        print()
        print(f"lesson: {lesson_rps:,.0f} rows/s (augmentation only, {args.lesson_rows} rows)")
        for (label, situation), (seconds, rps) in results.items():
            print(f"ours, whole CLI process, {label}, {situation}: {seconds:.2f} s, {rps:,.0f} rows/s = "
                  f"{rps / lesson_rps:,.0f}x")

if __name__ == "__main__":
    main()
