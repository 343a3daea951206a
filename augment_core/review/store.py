"""Review work on disk: datasets, augmentation runs, candidates and decisions in SQLite.

One database file (``augment-review.sqlite3``) in the data directory, which is
``$AUGMENT_REVIEW_DATA_DIR`` or ``~/.augment-review``. Everything is keyed by the dataset's
content hash, so uploading a different file never touches another dataset's work, and
uploading the same bytes again opens the same work. The tables are in
:mod:`augment_core.review.schema`. The store keeps JSON and plain rows; it builds no
dataset or review objects from them.

**Never wedged.** Several processes and many threads may use one database at once (every
browser tab is a thread of the Streamlit server; a second server or the ``sqlite3`` shell
may hold the write lock). Reads use a pool of connections and, in WAL mode, never wait for
a writer. Writes take an in-process lock, then ``BEGIN IMMEDIATE``; both waits together
are bounded by ``write_wait`` seconds (``$AUGMENT_REVIEW_WRITE_WAIT``, default 15): SQLite's
busy timeout in short slices with a growing, jittered back-off in between (capped at
``MAX_PAUSE``, so a waiting writer keeps polling often enough to get a turn). A write that still cannot
start raises :class:`StoreBusy`, and every path (a failed ``BEGIN``, a failed ``COMMIT``, an
error in the transaction) rolls back and releases the lock, so the next write can succeed.
A long run is written in chunks, each its own transaction with a short pause after it, so
decisions from other tabs or processes go through while it is stored; it is shown only once
complete.

**Decisions.** Each write commits at once (WAL, ``synchronous=NORMAL``: a committed
decision survives the process being killed). Decisions are keyed by a candidate *key*,
``"<run id>:<row id>"`` (see :func:`candidate_key`), because row ids repeat across runs.
Writes are applied against the database as it is when the write runs: a caller may say
which decision it *expected* for each key (what its page showed) and keys that changed
since are left alone and reported as conflicts, so two tabs never overwrite each other
unknowingly.

**Rule decisions.** A run loaded by sample (:mod:`augment_core.review.run_import`) is
reviewed rule by rule: a decision on a whole alias rule of a run is written under the key
``"rule:<run id>:<rule>"`` (:func:`rule_key`) through the same path as row decisions
(expected states, conflicts, actions, undo), and kept in its own table, ``rule_decisions``;
the rules' row counts are in ``run_rules``.

**Undo.** Every change is an *action* (one item for a single accept, many for a bulk one)
with an ``origin`` (the app: one per browser tab). :meth:`Store.undo` reverts the latest
action of one origin as a whole, and only where the decision is still what that action
wrote.

**Reviewers.** Every decision belongs to a *reviewer* (the signed-in e-mail; ``"local"``
without sign-in, which is also the default of every method, so a caller that names none
works as before). Each reviewer's decisions are kept apart: a reviewer's write checks and
changes only that reviewer's decisions, and undo reverts only the reviewer's own actions.
Every change a decision or an undo makes is also appended to ``history`` (reviewer, time,
before, after), which nothing deletes: :meth:`Store.history`.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence, TypeVar

from augment_core.review.facts import SORT_COLUMNS, Facts, facts_of
from augment_core.review.schema import LOCAL_REVIEWER, migrate, schema_is_current

DB_NAME = "augment-review.sqlite3"
DECISIONS = ("accepted", "rejected")
DEFAULT_WRITE_WAIT = 15.0
BUSY_SLICE = 0.05
"""Seconds SQLite's own busy handler waits per attempt (it polls every few milliseconds)."""
MAX_PAUSE = 0.05
"""The longest pause between attempts: SQLite's locks are not fair, so a waiting writer that
polled less often would miss the short gaps a writer of many transactions leaves."""
RUN_CHUNK = 10_000
"""Candidates written per transaction when storing a run."""
RUN_PAUSE = 0.05
"""Seconds between a run's chunks: long enough for writers polling every ``MAX_PAUSE`` to get in."""
INDEX_CLAIM = 600.0
"""Seconds after which a run another process began indexing (and never finished) is indexed again."""
ITEM_SHIFT = 32
"""A variant's row id in the review index is ``run id << ITEM_SHIFT | position``: ordered by
run, then position, whatever order runs are written in."""
_POOL_SIZE = 8
T = TypeVar("T")


class StoreBusy(RuntimeError):
    """The database stayed locked by another writer for longer than the store waits."""


def default_data_dir() -> Path:
    env = os.environ.get("AUGMENT_REVIEW_DATA_DIR")
    return Path(env).expanduser() if env else Path.home() / ".augment-review"


def default_write_wait() -> float:
    try:
        return max(0.0, float(os.environ.get("AUGMENT_REVIEW_WRITE_WAIT", DEFAULT_WRITE_WAIT)))
    except ValueError:
        return DEFAULT_WRITE_WAIT


def candidate_key(run_id: int, row_id: str) -> str:
    return f"{run_id}:{row_id}"


RULE_KEY = "rule:"
"""Keys of rule decisions in the undo log start so (row keys start with a run id)."""


def rule_key(run_id: int, rule: str) -> str:
    """The key a decision on a whole alias rule of a run is written and undone under."""
    return f"{RULE_KEY}{run_id}:{rule}"


def split_rule_key(key: str) -> tuple[int, str] | None:
    """(run id, rule) of a rule key; None for a row key."""
    if not key.startswith(RULE_KEY):
        return None
    run, _, rule = key[len(RULE_KEY):].partition(":")
    return int(run), rule


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
    settings: dict[str, Any] | None = None
    """The dataset settings the run was generated from (mapping, split ratios, seed)."""


@dataclass(frozen=True)
class StoredCandidate:
    """A generated variant as stored: its run, its decision key and its provenance row."""

    run_id: int
    key: str
    row: dict[str, Any] = field(compare=False)


@dataclass(frozen=True)
class RunRule:
    """A stratum of a run imported by sample: an alias rule (or an augmenter's variants
    without one), its rows in the whole run and how many of them were sampled."""

    rule: str
    n_rows: int
    n_sampled: int
    agreement: float | None
    support: int | None


@dataclass(frozen=True)
class ActionInfo:
    id: int
    label: str
    created_at: float
    origin: str | None
    n_items: int
    reviewer: str = LOCAL_REVIEWER


@dataclass(frozen=True)
class HistoryEntry:
    """One change to one reviewer's decision on one candidate, as :meth:`Store.history` gives it."""

    reviewer: str
    kind: str
    """``decide`` or ``undo``."""
    label: str
    key: str
    before: str | None
    after: str | None
    at: float
    origin: str | None


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
    """What a bulk decision over a filter did (:meth:`Store.decide_matching`)."""

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


UNCHECKED: Any = object()
"""``expected`` for :meth:`Store.decide` when the caller did not show a state to check."""


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    msg = str(exc).lower()
    return "locked" in msg or "busy" in msg


class Store:
    """A thread-safe handle on the database (Streamlit runs sessions on threads)."""

    def __init__(self, data_dir: str | os.PathLike[str] | None = None, write_wait: float | None = None) -> None:
        self.data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.data_dir / DB_NAME
        self.write_wait = default_write_wait() if write_wait is None else float(write_wait)
        self._write_lock = threading.Lock()
        self._pool_lock = threading.Lock()
        self._pool: list[sqlite3.Connection] = []
        self._writer = self._connect()
        deadline = time.monotonic() + self.write_wait
        if self._retry(lambda: self._writer.execute("PRAGMA journal_mode").fetchone()[0], deadline) != "wal":
            self._retry(lambda: self._writer.execute("PRAGMA journal_mode=WAL"), deadline)
        if not self._retry(lambda: schema_is_current(self._writer), deadline):
            with self._write() as c:  # only a new or older database needs the write lock to open
                migrate(c)
        self.index_runs()

    def _connect(self) -> sqlite3.Connection:
        c = sqlite3.connect(self.path, timeout=BUSY_SLICE, check_same_thread=False, isolation_level=None)
        c.execute("PRAGMA synchronous=NORMAL")
        c.execute("PRAGMA foreign_keys=ON")
        return c

    def close(self) -> None:
        with self._write_lock:
            self._writer.close()
        with self._pool_lock:
            for c in self._pool:
                c.close()
            self._pool.clear()

    # --- waiting, writing and reading --------------------------------------------------

    def _retry(self, fn: Callable[[], T], deadline: float) -> T:
        """``fn()``, again after a growing pause while SQLite says busy, until ``deadline``."""
        wait = max(0.0, deadline - time.monotonic())
        pause = 0.005
        while True:
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                left = deadline - time.monotonic()
                if not _is_busy(exc) or left <= 0:
                    if _is_busy(exc):
                        raise StoreBusy(self._busy_message(wait)) from exc
                    raise
                time.sleep(min(pause * random.uniform(0.5, 1.0), left))
                pause = min(pause * 2, MAX_PAUSE)

    @staticmethod
    def _busy_message(wait: float) -> str:
        return f"the database is locked by another writer (waited {wait:.3g} s)"

    @contextmanager
    def _write(self, wait: float | None = None) -> Iterator[sqlite3.Connection]:
        """One write transaction, waiting at most ``wait`` seconds (default ``write_wait``) to
        start it; the lock is released and the transaction ended on every path."""
        wait = self.write_wait if wait is None else wait
        deadline = time.monotonic() + wait
        if not self._write_lock.acquire(timeout=max(wait, 0.001)):
            raise StoreBusy(self._busy_message(wait))
        c = self._writer
        try:
            self._retry(lambda: c.execute("BEGIN IMMEDIATE"), deadline)
            try:
                yield c
            except BaseException:
                _rollback(c)
                raise
            try:
                self._retry(lambda: c.execute("COMMIT"), deadline)
            except BaseException:
                _rollback(c)
                raise
        finally:
            self._write_lock.release()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A pooled connection: readers never queue behind the write lock."""
        with self._pool_lock:
            c = self._pool.pop() if self._pool else None
        if c is None:
            c = self._connect()
        try:
            yield c
        finally:
            _rollback(c)
            with self._pool_lock:
                if len(self._pool) < _POOL_SIZE:
                    self._pool.append(c)
                    c = None
            if c is not None:
                c.close()

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        with self._read() as c:
            return self._retry(lambda: c.execute(sql, args).fetchall(), time.monotonic() + self.write_wait)

    # --- datasets ----------------------------------------------------------------------

    def add_dataset(self, hash: str, name: str, data: bytes, settings: Mapping[str, Any] | None = None) -> bool:
        """Store an uploaded file under its content hash; True when it is new.

        Storing bytes that are already there only marks the dataset as opened: its
        settings, runs and decisions stay as they are.
        """
        now = time.time()
        with self._write() as c:
            exists = c.execute("SELECT 1 FROM datasets WHERE hash = ?", (hash,)).fetchone()
            if exists:
                c.execute("UPDATE datasets SET last_opened = ? WHERE hash = ?", (now, hash))
                return False
            # The bytes go in by incremental blob I/O, a MiB at a time: binding them as a
            # parameter would copy a 150 MB upload once more in memory.
            c.execute(
                "INSERT INTO datasets (hash, name, data, settings, created_at, last_opened)"
                " VALUES (?, ?, x'', ?, ?, ?)",
                (hash, name, _dumps(settings), now, now),
            )
            cur = c.execute("INSERT INTO dataset_files (hash, data) VALUES (?, zeroblob(?))", (hash, len(data)))
            view = memoryview(data)
            with c.blobopen("dataset_files", "data", _last_id(cur)) as blob:
                for start in range(0, len(view), 1 << 20):
                    blob.write(view[start : start + (1 << 20)])
            return True

    def has_dataset(self, hash: str) -> bool:
        return bool(self._query("SELECT 1 FROM datasets WHERE hash = ?", (hash,)))

    _DATASET_SELECT = (
        "SELECT d.hash, d.name, d.settings, d.tags_name, d.created_at, d.last_opened,"
        " (SELECT COUNT(*) FROM runs r WHERE r.dataset_hash = d.hash AND r.complete = 1)"
        " FROM datasets d"
    )

    def dataset(self, hash: str) -> DatasetInfo | None:
        rows = self._query(self._DATASET_SELECT + " WHERE d.hash = ?", (hash,))
        return _dataset_info(rows[0]) if rows else None

    def dataset_bytes(self, hash: str) -> bytes:
        rows = self._query("SELECT data FROM dataset_files WHERE hash = ?", (hash,)) or self._query(
            "SELECT data FROM datasets WHERE hash = ?", (hash,))
        if not rows:
            raise KeyError(hash)
        return bytes(rows[0][0])

    def recent_datasets(self, limit: int = 10) -> list[DatasetInfo]:
        rows = self._query(self._DATASET_SELECT + " ORDER BY d.last_opened DESC LIMIT ?", (limit,))
        return [_dataset_info(r) for r in rows]

    def touch_dataset(self, hash: str) -> None:
        with self._write() as c:
            c.execute("UPDATE datasets SET last_opened = ? WHERE hash = ?", (time.time(), hash))

    def save_settings(self, hash: str, settings: Mapping[str, Any]) -> None:
        """The column mapping and split settings (a JSON-able dict) for new runs; runs
        already stored keep their own."""
        with self._write() as c:
            c.execute("UPDATE datasets SET settings = ? WHERE hash = ?", (_dumps(settings), hash))

    def save_tags(self, hash: str, name: str | None, data: bytes | None) -> None:
        """The dataset's tags file (None: the bundled vocabulary)."""
        with self._write() as c:
            c.execute("UPDATE datasets SET tags_name = ?, tags_data = ? WHERE hash = ?", (name, data, hash))

    def tags(self, hash: str) -> tuple[str | None, bytes | None]:
        rows = self._query("SELECT tags_name, tags_data FROM datasets WHERE hash = ?", (hash,))
        if not rows:
            return None, None
        name, data = rows[0]
        return name, (bytes(data) if data is not None else None)

    # --- runs and candidates -------------------------------------------------------------

    def add_run(
        self,
        dataset_hash: str,
        params: Mapping[str, Any],
        rows: Sequence[Mapping[str, Any]],
        settings: Mapping[str, Any] | None,
    ) -> int:
        """Store one augmentation run's provenance rows (originals and variants) with the
        dataset settings they were generated from.

        Written in chunks of :data:`RUN_CHUNK` rows, one transaction each with a pause in
        between, so other writers are never held up for long; the run shows (in
        :meth:`runs`) once every chunk is in.
        """
        now = time.time()
        with self._write() as c:
            cur = c.execute(
                "INSERT INTO runs (dataset_hash, params, n_rows, created_at, settings, complete)"
                " VALUES (?, ?, ?, ?, ?, 0)",
                (dataset_hash, _dumps(params), len(rows), now, _dumps(settings)),
            )
            run_id = _last_id(cur)
        try:
            for start in range(0, len(rows), RUN_CHUNK):
                if start:
                    time.sleep(RUN_PAUSE)  # let waiting writers (reviewers' decisions) in
                chunk = rows[start : start + RUN_CHUNK]
                index = _IndexChunk(dataset_hash, run_id, [
                    (start + i, r, facts_of(r, settings)) for i, r in enumerate(chunk)
                    if str(r.get("augmenter", "")) != "original"
                ])
                with self._write() as c:
                    c.executemany(
                        "INSERT INTO candidates (run_id, pos, row_id, augmenter, row) VALUES (?, ?, ?, ?, ?)",
                        (
                            (run_id, start + i, str(r["id"]), str(r.get("augmenter", "")),
                             json.dumps(r, ensure_ascii=False, default=str))
                            for i, r in enumerate(chunk)
                        ),
                    )
                    index.write(c)
            with self._write() as c:
                c.execute("UPDATE runs SET complete = 1, indexed = 1 WHERE id = ?", (run_id,))
        except BaseException:
            try:
                with self._write() as c:
                    _drop_index(c, run_id)
                    c.execute("DELETE FROM candidates WHERE run_id = ?", (run_id,))
                    c.execute("DELETE FROM runs WHERE id = ?", (run_id,))
            except (sqlite3.Error, StoreBusy):
                pass  # left incomplete: never shown
            raise
        return run_id

    def runs(self, dataset_hash: str) -> list[RunInfo]:
        rows = self._query(
            "SELECT id, dataset_hash, params, n_rows, created_at, settings FROM runs"
            " WHERE dataset_hash = ? AND complete = 1 ORDER BY id",
            (dataset_hash,),
        )
        return [RunInfo(r[0], r[1], json.loads(r[2]), r[3], r[4], json.loads(r[5]) if r[5] else None) for r in rows]

    def index_runs(self) -> int:
        """Put the variants of complete runs stored before the review index into it (a
        database from an older version), a chunk per transaction like :meth:`add_run`;
        returns how many runs were indexed. Runs on every open; another process indexing
        a run at the same time has claimed it (a claim older than ``INDEX_CLAIM`` seconds,
        left by a process that died, is taken over)."""
        done = 0
        while True:
            now = time.time()
            # a read first: opening a store whose runs are all indexed (the usual case) takes
            # no write lock, so it opens while another program holds it
            if not self._query("SELECT 1 FROM runs WHERE complete = 1 AND (indexed = 0 OR (indexed > 1 AND indexed < ?))"
                               " LIMIT 1", (now - INDEX_CLAIM,)):
                return done
            with self._write() as c:
                row = c.execute(
                    "SELECT r.id, r.dataset_hash, r.settings, d.settings FROM runs r"
                    " LEFT JOIN datasets d ON d.hash = r.dataset_hash"
                    " WHERE r.complete = 1 AND (r.indexed = 0 OR (r.indexed > 1 AND r.indexed < ?))"
                    " ORDER BY r.id LIMIT 1",
                    (now - INDEX_CLAIM,),
                ).fetchone()
                if row is None:
                    return done
                run_id, dataset_hash, run_settings, dataset_settings = row
                c.execute("UPDATE runs SET indexed = ? WHERE id = ?", (now, run_id))
                _drop_index(c, run_id)
            settings = json.loads(run_settings or dataset_settings or "null")
            pos = -1
            while True:
                chunk = self._query(
                    "SELECT pos, row FROM candidates WHERE run_id = ? AND pos > ? ORDER BY pos LIMIT ?",
                    (run_id, pos, RUN_CHUNK),
                )
                if not chunk:
                    break
                pos = chunk[-1][0]
                parsed = [(p, json.loads(raw)) for p, raw in chunk]
                index = _IndexChunk(dataset_hash, run_id, [
                    (p, r, facts_of(r, settings)) for p, r in parsed if str(r.get("augmenter", "")) != "original"
                ])
                with self._write() as c:
                    index.write(c)
                time.sleep(RUN_PAUSE)
            with self._write() as c:
                c.execute("UPDATE runs SET indexed = 1 WHERE id = ?", (run_id,))
            done += 1

    def review_run_ids(self, dataset_hash: str) -> tuple[int, ...]:
        """The runs the review shows: complete and in the review index, oldest first."""
        rows = self._query(
            "SELECT id FROM runs WHERE dataset_hash = ? AND complete = 1 AND indexed = 1 ORDER BY id",
            (dataset_hash,),
        )
        return tuple(r[0] for r in rows)

    def read(self, sql: str, args: Sequence[Any] | Mapping[str, Any] = ()) -> list[tuple]:
        """Rows of one read-only statement on a pooled connection (what
        :mod:`augment_core.review.query` runs)."""
        with self._read() as c:
            return self._retry(lambda: c.execute(sql, args).fetchall(), time.monotonic() + self.write_wait)

    def run_rows(self, run_id: int) -> list[dict[str, Any]]:
        rows = self._query("SELECT row FROM candidates WHERE run_id = ? ORDER BY pos", (run_id,))
        return [json.loads(r[0]) for r in rows]

    def candidates(self, dataset_hash: str, run_ids: Iterable[int] | None = None) -> list[StoredCandidate]:
        """Every generated variant (not the originals) of the dataset's complete runs,
        oldest run first."""
        wanted = None if run_ids is None else set(int(r) for r in run_ids)
        out: list[StoredCandidate] = []
        for run in self.runs(dataset_hash):
            if wanted is not None and run.id not in wanted:
                continue
            rows = self._query(
                "SELECT row_id, row FROM candidates WHERE run_id = ? AND augmenter != 'original' ORDER BY pos",
                (run.id,),
            )
            out.extend(StoredCandidate(run.id, candidate_key(run.id, row_id), json.loads(raw)) for row_id, raw in rows)
        return out

    def add_run_rules(self, run_id: int, rules: Sequence[RunRule]) -> None:
        """Every rule of a run imported by sample, in the order the review lists them."""
        with self._write() as c:
            c.executemany(
                "INSERT INTO run_rules (run_id, rule, position, n_rows, n_sampled, agreement, support)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                ((run_id, r.rule, i, r.n_rows, r.n_sampled, r.agreement, r.support) for i, r in enumerate(rules)),
            )

    def run_rules(self, run_id: int) -> list[RunRule]:
        rows = self._query(
            "SELECT rule, n_rows, n_sampled, agreement, support FROM run_rules WHERE run_id = ? ORDER BY position",
            (run_id,),
        )
        return [RunRule(*r) for r in rows]

    def run_reviewers(self, dataset_hash: str, run_id: int) -> list[str]:
        """Who has decided anything of one run (a rule, or one of its variants), in name order."""
        prefix = candidate_key(run_id, "")
        rows = self._query(
            "SELECT reviewer FROM decisions WHERE dataset_hash = ? AND substr(key, 1, ?) = ?"
            " UNION SELECT reviewer FROM rule_decisions WHERE dataset_hash = ? AND run_id = ? ORDER BY 1",
            (dataset_hash, len(prefix), prefix, dataset_hash, run_id),
        )
        return [r[0] for r in rows]

    def rule_decisions(self, dataset_hash: str, run_id: int, reviewer: str = LOCAL_REVIEWER) -> dict[str, str]:
        """rule -> one reviewer's decision on the whole rule, for one run."""
        rows = self._query(
            "SELECT rule, decision FROM rule_decisions WHERE dataset_hash = ? AND run_id = ? AND reviewer = ?",
            (dataset_hash, run_id, reviewer),
        )
        return {r: d for r, d in rows}

    # --- decisions -------------------------------------------------------------------------

    def decisions(self, dataset_hash: str, reviewer: str = LOCAL_REVIEWER) -> dict[str, str]:
        """One reviewer's decisions: key -> ``accepted`` / ``rejected`` (undecided keys absent)."""
        rows = self._query("SELECT key, decision FROM decisions WHERE dataset_hash = ? AND reviewer = ?",
                           (dataset_hash, reviewer))
        return {k: d for k, d in rows}

    def decisions_by_reviewer(self, dataset_hash: str, run_ids: Sequence[int] | None = None) -> dict[str, dict[str, str]]:
        """Every reviewer's decisions: reviewer -> key -> decision (reviewers with none absent).
        ``run_ids``: only decisions on these runs' indexed variants, so that counts made from
        them (conflicts, kappa) cover what a list of those runs can show."""
        sql = "SELECT reviewer, key, decision FROM decisions WHERE dataset_hash = ?"
        args: list[Any] = [dataset_hash]
        if run_ids is not None:
            sql += (" AND key IN (SELECT key FROM review_items WHERE run_id IN ("
                    + ",".join("?" * len(run_ids)) + "))")
            args += [int(r) for r in run_ids]
        out: dict[str, dict[str, str]] = {}
        for reviewer, k, d in self._query(sql + " ORDER BY reviewer", tuple(args)):
            out.setdefault(reviewer, {})[k] = d
        return out

    def reviewers(self, dataset_hash: str) -> list[str]:
        """The reviewers with at least one decision on the dataset, in name order (an index
        lookup: cheap enough for every page run)."""
        rows = self._query("SELECT DISTINCT reviewer FROM decisions WHERE dataset_hash = ? ORDER BY reviewer",
                           (dataset_hash,))
        return [r[0] for r in rows]

    def history(self, dataset_hash: str, reviewer: str | None = None) -> list[HistoryEntry]:
        """Who changed which decision when (decisions and undos), oldest first; one
        reviewer's with ``reviewer``."""
        rows = self._query(
            "SELECT reviewer, kind, label, key, before, after, at, origin FROM history WHERE dataset_hash = ?"
            + (" AND reviewer = ?" if reviewer is not None else "") + " ORDER BY id",
            (dataset_hash, reviewer) if reviewer is not None else (dataset_hash,),
        )
        return [HistoryEntry(*r) for r in rows]

    def decisions_of_keys(self, dataset_hash: str, keys: Sequence[str], reviewer: str = LOCAL_REVIEWER) -> dict[str, str]:
        """One reviewer's decisions of these keys (a page's) only."""
        with self._read() as c:
            return self._retry(lambda: _current(c, dataset_hash, list(keys), reviewer),
                               time.monotonic() + self.write_wait)

    def decide(
        self,
        dataset_hash: str,
        key: str,
        decision: str | None,
        label: str | None = None,
        origin: str | None = None,
        expected: str | None = UNCHECKED,
        wait: float | None = None,
        reviewer: str = LOCAL_REVIEWER,
    ) -> ActionResult:
        """Record one decision (None clears it) as an undoable action. With ``expected``
        (the decision the caller showed; None: undecided) it is written only if the
        database still has that decision."""
        return self.decide_many(
            dataset_hash,
            {key: decision},
            label=label or f"{decision or 'clear'} {key}",
            origin=origin,
            expected=None if expected is UNCHECKED else {key: expected},
            wait=wait,
            reviewer=reviewer,
        )

    def decide_many(
        self,
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
        ``conflicts``) is recorded in the same transaction, see :meth:`client_outcomes`.

        ``reviewer``: whose decisions these are; only that reviewer's decisions are read,
        checked and written (another reviewer's decision on the same key is never touched).

        ``expected`` maps keys to the decision the caller saw (None: undecided); a key whose
        decision is no longer that one is left as it is and reported in ``conflicts``. Keys
        that already have the wanted decision are no change. Raises :class:`StoreBusy` when
        the write could not start within ``wait`` seconds (default ``write_wait``): then
        nothing was written.
        """
        for d in changes.values():
            if d is not None and d not in DECISIONS:
                raise ValueError(f"decision must be one of {DECISIONS} or None, not {d!r}")
        _check_reviewer(reviewer)
        now = time.time()
        with self._write(wait) as c:
            current = _current(c, dataset_hash, list(changes), reviewer)
            items = []
            conflicts: dict[str, str | None] = {}
            for k, d in changes.items():
                now_d = current.get(k)
                if expected is not None and k in expected and expected[k] != now_d:
                    conflicts[k] = now_d
                elif now_d != d:
                    items.append((k, now_d, d))
            if not items:
                _record_client(c, dataset_hash, client_id, {"changed": {}, "conflicts": conflicts}, now)
                return ActionResult(changed={}, conflicts=conflicts)
            cur = c.execute(
                "INSERT INTO actions (dataset_hash, label, created_at, origin, reviewer) VALUES (?, ?, ?, ?, ?)",
                (dataset_hash, label, now, origin, reviewer),
            )
            action_id = _last_id(cur)
            c.executemany(
                "INSERT INTO action_items (action_id, key, before, after) VALUES (?, ?, ?, ?)",
                ((action_id, k, b, a) for k, b, a in items),
            )
            _apply(c, dataset_hash, {k: a for k, _, a in items}, now, reviewer)
            _log(c, dataset_hash, reviewer, "decide", label, items, now, origin)
            _record_client(c, dataset_hash, client_id, {"changed": {k: a for k, _, a in items}, "conflicts": conflicts}, now)
            return ActionResult(changed={k: a for k, _, a in items}, conflicts=conflicts, action_id=action_id)

    def decide_matching(
        self,
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
        _check_reviewer(reviewer)
        if decision not in DECISIONS:
            raise ValueError(f"decision must be one of {DECISIONS}, not {decision!r}")
        now = time.time()
        args = {**params, "hash": dataset_hash, "reviewer": reviewer, "b_decision": decision,
                "b_seen": now if seen is None else seen, "b_now": now}
        dec = decisions_of()
        wanted = "d.decision IS NULL" if only_undecided else "(d.decision IS NULL OR d.decision != :b_decision)"
        with self._write(wait) as c:
            (conflicts,) = c.execute(
                f"SELECT COUNT(*) FROM ({source}) m JOIN {dec} d ON d.key = m.key"
                " WHERE d.decided_at > :b_seen AND d.decision != :b_decision", args).fetchone()
            cur = c.execute("INSERT INTO actions (dataset_hash, label, created_at, origin, reviewer) VALUES (?, ?, ?, ?, ?)",
                            (dataset_hash, label, now, origin, reviewer))
            action_id = _last_id(cur)
            args["b_action"] = action_id
            n = c.execute(
                "INSERT INTO action_items (action_id, key, before, after)"
                f" SELECT :b_action, m.key, d.decision, :b_decision FROM ({source}) m LEFT JOIN {dec} d ON d.key = m.key"
                f" WHERE {wanted} AND (d.decided_at IS NULL OR d.decided_at <= :b_seen)", args).rowcount
            if n <= 0:
                c.execute("DELETE FROM actions WHERE id = ?", (action_id,))
                return BulkResult(0, int(conflicts), label)
            c.execute(
                "INSERT INTO decisions (dataset_hash, key, reviewer, decision, decided_at)"
                " SELECT ?, key, ?, after, ? FROM action_items WHERE action_id = ? AND true"
                " ON CONFLICT (dataset_hash, key, reviewer) DO UPDATE SET decision = excluded.decision,"
                " decided_at = excluded.decided_at",
                (dataset_hash, reviewer, now, action_id),
            )
            full = f"{label} {n:,}"
            c.execute("UPDATE actions SET label = ? WHERE id = ?", (full, action_id))
            c.execute(
                "INSERT INTO history (dataset_hash, reviewer, kind, label, key, before, after, at, origin)"
                " SELECT ?, ?, 'decide', ?, key, before, after, ?, ? FROM action_items WHERE action_id = ?",
                (dataset_hash, reviewer, full, now, origin, action_id),
            )
            return BulkResult(n, int(conflicts), full, action_id)

    def undo(
        self, dataset_hash: str, origin: str | None = None, wait: float | None = None, client_id: str | None = None,
        reviewer: str = LOCAL_REVIEWER,
    ) -> UndoResult | None:
        """Revert the latest action of ``reviewer`` made from ``origin`` (None: from anywhere);
        None when there is none. ``client_id`` records the outcome as :meth:`decide_many` does.

        Only decisions still as that action left them are restored; one changed since (by
        another tab, say) is left alone and reported in ``conflicts``. The undo is recorded
        in the history under the reviewer, with its time.
        """
        _check_reviewer(reviewer)
        with self._write(wait) as c:
            row = c.execute(
                "SELECT id, label, created_at FROM actions WHERE dataset_hash = ? AND reviewer = ?"
                + (" AND origin = ?" if origin is not None else "")
                + " ORDER BY id DESC LIMIT 1",
                (dataset_hash, reviewer, origin) if origin is not None else (dataset_hash, reviewer),
            ).fetchone()
            if row is None:
                _record_client(c, dataset_hash, client_id, {"undone": None}, time.time())
                return None
            action_id, label, created_at = row
            items = c.execute("SELECT key, before, after FROM action_items WHERE action_id = ?", (action_id,)).fetchall()
            current = _current(c, dataset_hash, [k for k, _, _ in items], reviewer)
            restored = {k: b for k, b, a in items if current.get(k) == a}
            conflicts = {k: current.get(k) for k, b, a in items if current.get(k) != a}
            now = time.time()
            _apply(c, dataset_hash, restored, now, reviewer)
            _log(c, dataset_hash, reviewer, "undo", f"undo {label}",
                 [(k, current.get(k), b) for k, b in restored.items()], now, origin)
            c.execute("DELETE FROM action_items WHERE action_id = ?", (action_id,))
            c.execute("DELETE FROM actions WHERE id = ?", (action_id,))
            _record_client(c, dataset_hash, client_id, {"undone": label, "restored": restored, "conflicts": conflicts},
                           time.time())
            return UndoResult(label=label, created_at=created_at, restored=restored, conflicts=conflicts)

    def last_action(
        self, dataset_hash: str, origin: str | None = None, reviewer: str = LOCAL_REVIEWER
    ) -> ActionInfo | None:
        """The action :meth:`undo` with the same arguments would revert."""
        rows = self._query(
            "SELECT a.id, a.label, a.created_at, a.origin,"
            " (SELECT COUNT(*) FROM action_items i WHERE i.action_id = a.id), a.reviewer"
            " FROM actions a WHERE a.dataset_hash = ? AND a.reviewer = ?"
            + (" AND a.origin = ?" if origin is not None else "")
            + " ORDER BY a.id DESC LIMIT 1",
            (dataset_hash, reviewer, origin) if origin is not None else (dataset_hash, reviewer),
        )
        return ActionInfo(*rows[0]) if rows else None

    def can_undo(self, dataset_hash: str, origin: str | None = None, reviewer: str = LOCAL_REVIEWER) -> bool:
        return self.last_action(dataset_hash, origin, reviewer) is not None

    def client_outcomes(self, dataset_hash: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The recorded outcomes of the page's actions with these ids (those applied already)."""
        out: dict[str, dict[str, Any]] = {}
        ids = list(ids)
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for cid, outcome in self._query(
                f"SELECT id, outcome FROM client_actions WHERE dataset_hash = ? AND id IN ({marks})",
                (dataset_hash, *chunk),
            ):
                out[cid] = json.loads(outcome)
        return out


def decisions_of() -> str:
    """The SQL source of one reviewer's decisions on the dataset, ``(key, decision,
    decided_at)`` rows, for the named parameters ``:hash`` and ``:reviewer``: every read of
    decisions in SQL (status filters and counts, bulk actions over a filter) goes through here."""
    return "(SELECT key, decision, decided_at FROM decisions WHERE dataset_hash = :hash AND reviewer = :reviewer)"


def _rollback(c: sqlite3.Connection) -> None:
    if c.in_transaction:
        try:
            c.execute("ROLLBACK")
        except sqlite3.Error:
            pass


MAX_REVIEWER = 320
"""The longest reviewer name (an e-mail address is at most 320 characters)."""


def _check_reviewer(reviewer: str) -> None:
    if not isinstance(reviewer, str) or not reviewer.strip() or len(reviewer) > MAX_REVIEWER:
        raise ValueError(f"reviewer must be a non-empty name of at most {MAX_REVIEWER} characters, not {reviewer!r}")


def _current(c: sqlite3.Connection, dataset_hash: str, keys: list[str], reviewer: str) -> dict[str, str]:
    out = _current_rules(c, dataset_hash, keys, reviewer)
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        marks = ",".join("?" * len(chunk))
        for k, d in c.execute(
            f"SELECT key, decision FROM decisions WHERE dataset_hash = ? AND reviewer = ? AND key IN ({marks})",
            (dataset_hash, reviewer, *chunk),
        ):
            out[k] = d
    return out


def _apply(
    c: sqlite3.Connection, dataset_hash: str, changes: Mapping[str, str | None], now: float, reviewer: str
) -> None:
    changes = _apply_rules(c, dataset_hash, changes, now, reviewer)
    clear = [(dataset_hash, k, reviewer) for k, d in changes.items() if d is None]
    put = [(dataset_hash, k, reviewer, d, now) for k, d in changes.items() if d is not None]
    if clear:
        c.executemany("DELETE FROM decisions WHERE dataset_hash = ? AND key = ? AND reviewer = ?", clear)
    if put:
        c.executemany(
            "INSERT INTO decisions (dataset_hash, key, reviewer, decision, decided_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (dataset_hash, key, reviewer) DO UPDATE SET decision = excluded.decision,"
            " decided_at = excluded.decided_at",
            put,
        )


def _log(
    c: sqlite3.Connection, dataset_hash: str, reviewer: str, kind: str, label: str,
    items: Iterable[tuple[str, str | None, str | None]], now: float, origin: str | None,
) -> None:
    """Append each (key, before, after) change to the history, under its reviewer and time."""
    c.executemany(
        "INSERT INTO history (dataset_hash, reviewer, kind, label, key, before, after, at, origin)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ((dataset_hash, reviewer, kind, label, k, b, a, now, origin) for k, b, a in items),
    )


def _current_rules(c: sqlite3.Connection, dataset_hash: str, keys: list[str], reviewer: str) -> dict[str, str]:
    """One reviewer's decisions on the rules among ``keys`` (rule keys, see :func:`rule_key`)."""
    out: dict[str, str] = {}
    for k in keys:
        parts = split_rule_key(k)
        if parts is not None:
            row = c.execute("SELECT decision FROM rule_decisions WHERE dataset_hash = ? AND run_id = ? AND rule = ?"
                            " AND reviewer = ?", (dataset_hash, *parts, reviewer)).fetchone()
            if row is not None:
                out[k] = row[0]
    return out


def _apply_rules(
    c: sqlite3.Connection, dataset_hash: str, changes: Mapping[str, str | None], now: float, reviewer: str
) -> Mapping[str, str | None]:
    """Write the rule decisions among ``changes``; the row decisions are returned."""
    rest: dict[str, str | None] = {}
    for k, d in changes.items():
        parts = split_rule_key(k)
        if parts is None:
            rest[k] = d
        elif d is None:
            c.execute("DELETE FROM rule_decisions WHERE dataset_hash = ? AND run_id = ? AND rule = ? AND reviewer = ?",
                      (dataset_hash, *parts, reviewer))
        else:
            c.execute(
                "INSERT INTO rule_decisions (dataset_hash, run_id, rule, reviewer, decision, decided_at)"
                " VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (dataset_hash, run_id, rule, reviewer) DO UPDATE SET decision = excluded.decision,"
                " decided_at = excluded.decided_at",
                (dataset_hash, *parts, reviewer, d, now),
            )
    return rest if len(rest) != len(changes) else changes


def _record_client(
    c: sqlite3.Connection, dataset_hash: str, client_id: str | None, outcome: Mapping[str, Any], now: float
) -> None:
    if client_id is not None:
        c.execute(
            "INSERT OR IGNORE INTO client_actions (dataset_hash, id, outcome, at) VALUES (?, ?, ?, ?)",
            (dataset_hash, client_id, json.dumps(outcome), now),
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


def _last_id(cur: sqlite3.Cursor) -> int:
    """The id an INSERT just gave (always set after a successful INSERT)."""
    if cur.lastrowid is None:  # pragma: no cover - sqlite3 sets it for every INSERT
        raise RuntimeError("INSERT without a row id")
    return int(cur.lastrowid)


def item_rid(run_id: int, pos: int) -> int:
    return (run_id << ITEM_SHIFT) | pos


def _drop_index(c: sqlite3.Connection, run_id: int) -> None:
    """Remove a run's rows from the review index (a failed or repeated indexing)."""
    lo, hi = item_rid(run_id, 0), item_rid(run_id + 1, 0)
    c.execute("DELETE FROM review_item_values WHERE rid >= ? AND rid < ?", (lo, hi))
    c.execute("DELETE FROM review_text WHERE rid >= ? AND rid < ?", (lo, hi))
    c.execute("DELETE FROM review_items WHERE rid >= ? AND rid < ?", (lo, hi))
    c.execute("DELETE FROM review_value_counts WHERE run_id = ?", (run_id,))


def _ids(c: sqlite3.Connection, sql: str, args: tuple[Any, ...], wanted: Sequence[Any]) -> dict[Any, int]:
    out: dict[Any, int] = {}
    for i in range(0, len(wanted), 400):
        chunk = wanted[i : i + 400]
        marks = ",".join("?" * len(chunk))
        for name, ident in c.execute(sql.format(marks=marks), (*args, *chunk)):
            out[name] = ident
    return out


@dataclass
class _IndexChunk:
    """One chunk of a run's variants for the review index (facts computed before the write
    lock is taken; :meth:`write` runs inside the chunk's transaction)."""

    dataset_hash: str
    run_id: int
    rows: list[tuple[int, Mapping[str, Any], Facts]]

    def write(self, c: sqlite3.Connection) -> None:
        if not self.rows:
            return
        h = self.dataset_hash
        groups: dict[str, str] = {}
        for _, _, f in self.rows:
            groups.setdefault(f.group, f.original)
        c.executemany("INSERT OR IGNORE INTO review_groups (dataset_hash, digest, original) VALUES (?, ?, ?)",
                      ((h, d, o) for d, o in groups.items()))
        gid = _ids(c, "SELECT digest, id FROM review_groups WHERE dataset_hash = ? AND digest IN ({marks})", (h,),
                   list(groups))
        values: dict[tuple[str, str], int] = {}
        for _, _, f in self.rows:
            for v in f.values:
                values[v] = values.get(v, 0) + 1
        c.executemany("INSERT OR IGNORE INTO review_values (dataset_hash, kind, value) VALUES (?, ?, ?)",
                      ((h, k, v) for k, v in values))
        vid: dict[tuple[str, str], int] = {}
        for kind in {k for k, _ in values}:
            names = [v for k, v in values if k == kind]
            for name, ident in _ids(c, "SELECT value, id FROM review_values WHERE dataset_hash = ? AND kind = ?"
                                    " AND value IN ({marks})", (h, kind), names).items():
                vid[(kind, name)] = ident
        seen_rules: set[str] = set()
        for _, _, f in self.rows:
            for rule, agreement, support in f.rule_agreement:
                if rule not in seen_rules:
                    seen_rules.add(rule)
                    c.execute("UPDATE review_values SET agreement = ?, support = ? WHERE id = ? AND agreement IS NULL",
                              (agreement, support, vid[("rule", rule)]))
        items = []
        texts = []
        links: list[tuple[int, int]] = []
        for pos, row, f in self.rows:
            rid = item_rid(self.run_id, pos)
            items.append((rid, self.run_id, pos, candidate_key(self.run_id, str(row["id"])), gid[f.group],
                          f.augmenter, f.similarity, f.agreement, int(f.flagged), *f.sort_keys()))
            texts.append((rid, f.text))
            links.extend((vid[v], rid) for v in f.values)
        c.executemany(
            "INSERT INTO review_items (rid, run_id, pos, key, grp, augmenter, similarity, agreement, flagged,"
            f" {', '.join(k for k in SORT_COLUMNS.values() if k)}) VALUES ({', '.join('?' * 13)})",
            items,
        )
        c.executemany("INSERT INTO review_text (rid, text) VALUES (?, ?)", texts)
        c.executemany("INSERT OR IGNORE INTO review_item_values (value_id, rid) VALUES (?, ?)", links)
        c.executemany(
            "INSERT INTO review_value_counts (run_id, value_id, n) VALUES (?, ?, ?)"
            " ON CONFLICT (run_id, value_id) DO UPDATE SET n = n + excluded.n",
            ((self.run_id, vid[v], n) for v, n in values.items()),
        )
