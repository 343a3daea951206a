"""What the review filters, sorts and counts by, taken from a stored variant once, when its
run is stored, so the store can page, filter and count in SQL (see
:mod:`augment_core.review.query`) instead of holding every candidate in Python.

The same fields :class:`~augment_core.review.candidates.CandidateRow` has (alias rules, word
changes, agreement, tags read with the run's own mapping, flags, similarity), from the same
functions, so a filter in SQL and a filter over rows give the same answer; plus each sort
order's key as one number (see :data:`SORT_COLUMNS`) and the lower-cased texts the text
search looks in.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Mapping

from augment_core.changes import Change, changes_from_json
from augment_core.dataset import parse_labels
from augment_core.errors import InputError
from augment_core.review.filters import NO_FLAG, agreement_of, flags_of, float_or_none, rules_of, word_changes_of

NONE_LAST = 1e308
"""The sort key of a variant without the value sorted by: after every real value."""

SORT_COLUMNS = {
    "original order": None,
    "lowest similarity first": "k_sim",
    "highest similarity first": "k_simd",
    "lowest keyword agreement first": "k_agr",
    "flagged first": "k_flag",
}
"""Sort order (``filters.SORTS``) -> the column of ``review_items`` holding its key (ties, and
"original order", go by the order the variants were stored in: run, then position)."""


@dataclass(frozen=True)
class Facts:
    group: str
    """A digest of (parent id, original text): an original, as ``filters.group_by_original`` has it."""
    augmenter: str
    similarity: float | None
    agreement: float | None
    support: int | None
    flagged: bool
    values: tuple[tuple[str, str], ...]
    """``(kind, value)`` for the multi-valued facets: ``tag``, ``rule``, ``word_change``,
    ``flag`` (``(no flag)`` when none), ``augmenter``."""
    rule_agreement: tuple[tuple[str, float, int], ...]
    """``(rule, agreement, support)`` of each alias rule with a recorded agreement."""
    text: str
    """The variant's text, lower-cased (text search)."""
    original: str
    """The original text, lower-cased."""

    def sort_keys(self) -> tuple[float, float, float, float]:
        """(k_sim, k_simd, k_agr, k_flag): what ``filters.sort_items`` sorts by, as numbers."""
        sim = self.similarity
        return (
            NONE_LAST if sim is None else sim,
            NONE_LAST if sim is None else -sim,
            NONE_LAST if self.agreement is None else self.agreement,
            (0.0 if self.flagged else 10.0) + (2.0 if sim is None else sim),
        )


def group_digest(parent_id: str, original_text: str) -> str:
    return hashlib.sha1(f"{parent_id}\x00{original_text}".encode("utf-8", "surrogatepass")).hexdigest()


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


def facts_of(row: Mapping[str, Any], settings: Mapping[str, Any] | None) -> Facts:
    """The facts of one stored variant row, its tags read with its run's ``settings``."""
    changes = parse_changes(row.get("changes"))
    augmenter = str(row.get("augmenter", ""))
    rules = rules_of(changes, augmenter)
    words = word_changes_of(changes, augmenter)
    agreement, support = agreement_of(changes)
    flags = flags_of(row.get("flags"))
    tags = labels_of(row, settings)
    values: list[tuple[str, str]] = [("augmenter", augmenter)]
    values += [("tag", t) for t in dict.fromkeys(tags)]
    values += [("rule", r) for r in rules]
    values += [("word_change", w) for w in words]
    values += [("flag", f) for f in dict.fromkeys(flags or (NO_FLAG,))]
    rule_agreement = []
    if augmenter == "alias_swap" and agreement is not None:
        for ch, rule in zip(changes, rules):
            if ch.agreement is not None and ch.support is not None:
                rule_agreement.append((rule, ch.agreement, ch.support))
    parent_id = str(row.get("parent_id"))
    original = str(row.get("original_text", ""))
    return Facts(
        group=group_digest(parent_id, original),
        augmenter=augmenter,
        similarity=float_or_none(row.get("similarity")),
        agreement=agreement,
        support=support,
        flagged=bool(flags),
        values=tuple(values),
        rule_agreement=tuple(rule_agreement),
        text=str(row.get("text", "")).lower(),
        original=original.lower(),
    )
