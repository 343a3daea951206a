"""The store on a PostgreSQL server that drops its connections (a restart, an idle timeout, an
operator ending sessions): the pool lends connections without pinging them first, so the
store itself must notice and carry on (SQLite has no server: see test_store.py for the rest)."""

from augment_core.review.database import DATABASE_URL_ENV
from augment_core.review.store import Store


def test_reads_and_writes_carry_on_after_the_server_dropped_every_connection(postgres, tmp_path, monkeypatch):
    name = postgres.create_database()
    monkeypatch.setenv(DATABASE_URL_ENV, postgres.url(name))
    s = Store(tmp_path)
    try:
        s.add_dataset("h", "a.csv", b"x")
        s.decide("h", "1:a", "accepted")
        assert postgres.drop_connections(name) >= 1
        done = s.decide_many("h", {"1:b": "rejected"}, label="b", origin="tab", expected={"1:b": None},
                             client_id="c1")
        assert done.changed == {"1:b": "rejected"} and done.action_id is not None
        assert postgres.drop_connections(name) >= 1
        assert s.decisions("h") == {"1:a": "accepted", "1:b": "rejected"}
        assert s.client_outcomes("h", ["c1"]) == {"c1": {"changed": {"1:b": "rejected"}, "conflicts": {}}}
        assert s.undo("h", origin="tab").restored == {"1:b": None}
    finally:
        s.close()
        postgres.drop_database(name)
