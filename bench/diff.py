"""Word-level diff speed: variants per second on the bundled sample's titles and descriptions,
each with a few random word edits (substitute, insert, delete), for the compiled diff (what
``diff_changes`` is wherever ``pip install -e .`` built it) and its Python reference, in the
same run. Usage: python bench/diff.py [N]"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

import pandas as pd

from augment_core.augment.compiled.diff import diff_changes as compiled_diff_changes
from augment_core.augment.diff import python_diff_changes, rebuild, tokens

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "projects.csv"


def edited(text: str, rng: random.Random, n_edits: int) -> str:
    toks = tokens(text)
    words = [i for i, t in enumerate(toks) if t[0].isalnum()]
    for i in rng.sample(words, min(n_edits, len(words))):
        op = rng.choice(("substitute", "insert", "delete"))
        toks[i] = {"substitute": "edited", "insert": toks[i] + " new", "delete": ""}[op]
    return "".join(toks)


def main(n: int) -> None:
    df = pd.read_csv(SAMPLE)
    texts = (df["title"].fillna("") + " " + df["description"].fillna("")).tolist()
    rng = random.Random(0)
    pairs = []
    while len(pairs) < n:
        text = texts[len(pairs) % len(texts)]
        pairs.append((text, edited(text, rng, rng.randint(1, 4))))
    words = sum(len(o.split()) for o, _ in pairs) / len(pairs)
    for name, diff in (("compiled", compiled_diff_changes), ("python", python_diff_changes)):
        t0, c0 = time.perf_counter(), time.process_time()
        results = [diff(o, v) for o, v in pairs]
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        assert all(rebuild(o, c) == v for (o, v), c in zip(pairs, results))
        print(json.dumps({"diff": name, "variants": n, "mean_words": round(words, 1), "seconds": round(seconds, 3),
                          "variants_per_s": round(n / seconds), "variants_per_cpu_s": round(n / cpu)}))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000)
