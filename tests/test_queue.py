"""The review page's decision queue: applied in order, idempotent by id, checked against the
database, busy entries kept for later in order (augment_core.review.queue)."""

import sqlite3

import pytest
from helpers import hold_write_lock

from augment_core.review.client_actions import ACKS_KEPT
from augment_core.review.queue import MAX_BATCH, QueuedAction, apply_queue, parse_batch
from augment_core.review.store import Store

pytestmark = pytest.mark.usefixtures("backend")  # each test on SQLite and on PostgreSQL

KEYS = {"1:a", "1:b", "1:c"}


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path, write_wait=0.2)
    s.add_dataset("h", "d.csv", b"x")
    yield s
    s.close()


def test_parse_batch_keeps_only_well_formed_entries():
    raw = {"seq": 3, "actions": [
        {"id": "t1-1", "op": "accepted", "key": "1:a", "shown": None},
        {"id": "t1-2", "op": "rejected", "key": "1:b", "shown": "accepted"},
        {"id": "t1-3", "op": "undo"},
        {"id": "bad id <script>", "op": "accepted", "key": "1:a"},
        {"id": "t1-4", "op": "delete-all", "key": "1:a"},
        {"id": "t1-5", "op": "accepted", "key": 5},
        {"id": "t1-6", "op": "accepted", "key": "1:a", "shown": "maybe"},
        "junk",
    ]}
    assert parse_batch(raw) == [
        QueuedAction("t1-1", "accepted", "1:a", None),
        QueuedAction("t1-2", "rejected", "1:b", "accepted"),
        QueuedAction("t1-3", "undo"),
    ]
    assert parse_batch(None) == [] and parse_batch("x") == []
    assert len(parse_batch([{"id": f"i{n}", "op": "accepted", "key": "1:a"} for n in range(900)])) == 500


def test_applied_in_order_each_an_undoable_action_and_idempotent_by_id(store):
    batch = [QueuedAction("x1", "accepted", "1:a"), QueuedAction("x2", "rejected", "1:a", "accepted"),
             QueuedAction("x3", "accepted", "1:b")]
    out = apply_queue(store, "h", batch, "tab", KEYS)
    assert [(o.status, o.decision) for o in out] == [("saved", "accepted"), ("saved", "rejected"), ("saved", "accepted")]
    assert store.decisions("h") == {"1:a": "rejected", "1:b": "accepted"}
    # sent again (an answer lost, a replay after a reload): the same outcomes, nothing written
    n_actions = store.read("SELECT COUNT(*) FROM actions")[0][0]
    again = apply_queue(store, "h", batch, "tab", KEYS)
    assert [o.as_dict() for o in again] == [o.as_dict() for o in out]
    assert store.read("SELECT COUNT(*) FROM actions")[0][0] == n_actions == 3
    # undo reverts the tab's latest (x3), once, however often it is sent
    u = [QueuedAction("x4", "undo")]
    assert apply_queue(store, "h", u, "tab", KEYS)[0].restored == {"1:b": None}
    assert apply_queue(store, "h", u, "tab", KEYS)[0].status == "undone"
    assert store.decisions("h") == {"1:a": "rejected"}


def test_a_decision_made_elsewhere_meanwhile_is_kept_and_reported(store):
    store.decide("h", "1:a", "rejected", origin="other tab")
    out = apply_queue(store, "h", [QueuedAction("y1", "accepted", "1:a", None),
                                   QueuedAction("y2", "rejected", "1:a", "rejected")], "tab", KEYS)
    assert [(o.status, o.decision) for o in out] == [("conflict", "rejected"), ("same", "rejected")]
    assert store.decisions("h") == {"1:a": "rejected"}
    assert apply_queue(store, "h", [QueuedAction("y3", "accepted", "9:zz")], "tab", KEYS)[0].status == "invalid"
    assert apply_queue(store, "h", [QueuedAction("y4", "undo")], "nobody", KEYS)[0].status == "nothing"


def test_locked_database_returns_the_rest_busy_in_order_then_saves_them(store, tmp_path):
    apply_queue(store, "h", [QueuedAction("z0", "accepted", "1:c")], "tab", KEYS)
    release = hold_write_lock(store)
    try:
        batch = [QueuedAction("z0", "accepted", "1:c"), QueuedAction("z1", "accepted", "1:a"),
                 QueuedAction("z2", "rejected", "1:b")]
        out = apply_queue(store, "h", batch, "tab", KEYS, wait=0.1)
        assert [o.status for o in out] == ["saved", "busy", "busy"]
    finally:
        release()
    out = apply_queue(store, "h", batch, "tab", KEYS, wait=0.1)
    assert [o.status for o in out] == ["saved", "saved", "saved"]
    assert store.decisions("h") == {"1:a": "accepted", "1:b": "rejected", "1:c": "accepted"}


def test_an_undo_replayed_by_another_tab_undoes_the_tab_it_names(store):
    """After a reload the page is a new tab (another origin); an undo queued before it names
    the old tab, and undoes that tab's latest action, once."""
    apply_queue(store, "h", [QueuedAction("old-1", "accepted", "1:a", None)], "old-tab", KEYS)
    (undo,) = parse_batch([{"id": "old-2", "op": "undo", "origin": "old-tab"}])
    assert undo.origin == "old-tab"
    assert parse_batch([{"id": "old-3", "op": "undo", "origin": "<bad>"}])[0].origin is None
    (out,) = apply_queue(store, "h", [undo], "new-tab", KEYS)
    assert out.status == "undone" and store.decisions("h") == {}
    (again,) = apply_queue(store, "h", [undo], "new-tab", KEYS)  # replayed twice: once
    assert again.status == "undone" and store.decisions("h") == {}


def test_an_undone_bulk_is_not_sent_back_key_by_key(store):
    keys = {f"1:{i}" for i in range(200)}
    store.decide_many("h", {k: "accepted" for k in keys}, label="bulk", origin="tab")
    (out,) = apply_queue(store, "h", [QueuedAction("t-1", "undo")], "tab", keys)
    assert out.status == "undone" and out.restored == {} and store.decisions("h") == {}
    (again,) = apply_queue(store, "h", [QueuedAction("t-1", "undo")], "tab", keys)
    assert again.status == "undone" and again.restored == {}


def test_another_reviewers_replayed_id_is_written_for_them(store):
    """The ids are the page's own: bob's page sending an id alice's page used is bob's
    decision, written for him (not answered "same" from alice's record while nothing is saved)."""
    (alice,) = apply_queue(store, "h", [QueuedAction("t1-1", "accepted", "1:a")], "tab-a", KEYS, reviewer="alice@x.org")
    (bob,) = apply_queue(store, "h", [QueuedAction("t1-1", "rejected", "1:a")], "tab-b", KEYS, reviewer="bob@x.org")
    assert (alice.status, bob.status) == ("saved", "saved") and bob.decision == "rejected"
    assert store.decisions("h", "bob@x.org") == {"1:a": "rejected"}
    assert store.decisions("h", "alice@x.org") == {"1:a": "accepted"}
    # each one's replay is answered from their own record, writing nothing
    (again,) = apply_queue(store, "h", [QueuedAction("t1-1", "rejected", "1:a")], "tab-b", KEYS, reviewer="bob@x.org")
    assert (again.status, again.decision) == ("saved", "rejected")
    assert len(store.history("h", "bob@x.org")) == 1
    (undo,) = apply_queue(store, "h", [QueuedAction("t1-2", "undo")], "tab-b", KEYS, reviewer="bob@x.org")
    (other,) = apply_queue(store, "h", [QueuedAction("t1-2", "undo")], "tab-a", KEYS, reviewer="alice@x.org")
    assert undo.status == other.status == "undone"
    assert store.decisions("h", "bob@x.org") == {} and store.decisions("h", "alice@x.org") == {}


def test_a_forged_stream_of_ids_keeps_at_most_the_bound_per_reviewer_and_tab(store):
    """A forged batch of 100,000 entries (each batch is cut to MAX_BATCH), sent again with new
    ids: the records kept stay within ACKS_KEPT for the tab, the newest ones, and another
    tab's records are not pushed out by it."""
    apply_queue(store, "h", [QueuedAction("other-1", "accepted", "1:c")], "tab-b", KEYS, reviewer="eve@x.org")
    for round_ in range(3):
        forged = [{"id": f"f{round_}-{i}", "op": "undo"} for i in range(100_000)]
        out = apply_queue(store, "h", parse_batch(forged), "tab-a", KEYS, reviewer="eve@x.org")
        assert len(out) == MAX_BATCH
    kept = store.read("SELECT origin, COUNT(*) FROM client_actions GROUP BY origin ORDER BY origin")
    assert kept == [("tab-a", ACKS_KEPT), ("tab-b", 1)] and ACKS_KEPT < 3 * MAX_BATCH
    newest = store.client_outcomes("h", [f"f2-{MAX_BATCH - 1}", "f0-0", "other-1"], "eve@x.org")
    assert set(newest) == {f"f2-{MAX_BATCH - 1}", "other-1"}


@pytest.mark.sqlite_only
def test_records_of_the_old_shape_are_kept_as_local_and_pruned(tmp_path):
    """A database whose records were keyed by (dataset, id) only: opened, they become reviewer
    "local"'s (still answered, nothing written twice), pruned to the newest ACKS_KEPT."""
    s = Store(tmp_path)
    s.add_dataset("h", "d.csv", b"x")
    s.close()
    with sqlite3.connect(tmp_path / "augment-review.sqlite3") as c:  # as the older version left it
        c.execute("DROP TABLE alembic_version")  # (made before Alembic)
        c.execute("DROP TABLE client_actions")
        c.execute("CREATE TABLE client_actions (dataset_hash TEXT NOT NULL, id TEXT NOT NULL, outcome TEXT NOT NULL,"
                  " at REAL NOT NULL, PRIMARY KEY (dataset_hash, id))")
        c.executemany("INSERT INTO client_actions VALUES ('h', ?, ?, ?)",
                      [(f"old-{i}", '{"changed": {"1:a": "accepted"}, "conflicts": {}}', float(i))
                       for i in range(ACKS_KEPT + 20)])
    s = Store(tmp_path)
    try:
        assert s.read("SELECT COUNT(*), MIN(at), MAX(reviewer) FROM client_actions") == [(ACKS_KEPT, 20.0, "local")]
        (replayed,) = apply_queue(s, "h", [QueuedAction(f"old-{ACKS_KEPT + 19}", "accepted", "1:a")], "tab", KEYS)
        assert (replayed.status, replayed.decision) == ("saved", "accepted") and s.decisions("h") == {}
        (bob,) = apply_queue(s, "h", [QueuedAction(f"old-{ACKS_KEPT + 19}", "accepted", "1:a")], "tab", KEYS,
                             reviewer="bob@x.org")
        assert bob.status == "saved" and s.decisions("h", "bob@x.org") == {"1:a": "accepted"}
    finally:
        s.close()
