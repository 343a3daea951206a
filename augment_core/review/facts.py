"""What the review filters, sorts and counts by, taken from a stored variant once, when its
run is stored, so the store can page, filter and count in SQL (see
:mod:`augment_core.review.query`) instead of holding every candidate in Python.

The same fields :class:`~augment_core.review.candidates.CandidateRow` has (alias rules, word
changes, agreement, tags read with the run's own mapping, flags, similarity), from the same
functions, so a filter in SQL and a filter over rows give the same answer; plus each sort
order's key as one number (see :data:`~augment_core.review.index.SORT_COLUMNS`) and the
lower-cased texts the text search looks in.

They are computed here, before a run is stored (:func:`store_run`), and handed to the store,
which writes them into the review index and computes nothing itself.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any, Iterator, Mapping, Sequence

from augment_core.review.fields import NO_FLAG, labels_of, variant_fields
from augment_core.review.index import Facts
from augment_core.review.store import Store
from augment_core.runners.pipeline import ORIGINAL


def group_digest(parent_id: str, original_text: str) -> str:
    return hashlib.sha1(f"{parent_id}\x00{original_text}".encode("utf-8", "surrogatepass")).hexdigest()


def facts_of(row: Mapping[str, Any], settings: Mapping[str, Any] | None) -> Facts:
    """The facts of one stored variant row, its tags read with its run's ``settings``."""
    f = variant_fields(row)
    tags = labels_of(row, settings)
    values: list[tuple[str, str]] = [("augmenter", f.augmenter)]
    values += [("tag", t) for t in dict.fromkeys(tags)]
    values += [("rule", r) for r in f.rules]
    values += [("word_change", w) for w in f.word_changes]
    values += [("flag", flag) for flag in dict.fromkeys(f.flags or (NO_FLAG,))]
    rule_agreement = []
    if f.augmenter == "alias_swap" and f.agreement is not None:
        for ch, rule in zip(f.changes, f.rules):
            if ch.agreement is not None and ch.support is not None:
                rule_agreement.append((rule, ch.agreement, ch.support))
    parent_id = str(row.get("parent_id"))
    original = str(row.get("original_text", ""))
    return Facts(
        group=group_digest(parent_id, original),
        augmenter=f.augmenter,
        similarity=f.similarity,
        agreement=f.agreement,
        support=f.support,
        flagged=bool(f.flags),
        values=tuple(values),
        rule_agreement=tuple(rule_agreement),
        text=str(row.get("text", "")).lower(),
        original=original.lower(),
    )


def reviewed_facts(row: Mapping[str, Any], settings: Mapping[str, Any] | None) -> Facts | None:
    """The facts of a stored row the review shows; None for an original (never reviewed)."""
    return None if str(row.get("augmenter", "")) == ORIGINAL else facts_of(row, settings)


def run_facts(rows: Sequence[Mapping[str, Any]], settings: Mapping[str, Any] | None) -> Iterator[Facts | None]:
    """The facts of each of a run's rows, in order, computed as the store takes them."""
    return (reviewed_facts(r, settings) for r in rows)


def store_run(store: Store, dataset_hash: str, params: Mapping[str, Any], rows: Sequence[Mapping[str, Any]],
              settings: Mapping[str, Any] | None) -> int:
    """Store one augmentation run's provenance rows (originals and variants) with the dataset
    settings they were generated from, its variants in the review index; the run's id."""
    return store.add_run(dataset_hash, params, rows, settings, run_facts(rows, settings))


def open_store(data_dir: str | os.PathLike[str] | None = None, write_wait: float | None = None) -> Store:
    """The store, with the runs of a database from before the review index put into it
    (runs on every open; a read when there is nothing to index)."""
    store = Store(data_dir, write_wait)
    store.index_runs(reviewed_facts)
    return store
