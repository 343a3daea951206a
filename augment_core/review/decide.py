"""Writing decisions: each write one transaction, applied against the database as it is when
it runs, recorded as an undoable action in the history; and undo.

A caller may say which decision it *expected* for each key (what its page showed): keys that
changed since are left alone and reported as conflicts, so two tabs never overwrite each
other unknowingly. A reviewer's write checks and changes only that reviewer's decisions,
and undo reverts only the reviewer's own actions, where the decision is still what the
action wrote. A write the page sent with its own id (``client_id``) records its outcome in
the same transaction (:mod:`augment_core.review.client_actions`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Mapping

from sqlalchemy.exc import DBAPIError

from augment_core.review import client_actions, history
from augment_core.review.database import Database
from augment_core.review.decisions import (
    DECISIONS,
    apply,
    assume,
    assumption_failed,
    check_reviewer,
    current,
    decisions_of,
)
from augment_core.review.schema import LOCAL_REVIEWER

BULK_TABLES = ("decisions",)
"""What a bulk decision grows by up to a whole run's variants, and the review page reads."""
UNCHECKED: Any = object()
"""``expected`` for :meth:`Store.decide` when the caller did not show a state to check."""


@dataclass(frozen=True)
class ActionResult:
    """What a decision write did."""

    changed: dict[str, str | None]
    """key -> the decision written (None: cleared)."""
    conflicts: dict[str, str | None] = field(default_factory=dict)
    """key -> the decision found in the database, where it was not the one expected: left alone."""
    action_id: int | None = None


@dataclass(frozen=True)
class BulkResult:
    """What a bulk decision over a filter did (:func:`decide_matching`)."""

    changed: int
    """Decisions written."""
    conflicts: int
    """Matching variants decided since the page read the decisions: left alone."""
    label: str = ""
    action_id: int | None = None


@dataclass(frozen=True)
class UndoResult:
    label: str
    created_at: float
    restored: dict[str, str | None]
    """key -> the decision now in force (None: undecided again)."""
    conflicts: dict[str, str | None] = field(default_factory=dict)
    """key -> the decision found, where it had changed since the action: left alone."""


def decide_many(
    db: Database,
    dataset_hash: str,
    changes: Mapping[str, str | None],
    label: str = "bulk",
    origin: str | None = None,
    expected: Mapping[str, str | None] | None = None,
    wait: float | None = None,
    client_id: str | None = None,
    reviewer: str = LOCAL_REVIEWER,
) -> ActionResult:
    """Record many decisions as one undoable action, against the database as it is now.

    ``client_id``: the id the page gave this action; its outcome (``changed``,
    ``conflicts``) is recorded in the same transaction, see :func:`client_actions.outcomes`.

    ``reviewer``: whose decisions these are; only that reviewer's decisions are read,
    checked and written (another reviewer's decision on the same key is never touched).

    ``expected`` maps keys to the decision the caller saw (None: undecided); a key whose
    decision is no longer that one is left as it is and reported in ``conflicts``. Keys
    that already have the wanted decision are no change. Raises ``StoreBusy`` when
    the write could not start within ``wait`` seconds (default ``write_wait``): then
    nothing was written.
    """
    for d in changes.values():
        if d is not None and d not in DECISIONS:
            raise ValueError(f"decision must be one of {DECISIONS} or None, not {d!r}")
    check_reviewer(reviewer)
    now = time.time()
    shown = expected if expected is not None and all(k in expected for k in changes) else None
    try:
        return _decide_many(db, dataset_hash, changes, label, origin, expected, wait, client_id, reviewer, now,
                            shown)
    except DBAPIError as exc:
        if shown is None or not assumption_failed(exc):
            raise
    # a decision changed since the page showed it: read them, and report the conflicts
    return _decide_many(db, dataset_hash, changes, label, origin, expected, wait, client_id, reviewer, now, None)


def _decide_many(db: Database, dataset_hash: str, changes: Mapping[str, str | None], label: str,
                 origin: str | None, expected: Mapping[str, str | None] | None, wait: float | None,
                 client_id: str | None, reviewer: str, now: float,
                 shown: Mapping[str, str | None] | None) -> ActionResult:
    """:func:`decide_many`; ``shown``: every key's expected decision, assumed to be the one in
    the database (checked in the write, :func:`~augment_core.review.decisions.assume`)
    instead of read first."""
    with db.write(wait) as c:
        if shown is not None and assume(c, dataset_hash, {k: shown[k] for k in changes}, reviewer):
            now_in_db = {k: d for k in changes if (d := shown[k]) is not None}
        else:
            now_in_db = current(c, dataset_hash, list(changes), reviewer)
        items = []
        conflicts: dict[str, str | None] = {}
        for k, d in changes.items():
            now_d = now_in_db.get(k)
            if expected is not None and k in expected and expected[k] != now_d:
                conflicts[k] = now_d
            elif now_d != d:
                items.append((k, now_d, d))
        changed = {k: a for k, _, a in items}
        client_actions.record(c, dataset_hash, reviewer, origin, client_id, {"changed": changed, "conflicts": conflicts},
                              now)
        if not items:
            return ActionResult(changed={}, conflicts=conflicts)
        action = history.record_action(c, dataset_hash, label, now, origin, reviewer, items)
        apply(c, dataset_hash, changed, now, reviewer)
        history.log(c, dataset_hash, reviewer, "decide", label, items, now, origin)
    return ActionResult(changed=changed, conflicts=conflicts, action_id=int(action.scalar()))


def decide_matching(
    db: Database,
    dataset_hash: str,
    source: str,
    params: Mapping[str, Any],
    decision: str,
    only_undecided: bool,
    origin: str | None = None,
    seen: float | None = None,
    label: str = "bulk",
    wait: float | None = None,
    reviewer: str = LOCAL_REVIEWER,
) -> BulkResult:
    """Decide every variant whose key ``source`` (a SELECT of ``key`` rows with named
    ``params``, see :mod:`augment_core.review.query`) gives, as one undoable action, in
    SQL: the keys never come into Python. ``only_undecided``: only those undecided now;
    else every one not already ``decision``. ``seen``: when the caller read the
    decisions it showed: a variant decided since is left alone and counted in
    ``conflicts``. The action is labelled ``"<label> <n>"``. Only ``reviewer``'s decisions
    are read and written, and the history records each change under that reviewer."""
    check_reviewer(reviewer)
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {DECISIONS}, not {decision!r}")
    now = time.time()
    args = {**params, "hash": dataset_hash, "reviewer": reviewer, "b_decision": decision,
            "b_seen": now if seen is None else seen, "b_now": now}
    dec = decisions_of()
    wanted = "d.decision IS NULL" if only_undecided else "(d.decision IS NULL OR d.decision != :b_decision)"
    with db.write(wait) as c:
        conflicts = c.scalar(
            f"SELECT COUNT(*) FROM ({source}) m JOIN {dec} d ON d.key = m.key"
            " WHERE d.decided_at > :b_seen AND d.decision != :b_decision", args)
        action_id = history.start_action(c, dataset_hash, label, now, origin, reviewer)
        args["b_action"] = action_id
        n = c.execute(
            "INSERT INTO action_items (action_id, key, before, after)"
            f" SELECT :b_action, m.key, d.decision, :b_decision FROM ({source}) m LEFT JOIN {dec} d ON d.key = m.key"
            f" WHERE {wanted} AND (d.decided_at IS NULL OR d.decided_at <= :b_seen)", args).rowcount
        if n <= 0:
            history.drop_action(c, action_id)
            return BulkResult(0, int(conflicts), label)
        # only undecided ones: none is there (this transaction holds the writer lock), a plain
        # INSERT; else an upsert (PostgreSQL's conflict check per row costs a third more)
        c.execute(
            "INSERT INTO decisions (dataset_hash, key, reviewer, decision, decided_at)"
            " SELECT ?, key, ?, after, ? FROM action_items WHERE action_id = ? AND true"
            + ("" if only_undecided else " ON CONFLICT (dataset_hash, key, reviewer) DO UPDATE SET"
               " decision = excluded.decision, decided_at = excluded.decided_at"),
            (dataset_hash, reviewer, now, action_id),
        )
        full = f"{label} {n:,}"
        c.execute("UPDATE actions SET label = ? WHERE id = ?", (full, action_id))
        history.log_action(c, dataset_hash, reviewer, full, action_id, now, origin)
    db.analyze(BULK_TABLES)  # the next pages' status filters are planned on the decisions now there
    return BulkResult(n, int(conflicts), full, action_id)


def undo(
    db: Database, dataset_hash: str, origin: str | None = None, wait: float | None = None,
    client_id: str | None = None, reviewer: str = LOCAL_REVIEWER, client_origin: str | None = None,
) -> UndoResult | None:
    """Revert the latest action of ``reviewer`` made from ``origin`` (None: from anywhere);
    None when there is none. ``client_id`` records the outcome as :func:`decide_many` does,
    among those of the tab ``client_origin`` that sent it (default ``origin``: a page replaying
    an undo of the tab it was before a reload sends it from another).

    Only decisions still as that action left them are restored; one changed since (by
    another tab, say) is left alone and reported in ``conflicts``. The undo is recorded
    in the history under the reviewer, with its time.
    """
    check_reviewer(reviewer)
    sender = origin if client_origin is None else client_origin
    with db.write(wait) as c:
        latest = history.latest_action(c, dataset_hash, origin, reviewer)
        if latest is None:
            client_actions.record(c, dataset_hash, reviewer, sender, client_id, {"undone": None}, time.time())
            return None
        action_id, label, created_at, items = latest
        now_in_db = current(c, dataset_hash, [k for k, _, _ in items], reviewer)
        restored = {k: b for k, b, a in items if now_in_db.get(k) == a}
        conflicts = {k: now_in_db.get(k) for k, b, a in items if now_in_db.get(k) != a}
        now = time.time()
        apply(c, dataset_hash, restored, now, reviewer)
        history.log(c, dataset_hash, reviewer, "undo", f"undo {label}",
                    [(k, now_in_db.get(k), b) for k, b in restored.items()], now, origin)
        history.drop_action(c, action_id)
        client_actions.record(c, dataset_hash, reviewer, sender, client_id,
                              {"undone": label, "restored": restored, "conflicts": conflicts}, time.time())
        return UndoResult(label=label, created_at=created_at, restored=restored, conflicts=conflicts)
