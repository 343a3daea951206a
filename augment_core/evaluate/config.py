"""The experiment's settings: a light module (no numpy, no scikit-learn), so the CLI can
show their defaults in ``--help`` without importing the heavy parts."""

from __future__ import annotations

from dataclasses import dataclass

from augment_core.errors import InputError


@dataclass(frozen=True)
class EvalConfig:
    seeds: int = 5
    seed: int = 0
    train_fraction: float = 0.9
    """Share of train originals each seed trains on (1.0: all of them, every seed)."""
    bootstrap: int = 1000
    max_tags: int = 30
    """Multi-label: score the most frequent train tags, at most this many..."""
    min_tag_count: int = 5
    """...carried by at least this many train originals (rarer tags cannot be learnt)."""
    c: float = 1.0

    def check(self) -> "EvalConfig":
        if self.seeds < 1:
            raise InputError("--seeds must be at least 1")
        if not 0.0 < self.train_fraction <= 1.0:
            raise InputError("--train-fraction must be in (0, 1]")
        if self.bootstrap < 100:
            raise InputError("--bootstrap must be at least 100 replicates")
        if self.max_tags < 1 or self.min_tag_count < 1:
            raise InputError("--max-tags and --min-tag-count must be at least 1")
        if not self.c > 0:
            raise InputError("C must be > 0")
        return self
