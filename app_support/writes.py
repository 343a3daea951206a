"""Decisions: read from the database on every run, written as this tab's actions, each
checked against the database as it is when the write runs.

Decisions are *not* cached: the database is the truth, shared by every tab. Every page run
reads them afresh, and every write (single, bulk, a batch from the review component, undo)
is checked against what the page showed (see :func:`write_decisions`). A write the database
cannot take (locked by another program for longer than the store waits) is kept in this tab
as "not yet saved" and saved at the next chance; what this module keeps in the session is
that queue and the tab's id, nothing the database already has.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from app_support.access import reviewer
from app_support.markup import markdown_escape
from app_support.review_cache import review_scope, saved_progress
from augment_core.review import filters as review
from augment_core.review import query as review_query
from augment_core.review import queue as review_queue
from augment_core.review.client_actions import ACKS_KEPT
from augment_core.review.schema import LOCAL_REVIEWER
from augment_core.review.store import ActionResult, Store, StoreBusy, UndoResult

ORIGIN = "app_origin"
PENDING = "app_pending_writes"
FLUSH_WAIT = 0.5
"""Seconds a page run waits to save writes kept as not yet saved (the click itself waits longer)."""


@dataclass(frozen=True)
class PendingWrite:
    """A write the database could not take yet, kept in this tab until it can."""

    hash: str
    changes: dict[str, str | None]
    expected: dict[str, str | None]
    label: str
    at: float = field(default_factory=time.time)
    reviewer: str = LOCAL_REVIEWER


@dataclass(frozen=True)
class WriteOutcome:
    saved: bool
    """False: kept in this tab as not yet saved."""
    result: ActionResult | None = None
    message: str = ""


def tab_origin() -> str:
    """This browser tab's id: its actions are recorded under it, and Undo reverts only those."""
    if ORIGIN not in st.session_state:
        st.session_state[ORIGIN] = uuid.uuid4().hex
    return st.session_state[ORIGIN]


def _pending() -> list[PendingWrite]:
    return st.session_state.setdefault(PENDING, [])


def pending_writes(hash: str) -> list[PendingWrite]:
    return [p for p in _pending() if p.hash == hash]


def flush_pending(store: Store, wait: float = FLUSH_WAIT) -> list[str]:
    """Save what this tab kept as not yet saved, oldest first; stops at the first that still
    cannot be saved. Returns lines to show about conflicts found on the way."""
    queue = _pending()
    lines: list[str] = []
    while queue:
        p = queue[0]
        try:
            result = store.decide_many(p.hash, p.changes, label=p.label, origin=tab_origin(),
                                       expected=p.expected, wait=wait, reviewer=p.reviewer)
        except StoreBusy:
            break
        queue.pop(0)
        if result.conflicts:
            lines.append(conflict_line(p.label, result))
    return lines


def decisions(store: Store, hash: str, keys: Any = None) -> dict[str, str]:
    """This reviewer's decisions in the database now (of ``keys`` only, when given: a page's),
    with this tab's not-yet-saved ones laid over them."""
    me = reviewer()
    current = (store.decisions(hash, reviewer=me) if keys is None
               else store.decisions_of_keys(hash, list(keys), reviewer=me))
    for p in pending_writes(hash):
        for key, d in p.changes.items():
            if current.get(key) == p.expected.get(key):
                review.apply_decisions(current, {key: d})
    return current


def unsaved_keys(hash: str) -> set[str]:
    return {k for p in pending_writes(hash) for k in p.changes}


def conflict_line(label: str, result: ActionResult) -> str:
    n = len(result.conflicts)
    return (f"{label}: {n:,} variant(s) left as they are: decided differently in another tab or "
            "session since this page showed them (the page now shows the saved decisions).")


def write_decisions(
    store: Store, hash: str, changes: dict[str, str | None], expected: dict[str, str | None], label: str
) -> WriteOutcome:
    """Write decisions as one action of this tab, where the database still has what the page
    showed (``expected``). A busy database keeps the write in this tab, not yet saved; so do
    writes made while older ones still wait, so they are saved in the order they were made."""
    if not changes:
        return WriteOutcome(True, ActionResult(changed={}))
    lines = flush_pending(store, wait=store.write_wait)
    if not pending_writes(hash):
        try:
            result = store.decide_many(hash, changes, label=label, origin=tab_origin(), expected=expected,
                                       reviewer=reviewer())
        except StoreBusy:
            pass
        else:
            if result.conflicts:
                lines.append(conflict_line(label, result))
            return WriteOutcome(True, result, " ".join(lines))
    _pending().append(PendingWrite(hash, dict(changes), dict(expected), label, reviewer=reviewer()))
    return WriteOutcome(False, message=busy_line(hash))


BATCH_WAIT = 1.0
"""Seconds a batch of decisions from the browser waits for a locked database before it is
answered "busy" (the browser keeps the decisions, shows them not yet saved, and sends them again)."""


def apply_browser_queue(store: Store, hash: str, raw: Any) -> list[review_queue.Outcome]:
    """Apply the decisions the review component sent, in order, as this tab's actions, each
    checked against the database (see :mod:`augment_core.review.queue`), and keep their
    outcomes for the page to send back (:func:`browser_acks`). Writes this tab kept as not yet
    saved go first; while some still wait, the batch is answered busy, so order is kept."""
    actions = review_queue.parse_batch(raw)
    if not actions:
        return []
    flush_pending(store, wait=BATCH_WAIT)
    if pending_writes(hash):
        outcomes = [review_queue.Outcome(a.id, "busy", a.key) for a in actions]
    else:
        known = review_query.known_keys(store, review_scope(store, hash), [a.key for a in actions if a.key])
        outcomes = review_queue.apply_queue(store, hash, actions, tab_origin(), known, wait=BATCH_WAIT,
                                            reviewer=reviewer())
    acks = st.session_state.setdefault("review_acks", [])
    acks.extend(o.as_dict() for o in outcomes)
    del acks[:-ACKS_KEPT]
    return outcomes


def browser_acks() -> list[dict[str, Any]]:
    """The outcomes of the browser's latest decisions, to send back with the page's data."""
    return list(st.session_state.get("review_acks", []))


def review_messages(hash: str) -> None:
    """The Review page's messages to this tab: a toast for what was written
    (``review_notice``), one line for what was not (``review_warning``, or the writes this tab
    still holds as not yet saved)."""
    notice = st.session_state.pop("review_notice", None)
    if notice:
        st.toast(markdown_escape(notice))
    warning = st.session_state.pop("review_warning", None)
    if pending_writes(hash):
        warning = busy_line(hash)
    if warning:
        st.warning(markdown_escape(warning), icon=":material/sync_problem:")


def busy_line(hash: str) -> str:
    n = sum(len(p.changes) for p in pending_writes(hash))
    return (f"{n:,} decision(s) not yet saved: the database is locked by another program. "
            "They are kept in this tab and saved at the next chance.")


def last_undoable(store: Store, hash: str) -> str | None:
    """What Undo would revert in this tab, as the button names it; None: nothing."""
    pending = pending_writes(hash)
    if pending:
        p = pending[-1]
        return f"{p.label} ({len(p.changes):,}, not yet saved)"
    action = store.last_action(hash, origin=tab_origin(), reviewer=reviewer())
    if action is None:
        return None
    return f"{action.label} ({action.n_items:,}) at {time.strftime('%H:%M:%S', time.localtime(action.created_at))}"


def undo(store: Store, hash: str) -> tuple[UndoResult | None, str]:
    """Revert this tab's latest action (never another tab's): a not-yet-saved one is just
    dropped; a saved one is reverted where the database still has what it wrote."""
    queue = _pending()
    for i in range(len(queue) - 1, -1, -1):
        if queue[i].hash == hash:
            p = queue.pop(i)
            return UndoResult(p.label, p.at, {k: p.expected.get(k) for k in p.changes}), ""
    try:
        result = store.undo(hash, origin=tab_origin(), reviewer=reviewer())
    except StoreBusy:
        return None, "Undo not made: the database is locked by another program. Try again in a moment."
    if result is None:
        return None, "Nothing of this tab's to undo."
    line = ""
    if result.conflicts:
        line = (f"Undo {result.label}: {len(result.conflicts):,} variant(s) left as they are: "
                "decided again in another tab or session since.")
    return result, line



def progress_counts(store: Store, hash: str) -> dict[str, int]:
    """The counters above the list: the database's (cached until a decision changes), with
    this tab's not-yet-saved decisions laid over them."""
    counts = dict(saved_progress(store, hash))
    unsaved = unsaved_keys(hash)
    if unsaved:
        saved = store.decisions_of_keys(hash, list(unsaved), reviewer=reviewer())
        shown = decisions(store, hash, unsaved)
        for key in unsaved:
            for d, sign in ((saved.get(key), -1), (shown.get(key), 1)):
                if d in ("accepted", "rejected"):
                    counts[d] += sign
        counts["reviewed"] = counts["accepted"] + counts["rejected"]
        counts["left"] = counts["total"] - counts["reviewed"]
    return counts
