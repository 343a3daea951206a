"""What a stored variant row says, read the same way wherever it is read: its alias rules,
word changes, keyword agreement, flags, similarity and tags.

The review index (:mod:`augment_core.review.facts`, computed when a run is stored) and the
rows the page shows (:mod:`augment_core.review.candidates`) both read rows through these, so
a filter in SQL and a filter over rows give the same answer.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Mapping

from augment_core.augment.agreement import MIN_SUPPORT
from augment_core.augment.aliases import normalize_key
from augment_core.augment.changes import Change, changes_from_json
from augment_core.data.dataset import parse_labels
from augment_core.errors import InputError

NO_FLAG = "(no flag)"
"""The flag facet's value of a variant without flags."""


def _parsed(changes: Any) -> tuple[Any, ...]:
    try:
        return tuple(changes_from_json(changes)) if not isinstance(changes, tuple) else changes
    except (ValueError, TypeError, KeyError):
        return ()


def rules_of(changes: Any, augmenter: str = "alias_swap") -> tuple[str, ...]:
    """The alias rules an alias swap applied: ``"cv -> computer vision"``, one per swap.
    Other augmenters apply no alias rule (see :func:`word_changes_of`)."""
    if augmenter != "alias_swap":
        return ()
    out: list[str] = []
    for ch in _parsed(changes):
        rule = f"{normalize_key(ch.before)} -> {normalize_key(ch.after)}"
        if rule not in out:
            out.append(rule)
    return tuple(out)


def word_changes_of(changes: Any, augmenter: str) -> tuple[str, ...]:
    """A contextual augmenter's word changes: ``"of -> verse"``, ``"+ word"``, ``"- word"``."""
    if augmenter == "alias_swap":
        return ()
    out: list[str] = []
    for ch in _parsed(changes):
        if ch.kind == "substitute":
            change = f"{normalize_key(ch.before)} -> {normalize_key(ch.after)}"
        elif ch.kind == "insert":
            change = f"+ {normalize_key(ch.after)}"
        else:
            change = f"- {normalize_key(ch.before)}"
        if change not in out:
            out.append(change)
    return tuple(out)


def agreement_of(changes: Any) -> tuple[float | None, int | None]:
    """The lowest keyword agreement among a variant's alias swaps that have the support to
    judge (see :mod:`augment_core.augment.agreement`), with its support; else of any swap; (None,
    None) for a variant without recorded agreement."""
    known = [(ch.agreement, ch.support) for ch in _parsed(changes) if ch.agreement is not None and ch.support]
    judged = [k for k in known if k[1] >= MIN_SUPPORT] or known
    return min(judged) if judged else (None, None)


def flags_of(raw: Any) -> tuple[str, ...]:
    """A row's quality flags, however they were stored (JSON list, a bare string, NaN)."""
    if raw is None or raw == "" or (isinstance(raw, float) and math.isnan(raw)):
        return ()
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return (raw,)
    if isinstance(raw, (list, tuple)):
        return tuple(str(f) for f in raw)
    return (str(raw),)


def float_or_none(value: Any) -> float | None:
    """A similarity as a float; None when missing or NaN (a run without quality signals)."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def labels_of(row: Mapping[str, Any], settings: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The row's labels, read from its label cell with the mapping in ``settings``."""
    mapping = (settings or {}).get("mapping") or {}
    column = mapping.get("label_column")
    if not column or column not in row:
        return ()
    try:
        return parse_labels(row[column], mapping.get("label_format", "auto"), mapping.get("label_sep", ","))
    except InputError:
        return ()


def parse_changes(raw: Any) -> tuple[Change, ...]:
    try:
        return tuple(changes_from_json(raw))
    except (ValueError, TypeError, KeyError):
        return ()


@dataclass(frozen=True)
class VariantFields:
    """What one stored variant row says, read once: the review's rows
    (:class:`~augment_core.review.candidates.CandidateRow`) and the review index's facts
    (:func:`~augment_core.review.facts.facts_of`) both start from it, so the two can never
    read a row differently. Tags are apart (:func:`labels_of`): they need the run's settings,
    and the review's rows share one parse of each label cell."""

    augmenter: str
    changes: tuple[Change, ...]
    rules: tuple[str, ...]
    """The alias rules it applied (alias swaps only): ``"cv -> computer vision"``."""
    word_changes: tuple[str, ...]
    """A contextual augmenter's word changes: ``"of -> verse"``, ``"+ word"``."""
    agreement: float | None
    """The lowest train-split agreement of a keyword it swapped (alias swaps), and its support."""
    support: int | None
    flags: tuple[str, ...]
    similarity: float | None


def variant_fields(row: Mapping[str, Any]) -> VariantFields:
    changes = parse_changes(row.get("changes"))
    augmenter = str(row.get("augmenter", ""))
    agreement, support = agreement_of(changes)
    return VariantFields(
        augmenter=augmenter,
        changes=changes,
        rules=rules_of(changes, augmenter),
        word_changes=word_changes_of(changes, augmenter),
        agreement=agreement,
        support=support,
        flags=flags_of(row.get("flags")),
        similarity=float_or_none(row.get("similarity")),
    )
