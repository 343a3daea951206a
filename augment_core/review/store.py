"""Review work on disk: datasets, augmentation runs, candidates and decisions in SQLite.

One database file (``augment-review.sqlite3``) in the data directory, which is
``$AUGMENT_REVIEW_DATA_DIR`` or ``~/.augment-review``. Everything is keyed by the dataset's
content hash, so uploading a different file never touches another dataset's work, and
uploading the same bytes again opens the same work.

Each write commits at once (WAL journal, ``synchronous=NORMAL``): a decision is on disk
when :meth:`Store.decide` returns. Decisions are keyed by a candidate *key*,
``"<run id>:<row id>"`` (see :func:`candidate_key`), because row ids repeat across runs.

Every change to decisions is also an *action* in an undo log: a single accept is an action
of one item, a bulk accept is one action of many items, and :meth:`Store.undo` reverts the
latest action of a dataset as a whole.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

DB_NAME = "augment-review.sqlite3"
DECISIONS = ("accepted", "rejected")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS datasets (
    hash TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    data BLOB NOT NULL,
    settings TEXT,
    tags_name TEXT,
    tags_data BLOB,
    created_at REAL NOT NULL,
    last_opened REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset_hash TEXT NOT NULL REFERENCES datasets(hash),
    params TEXT NOT NULL,
    n_rows INTEGER NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_dataset ON runs(dataset_hash);
CREATE TABLE IF NOT EXISTS candidates (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    pos INTEGER NOT NULL,
    row_id TEXT NOT NULL,
    augmenter TEXT NOT NULL,
    row TEXT NOT NULL,
    PRIMARY KEY (run_id, pos)
);
CREATE TABLE IF NOT EXISTS decisions (
    dataset_hash TEXT NOT NULL,
    key TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('accepted', 'rejected')),
    decided_at REAL NOT NULL,
    PRIMARY KEY (dataset_hash, key)
);
CREATE TABLE IF NOT EXISTS actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset_hash TEXT NOT NULL,
    label TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS actions_dataset ON actions(dataset_hash, id);
CREATE TABLE IF NOT EXISTS action_items (
    action_id INTEGER NOT NULL REFERENCES actions(id),
    key TEXT NOT NULL,
    before TEXT,
    after TEXT
);
CREATE INDEX IF NOT EXISTS action_items_action ON action_items(action_id);
"""


def default_data_dir() -> Path:
    env = os.environ.get("AUGMENT_REVIEW_DATA_DIR")
    return Path(env).expanduser() if env else Path.home() / ".augment-review"


def candidate_key(run_id: int, row_id: str) -> str:
    return f"{run_id}:{row_id}"


def split_key(key: str) -> tuple[int, str]:
    run, _, row_id = key.partition(":")
    return int(run), row_id


@dataclass(frozen=True)
class DatasetInfo:
    hash: str
    name: str
    settings: dict[str, Any] | None
    tags_name: str | None
    created_at: float
    last_opened: float
    n_runs: int = 0


@dataclass(frozen=True)
class RunInfo:
    id: int
    dataset_hash: str
    params: dict[str, Any]
    n_rows: int
    created_at: float


@dataclass(frozen=True)
class UndoResult:
    label: str
    restored: dict[str, str | None]
    """key -> the decision now in force (None: undecided again)."""


class Store:
    """A thread-safe handle on the database (Streamlit runs sessions on threads)."""

    def __init__(self, data_dir: str | os.PathLike[str] | None = None) -> None:
        self.data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.data_dir / DB_NAME
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # --- transactions ------------------------------------------------------------------

    def _tx(self):
        return _Transaction(self)

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            cur = self._conn.execute(sql, args)
            return cur.fetchall()

    # --- datasets ----------------------------------------------------------------------

    def add_dataset(self, hash: str, name: str, data: bytes, settings: Mapping[str, Any] | None = None) -> bool:
        """Store an uploaded file under its content hash; True when it is new.

        Storing bytes that are already there only marks the dataset as opened: its
        settings, runs and decisions stay as they are.
        """
        now = time.time()
        with self._tx() as c:
            exists = c.execute("SELECT 1 FROM datasets WHERE hash = ?", (hash,)).fetchone()
            if exists:
                c.execute("UPDATE datasets SET last_opened = ? WHERE hash = ?", (now, hash))
                return False
            c.execute(
                "INSERT INTO datasets (hash, name, data, settings, created_at, last_opened)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (hash, name, data, _dumps(settings), now, now),
            )
            return True

    def has_dataset(self, hash: str) -> bool:
        return bool(self._query("SELECT 1 FROM datasets WHERE hash = ?", (hash,)))

    def dataset(self, hash: str) -> DatasetInfo | None:
        rows = self._query(
            "SELECT d.hash, d.name, d.settings, d.tags_name, d.created_at, d.last_opened,"
            " (SELECT COUNT(*) FROM runs r WHERE r.dataset_hash = d.hash)"
            " FROM datasets d WHERE d.hash = ?",
            (hash,),
        )
        return _dataset_info(rows[0]) if rows else None

    def dataset_bytes(self, hash: str) -> bytes:
        rows = self._query("SELECT data FROM datasets WHERE hash = ?", (hash,))
        if not rows:
            raise KeyError(hash)
        return bytes(rows[0][0])

    def recent_datasets(self, limit: int = 10) -> list[DatasetInfo]:
        rows = self._query(
            "SELECT d.hash, d.name, d.settings, d.tags_name, d.created_at, d.last_opened,"
            " (SELECT COUNT(*) FROM runs r WHERE r.dataset_hash = d.hash)"
            " FROM datasets d ORDER BY d.last_opened DESC LIMIT ?",
            (limit,),
        )
        return [_dataset_info(r) for r in rows]

    def touch_dataset(self, hash: str) -> None:
        with self._tx() as c:
            c.execute("UPDATE datasets SET last_opened = ? WHERE hash = ?", (time.time(), hash))

    def save_settings(self, hash: str, settings: Mapping[str, Any]) -> None:
        """The column mapping and split settings (a JSON-able dict)."""
        with self._tx() as c:
            c.execute("UPDATE datasets SET settings = ? WHERE hash = ?", (_dumps(settings), hash))

    def save_tags(self, hash: str, name: str | None, data: bytes | None) -> None:
        """The dataset's tags file (None: the bundled vocabulary)."""
        with self._tx() as c:
            c.execute("UPDATE datasets SET tags_name = ?, tags_data = ? WHERE hash = ?", (name, data, hash))

    def tags(self, hash: str) -> tuple[str | None, bytes | None]:
        rows = self._query("SELECT tags_name, tags_data FROM datasets WHERE hash = ?", (hash,))
        if not rows:
            return None, None
        name, data = rows[0]
        return name, (bytes(data) if data is not None else None)

    # --- runs and candidates -------------------------------------------------------------

    def add_run(self, dataset_hash: str, params: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> int:
        """Store one augmentation run's provenance rows (originals and variants)."""
        now = time.time()
        with self._tx() as c:
            cur = c.execute(
                "INSERT INTO runs (dataset_hash, params, n_rows, created_at) VALUES (?, ?, ?, ?)",
                (dataset_hash, _dumps(params), len(rows), now),
            )
            run_id = int(cur.lastrowid)
            c.executemany(
                "INSERT INTO candidates (run_id, pos, row_id, augmenter, row) VALUES (?, ?, ?, ?, ?)",
                (
                    (run_id, i, str(r["id"]), str(r.get("augmenter", "")), json.dumps(r, ensure_ascii=False, default=str))
                    for i, r in enumerate(rows)
                ),
            )
        return run_id

    def runs(self, dataset_hash: str) -> list[RunInfo]:
        rows = self._query(
            "SELECT id, dataset_hash, params, n_rows, created_at FROM runs WHERE dataset_hash = ? ORDER BY id",
            (dataset_hash,),
        )
        return [RunInfo(r[0], r[1], json.loads(r[2]), r[3], r[4]) for r in rows]

    def run_rows(self, run_id: int) -> list[dict[str, Any]]:
        rows = self._query("SELECT row FROM candidates WHERE run_id = ? ORDER BY pos", (run_id,))
        return [json.loads(r[0]) for r in rows]

    def candidates(self, dataset_hash: str, run_ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
        """Every generated variant (not the originals) of the dataset's runs, oldest run
        first, each with ``key`` and ``run_id`` added."""
        wanted = None if run_ids is None else set(int(r) for r in run_ids)
        out: list[dict[str, Any]] = []
        for run in self.runs(dataset_hash):
            if wanted is not None and run.id not in wanted:
                continue
            rows = self._query(
                "SELECT row_id, row FROM candidates WHERE run_id = ? AND augmenter != 'original' ORDER BY pos",
                (run.id,),
            )
            for row_id, raw in rows:
                row = json.loads(raw)
                row["run_id"] = run.id
                row["key"] = candidate_key(run.id, row_id)
                out.append(row)
        return out

    # --- decisions -------------------------------------------------------------------------

    def decisions(self, dataset_hash: str) -> dict[str, str]:
        rows = self._query("SELECT key, decision FROM decisions WHERE dataset_hash = ?", (dataset_hash,))
        return {k: d for k, d in rows}

    def decide(self, dataset_hash: str, key: str, decision: str | None, label: str | None = None) -> None:
        """Record one decision (None clears it) as an undoable action."""
        self.decide_many(dataset_hash, {key: decision}, label=label or f"{decision or 'clear'} {key}")

    def decide_many(self, dataset_hash: str, changes: Mapping[str, str | None], label: str = "bulk") -> int:
        """Record many decisions as one undoable action; returns how many changed."""
        for d in changes.values():
            if d is not None and d not in DECISIONS:
                raise ValueError(f"decision must be one of {DECISIONS} or None, not {d!r}")
        now = time.time()
        with self._tx() as c:
            current = _current(c, dataset_hash, list(changes))
            items = [(k, current.get(k), d) for k, d in changes.items() if current.get(k) != d]
            if not items:
                return 0
            cur = c.execute(
                "INSERT INTO actions (dataset_hash, label, created_at) VALUES (?, ?, ?)",
                (dataset_hash, label, now),
            )
            action_id = int(cur.lastrowid)
            c.executemany(
                "INSERT INTO action_items (action_id, key, before, after) VALUES (?, ?, ?, ?)",
                ((action_id, k, b, a) for k, b, a in items),
            )
            _apply(c, dataset_hash, {k: a for k, _, a in items}, now)
            return len(items)

    def undo(self, dataset_hash: str) -> UndoResult | None:
        """Revert the dataset's latest action; None when there is nothing to undo."""
        with self._tx() as c:
            row = c.execute(
                "SELECT id, label FROM actions WHERE dataset_hash = ? ORDER BY id DESC LIMIT 1",
                (dataset_hash,),
            ).fetchone()
            if row is None:
                return None
            action_id, label = row
            items = c.execute("SELECT key, before FROM action_items WHERE action_id = ?", (action_id,)).fetchall()
            restored = {k: b for k, b in items}
            _apply(c, dataset_hash, restored, time.time())
            c.execute("DELETE FROM action_items WHERE action_id = ?", (action_id,))
            c.execute("DELETE FROM actions WHERE id = ?", (action_id,))
            return UndoResult(label=label, restored=restored)

    def can_undo(self, dataset_hash: str) -> bool:
        return bool(self._query("SELECT 1 FROM actions WHERE dataset_hash = ? LIMIT 1", (dataset_hash,)))

    def last_action_label(self, dataset_hash: str) -> str | None:
        rows = self._query(
            "SELECT label FROM actions WHERE dataset_hash = ? ORDER BY id DESC LIMIT 1", (dataset_hash,)
        )
        return rows[0][0] if rows else None


class _Transaction:
    def __init__(self, store: Store) -> None:
        self._store = store

    def __enter__(self) -> sqlite3.Connection:
        self._store._lock.acquire()
        self._store._conn.execute("BEGIN IMMEDIATE")
        return self._store._conn

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self._store._conn.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self._store._lock.release()


def _current(c: sqlite3.Connection, dataset_hash: str, keys: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        marks = ",".join("?" * len(chunk))
        for k, d in c.execute(
            f"SELECT key, decision FROM decisions WHERE dataset_hash = ? AND key IN ({marks})",
            (dataset_hash, *chunk),
        ):
            out[k] = d
    return out


def _apply(c: sqlite3.Connection, dataset_hash: str, changes: Mapping[str, str | None], now: float) -> None:
    clear = [(dataset_hash, k) for k, d in changes.items() if d is None]
    put = [(dataset_hash, k, d, now) for k, d in changes.items() if d is not None]
    if clear:
        c.executemany("DELETE FROM decisions WHERE dataset_hash = ? AND key = ?", clear)
    if put:
        c.executemany(
            "INSERT INTO decisions (dataset_hash, key, decision, decided_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (dataset_hash, key) DO UPDATE SET decision = excluded.decision,"
            " decided_at = excluded.decided_at",
            put,
        )


def _dataset_info(r: Sequence[Any]) -> DatasetInfo:
    return DatasetInfo(
        hash=r[0],
        name=r[1],
        settings=json.loads(r[2]) if r[2] else None,
        tags_name=r[3],
        created_at=r[4],
        last_opened=r[5],
        n_runs=r[6],
    )


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)


# --- a stored dataset's settings ---------------------------------------------------------
#
# The settings saved with a dataset are its column mapping and how to split it:
# ``{"mapping": ColumnMapping.to_json(), "split_ratios": [train, val, test], "split_seed": 0}``.
# Rebuilding from the stored bytes and these settings gives the same records and splits
# every time (the split is seeded), so nothing derived needs storing.


def default_settings(table: Any) -> dict[str, Any]:
    from augment_core.dataset import guess_mapping
    from augment_core.splitting import DEFAULT_RATIOS

    return {"mapping": guess_mapping(table).to_json(), "split_ratios": list(DEFAULT_RATIOS), "split_seed": 0}


def build_from_settings(table: Any, settings: Mapping[str, Any]) -> Any:
    """The split dataset the settings describe (raises ``InputError`` when they do not fit)."""
    from augment_core.dataset import ColumnMapping, build_dataset
    from augment_core.splitting import DEFAULT_RATIOS, assign_splits

    mapping = ColumnMapping.from_json(dict(settings["mapping"]))
    dataset = build_dataset(table, mapping)
    ratios = settings.get("split_ratios") or DEFAULT_RATIOS
    return assign_splits(dataset, ratios=ratios, seed=int(settings.get("split_seed") or 0))
