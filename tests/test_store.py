import sqlite3

import pytest

from augment_core.review.store import Store, candidate_key, split_key


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
    r1 = store.add_run("h", {"seed": 1}, _rows(2))
    r2 = store.add_run("h", {"seed": 2}, _rows(3))
    assert [r.params["seed"] for r in store.runs("h")] == [1, 2]
    assert store.dataset("h").n_runs == 2
    cands = store.candidates("h")
    assert len(cands) == 5 and all(c["augmenter"] == "alias_swap" for c in cands)
    assert cands[0]["key"] == candidate_key(r1, "0~alias_swap~1")
    assert [c["run_id"] for c in store.candidates("h", [r2])] == [r2] * 3
    assert len(store.run_rows(r1)) == 4
    assert split_key(candidate_key(7, "a:b")) == (7, "a:b")


def test_decisions_persist_and_undo_groups(tmp_path):
    s = Store(tmp_path)
    s.add_dataset("h", "a.csv", b"x")
    s.add_dataset("other", "b.csv", b"y")
    s.decide("h", "1:a", "accepted")
    s.decide("h", "1:b", "rejected")
    s.decide("other", "1:a", "rejected")
    assert s.decide_many("h", {"1:b": "rejected", "1:c": "rejected", "1:d": "rejected"}, label="bulk") == 2
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
    other = sqlite3.connect(store.path)  # a second connection sees it without closing
    assert other.execute("SELECT decision FROM decisions").fetchall() == [("accepted",)]
    other.close()


def test_bad_decision_rejected(store):
    with pytest.raises(ValueError):
        store.decide("h", "1:a", "maybe")


def test_data_dir_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv("AUGMENT_REVIEW_DATA_DIR", str(tmp_path / "d"))
    s = Store()
    assert s.path.parent == tmp_path / "d" and s.path.exists()
    s.close()
