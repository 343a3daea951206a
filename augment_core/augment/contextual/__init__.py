"""Contextual augmenters: a masked language model substitutes or inserts words, never
touching the keywords that decide the tags.

Two engines behind one set of settings (:mod:`.settings`): the native one (:mod:`.native`:
word choice, prediction, assembly on a model session) and nlpaug's
``ContextualWordEmbsAug`` (:mod:`.nlpaug_engine`), the lesson's, kept for comparison.
"""

from __future__ import annotations

from typing import Any

from augment_core.augment.contextual.native import ContextualInsert, ContextualSubstitute
from augment_core.augment.contextual.nlpaug_engine import NlpaugContextual
from augment_core.augment.contextual.settings import Action, ContextualSettings, Engine
from augment_core.errors import InputError

__all__ = ["ContextualInsert", "ContextualSettings", "ContextualSubstitute", "NlpaugContextual", "make_contextual"]


def make_contextual(action: Action, engine: Engine = "native", **params: Any) -> Any:
    """The augmenter for ``--augmenter contextual_<action> --engine <engine>``."""
    if action not in ("substitute", "insert"):
        raise InputError(f"unknown contextual action {action!r}: use substitute or insert")
    if engine == "native":
        return (ContextualSubstitute if action == "substitute" else ContextualInsert)(**params)
    if engine == "nlpaug":
        return NlpaugContextual(action=action, **params)
    raise InputError(f"unknown engine {engine!r}: use native or nlpaug")
