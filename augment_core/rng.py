"""Per-row randomness.

Each row's random choices come from a generator seeded with (seed, augmenter, row id), so a
row's variants do not depend on row order, on batching or on which other rows are in the
run. ``random.Random`` hashes a string seed with SHA-512, so this is stable across
processes and Python's hash randomisation.
"""

from __future__ import annotations

import random
from typing import Callable


def row_rng(seed: int, *parts: object) -> random.Random:
    return random.Random("|".join([str(seed), *map(str, parts)]))


def variant_rngs(seed: int, *parts: object) -> Callable[[int], random.Random]:
    """``k -> row_rng(seed, *parts, k)``: a row's generators, one per variant, with the row's
    part of the seed string joined once (a plug-in's framework overhead is counted in
    microseconds per call)."""
    prefix = "|".join([str(seed), *map(str, parts), ""])
    return lambda k: random.Random(prefix + str(k))


def row_seed(seed: int, *parts: object) -> int:
    """A 63-bit integer seed for libraries that want one (torch generators)."""
    return row_rng(seed, *parts).getrandbits(63)
