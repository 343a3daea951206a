"""A bounded cache keyed by text, for work that depends on a text alone.

Corpora repeat texts (boilerplate, duplicates, one text in several rows), and a run reads
each train text more than once (fit, then augment): keyword matches and an alias swap's
candidates are kept per text. Bounded by count, so a long-lived process (the app) holds
little: when full, the older half goes.
"""

from __future__ import annotations

from typing import TypeVar

V = TypeVar("V")

TEXTS_KEPT = 1 << 15
"""Texts a cache keeps at most (the last few tens of thousands seen)."""


def remember(cache: dict[str, V], text: str, value: V) -> V:
    """``cache[text] = value``, the older half of ``cache`` dropped when it is full; ``value``."""
    cache[text] = value
    if len(cache) > TEXTS_KEPT:
        for old in list(cache)[: TEXTS_KEPT // 2]:
            del cache[old]
    return value
