"""What both contextual engines (native and nlpaug) take, checked once, and how a run
records it. Its own module so that neither engine imports the other."""

from __future__ import annotations

from typing import Any, Literal, Sequence

from augment_core.augment.aliases import AliasTable
from augment_core.augment.protection import Protector
from augment_core.errors import InputError

Action = Literal["substitute", "insert"]
Engine = Literal["native", "nlpaug"]

DEFAULT_TOP_K = 50
DEFAULT_BATCH_SIZE = 32
MAX_ROUNDS = 3
"""Attempts (rounds of ``n`` variants) per row before giving up on reaching ``n`` distinct
variants: a short text with few free words may have fewer than ``n``."""


class ContextualSettings:
    """What both engines (native and nlpaug) take, checked once, and how it is recorded."""

    engine = "native"

    def __init__(
        self,
        model: str | None = None,
        aug_p: float = 0.3,
        aug_max: int | None = None,
        top_k: int = DEFAULT_TOP_K,
        device: str = "auto",
        protected_table: AliasTable | None = None,
        protect_words: Sequence[str] = (),
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        from augment_core.augment.models import resolve_model_name

        if not 0.0 < aug_p <= 1.0:
            raise InputError(f"--aug-p must be in (0, 1], got {aug_p}")
        if aug_max is not None and aug_max < 1:
            raise InputError(f"--aug-max must be at least 1, got {aug_max}")
        if top_k < 1:
            raise InputError(f"--top-k must be at least 1, got {top_k}")
        if batch_size < 1:
            raise InputError(f"--batch-size must be at least 1, got {batch_size}")
        self.model_name = resolve_model_name(model)
        self.aug_p = float(aug_p)
        self.aug_max = aug_max
        self.top_k = int(top_k)
        self.device = device
        self.batch_size = int(batch_size)
        self.protect_words = tuple(protect_words)
        self.protector = Protector(protected_table, self.protect_words)

    def params(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "model": self.model_name,
            "aug_p": self.aug_p,
            "aug_max": self.aug_max,
            "top_k": self.top_k,
            "protect": list(self.protect_words),
        }
