"""A plug-in function's framework overhead: FunctionAugmenter (a generator seeded per row and
variant, duplicate dropping, the word-level diff) against calling the same function in a bare
loop with one generator, in the same process, per call (CPU time); the diff's share is
measured apart (its own target: bench/diff.py), and the framework is run again with the diff
left out (``ratio_without_diff``: the generator seeded per row and variant, the duplicate
check). Three plug-ins: nlpaug's KeyboardAug
(many changed words per variant), nlpaug's RandomWordAug swap (a few) and a pure-Python word
swap (a few microseconds a call: the worst case).
Usage: python bench/plugin_overhead.py [ROWS]"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

import nlpaug.augmenter.char as nac
import nlpaug.augmenter.word as naw
import pandas as pd

from augment_core.augment import function
from augment_core.augment.diff import diff_changes
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


def measure(fn, texts: list[str]) -> dict:
    calls = [0]

    def counted(text: str, rng: random.Random) -> str:
        calls[0] += 1
        return fn(text, rng)

    rng = random.Random(0)
    t0 = time.process_time()
    for text in texts:
        for _ in range(N_PER_ORIGINAL):
            counted(text, rng)
    bare = (time.process_time() - t0) / calls[0]
    calls[0] = 0
    augmenter = FunctionAugmenter(fn.__name__, counted)
    t0 = time.process_time()
    out = augmenter.generate(texts, [str(i) for i in range(len(texts))], N_PER_ORIGINAL, seed=42)
    framework = (time.process_time() - t0) / calls[0]
    pairs = [(text, c.text) for text, variants in zip(texts, out) for c in variants]
    t0 = time.process_time()
    for text, variant in pairs:
        diff_changes(text, variant)
    diff = (time.process_time() - t0) / calls[0]
    # the framework again with the diff left out: what it costs besides (the row's generator)
    calls[0] = 0
    function.diff_changes = lambda original, variant: ()
    try:
        t0 = time.process_time()
        augmenter.generate(texts, [str(i) for i in range(len(texts))], N_PER_ORIGINAL, seed=42)
        without_diff = (time.process_time() - t0) / calls[0]
    finally:
        function.diff_changes = diff_changes
    return {"plugin": fn.__name__, "rows": len(texts), "variants": len(pairs),
            "bare_us_per_call": round(bare * 1e6, 1), "framework_us_per_call": round(framework * 1e6, 1),
            "ratio": round(framework / bare, 3), "diff_us_per_call": round(diff * 1e6, 1),
            "ratio_without_diff": round(without_diff / bare, 3)}


def main(rows: int) -> None:
    df = pd.read_csv(SAMPLE)
    texts = (df["title"].fillna("") + " " + df["description"].fillna("")).tolist()[:rows]
    for fn in (keyboard, nlpaug_swap, word_swap):
        print(json.dumps(measure(fn, texts)))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
