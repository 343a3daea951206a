"""Reviewers' decisions in the review store: one per candidate key and reviewer (the signed-in
e-mail; ``"local"`` without sign-in), each reviewer's kept apart, and the primitives the
writes in :mod:`augment_core.review.decide` use inside their transaction.

Rule keys (:func:`~augment_core.review.keys.rule_key`) are read and written in
:mod:`augment_core.review.rules`' table; every other key in ``decisions``.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from augment_core.review.database import Conn, Database, among, marks
from augment_core.review.keys import split_rule_key
from augment_core.review.rules import apply_rules, current_rules
from augment_core.review.schema import LOCAL_REVIEWER

DECISIONS = ("accepted", "rejected")
MAX_REVIEWER = 320
"""The longest reviewer name (an e-mail address is at most 320 characters)."""


def check_reviewer(reviewer: str) -> None:
    if not isinstance(reviewer, str) or not reviewer.strip() or len(reviewer) > MAX_REVIEWER:
        raise ValueError(f"reviewer must be a non-empty name of at most {MAX_REVIEWER} characters, not {reviewer!r}")


def decisions_of() -> str:
    """The SQL source of one reviewer's decisions on the dataset, ``(key, decision,
    decided_at)`` rows, for the named parameters ``:hash`` and ``:reviewer``: every read of
    decisions in SQL (status filters and counts, bulk actions over a filter) goes through here."""
    return "(SELECT key, decision, decided_at FROM decisions WHERE dataset_hash = :hash AND reviewer = :reviewer)"


def current(c: Conn, dataset_hash: str, keys: list[str], reviewer: str) -> dict[str, str]:
    """One reviewer's decisions of ``keys`` (row and rule keys), as the connection sees them."""
    out = current_rules(c, dataset_hash, keys, reviewer)
    for cond, args in among(c.dialect, "key", keys):
        for k, d in c.execute(f"SELECT key, decision FROM decisions WHERE dataset_hash = ? AND reviewer = ? AND {cond}",
                              (dataset_hash, reviewer, *args)):
            out[k] = d
    return out


ASSUMPTION_FAILED = "22012"
"""The SQLSTATE (division by zero) by which :func:`assume`'s check ends a write."""


def assume(c: Conn, dataset_hash: str, expected: Mapping[str, str | None], reviewer: str) -> bool:
    """Queue a check that fails the write (:data:`ASSUMPTION_FAILED`, nothing written) unless
    each of ``expected``'s row keys still has that decision of ``reviewer`` (None: none), so a
    write computed from what the page showed needs no read first: on PostgreSQL the whole
    decision is one round trip. False (nothing queued) where that does not pay: on SQLite (a
    read costs no round trip) or for rule keys."""
    if c.dialect == "sqlite" or any(split_rule_key(k) is not None for k in expected):
        return False
    c.queue("SELECT 1 / (NOT EXISTS (SELECT 1 FROM unnest(?::text[], ?::text[]) AS t(key, expected)"
            " LEFT JOIN decisions d ON d.dataset_hash = ? AND d.reviewer = ? AND d.key = t.key"
            " WHERE d.decision IS DISTINCT FROM t.expected))::int",
            (list(expected), list(expected.values()), dataset_hash, reviewer))
    return True


def assumption_failed(exc: BaseException) -> bool:
    """Whether a write ended because what :func:`assume` checked had changed."""
    return getattr(getattr(exc, "orig", None), "sqlstate", None) == ASSUMPTION_FAILED


def apply(c: Conn, dataset_hash: str, changes: Mapping[str, str | None], now: float, reviewer: str) -> None:
    """Write one reviewer's ``changes`` (key -> decision; None clears it)."""
    changes = apply_rules(c, dataset_hash, changes, now, reviewer)
    clear = [k for k, d in changes.items() if d is None]
    put = [(dataset_hash, k, reviewer, d, now) for k, d in changes.items() if d is not None]
    for cond, args in among(c.dialect, "key", clear):  # a set at a time: the undo of a bulk clears 300,000
        c.queue(f"DELETE FROM decisions WHERE dataset_hash = ? AND reviewer = ? AND {cond}", (dataset_hash, reviewer, *args))
    c.queue(
        "INSERT INTO decisions (dataset_hash, key, reviewer, decision, decided_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (dataset_hash, key, reviewer) DO UPDATE SET decision = excluded.decision,"
        " decided_at = excluded.decided_at",
        put, many=True,
    )


def decisions(db: Database, dataset_hash: str, reviewer: str = LOCAL_REVIEWER) -> dict[str, str]:
    """One reviewer's decisions: key -> ``accepted`` / ``rejected`` (undecided keys absent)."""
    rows = db.query("SELECT key, decision FROM decisions WHERE dataset_hash = ? AND reviewer = ?",
                    (dataset_hash, reviewer))
    return {k: d for k, d in rows}


def decisions_by_reviewer(
    db: Database, dataset_hash: str, run_ids: Sequence[int] | None = None
) -> dict[str, dict[str, str]]:
    """Every reviewer's decisions: reviewer -> key -> decision (reviewers with none absent).
    ``run_ids``: only decisions on these runs' indexed variants, so that counts made from
    them (conflicts, kappa) cover what a list of those runs can show."""
    sql = "SELECT reviewer, key, decision FROM decisions WHERE dataset_hash = ?"
    args: list[Any] = [dataset_hash]
    if run_ids is not None:
        sql += f" AND key IN (SELECT key FROM review_items WHERE run_id IN ({marks(len(run_ids)) or 'NULL'}))"
        args += [int(r) for r in run_ids]
    out: dict[str, dict[str, str]] = {}
    for reviewer, k, d in db.query(sql + " ORDER BY reviewer", tuple(args)):
        out.setdefault(reviewer, {})[k] = d
    return out


def reviewers(db: Database, dataset_hash: str) -> list[str]:
    """The reviewers with at least one decision on the dataset, in name order (an index
    lookup: cheap enough for every page run)."""
    rows = db.query("SELECT DISTINCT reviewer FROM decisions WHERE dataset_hash = ? ORDER BY reviewer",
                    (dataset_hash,))
    return [r[0] for r in rows]


def decisions_of_keys(
    db: Database, dataset_hash: str, keys: Sequence[str], reviewer: str = LOCAL_REVIEWER
) -> dict[str, str]:
    """One reviewer's decisions of these keys (a page's) only."""
    return db.reading(lambda c: current(c, dataset_hash, list(keys), reviewer))
