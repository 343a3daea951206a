"""The review index: what the review page filters, sorts, pages and counts by, one narrow
row per variant, written with its run's candidates (the tables are in
:mod:`augment_core.review.schema`; :mod:`augment_core.review.query` reads them).

The store writes the :class:`Facts` it is given and computes none: they are taken from a
variant by :func:`augment_core.review.facts.facts_of` before it is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from augment_core.review.database import Conn, insert_rows, upsert, upsert_ids
from augment_core.review.keys import candidate_key
from augment_core.review.schema import review_groups, review_value_counts, review_values

ITEM_SHIFT = 32
"""A variant's row id in the review index is ``run id << ITEM_SHIFT | position``: ordered by
run, then position, whatever order runs are written in."""

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
    """What the review index holds of one variant (computed by
    :func:`augment_core.review.facts.facts_of`; the store only writes it)."""

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


ITEM_COLUMNS = ("rid", "run_id", "pos", "key", "grp", "augmenter", "similarity", "agreement", "flagged",
                *(k for k in SORT_COLUMNS.values() if k))


def item_rid(run_id: int, pos: int) -> int:
    return (run_id << ITEM_SHIFT) | pos


def drop_index(c: Conn, run_id: int) -> None:
    """Remove a run's rows from the review index (a failed or repeated indexing)."""
    lo, hi = item_rid(run_id, 0), item_rid(run_id + 1, 0)
    c.execute("DELETE FROM review_item_values WHERE rid >= ? AND rid < ?", (lo, hi))
    c.execute("DELETE FROM review_text WHERE rid >= ? AND rid < ?", (lo, hi))
    c.execute("DELETE FROM review_items WHERE rid >= ? AND rid < ?", (lo, hi))
    c.execute("DELETE FROM review_value_counts WHERE run_id = ?", (run_id,))


@dataclass
class IndexChunk:
    """One chunk of a run's variants for the review index: ``(position, row, facts)`` (facts
    computed before the write lock is taken; :meth:`write` runs inside the chunk's transaction)."""

    dataset_hash: str
    run_id: int
    rows: list[tuple[int, Mapping[str, Any], Facts]]

    def write(self, c: Conn) -> None:
        if not self.rows:
            return
        h = self.dataset_hash
        groups: dict[str, str] = {}
        for _, _, f in self.rows:
            groups.setdefault(f.group, f.original)
        gid = {d: ident for (_, d), ident in upsert_ids(
            c, review_groups, [{"dataset_hash": h, "digest": d, "original": o} for d, o in groups.items()],
            ("dataset_hash", "digest")).items()}
        values: dict[tuple[str, str], int] = {}
        for _, _, f in self.rows:
            for v in f.values:
                values[v] = values.get(v, 0) + 1
        vid = {(k, v): ident for (_, k, v), ident in upsert_ids(
            c, review_values, [{"dataset_hash": h, "kind": k, "value": v} for k, v in values],
            ("dataset_hash", "kind", "value")).items()}
        seen_rules: set[str] = set()
        for _, _, f in self.rows:
            for rule, agreement, support in f.rule_agreement:
                if rule not in seen_rules:
                    seen_rules.add(rule)
                    c.execute("UPDATE review_values SET agreement = ?, support = ? WHERE id = ? AND agreement IS NULL",
                              (agreement, support, vid[("rule", rule)]))
        items = []
        texts = []
        links: dict[tuple[int, int], None] = {}  # a value listed twice is linked once
        for pos, row, f in self.rows:
            rid = item_rid(self.run_id, pos)
            items.append((rid, self.run_id, pos, candidate_key(self.run_id, str(row["id"])), gid[f.group],
                          f.augmenter, f.similarity, f.agreement, int(f.flagged), *f.sort_keys()))
            texts.append((rid, f.text))
            links.update(((vid[v], rid), None) for v in f.values)
        insert_rows(c, "review_items", ITEM_COLUMNS, items)
        insert_rows(c, "review_text", ("rid", "text"), texts)
        insert_rows(c, "review_item_values", ("value_id", "rid"), list(links))
        upsert(c, review_value_counts, [{"run_id": self.run_id, "value_id": vid[v], "n": n} for v, n in values.items()],
               ("run_id", "value_id"), lambda new: {"n": review_value_counts.c.n + new.n})
