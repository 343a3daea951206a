"""The connection and transaction layer of the review store: SQLite connections, WAL, busy
retries with back-off, and transactions; nothing about what is stored.

Every store module (:mod:`~augment_core.review.datasets`, :mod:`~augment_core.review.runs`,
:mod:`~augment_core.review.decisions`, ...) runs its own SQL through a :class:`Database`:
``db.query(sql, args)`` for a read, ``with db.write() as c:`` for a write transaction,
``db.reading(fn)`` for several reads on one connection. This is the seam for a second
backend: another class with the same four methods.

**Never wedged.** Several processes and many threads may use one database at once (every
browser tab is a thread of the Streamlit server; a second server or the ``sqlite3`` shell
may hold the write lock). Reads use a pool of connections and, in WAL mode, never wait for
a writer. Writes take an in-process lock, then ``BEGIN IMMEDIATE``; both waits together
are bounded by ``write_wait`` seconds (``$AUGMENT_REVIEW_WRITE_WAIT``, default 15): SQLite's
busy timeout in short slices with a growing, jittered back-off in between (capped at
``MAX_PAUSE``, so a waiting writer keeps polling often enough to get a turn). A write that still cannot
start raises :class:`StoreBusy`, and every path (a failed ``BEGIN``, a failed ``COMMIT``, an
error in the transaction) rolls back and releases the lock, so the next write can succeed.
Each write commits at once (WAL, ``synchronous=NORMAL``: a committed write survives the
process being killed).
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence, TypeVar

DEFAULT_WRITE_WAIT = 15.0
BUSY_SLICE = 0.05
"""Seconds SQLite's own busy handler waits per attempt (it polls every few milliseconds)."""
MAX_PAUSE = 0.05
"""The longest pause between attempts: SQLite's locks are not fair, so a waiting writer that
polled less often would miss the short gaps a writer of many transactions leaves."""
POOL_SIZE = 8
"""Read connections kept open between reads."""
T = TypeVar("T")
Args = Sequence[Any] | Mapping[str, Any]


class StoreBusy(RuntimeError):
    """The database stayed locked by another writer for longer than the store waits."""


def default_write_wait() -> float:
    try:
        return max(0.0, float(os.environ.get("AUGMENT_REVIEW_WRITE_WAIT", DEFAULT_WRITE_WAIT)))
    except ValueError:
        return DEFAULT_WRITE_WAIT


def is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    msg = str(exc).lower()
    return "locked" in msg or "busy" in msg


def busy_message(wait: float) -> str:
    return f"the database is locked by another writer (waited {wait:.3g} s)"


def rollback(c: sqlite3.Connection) -> None:
    if c.in_transaction:
        try:
            c.execute("ROLLBACK")
        except sqlite3.Error:
            pass


def last_id(cur: sqlite3.Cursor) -> int:
    """The id an INSERT just gave (always set after a successful INSERT)."""
    if cur.lastrowid is None:  # pragma: no cover - sqlite3 sets it for every INSERT
        raise RuntimeError("INSERT without a row id")
    return int(cur.lastrowid)


def dumps(value: Any) -> str | None:
    """A JSON column's text (None stays NULL)."""
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)


def marks(n: int) -> str:
    """``?, ?, ...``: the placeholders of an ``IN (...)`` of ``n`` values."""
    return ",".join("?" * n)


class Database:
    """A thread-safe handle on one SQLite file (Streamlit runs sessions on threads): one
    writer connection behind a lock, a pool of readers."""

    def __init__(self, path: Path, write_wait: float | None = None) -> None:
        self.path = path
        self.write_wait = default_write_wait() if write_wait is None else float(write_wait)
        self._write_lock = threading.Lock()
        self._pool_lock = threading.Lock()
        self._pool: list[sqlite3.Connection] = []
        self._writer = self._connect()
        deadline = time.monotonic() + self.write_wait
        if self.retry(lambda: self._writer.execute("PRAGMA journal_mode").fetchone()[0], deadline) != "wal":
            self.retry(lambda: self._writer.execute("PRAGMA journal_mode=WAL"), deadline)

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

    def retry(self, fn: Callable[[], T], deadline: float) -> T:
        """``fn()``, again after a growing pause while SQLite says busy, until ``deadline``."""
        wait = max(0.0, deadline - time.monotonic())
        pause = 0.005
        while True:
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                left = deadline - time.monotonic()
                if not is_busy(exc) or left <= 0:
                    if is_busy(exc):
                        raise StoreBusy(busy_message(wait)) from exc
                    raise
                time.sleep(min(pause * random.uniform(0.5, 1.0), left))
                pause = min(pause * 2, MAX_PAUSE)

    @contextmanager
    def write(self, wait: float | None = None) -> Iterator[sqlite3.Connection]:
        """One write transaction, waiting at most ``wait`` seconds (default ``write_wait``) to
        start it; the lock is released and the transaction ended on every path."""
        wait = self.write_wait if wait is None else wait
        deadline = time.monotonic() + wait
        if not self._write_lock.acquire(timeout=max(wait, 0.001)):
            raise StoreBusy(busy_message(wait))
        c = self._writer
        try:
            self.retry(lambda: c.execute("BEGIN IMMEDIATE"), deadline)
            try:
                yield c
            except BaseException:
                rollback(c)
                raise
            try:
                self.retry(lambda: c.execute("COMMIT"), deadline)
            except BaseException:
                rollback(c)
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
            rollback(c)
            with self._pool_lock:
                if len(self._pool) < POOL_SIZE:
                    self._pool.append(c)
                    c = None
            if c is not None:
                c.close()

    def reading(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn(connection)`` on a pooled read connection, retried while the database is busy."""
        with self._read() as c:
            return self.retry(lambda: fn(c), time.monotonic() + self.write_wait)

    def query(self, sql: str, args: Args = ()) -> list[tuple]:
        """Rows of one read-only statement on a pooled connection."""
        return self.reading(lambda c: c.execute(sql, args).fetchall())
