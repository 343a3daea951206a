"""The alias swap as a Snorkel transformation function.

For code that composes augmentations with Snorkel's policies and appliers, as the lesson
does. Each call for a row hands out that row's next distinct variant (the same variants,
in the same order, as :meth:`AliasSwap.generate`), and ``None`` once they run out, which
Snorkel takes as "no transformation": so ``ApplyOnePolicy(n_per_original=5)`` yields up to
five distinct variants and no duplicates to drop afterwards. Snorkel's pandas applier
copies the row for every call (about 0.5 ms per generated row); the batch path in
:mod:`augment_core.runners.pipeline` does not, and is what the CLI and the app use.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from augment_core.augment.alias_swap import AliasSwap


def alias_swap_tf(swap: AliasSwap, n_per_original: int, seed: int, text_field: str = "text", id_field: str = "id") -> Any:
    from snorkel.augmentation import transformation_function

    calls: defaultdict[str, int] = defaultdict(int)
    cache: dict[str, list[str]] = {}

    @transformation_function(name=swap.name)
    def swap_aliases(x: Any) -> Any:
        row_id = str(x[id_field])
        if row_id not in cache:
            cache[row_id] = [c.text for c in swap.variants(x[text_field], row_id, n_per_original, seed)]
        k = calls[row_id]
        calls[row_id] += 1
        if k >= len(cache[row_id]):
            return None
        x[text_field] = cache[row_id][k]
        return x

    return swap_aliases
