"""What every augmenter provides, so the pipeline, the CLI and the app treat them alike."""

from __future__ import annotations

from typing import Any, Callable, Protocol, Sequence

from augment_core.augment.changes import Candidate

Progress = Callable[[int], None]
"""Called with the number of originals just finished (an increment, not a total)."""


class Augmenter(Protocol):
    @property
    def name(self) -> str:
        """What the output's ``augmenter`` column says; part of every variant's id."""
        ...

    def params(self) -> dict[str, Any]:
        """The parameters that, with the seed, reproduce this augmenter's output."""
        ...

    def generate(
        self,
        texts: Sequence[str],
        row_ids: Sequence[str],
        n_per_original: int,
        seed: int,
        progress: Progress | None = None,
    ) -> list[list[Candidate]]:
        """Up to ``n_per_original`` distinct variants per text, none equal to the text.

        Row ``i``'s variants depend only on (``texts[i]``, ``row_ids[i]``, params, seed),
        never on the other rows or on how they are batched.
        """
        ...
