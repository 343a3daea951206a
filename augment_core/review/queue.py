"""The review page's decision queue: decisions made in the browser at once, saved in order.

The page (``app_support.review_component``) shows a decision the moment it is made and
queues it, with an id of its own, in the browser (and in ``localStorage``, so a reload or a
closed tab does not lose it). The queue is sent in order, a batch at a time; here each entry
is applied to the store as one undoable action of the tab, checked against the decision the
page showed (the store stays the truth: a variant decided meanwhile elsewhere is left alone
and reported as a conflict). Entries are idempotent by id, per reviewer: the store records
each id's outcome for its reviewer in the same transaction as the write, so an entry sent
twice (an answer lost with a server restart, a replay after a reload) returns its first
outcome and writes nothing, while another reviewer's entry of the same id is that reviewer's
own. The store keeps each tab's newest ``ACKS_KEPT`` records
(:mod:`augment_core.review.client_actions`).

Everything the browser sends is untrusted: :func:`parse_batch` keeps only well-formed entries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Container, Literal, Sequence

from augment_core.review.store import Store, StoreBusy

Op = Literal["accepted", "rejected", "clear", "undo"]
OPS: tuple[str, ...] = ("accepted", "rejected", "clear", "undo")
MAX_BATCH = 500
_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,80}$")


@dataclass(frozen=True)
class QueuedAction:
    """One entry of the page's queue: a decision on ``key`` (or ``op == "undo"``: undo this
    tab's latest action), made while the page showed ``shown`` for it (None: undecided)."""

    id: str
    op: Op
    key: str | None = None
    shown: str | None = None
    origin: str | None = None
    """An undo: the origin (tab) whose latest action it undoes, when the page sent one (an undo
    queued before a reload is replayed by the next page, whose tab has another origin)."""


@dataclass(frozen=True)
class Outcome:
    """What became of one queued action.

    ``status``: ``saved`` (written), ``same`` (the database had it already), ``conflict``
    (decided differently meanwhile: ``decision`` is the database's), ``undone`` / ``nothing``
    (an undo, and whether there was anything to undo), ``busy`` (the database is locked:
    nothing written, send it again), ``invalid`` (not a variant of this dataset)."""

    id: str
    status: str
    key: str | None = None
    decision: str | None = None
    restored: dict[str, str | None] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "key": self.key, "decision": self.decision,
                "restored": dict(self.restored)}


RESTORED_SENT = 50


def _few(restored: dict[str, str | None]) -> dict[str, str | None]:
    """What an undo restored, as sent back to the page (which focuses a single restored
    variant): nothing for an undone bulk action, whose 300,000 keys would go to the browser
    with every later answer; the page reads the decisions themselves afresh anyway."""
    return dict(restored) if len(restored) <= RESTORED_SENT else {}


def parse_batch(raw: Any, limit: int = MAX_BATCH) -> list[QueuedAction]:
    """The well-formed entries of a batch the browser sent (a list of dicts), in order, at
    most ``limit``; anything else in it is dropped."""
    if isinstance(raw, dict):
        raw = raw.get("actions")
    if not isinstance(raw, list):
        return []
    out: list[QueuedAction] = []
    for entry in raw[:limit]:
        if not isinstance(entry, dict):
            continue
        aid, op, key, shown = entry.get("id"), entry.get("op"), entry.get("key"), entry.get("shown")
        if not isinstance(aid, str) or not _ID_RE.match(aid) or op not in OPS:
            continue
        if shown not in (None, "accepted", "rejected"):
            continue
        if op == "undo":
            origin = entry.get("origin")
            out.append(QueuedAction(aid, "undo", origin=origin if isinstance(origin, str) and _ID_RE.match(origin)
                                    else None))
        elif isinstance(key, str) and 0 < len(key) <= 1000:
            out.append(QueuedAction(aid, op, key, shown))
    return out


def _decision(op: str) -> str | None:
    return None if op == "clear" else op


def outcome_of(action: QueuedAction, recorded: dict[str, Any]) -> Outcome:
    """The outcome of an action from what the store recorded for its id."""
    if action.op == "undo":
        if recorded.get("undone") is None:
            return Outcome(action.id, "nothing")
        return Outcome(action.id, "undone", restored=_few(recorded.get("restored") or {}))
    key = action.key
    conflicts = recorded.get("conflicts") or {}
    if key in conflicts:
        return Outcome(action.id, "conflict", key, conflicts[key])
    changed = recorded.get("changed") or {}
    if key in changed:
        return Outcome(action.id, "saved", key, changed[key])
    return Outcome(action.id, "same", key, _decision(action.op))


def apply_queue(
    store: Store,
    dataset_hash: str,
    actions: Sequence[QueuedAction],
    origin: str,
    known: Container[str],
    wait: float | None = None,
    reviewer: str = "local",
) -> list[Outcome]:
    """Apply queued actions in order, each as one action of ``origin`` (the tab) on
    ``reviewer``'s decisions, idempotent by id. ``known``: the dataset's variant keys (others are ``invalid``). When the database
    stays locked past ``wait``, that action and every later one come back ``busy`` (nothing
    of them written), so the order is kept when they are sent again."""
    recorded = store.client_outcomes(dataset_hash, [a.id for a in actions], reviewer)
    out: list[Outcome] = []
    for i, action in enumerate(actions):
        if action.id in recorded:
            out.append(outcome_of(action, recorded[action.id]))
            continue
        if action.op != "undo" and action.key not in known:
            out.append(Outcome(action.id, "invalid", action.key))
            continue
        try:
            if action.op == "undo":
                result = store.undo(dataset_hash, origin=action.origin or origin, wait=wait, client_id=action.id,
                                    reviewer=reviewer, client_origin=origin)
                out.append(Outcome(action.id, "undone", restored=_few(result.restored)) if result
                           else Outcome(action.id, "nothing"))
            else:
                assert action.key is not None
                decision = _decision(action.op)
                res = store.decide_many(
                    dataset_hash, {action.key: decision}, label=f"{decision or 'clear'} {action.key}",
                    origin=origin, expected={action.key: action.shown}, wait=wait, client_id=action.id,
                    reviewer=reviewer,
                )
                out.append(outcome_of(action, {"changed": res.changed, "conflicts": res.conflicts}))
        except StoreBusy:
            out.extend(Outcome(a.id, "busy", a.key) for a in actions[i:])
            break
    return out
