"""Several reviewers: decisions kept per reviewer in the store (and migrated from the old
shape), undo per reviewer, the history of who decided what, conflicts, Cohen's kappa, export
policies, the allow-list and the loopback check."""

from __future__ import annotations

import sqlite3
import time

import pytest

from augment_core.review import reviewers
from augment_core.review.facts import store_run
from augment_core.review.reviewers import Policy
from augment_core.review.store import Store
from augment_core.serve import access

pytestmark = pytest.mark.usefixtures("backend")  # each test on SQLite and on PostgreSQL

H = "a" * 64
ALICE, BOB = "alice@team.example", "bob@crew.example"


def _store(tmp_path) -> Store:
    store = Store(tmp_path / "data")
    store.add_dataset(H, "x.csv", b"id,text\n1,a\n", None)
    return store


def test_each_reviewer_keeps_own_decisions_and_local_is_the_default(tmp_path):
    store = _store(tmp_path)
    store.decide(H, "1:a", "accepted")  # no reviewer named: "local", as before reviewers existed
    store.decide(H, "1:a", "rejected", reviewer=ALICE)
    res = store.decide_many(H, {"1:a": "accepted", "1:b": "rejected"}, reviewer=BOB, expected={"1:a": None})
    assert res.changed == {"1:a": "accepted", "1:b": "rejected"} and not res.conflicts  # alice's is not bob's
    assert store.decisions(H) == {"1:a": "accepted"}
    assert store.decisions(H, reviewer=ALICE) == {"1:a": "rejected"}
    assert store.reviewers(H) == [ALICE, BOB, "local"]
    assert store.decisions_by_reviewer(H) == {
        "local": {"1:a": "accepted"}, ALICE: {"1:a": "rejected"}, BOB: {"1:a": "accepted", "1:b": "rejected"}}
    # a stale page of alice's is checked against alice's decisions only
    res = store.decide(H, "1:a", "accepted", reviewer=ALICE, expected=None)
    assert res.conflicts == {"1:a": "rejected"} and store.decisions(H, reviewer=ALICE) == {"1:a": "rejected"}
    with pytest.raises(ValueError):
        store.decide(H, "1:a", "accepted", reviewer=" ")


def test_the_team_counts_cover_the_runs_the_review_shows(tmp_path):
    """Conflicts and kappa are counted over the reviewed runs' variants, the ones the
    "Conflicts only" list can show; a decision on any other key (a run not indexed yet, as
    after a migration another process is still indexing) is not a conflict anyone can open."""
    store = _store(tmp_path)
    rows = [{"id": f"1~alias_swap~{k}", "parent_id": "1", "augmenter": "alias_swap", "text": f"a {k}",
             "original_text": "a", "changes": "[]", "params": "{}"} for k in (1, 2)]
    run = store_run(store, H, {"augmenters": [{"name": "alias_swap"}]}, rows, None)
    shown = [f"{run}:{r['id']}" for r in rows]
    elsewhere = f"{run + 1}:1~alias_swap~1"
    store.decide_many(H, {shown[0]: "accepted", shown[1]: "rejected", elsewhere: "accepted"}, reviewer=ALICE)
    store.decide_many(H, {shown[0]: "rejected", shown[1]: "rejected", elsewhere: "rejected"}, reviewer=BOB)
    by_reviewer = store.decisions_by_reviewer(H, store.review_run_ids(H))
    assert by_reviewer == {ALICE: {shown[0]: "accepted", shown[1]: "rejected"},
                           BOB: {shown[0]: "rejected", shown[1]: "rejected"}}
    assert list(reviewers.conflicts(by_reviewer)) == [shown[0]]
    assert len(reviewers.conflicts(store.decisions_by_reviewer(H))) == 2  # the whole dataset's
    assert store.decisions_by_reviewer(H, ()) == {}


def test_undo_reverts_the_reviewers_own_latest_action_and_history_records_both(tmp_path):
    store = _store(tmp_path)
    before = time.time()
    store.decide(H, "1:a", "accepted", reviewer=ALICE, origin="tab-a")
    store.decide(H, "1:a", "rejected", reviewer=BOB, origin="tab-b")
    store.decide(H, "1:b", "rejected", reviewer=ALICE, origin="tab-a")
    assert store.last_action(H, origin="tab-a", reviewer=ALICE).label == "rejected 1:b"
    assert store.undo(H, origin="tab-a") is None  # "local" made nothing from tab-a
    undone = store.undo(H, origin="tab-a", reviewer=ALICE)
    assert undone is not None and undone.restored == {"1:b": None}
    undone = store.undo(H, origin="tab-a", reviewer=ALICE)
    assert undone is not None and undone.restored == {"1:a": None}
    assert store.decisions(H, reviewer=ALICE) == {}
    assert store.decisions(H, reviewer=BOB) == {"1:a": "rejected"}  # untouched by alice's undo
    history = store.history(H)
    assert [(e.reviewer, e.kind, e.key, e.before, e.after) for e in history] == [
        (ALICE, "decide", "1:a", None, "accepted"),
        (BOB, "decide", "1:a", None, "rejected"),
        (ALICE, "decide", "1:b", None, "rejected"),
        (ALICE, "undo", "1:b", "rejected", None),
        (ALICE, "undo", "1:a", "accepted", None),
    ]
    assert all(before <= e.at <= time.time() for e in history)
    assert [e.kind for e in store.history(H, reviewer=BOB)] == ["decide"]


@pytest.mark.sqlite_only
def test_a_database_of_the_old_shape_is_migrated_to_reviewer_local(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    c = sqlite3.connect(data / "augment-review.sqlite3")
    c.executescript("""
        CREATE TABLE datasets (hash TEXT PRIMARY KEY, name TEXT NOT NULL, data BLOB NOT NULL, settings TEXT,
            tags_name TEXT, tags_data BLOB, created_at REAL NOT NULL, last_opened REAL NOT NULL);
        CREATE TABLE decisions (dataset_hash TEXT NOT NULL, key TEXT NOT NULL,
            decision TEXT NOT NULL CHECK (decision IN ('accepted', 'rejected')), decided_at REAL NOT NULL,
            PRIMARY KEY (dataset_hash, key));
        CREATE TABLE actions (id INTEGER PRIMARY KEY AUTOINCREMENT, dataset_hash TEXT NOT NULL,
            label TEXT NOT NULL, created_at REAL NOT NULL);
        CREATE TABLE action_items (action_id INTEGER NOT NULL REFERENCES actions(id), key TEXT NOT NULL,
            before TEXT, after TEXT);
    """)
    c.execute("INSERT INTO datasets VALUES (?, 'old.csv', x'00', NULL, NULL, NULL, 1, 1)", (H,))
    c.executemany("INSERT INTO decisions VALUES (?, ?, ?, ?)",
                  [(H, "1:a", "accepted", 10.0), (H, "1:b", "rejected", 11.0)])
    c.execute("INSERT INTO actions (dataset_hash, label, created_at) VALUES (?, 'bulk', 11.0)", (H,))
    c.execute("INSERT INTO action_items VALUES (1, '1:b', NULL, 'rejected')")
    c.commit()
    c.close()

    store = Store(data)
    assert store.decisions_by_reviewer(H) == {"local": {"1:a": "accepted", "1:b": "rejected"}}
    assert store.last_action(H).reviewer == "local"
    assert store.undo(H).restored == {"1:b": None}  # the old action is local's, undoable as before
    store.decide(H, "1:a", "rejected", reviewer=ALICE)
    assert store.decisions(H) == {"1:a": "accepted"}
    store.close()
    again = Store(data)  # opening a migrated database changes nothing
    assert again.decisions_by_reviewer(H) == {"local": {"1:a": "accepted"}, ALICE: {"1:a": "rejected"}}


# --- conflicts, kappa, policies ----------------------------------------------------------

A, R = "accepted", "rejected"
ALICE_D = {"k0": A, "k1": A, "k2": A, "k3": R, "k4": R, "k5": A, "k6": A}
BOB_D = {"k0": A, "k1": R, "k2": A, "k3": R, "k4": A, "k5": A}
TEAM = {ALICE: ALICE_D, BOB: BOB_D}


def test_conflicts_and_kappa_over_candidates_both_decided():
    assert reviewers.conflicts(TEAM) == {"k1": {ALICE: A, BOB: R}, "k4": {ALICE: R, BOB: A}}
    pair = reviewers.agreement(TEAM, ALICE, BOB)
    assert (pair.both, pair.agree) == (6, 4)
    # by hand: p_o = 4/6; each accepts 4 of 6, so p_e = (4/6)^2 + (2/6)^2 = 20/36
    assert pair.kappa == pytest.approx((4 / 6 - 20 / 36) / (1 - 20 / 36)) and pair.kappa == pytest.approx(0.25)
    assert reviewers.agreement({ALICE: {"k0": A}, BOB: {"k0": A}}, ALICE, BOB).kappa is None  # undefined
    assert reviewers.agreement({ALICE: {"k0": A}, BOB: {"k1": A}}, ALICE, BOB).both == 0
    assert not reviewers.is_team({"local": {"k0": A}}) and not reviewers.is_team({ALICE: {"k0": A}}, ALICE)
    assert reviewers.is_team({ALICE: {"k0": A}}, BOB)
    assert reviewers.filter_keys(TEAM, None, False) is None
    assert reviewers.filter_keys(TEAM, None, True) == {"k1", "k4"}
    assert reviewers.filter_keys(TEAM, BOB, False) == {"k0", "k1", "k2", "k3", "k4", "k5"}
    assert reviewers.filter_keys({**TEAM, "carol@crew.example": {"k6": R}}, BOB, True) == {"k1", "k4"}


def test_policies():
    accepted = {p: sorted(k for k, d in reviewers.resolve(TEAM, pol).items() if d == A)
                for p, pol in {"alice": Policy("reviewer", ALICE), "bob": Policy("reviewer", BOB),
                               "unanimous": Policy("unanimous"), "majority": Policy("majority")}.items()}
    assert accepted == {"alice": ["k0", "k1", "k2", "k5", "k6"], "bob": ["k0", "k2", "k4", "k5"],
                        "unanimous": ["k0", "k2", "k5"], "majority": ["k0", "k2", "k5", "k6"]}
    majority = reviewers.resolve(TEAM, Policy("majority"))
    assert "k1" not in majority and "k4" not in majority and majority["k3"] == R  # ties left out
    assert reviewers.resolve(TEAM, Policy("unanimous"))["k4"] == R
    # alone: that reviewer's decisions, exactly
    assert reviewers.default_policy({"local": {"k0": A}}) == Policy("reviewer", "local")
    assert reviewers.default_policy({}, ALICE) == Policy("reviewer", ALICE)
    assert reviewers.default_policy(TEAM) == Policy("majority")
    assert [p.kind for p in reviewers.policy_choices(TEAM)] == ["reviewer", "reviewer", "unanimous", "majority"]
    with pytest.raises(ValueError):
        Policy("reviewer")
    entry = reviewers.manifest_entry(TEAM, Policy("majority"))
    assert entry["policy"]["kind"] == "majority"
    assert entry["reviewers"] == {ALICE: {"accepted": 5, "rejected": 2, "decided": 7},
                                  BOB: {"accepted": 4, "rejected": 2, "decided": 6}}
    assert entry["conflicts"] == 2 and entry["agreement"][0]["cohen_kappa"] == pytest.approx(0.25)


# --- who may use the app -----------------------------------------------------------------


def test_allow_list_addresses_and_domains():
    allow = access.parse_allow_list(["Alice@Team.example", "@crew.example"])
    assert allow == ("alice@team.example", "@crew.example")
    assert access.is_allowed("alice@team.EXAMPLE", allow)
    assert access.is_allowed("bob@crew.example", allow)
    assert not access.is_allowed("eve@elsewhere.example", allow)
    assert not access.is_allowed("bob@evilcrew.example", allow)
    assert not access.is_allowed("bob@crew.example.evil", allow)
    assert not access.is_allowed(None, allow) and not access.is_allowed("not an address", allow)
    assert access.is_allowed("anyone@anywhere.example", access.parse_allow_list(None))
    for bad in (3, ["alice"], [""], ["@"], {"a": 1}):
        with pytest.raises(access.AllowListError):
            access.parse_allow_list(bad)


def test_loopback_addresses():
    for local in ("localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]", "unix:///tmp/app.sock"):
        assert access.is_loopback(local), local
    for open_ in (None, "", "0.0.0.0", "::", "192.168.1.10", "10.0.0.1"):
        assert not access.is_loopback(open_), open_
