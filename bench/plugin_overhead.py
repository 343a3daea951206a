"""A plug-in function's framework overhead: FunctionAugmenter (a generator seeded per row and
variant, duplicate dropping, the word-level diff) against calling the same function in a bare
loop with one generator, in the same process, per call (CPU time). The framework runs with the
diff it uses (the compiled one, ``ratio``), with the Python reference in its place
(``ratio_python_diff``) and with no diff (``ratio_without_diff``: the generator seeded per row
and variant, the duplicate check); the diff's own cost per variant is measured apart, both
ways. Three plug-ins: nlpaug's KeyboardAug (many changed words per variant), nlpaug's
RandomWordAug swap (several moved words) and a pure-Python word swap (a few microseconds a
call: the worst case). Each phase runs three times, interleaved; its least time counts.
Usage: python bench/plugin_overhead.py [ROWS]"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path
from typing import Callable

import nlpaug.augmenter.char as nac
import nlpaug.augmenter.word as naw
import pandas as pd

from augment_core.augment import function
from augment_core.augment.diff import diff_changes, python_diff_changes
from augment_core.augment.function import FunctionAugmenter

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "projects.csv"
N_PER_ORIGINAL = 3
KEYBOARD = nac.KeyboardAug()
SWAP = naw.RandomWordAug(action="swap")


def keyboard(text: str, rng: random.Random) -> str:
    random.seed(rng.random())  # nlpaug draws from the global generator
    return KEYBOARD.augment(text)[0]


def nlpaug_swap(text: str, rng: random.Random) -> str:
    random.seed(rng.random())
    return SWAP.augment(text)[0]


def word_swap(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    if len(words) < 2:
        return text
    i = rng.randrange(len(words) - 1)
    words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words)


REPEATS = 3
"""Each phase runs this many times, interleaved, and its least time counts (as timeit does):
a shared machine's other work only ever adds time."""


def measure(fn, texts: list[str]) -> dict:
    calls = [0]

    def counted(text: str, rng: random.Random) -> str:
        calls[0] += 1
        return fn(text, rng)

    row_ids = [str(i) for i in range(len(texts))]
    augmenter = FunctionAugmenter(fn.__name__, counted)

    def per_call(run) -> float:
        calls[0] = 0
        t0 = time.process_time()
        run()
        return (time.process_time() - t0) / calls[0]

    def bare_loop() -> None:
        rng = random.Random(0)
        for text in texts:
            for _ in range(N_PER_ORIGINAL):
                counted(text, rng)

    def framework_run() -> None:
        augmenter.generate(texts, row_ids, N_PER_ORIGINAL, seed=42)

    def framework_with(diff) -> Callable[[], None]:
        def run() -> None:
            function.diff_changes = diff
            try:
                framework_run()
            finally:
                function.diff_changes = diff_changes
        return run

    out = augmenter.generate(texts, row_ids, N_PER_ORIGINAL, seed=42)
    pairs = [(text, c.text) for text, variants in zip(texts, out) for c in variants]

    def diff_only(diff) -> float:
        t0 = time.process_time()
        for text, variant in pairs:
            diff(text, variant)
        return (time.process_time() - t0) / len(pairs)

    rounds = [(per_call(bare_loop), per_call(framework_run), per_call(framework_with(python_diff_changes)),
               per_call(framework_with(lambda original, variant: ())), diff_only(diff_changes),
               diff_only(python_diff_changes))
              for _ in range(REPEATS)]
    bare, framework, with_python, without_diff, diff, python_diff = (min(column) for column in zip(*rounds))
    changes = sum(len(diff_changes(text, variant)) for text, variant in pairs)
    return {"plugin": fn.__name__, "rows": len(texts), "variants": len(pairs),
            "changes_per_variant": round(changes / len(pairs), 1),
            "bare_us_per_call": round(bare * 1e6, 1), "framework_us_per_call": round(framework * 1e6, 1),
            "ratio": round(framework / bare, 3), "ratio_python_diff": round(with_python / bare, 3),
            "ratio_without_diff": round(without_diff / bare, 3),
            "diff_us_per_variant": round(diff * 1e6, 1), "python_diff_us_per_variant": round(python_diff * 1e6, 1)}


def main(rows: int) -> None:
    df = pd.read_csv(SAMPLE)
    texts = (df["title"].fillna("") + " " + df["description"].fillna("")).tolist()[:rows]
    for fn in (keyboard, nlpaug_swap, word_swap):
        print(json.dumps(measure(fn, texts)))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
