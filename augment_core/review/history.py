"""The undo log and the history of the review store.

Every change is an *action* (one item for a single accept, many for a bulk one) of one
reviewer with an ``origin`` (the app: one per browser tab); undo
(:func:`augment_core.review.decide.undo`) reverts the latest action of one origin as a whole.
Every change a decision or an undo makes is also appended to ``history`` (reviewer, time,
before, after), which nothing deletes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from augment_core.review.database import Conn, Database, Later, insert_rows
from augment_core.review.schema import LOCAL_REVIEWER

HISTORY_COLUMNS = ("dataset_hash", "reviewer", "kind", "label", "key", "before", "after", "at", "origin")
Item = tuple[str, "str | None", "str | None"]
"""``(key, before, after)``: one change of one decision."""


@dataclass(frozen=True)
class ActionInfo:
    id: int
    label: str
    created_at: float
    origin: str | None
    n_items: int
    reviewer: str = LOCAL_REVIEWER


@dataclass(frozen=True)
class HistoryEntry:
    """One change to one reviewer's decision on one candidate, as :func:`history` gives it."""

    reviewer: str
    kind: str
    """``decide`` or ``undo``."""
    label: str
    key: str
    before: str | None
    after: str | None
    at: float
    origin: str | None


def start_action(c: Conn, dataset_hash: str, label: str, now: float, origin: str | None,
                 reviewer: str) -> int:
    """A new action (its items are added by the caller); its id."""
    return int(c.scalar("INSERT INTO actions (dataset_hash, label, created_at, origin, reviewer) VALUES (?, ?, ?, ?, ?)"
                        " RETURNING id", (dataset_hash, label, now, origin, reviewer)))


def add_items(c: Conn, action_id: int, items: Iterable[Item]) -> None:
    insert_rows(c, "action_items", ("action_id", "key", "before", "after"), [(action_id, k, b, a) for k, b, a in items])


def record_action(c: Conn, dataset_hash: str, label: str, now: float, origin: str | None, reviewer: str,
                  items: Sequence[Item]) -> Later:
    """A new action with its ``items``; its id, in the :class:`Later` (on PostgreSQL one
    statement, queued with the write's others: :meth:`Conn.queue`)."""
    if c.dialect == "sqlite":
        done = Later()
        done.rows = [(start_action(c, dataset_hash, label, now, origin, reviewer),)]
        add_items(c, done.rows[0][0], items)
        return done
    keys, before, after = (list(column) for column in zip(*items)) if items else ([], [], [])
    return c.queue(
        "WITH a AS (INSERT INTO actions (dataset_hash, label, created_at, origin, reviewer) VALUES (?, ?, ?, ?, ?)"
        " RETURNING id), i AS (INSERT INTO action_items (action_id, key, before, after)"
        " SELECT a.id, t.key, t.before, t.after FROM a, unnest(?::text[], ?::text[], ?::text[]) AS t(key, before, after))"
        " SELECT id FROM a",
        (dataset_hash, label, now, origin, reviewer, keys, before, after),
    )


def drop_action(c: Conn, action_id: int) -> None:
    c.execute("DELETE FROM action_items WHERE action_id = ?", (action_id,))
    c.execute("DELETE FROM actions WHERE id = ?", (action_id,))


def _latest(origin: str | None) -> str:
    return " AND a.origin = ?" if origin is not None else ""


def _latest_args(dataset_hash: str, reviewer: str, origin: str | None) -> tuple[str, ...]:
    return (dataset_hash, reviewer, origin) if origin is not None else (dataset_hash, reviewer)


def latest_action(c: Conn, dataset_hash: str, origin: str | None,
                  reviewer: str) -> tuple[int, str, float, list[Item]] | None:
    """(id, label, created_at, items) of ``reviewer``'s latest action from ``origin`` (None: any)."""
    row = c.execute("SELECT a.id, a.label, a.created_at FROM actions a WHERE a.dataset_hash = ? AND a.reviewer = ?"
                    + _latest(origin) + " ORDER BY a.id DESC LIMIT 1", _latest_args(dataset_hash, reviewer, origin)
                    ).fetchone()
    if row is None:
        return None
    items = [tuple(r) for r in c.execute("SELECT key, before, after FROM action_items WHERE action_id = ?", (row[0],))]
    return row[0], row[1], row[2], items


def last_action(db: Database, dataset_hash: str, origin: str | None = None,
                reviewer: str = LOCAL_REVIEWER) -> ActionInfo | None:
    """The action an undo with the same arguments would revert."""
    rows = db.query(
        "SELECT a.id, a.label, a.created_at, a.origin,"
        " (SELECT COUNT(*) FROM action_items i WHERE i.action_id = a.id), a.reviewer"
        " FROM actions a WHERE a.dataset_hash = ? AND a.reviewer = ?" + _latest(origin) + " ORDER BY a.id DESC LIMIT 1",
        _latest_args(dataset_hash, reviewer, origin),
    )
    return ActionInfo(*rows[0]) if rows else None


def log(c: Conn, dataset_hash: str, reviewer: str, kind: str, label: str, items: Iterable[Item],
        now: float, origin: str | None) -> None:
    """Append each (key, before, after) change to the history, under its reviewer and time."""
    insert_rows(c, "history", HISTORY_COLUMNS,  # the undo of a bulk logs 300,000
                [(dataset_hash, reviewer, kind, label, k, b, a, now, origin) for k, b, a in items])


def log_action(c: Conn, dataset_hash: str, reviewer: str, label: str, action_id: int, now: float,
               origin: str | None) -> None:
    """Append every item of an action (written in SQL, never read into Python) to the history."""
    c.execute(
        "INSERT INTO history (dataset_hash, reviewer, kind, label, key, before, after, at, origin)"
        " SELECT ?, ?, 'decide', ?, key, before, after, ?, ? FROM action_items WHERE action_id = ?",
        (dataset_hash, reviewer, label, now, origin, action_id),
    )


def actions_version(db: Database, dataset_hash: str) -> tuple[Any, ...]:
    """Changes whenever a decision of the dataset does (every write is an action; an undo
    removes one): what the app's counts over decisions are cached under."""
    return tuple(db.query("SELECT MAX(id), COUNT(*) FROM actions WHERE dataset_hash = ?", (dataset_hash,))[0])


def history(db: Database, dataset_hash: str, reviewer: str | None = None) -> list[HistoryEntry]:
    """Who changed which decision when (decisions and undos), oldest first; one
    reviewer's with ``reviewer``."""
    rows = db.query(
        "SELECT reviewer, kind, label, key, before, after, at, origin FROM history WHERE dataset_hash = ?"
        + (" AND reviewer = ?" if reviewer is not None else "") + " ORDER BY id",
        (dataset_hash, reviewer) if reviewer is not None else (dataset_hash,),
    )
    return [HistoryEntry(*r) for r in rows]
