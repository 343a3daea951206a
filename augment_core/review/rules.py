"""Alias rules of a run imported by sample (:mod:`augment_core.review.run_import`): each
rule's row counts and agreement (``run_rules``) and the decisions on whole rules
(``rule_decisions``), which are written and undone under rule keys
(:func:`~augment_core.review.keys.rule_key`) through the same path as row decisions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from augment_core.review.database import Conn, Database
from augment_core.review.keys import candidate_key, split_rule_key
from augment_core.review.schema import LOCAL_REVIEWER


@dataclass(frozen=True)
class RunRule:
    """A stratum of a run imported by sample: an alias rule (or an augmenter's variants
    without one), its rows in the whole run and how many of them were sampled."""

    rule: str
    n_rows: int
    n_sampled: int
    agreement: float | None
    support: int | None


def add_run_rules(db: Database, run_id: int, rules: Sequence[RunRule]) -> None:
    """Every rule of a run imported by sample, in the order the review lists them."""
    with db.write() as c:
        c.executemany(
            "INSERT INTO run_rules (run_id, rule, position, n_rows, n_sampled, agreement, support)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            ((run_id, r.rule, i, r.n_rows, r.n_sampled, r.agreement, r.support) for i, r in enumerate(rules)),
        )


def run_rules(db: Database, run_id: int) -> list[RunRule]:
    rows = db.query(
        "SELECT rule, n_rows, n_sampled, agreement, support FROM run_rules WHERE run_id = ? ORDER BY position",
        (run_id,),
    )
    return [RunRule(*r) for r in rows]


def run_reviewers(db: Database, dataset_hash: str, run_id: int) -> list[str]:
    """Who has decided anything of one run (a rule, or one of its variants), in name order."""
    prefix = candidate_key(run_id, "")
    rows = db.query(
        "SELECT reviewer FROM decisions WHERE dataset_hash = ? AND substr(key, 1, ?) = ?"
        " UNION SELECT reviewer FROM rule_decisions WHERE dataset_hash = ? AND run_id = ? ORDER BY 1",
        (dataset_hash, len(prefix), prefix, dataset_hash, run_id),
    )
    return [r[0] for r in rows]


def rule_decisions(db: Database, dataset_hash: str, run_id: int, reviewer: str = LOCAL_REVIEWER) -> dict[str, str]:
    """rule -> one reviewer's decision on the whole rule, for one run."""
    rows = db.query(
        "SELECT rule, decision FROM rule_decisions WHERE dataset_hash = ? AND run_id = ? AND reviewer = ?",
        (dataset_hash, run_id, reviewer),
    )
    return {r: d for r, d in rows}


def current_rules(c: Conn, dataset_hash: str, keys: list[str], reviewer: str) -> dict[str, str]:
    """One reviewer's decisions on the rules among ``keys`` (rule keys)."""
    out: dict[str, str] = {}
    for k in keys:
        parts = split_rule_key(k)
        if parts is not None:
            row = c.execute("SELECT decision FROM rule_decisions WHERE dataset_hash = ? AND run_id = ? AND rule = ?"
                            " AND reviewer = ?", (dataset_hash, *parts, reviewer)).fetchone()
            if row is not None:
                out[k] = row[0]
    return out


def apply_rules(
    c: Conn, dataset_hash: str, changes: Mapping[str, str | None], now: float, reviewer: str
) -> Mapping[str, str | None]:
    """Write the rule decisions among ``changes``; the row decisions are returned."""
    rest: dict[str, str | None] = {}
    for k, d in changes.items():
        parts = split_rule_key(k)
        if parts is None:
            rest[k] = d
        elif d is None:
            c.execute("DELETE FROM rule_decisions WHERE dataset_hash = ? AND run_id = ? AND rule = ? AND reviewer = ?",
                      (dataset_hash, *parts, reviewer))
        else:
            c.execute(
                "INSERT INTO rule_decisions (dataset_hash, run_id, rule, reviewer, decision, decided_at)"
                " VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (dataset_hash, run_id, rule, reviewer) DO UPDATE SET decision = excluded.decision,"
                " decided_at = excluded.decided_at",
                (dataset_hash, *parts, reviewer, d, now),
            )
    return rest if len(rest) != len(changes) else changes
