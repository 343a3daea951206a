"""The app's side of the review component's queue (``app_support.writes.apply_browser_queue``):
a batch that arrives while this tab still holds a write the database could not take is
answered busy as a whole, so decisions are saved in the order they were made; the outcomes
go back to the browser (``browser_acks``), the newest ``ACKS_KEPT`` of them."""

from __future__ import annotations

import sqlite3

import pytest
import streamlit as st
from helpers import review_data

from app_support import writes
from app_support.store import get_store


@pytest.fixture
def tab(tmp_path, monkeypatch):
    """One browser tab's session (Streamlit's bare mode keeps one session state)."""
    monkeypatch.setattr(writes, "BATCH_WAIT", 0.1)
    monkeypatch.setenv("AUGMENT_REVIEW_DATA_DIR", str(tmp_path / "data"))  # the app's store: get_store()
    st.session_state.clear()
    h, keys = review_data(tmp_path / "data", n_originals=3, per_original=2)
    store = get_store()
    store.write_wait = 0.1
    yield store, h, keys
    st.session_state.clear()


def _batch(*entries: tuple[str, str, str]) -> list[dict]:
    return [{"id": aid, "op": op, "key": key, "shown": None} for aid, op, key in entries]


def test_a_batch_waits_behind_the_tabs_unsaved_write_then_both_are_saved_in_order(tab, tmp_path):
    store, h, keys = tab
    lock = sqlite3.connect(tmp_path / "data" / "augment-review.sqlite3", isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    try:
        held = writes.write_decisions(store, h, {keys[0]: "rejected"}, {keys[0]: None}, "Reject")
        assert not held.saved and writes.unsaved_keys(h) == {keys[0]}
        out = writes.apply_browser_queue(store, h, _batch(("b1", "accepted", keys[0]), ("b2", "accepted", keys[1])))
        assert [o.status for o in out] == ["busy", "busy"]
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert store.decisions(h) == {}  # nothing written while locked
    # the lock let go just after the held write's retry failed: the batch still waits behind it
    real_flush = writes.flush_pending
    writes.flush_pending = lambda store, wait=0.0: []  # type: ignore[assignment]
    try:
        out = writes.apply_browser_queue(store, h, _batch(("b1", "accepted", keys[0]), ("b2", "accepted", keys[1])))
    finally:
        writes.flush_pending = real_flush
    assert [o.status for o in out] == ["busy", "busy"] and store.decisions(h) == {}
    # the database free again: the held write goes first, then the batch, sent again by the browser
    out = writes.apply_browser_queue(store, h, _batch(("b1", "accepted", keys[0]), ("b2", "accepted", keys[1])))
    # b1 was made on a page that showed keys[0] undecided: the held reject, saved first, is now
    # the database's, so b1 is reported as a conflict (the page then shows the reject), not written over it
    assert [(o.status, o.decision) for o in out] == [("conflict", "rejected"), ("saved", "accepted")]
    assert not writes.pending_writes(h)
    assert store.decisions(h) == {keys[0]: "rejected", keys[1]: "accepted"}
    assert [e.after for e in store.history(h) if e.key == keys[0]] == ["rejected"]
    acks = writes.browser_acks()
    assert [(a["id"], a["status"]) for a in acks] == [("b1", "busy"), ("b2", "busy")] * 2 + [
        ("b1", "conflict"), ("b2", "saved")]


def test_a_replayed_batch_is_written_once_and_the_acks_keep_the_newest(tab, monkeypatch):
    store, h, keys = tab
    monkeypatch.setattr(writes, "ACKS_KEPT", 3)
    batch = _batch(("c1", "accepted", keys[2]), ("c2", "rejected", keys[3]))
    assert [o.status for o in writes.apply_browser_queue(store, h, batch)] == ["saved", "saved"]
    assert [o.status for o in writes.apply_browser_queue(store, h, batch)] == ["saved", "saved"]  # its record
    assert len([e for e in store.history(h) if e.key in (keys[2], keys[3])]) == 2  # written once
    out = writes.apply_browser_queue(store, h, _batch(("c3", "accepted", "99:not-a-variant")))
    assert [o.status for o in out] == ["invalid"] and store.decisions(h) == {keys[2]: "accepted", keys[3]: "rejected"}
    assert [a["id"] for a in writes.browser_acks()] == ["c1", "c2", "c3"]


def test_the_acks_kept_cover_a_whole_batch():
    """Each page run sends the kept outcomes back; they must hold a whole batch's, or the
    browser would wait for an answer it was never sent (then resend, answered from the record)."""
    from augment_core.review.queue import MAX_BATCH

    assert MAX_BATCH <= writes.ACKS_KEPT <= 2 * MAX_BATCH
