import shutil
import sqlite3
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from helpers import hold_write_lock
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from augment_core.review import migrate
from augment_core.review import runs as runs_module
from augment_core.review import store as store_module
from augment_core.review.facts import store_run
from augment_core.review.store import Store, StoreBusy, candidate_key, split_key

pytestmark = pytest.mark.usefixtures("backend")  # each test on SQLite and on PostgreSQL

SETTINGS = {"mapping": {"text_columns": ["text"], "label_column": "tags"}, "split_ratios": [0.7, 0.15, 0.15], "split_seed": 0}


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path)
    yield s
    s.close()


def _rows(n=3):
    rows = []
    for i in range(n):
        rows.append({"id": str(i), "parent_id": str(i), "augmenter": "original", "text": f"t{i}"})
        rows.append({"id": f"{i}~alias_swap~1", "parent_id": str(i), "augmenter": "alias_swap", "text": f"v{i}"})
    return rows


def test_dataset_keyed_by_hash_and_not_overwritten(store):
    assert store.add_dataset("h1", "a.csv", b"abc", {"x": 1})
    assert not store.add_dataset("h1", "renamed.csv", b"abc", {"x": 2})
    info = store.dataset("h1")
    assert info.name == "a.csv" and info.settings == {"x": 1}
    assert store.dataset_bytes("h1") == b"abc"
    store.add_dataset("h2", "b.csv", b"def")
    assert [d.hash for d in store.recent_datasets()] == ["h2", "h1"]
    store.touch_dataset("h1")
    assert store.recent_datasets()[0].hash == "h1"
    store.save_settings("h1", {"x": 3})
    assert store.dataset("h1").settings == {"x": 3}
    store.save_tags("h1", "tags.json", b"[]")
    assert store.tags("h1") == ("tags.json", b"[]")
    assert store.dataset("missing") is None


def test_runs_and_candidates(store):
    store.add_dataset("h", "a.csv", b"x")
    r1 = store_run(store, "h", {"seed": 1}, _rows(2), SETTINGS)
    store.save_settings("h", {"other": True})  # a remap later: the runs keep their own
    r2 = store_run(store, "h", {"seed": 2}, _rows(3), {"split_seed": 5})
    assert [r.params["seed"] for r in store.runs("h")] == [1, 2]
    assert [r.settings for r in store.runs("h")] == [SETTINGS, {"split_seed": 5}]
    assert store.dataset("h").n_runs == 2
    cands = store.candidates("h")
    assert len(cands) == 5 and all(c.row["augmenter"] == "alias_swap" for c in cands)
    assert cands[0].key == candidate_key(r1, "0~alias_swap~1")
    assert [c.run_id for c in store.candidates("h", [r2])] == [r2] * 3
    assert len(store.run_rows(r1)) == 4
    assert split_key(candidate_key(7, "a:b")) == (7, "a:b")


def test_decisions_persist_and_undo_groups(tmp_path):
    s = Store(tmp_path)
    s.add_dataset("h", "a.csv", b"x")
    s.add_dataset("other", "b.csv", b"y")
    s.decide("h", "1:a", "accepted")
    s.decide("h", "1:b", "rejected")
    s.decide("other", "1:a", "rejected")
    assert len(s.decide_many("h", {"1:b": "rejected", "1:c": "rejected", "1:d": "rejected"}, label="bulk").changed) == 2
    s.close()

    s = Store(tmp_path)  # a restart finds everything
    assert s.decisions("h") == {"1:a": "accepted", "1:b": "rejected", "1:c": "rejected", "1:d": "rejected"}
    assert s.decisions("other") == {"1:a": "rejected"}
    undone = s.undo("h")
    assert undone.label == "bulk" and undone.restored == {"1:c": None, "1:d": None}
    assert s.decisions("h") == {"1:a": "accepted", "1:b": "rejected"}
    s.decide("h", "1:a", "rejected")
    assert s.undo("h").restored == {"1:a": "accepted"}
    assert s.decisions("h")["1:a"] == "accepted"
    s.undo("h")
    s.undo("h")
    assert s.undo("h") is None and not s.can_undo("h")
    assert s.decisions("h") == {}
    assert s.decisions("other") == {"1:a": "rejected"}
    s.close()


def test_decision_written_at_once(store):
    store.add_dataset("h", "a.csv", b"x")
    store.decide("h", "1:a", "accepted")
    other = Store(store.data_dir)  # a second handle sees it without closing
    assert other.read("SELECT decision FROM decisions") == [("accepted",)]
    other.close()


def test_a_write_that_fails_at_its_end_stores_none_of_it(store):
    """On PostgreSQL a write's statements are sent together with its COMMIT: one failing
    there (a constraint) still undoes every one before it, and says which error."""
    store.add_dataset("h", "a.csv", b"x")
    insert = "INSERT INTO decisions (dataset_hash, key, reviewer, decision, decided_at) VALUES (?, ?, 'local', ?, 0)"
    with pytest.raises(IntegrityError):
        with store.db.write() as c:
            c.queue(insert, ("h", "1:a", "accepted"))
            c.queue(insert, ("h", "1:b", "maybe"))
    assert store.decisions("h") == {}
    store.decide("h", "1:a", "rejected")  # the next write is not wedged
    assert store.decisions("h") == {"1:a": "rejected"}


def test_bad_decision_rejected(store):
    with pytest.raises(ValueError):
        store.decide("h", "1:a", "maybe")


@pytest.mark.sqlite_only
def test_data_dir_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv("AUGMENT_REVIEW_DATA_DIR", str(tmp_path / "d"))
    s = Store()
    assert s.path.parent == tmp_path / "d" and s.path.exists()
    s.close()


def test_run_written_in_chunks_is_shown_only_whole(store, monkeypatch):
    """A run is stored in several transactions (other writers get in between); one that
    fails half-way is removed and never shown."""
    monkeypatch.setattr(runs_module, "RUN_CHUNK", 2)
    store.add_dataset("h", "a.csv", b"x")
    rows = _rows(3)
    rows[4] = {"parent_id": "2", "augmenter": "alias_swap"}  # no id: the third chunk fails
    with pytest.raises(KeyError):
        store_run(store, "h", {}, rows, None)
    assert store.runs("h") == [] and store.dataset("h").n_runs == 0
    assert store.candidates("h") == []
    run = store_run(store, "h", {}, _rows(3), None)
    assert [r.id for r in store.runs("h")] == [run] and len(store.run_rows(run)) == 6


def test_write_checked_against_what_the_page_showed(store):
    """Tab B saw 1:a and 1:b undecided; tab A rejected 1:a meanwhile. B's bulk accept of
    "undecided" variants leaves A's rejection alone and says so."""
    store.add_dataset("h", "a.csv", b"x")
    store.decide("h", "1:a", "rejected", origin="A", expected=None)
    result = store.decide_many("h", {"1:a": "accepted", "1:b": "accepted"}, origin="B",
                               expected={"1:a": None, "1:b": None})
    assert result.changed == {"1:b": "accepted"} and result.conflicts == {"1:a": "rejected"}
    assert store.decisions("h") == {"1:a": "rejected", "1:b": "accepted"}
    # a single click on a stale page is not written either
    stale = store.decide("h", "1:b", "rejected", origin="A", expected=None)
    assert stale.changed == {} and stale.conflicts == {"1:b": "accepted"}
    assert store.decisions("h")["1:b"] == "accepted"


def test_a_stale_page_s_write_is_recorded_once_with_its_conflicts(store):
    """A write from what the page showed is checked in the same round trip on PostgreSQL and
    read again where it no longer holds: the outcome, the history and the undo are those of
    the write as it applied, nothing of the attempt before."""
    store.add_dataset("h", "a.csv", b"x")
    store.decide("h", "1:a", "rejected", origin="A")
    store.decide_many("h", {"1:a": "accepted", "1:b": "accepted"}, label="B's", origin="B",
                      expected={"1:a": None, "1:b": None}, client_id="b1")
    assert store.client_outcomes("h", ["b1"]) == {"b1": {"changed": {"1:b": "accepted"},
                                                          "conflicts": {"1:a": "rejected"}}}
    assert [(e.key, e.before, e.after) for e in store.history("h")] == [("1:a", None, "rejected"),
                                                                        ("1:b", None, "accepted")]
    assert store.undo("h", origin="B").restored == {"1:b": None}
    assert store.decisions("h") == {"1:a": "rejected"}


def test_undo_reverts_only_its_own_origin_and_what_is_unchanged(store):
    store.add_dataset("h", "a.csv", b"x")
    store.decide_many("h", {"1:a": "accepted", "1:b": "accepted"}, label="bulk accept", origin="A")
    store.decide("h", "1:c", "rejected", origin="B")
    assert store.last_action("h", origin="A").label == "bulk accept"
    assert store.last_action("h", origin="A").n_items == 2
    store.decide("h", "1:a", "rejected", origin="B")  # B changes one of A's since
    undone = store.undo("h", origin="A")  # A's latest is its bulk, not B's later actions
    assert undone.label == "bulk accept"
    assert undone.restored == {"1:b": None} and undone.conflicts == {"1:a": "rejected"}
    assert store.decisions("h") == {"1:a": "rejected", "1:c": "rejected"}
    assert store.undo("h", origin="A") is None and not store.can_undo("h", origin="A")
    assert store.can_undo("h", origin="B")


def test_locked_database_never_wedges_and_loses_nothing(tmp_path):
    """An outside connection holds the write lock (SQLite's; PostgreSQL's advisory lock, as
    another app server mid-write). A write that cannot wait long enough
    fails with StoreBusy and leaves the store usable; meanwhile readers on other threads
    are not held up; writers that can wait get in once the lock goes; nothing is lost."""
    s = Store(tmp_path, write_wait=0.3)
    s.add_dataset("h", "a.csv", b"x")
    s.decide("h", "0:before", "accepted")
    release = hold_write_lock(s)

    started = time.monotonic()
    with pytest.raises(StoreBusy):
        s.decide("h", "0:lost?", "accepted")
    assert time.monotonic() - started < 5
    with pytest.raises(StoreBusy):  # again: the first failure released everything it took
        s.decide_many("h", {"0:x": "rejected"})

    s.write_wait = 20.0
    errors: list[BaseException] = []
    reads_while_locked: list[int] = []
    locked = threading.Event()
    locked.set()

    def writer(i: int) -> None:
        try:
            for j in range(5):
                s.decide("h", f"{i}:{j}", "accepted" if j % 2 else "rejected", origin=f"tab{i}")
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    def reader() -> None:
        try:
            while locked.is_set():
                s.decisions("h")
                s.runs("h")
                reads_while_locked.append(1)
                time.sleep(0.01)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    writers = [threading.Thread(target=writer, args=(i,)) for i in range(1, 5)]
    readers = [threading.Thread(target=reader) for _ in range(3)]
    for t in writers + readers:
        t.start()
    time.sleep(1.0)
    assert len(reads_while_locked) >= 10, "reads were held up by the waiting writers"
    assert all(t.is_alive() for t in writers)  # still waiting, not failed
    release()
    locked.clear()
    for t in writers + readers:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in writers + readers), "a thread is stuck"
    assert errors == []
    decisions = s.decisions("h")
    assert len(decisions) == 1 + 4 * 5 and decisions["0:before"] == "accepted"
    assert "0:lost?" not in decisions  # failed loudly, not written half
    s.close()


@pytest.mark.sqlite_only
def test_old_database_is_migrated(tmp_path):
    """A database from before runs kept their settings: each run gets the settings its
    parameters recorded (or the dataset's), and undo works with origins."""
    path = tmp_path / store_module.DB_NAME
    c = sqlite3.connect(path)
    c.executescript("""
        CREATE TABLE datasets (hash TEXT PRIMARY KEY, name TEXT NOT NULL, data BLOB NOT NULL, settings TEXT,
            tags_name TEXT, tags_data BLOB, created_at REAL NOT NULL, last_opened REAL NOT NULL);
        CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, dataset_hash TEXT NOT NULL, params TEXT NOT NULL,
            n_rows INTEGER NOT NULL, created_at REAL NOT NULL);
        CREATE TABLE actions (id INTEGER PRIMARY KEY AUTOINCREMENT, dataset_hash TEXT NOT NULL, label TEXT NOT NULL,
            created_at REAL NOT NULL);
        INSERT INTO datasets VALUES ('h', 'a.csv', x'00', '{"split_seed": 9}', NULL, NULL, 0, 0);
        INSERT INTO runs VALUES (1, 'h', '{"settings": {"split_seed": 3}}', 0, 0);
        INSERT INTO runs VALUES (2, 'h', '{}', 0, 0);
    """)
    c.close()
    s = Store(tmp_path)
    assert [r.settings for r in s.runs("h")] == [{"split_seed": 3}, {"split_seed": 9}]
    assert s.dataset_bytes("h") == b"\x00"  # moved to dataset_files, out of the datasets row
    s.decide("h", "1:a", "accepted", origin="A")
    assert s.undo("h", origin="A").restored == {"1:a": None}
    s.close()


DECIDER = """
import sys, time
from pathlib import Path
from augment_core.review.store import Store
data_dir, name, stop = sys.argv[1], sys.argv[2], Path(sys.argv[3])
s = Store(data_dir, write_wait=4.0)
print("ready", flush=True)
n, saved = 0, []
while not stop.exists() or n < 20:
    s.decide("h", f"{name}:{n}", "accepted", origin=name)  # StoreBusy would end the process with status 1
    saved.append(time.time())  # when the decision was committed (written and the lock let go)
    n += 1
    time.sleep(0.01)
print(" ".join(map(repr, saved)), flush=True)
print(n, flush=True)
"""


def test_other_processes_decide_while_a_big_run_is_stored(tmp_path, monkeypatch):
    """Three processes decide (each waiting at most 4 s for the lock: a busy machine slows a
    chunk) while a fourth stores a run in 20 chunks (as a 400,000-row run goes in chunks of
    RUN_CHUNK; here 10,000 rows in chunks of 500): no decision fails, and decisions get in
    between the chunks, while the run is being written (one transaction for the whole run
    would hold every one of them until its end). When the run is written is what its pauses
    between chunks say: from the first, after its first chunk is in, to the last."""
    import subprocess
    import sys

    monkeypatch.setattr(runs_module, "RUN_CHUNK", 500)
    pauses: list[float] = []

    def pause(seconds: float) -> None:
        pauses.append(time.time())
        time.sleep(seconds)

    monkeypatch.setattr(runs_module, "time", SimpleNamespace(time=time.time, sleep=pause))
    s = Store(tmp_path)
    s.add_dataset("h", "a.csv", b"x")
    stop = tmp_path / "stop"
    procs = [
        subprocess.Popen([sys.executable, "-c", DECIDER, str(tmp_path), f"p{i}", str(stop)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=store_module.Path(__file__).parent.parent)
        for i in range(3)
    ]
    try:
        for p in procs:
            assert p.stdout.readline().strip() == "ready", p.stderr.read()
        rows = [{"id": f"{i}~a~1", "parent_id": str(i), "augmenter": "alias_swap", "text": "some text " * 8}
                for i in range(10_000)]
        store_run(s, "h", {}, rows, None)
        stop.touch()
        counts, saved = {}, []
        for i, p in enumerate(procs):
            out, err = p.communicate(timeout=60)
            assert p.returncode == 0, err[-2000:]
            *times, n = out.split()
            counts[f"p{i}"] = int(n)
            saved += map(float, times)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    decisions = s.decisions("h")
    assert len(decisions) == sum(counts.values())
    assert all(f"{name}:{k}" in decisions for name, n in counts.items() for k in range(n))
    assert len(s.run_rows(s.runs("h")[0].id)) == 10_000
    # and they got in while the run was being written, between its first chunk and its last
    assert len(pauses) == 19
    assert sum(1 for t in saved if pauses[0] < t < pauses[-1]) >= 3
    s.close()


RELEASE_DB = Path(__file__).parent / "data" / "release-store.sqlite3"
"""A database made by the release before Alembic (the store as split by job, commit 692f94c):
one dataset, a run of six variants, decisions of three reviewers (two in conflict), a
browser-queue record, an alias rule and a decision on it."""


@pytest.mark.sqlite_only
def test_a_database_of_the_release_before_alembic_upgrades_in_place(tmp_path):
    shutil.copy(RELEASE_DB, tmp_path / store_module.DB_NAME)
    s = Store(tmp_path)
    try:
        h = s.recent_datasets()[0].hash
        assert s.decisions_by_reviewer(h) == {
            "ann@example.org": {"1:0~alias_swap~1": "accepted", "1:0~alias_swap~2": "accepted",
                                "1:1~alias_swap~1": "rejected"},
            "bob@example.org": {"1:0~alias_swap~1": "rejected"},
            "local": {"1:1~alias_swap~2": "accepted"},
        }
        assert s.rule_decisions(h, 1, "ann@example.org") == {"gan -> GANs": "accepted"}
        assert len(s.history(h)) == 6 and s.client_outcomes(h, ["c1"], "ann@example.org")["c1"]["changed"]
        assert s.read("SELECT version_num FROM alembic_version") == [(migrate.head(),)]
        # and it works on: undo of ann's last action (the rule) in her tab, a new decision
        s.undo(h, origin=None, reviewer="ann@example.org")
        assert s.rule_decisions(h, 1, "ann@example.org") == {}
        s.decide(h, "1:2~alias_swap~1", "rejected", reviewer="bob@example.org")
        assert s.decisions(h, "bob@example.org")["1:2~alias_swap~1"] == "rejected"
        assert len(s.history(h)) == 8  # nothing deleted
    finally:
        s.close()
    again = Store(tmp_path)  # a second open finds it current: nothing runs again
    assert again.read("SELECT COUNT(*) FROM decisions") == [(6,)]
    again.close()


@pytest.mark.sqlite_only
def test_evaluations_kept_in_the_sqlite_file_by_the_release_before_move_into_the_store(tmp_path):
    """The Evaluate page of the release before kept its results in a table it made itself,
    outside Alembic (database at 0001_baseline): the upgrade keeps them, and a database at
    0001 without that table gets it."""
    for had_table in (True, False):
        folder = tmp_path / str(had_table)
        Store(folder).close()
        with sqlite3.connect(folder / store_module.DB_NAME) as c:
            c.execute("DROP TABLE evaluations")
            c.execute("UPDATE alembic_version SET version_num = '0001_baseline'")
            if had_table:  # as augment_core/evaluate/storage.py made it
                c.executescript("""
                    CREATE TABLE IF NOT EXISTS evaluations (
                        id INTEGER PRIMARY KEY AUTOINCREMENT, dataset_hash TEXT NOT NULL,
                        created_at REAL NOT NULL, result TEXT NOT NULL);
                    CREATE INDEX IF NOT EXISTS evaluations_dataset ON evaluations(dataset_hash, id);
                    INSERT INTO evaluations (dataset_hash, created_at, result) VALUES ('h', 0, '{"verdict": "kept"}');
                """)
        s = Store(folder)
        try:
            assert s.read("SELECT version_num FROM alembic_version") == [(migrate.head(),)]
            assert s.latest_evaluation("h") == ({"verdict": "kept", "id": 1, "created_at": "1970-01-01T00:00:00Z"}
                                                if had_table else None)
            new = s.save_evaluation("h", {"verdict": "new"})
            assert s.latest_evaluation("h")["verdict"] == "new" and new == (2 if had_table else 1)
        finally:
            s.close()


def test_a_database_whose_action_items_have_a_foreign_key_upgrades_in_place(tmp_path):
    """Migration 0003: a database of the release before keeps its actions and their items,
    loses the foreign key (a per-row check of a bulk's items on PostgreSQL) and undoes as before."""
    s = Store(tmp_path)
    s.add_dataset("h", "a.csv", b"x")
    with s.db.write() as c:  # action_items as the release before made them
        c.execute("DROP TABLE action_items")
        c.execute("CREATE TABLE action_items (action_id BIGINT NOT NULL REFERENCES actions (id), key TEXT NOT NULL,"
                  " before TEXT, after TEXT)")
        c.execute("CREATE INDEX action_items_action ON action_items (action_id)")
        c.execute("UPDATE alembic_version SET version_num = '0002_evaluations'")
    s.decide_many("h", {"1:a": "accepted", "1:b": "rejected"}, label="two", origin="tab")
    s.close()
    s = Store(tmp_path)
    try:
        assert s.read("SELECT version_num FROM alembic_version") == [(migrate.head(),)]
        assert s.db.reading(lambda c: inspect(c.sa).get_foreign_keys("action_items")) == []
        assert "action_items_action" in {i["name"] for i in s.db.reading(lambda c: inspect(c.sa).get_indexes("action_items"))}
        assert s.undo("h", origin="tab").restored == {"1:a": None, "1:b": None}
        assert s.decisions("h") == {}
    finally:
        s.close()
