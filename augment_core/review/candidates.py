"""A candidate as the review works with it: a typed, read-only row.

The store keeps each variant's provenance row as written (:class:`StoredCandidate`);
:func:`prepare` turns those into :class:`CandidateRow` s once per (dataset, runs), with what
the filters need (alias rules, tags, flags, similarity) parsed up front, so filtering 20,000
candidates on every click is attribute access, not JSON parsing.

The tags of a candidate come from its own row's label cell, read with the column mapping
of the run that generated it, so remapping the dataset later never re-labels a candidate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from augment_core.review.fields import VariantFields, labels_of, variant_fields
from augment_core.review.runs import StoredCandidate


@dataclass(frozen=True)
class CandidateRow(VariantFields):
    """One generated variant under review: what its stored row says (:class:`VariantFields`),
    where it is, and its tags."""

    key: str
    """``"<run id>:<row id>"``: what its decision is stored under."""
    run_id: int
    id: str
    parent_id: str
    split: str
    text: str
    original_text: str
    tags: tuple[str, ...]
    row: Mapping[str, Any] = field(repr=False, compare=False)
    """The provenance row as stored (what the export writes)."""


def candidate_row(
    stored: StoredCandidate, settings: Mapping[str, Any] | None, shared: dict[Any, Any] | None = None
) -> CandidateRow:
    """``shared``: what was seen so far, so the variants of one original share one parent id,
    one original text object (a string caches its hash: grouping 20,000 rows per click then
    hashes each original once, not once per variant) and one parse of their label cell."""
    row = stored.row
    shared = {} if shared is None else shared
    mapping = (settings or {}).get("mapping") or {}
    cell = row.get(mapping.get("label_column") or "")
    label_key = ("labels", id(settings), cell if isinstance(cell, str) else repr(cell))
    tags = shared.get(label_key)
    if tags is None:
        tags = shared[label_key] = labels_of(row, settings)
    parent_id = str(row.get("parent_id"))
    original_text = str(row.get("original_text", ""))
    return CandidateRow(
        **vars(variant_fields(row)),
        key=stored.key,
        run_id=stored.run_id,
        id=str(row.get("id")),
        parent_id=shared.setdefault(parent_id, parent_id),
        split=str(row.get("split", "train")),
        text=str(row.get("text", "")),
        original_text=shared.setdefault(original_text, original_text),
        tags=tags,
        row=row,
    )


def prepare(
    stored: Iterable[StoredCandidate], settings_by_run: Mapping[int, Mapping[str, Any] | None]
) -> list[CandidateRow]:
    """Candidate rows, each read with its own run's settings (``run id -> settings``)."""
    shared: dict[Any, Any] = {}
    return [candidate_row(s, settings_by_run.get(s.run_id), shared) for s in stored]
