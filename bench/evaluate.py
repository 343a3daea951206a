"""Evaluation speed and figures on the bundled sample.

Writes an alias-swap augment output of the bundled data (5 per original, originals kept,
seed 42, no quality signals), then times the whole ``python -m augment_core evaluate``
process on it (interpreter start-up, imports, reading, the alias-swapped val, 5 seeds x 2
arms, 1,000 bootstrap replicates, the report), and prints the figures docs/benchmarks.md quotes.

Usage: python bench/evaluate.py [--seeds 5] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        aug = Path(tmp) / "augmented.csv"
        subprocess.run(
            [sys.executable, "-m", "augment_core", "augment", str(ROOT / "data" / "projects.csv"),
             "--text-column", "title", "--text-column", "description", "--label-column", "tags", "--id-column", "id",
             "--augmenter", "alias_swap", "--n-per-original", "5", "--keep-original", "--seed", "42", "--no-quality",
             "--output", str(aug)],
            check=True, cwd=ROOT, capture_output=True,
        )
        out = Path(tmp) / "result.json"
        walls = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "augment_core", "evaluate", str(aug), "--seeds", str(args.seeds),
                 "--output", str(out)],
                check=True, cwd=ROOT, capture_output=True,
            )
            walls.append(time.perf_counter() - started)
        result = json.loads(out.read_text(encoding="utf-8"))
    val = result["splits"]["val"]
    arms, diffs, data = val["arms"], val["differences"], result["data"]
    print(f"machine: {os.cpu_count()} cores; {args.seeds} seeds x 2 arms, {args.repeat} runs")
    print(f"whole process: median {statistics.median(walls):.1f} s (min {min(walls):.1f}, max {max(walls):.1f}); "
          f"experiment alone {result['seconds']:.1f} s (last run)")
    print(f"train originals {data['train_originals']}, variants {data['variants']}, val {data['val']} "
          f"({data['val_swapped']} alias-swapped), {len(data['tags'])} tags scored")
    for cond in ("clean", "swapped"):
        for m in ("micro_f1", "macro_f1"):
            d = diffs[f"{cond}_{m}"]
            print(f"{cond:8} {m}: originals {arms['originals'][cond][m]:.3f}, augmented {arms['augmented'][cond][m]:.3f}, "
                  f"diff {d['mean']:+.3f} [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}], seeds {d['seeds_better']}/5 better")
    f = diffs["flip_rate"]
    print(f"flip rate: originals {arms['originals']['flip_rate']:.1%}, augmented {arms['augmented']['flip_rate']:.1%}, "
          f"diff {f['mean']:+.3f} [{f['ci_low']:+.3f}, {f['ci_high']:+.3f}]")
    print(f"verdict: {val['verdict']['summary']}")


if __name__ == "__main__":
    main()
