"""The simplest plug-in: a function ``(text, rng) -> text``.

The framework does what every such function would otherwise get wrong: it seeds a
generator per row and variant (``row_rng(seed, name, row_id, k)``), so a row's variants
depend only on the row, the parameters and the seed, never on row order or batching; it
drops outputs equal to the original or to an earlier variant; and it computes the change
spans with the word-level diff.
"""

from __future__ import annotations

import random
from typing import Any, Callable, Sequence, TypeVar

from augment_core.augment.augmenter import Progress
from augment_core.augment.changes import Candidate
from augment_core.augment.diff import diff_changes
from augment_core.errors import InputError
from augment_core.rng import variant_rngs

TextFunction = Callable[[str, random.Random], "str | None"]
ATTEMPTS_PER_VARIANT = 3
"""Calls per wanted variant before a row gives up: a function that often returns its
input (a short text, nothing to change) must not loop forever."""
PROGRESS_EVERY = 64


class PluginError(InputError):
    """A plug-in's own code failed: one line naming the plug-in and the row."""


def one_line(e: BaseException) -> str:
    """An exception from someone else's code as one line: its type and first line."""
    lines = str(e).strip().splitlines()
    return f"{type(e).__name__}: {lines[0]}" if lines else type(e).__name__


def collect_variants(text: str, n_per_original: int, attempt: Callable[[int], Any], name: str, row_id: str,
                     attempts_per_variant: int = ATTEMPTS_PER_VARIANT) -> list[str]:
    """Up to ``n_per_original`` distinct variants of ``text`` from ``attempt(k)``, k = 0, 1, ...
    (``None``: no variant this time); :func:`with_spans` gives them their changes."""
    seen = {text}
    variants: list[str] = []
    for k in range(n_per_original * attempts_per_variant):
        try:
            variant = attempt(k)
        except Exception as e:
            raise PluginError(f"augmenter {name} failed on row {row_id}: {one_line(e)}") from e
        if variant is None:
            continue
        if not isinstance(variant, str):
            raise PluginError(f"augmenter {name} returned {type(variant).__name__} on row {row_id}, not text")
        if variant in seen:
            continue
        variant = str(variant)  # a str subclass (numpy's) stored as plain text
        seen.add(variant)
        variants.append(variant)
        if len(variants) == n_per_original:
            break
    return variants


def with_spans(texts: Sequence[str], variants: Sequence[list[str]]) -> list[list[Candidate]]:
    """Each row's variants with their change spans. The diffs run after the batch's calls, not
    between them: back to back, the diff's code and data stay in the CPU's caches, and so do
    the plug-in's (bench/plugin_overhead.py: 3% of an nlpaug call)."""
    return [[Candidate(variant, diff_changes(text, variant)) for variant in row] for text, row in
            zip(texts, variants, strict=True)]


RowResult = TypeVar("RowResult")


def run_rows(texts: Sequence[str], row_ids: Sequence[str], n_per_original: int, progress: Progress | None,
             one_row: Callable[[str, str], RowResult]) -> list[RowResult]:
    """``one_row(text, row_id)`` for every row, reporting progress every few rows."""
    out = []
    done = 0
    for text, row_id in zip(texts, row_ids, strict=True):
        out.append(one_row(text, row_id))
        done += 1
        if progress is not None and done == PROGRESS_EVERY:
            progress(done)
            done = 0
    if progress is not None and done:
        progress(done)
    return out


class FunctionAugmenter:
    """The :class:`augment_core.augment.augmenter.Augmenter` protocol around a text function."""

    def __init__(self, name: str, fn: TextFunction, params: dict[str, Any] | None = None,
                 attempts_per_variant: int = ATTEMPTS_PER_VARIANT) -> None:
        self._name = name
        self.fn = fn
        self._params = dict(params or {})
        self.attempts_per_variant = attempts_per_variant

    @property
    def name(self) -> str:
        return self._name

    def params(self) -> dict[str, Any]:
        """The function (module and name) and the settings it was given: with the seed,
        what reproduces the output."""
        fn = self.fn
        where = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', type(fn).__name__)}"
        return {"function": where, **self._params}

    def generate(self, texts: Sequence[str], row_ids: Sequence[str], n_per_original: int, seed: int,
                 progress: Progress | None = None) -> list[list[Candidate]]:
        fn, name = self.fn, self._name

        def one_row(text: str, row_id: str) -> list[str]:
            rng = variant_rngs(seed, name, row_id)
            return collect_variants(text, n_per_original, lambda k: fn(text, rng(k)), name, row_id,
                                    self.attempts_per_variant)

        return with_spans(texts, run_rows(texts, row_ids, n_per_original, progress, one_row))
