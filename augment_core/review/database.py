"""The connection and transaction layer of the review store, on SQLAlchemy Core: SQLite (the
default, one file, nothing to set up) or PostgreSQL (``postgresql+psycopg://...``), pooled
connections, busy retries with back-off, and transactions; nothing about what is stored.

Every store module (:mod:`~augment_core.review.datasets`, :mod:`~augment_core.review.runs`,
:mod:`~augment_core.review.decisions`, ...) runs its own SQL through a :class:`Database`:
``db.query(sql, args)`` for a read, ``with db.write() as c:`` for a write transaction,
``db.reading(fn)`` for several reads on one connection. ``c`` is a :class:`Conn`: statements
with ``?`` placeholders (a sequence of values) or ``:name`` ones (a mapping), or SQLAlchemy
constructs. Where the two databases' SQL differs, a helper here says it once
(:func:`insert_ignore`, :func:`upsert`, :func:`contains`, :func:`put_blob`).

**Never wedged.** Several processes and many threads may use one database at once (every
browser tab is a thread of the Streamlit server; a second server, or the ``sqlite3`` shell,
may hold the write lock). Reads use a pool of connections and never wait for a writer
(SQLite in WAL mode; PostgreSQL's MVCC). Writes take an in-process lock, then the database's
writer lock: SQLite's ``BEGIN IMMEDIATE``; on PostgreSQL a transaction-level advisory lock
(:data:`WRITE_LOCK`), so every write is checked against the database as it is, one writer at
a time, as on SQLite. Both waits together are bounded by ``write_wait`` seconds
(``$AUGMENT_REVIEW_WRITE_WAIT``, default 15): on SQLite the busy timeout in short slices with
a growing, jittered back-off in between (capped at ``MAX_PAUSE``, so a waiting writer keeps
polling often enough to get a turn), on PostgreSQL the server's ``lock_timeout``. A write
that still cannot start raises :class:`StoreBusy`, and every path (a failed ``BEGIN``, a
failed ``COMMIT``, an error in the transaction) rolls back and releases the lock, so the
next write can succeed. Each write commits at once (SQLite: WAL, ``synchronous=NORMAL``:
a committed write survives the process being killed).
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
import time
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence, TypeVar

from sqlalchemy import Connection, CursorResult, Engine, Executable, Table, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

DEFAULT_WRITE_WAIT = 15.0
BUSY_SLICE = 0.05
"""Seconds SQLite's own busy handler waits per attempt (it polls every few milliseconds)."""
MAX_PAUSE = 0.05
"""The longest pause between attempts: SQLite's locks are not fair, so a waiting writer that
polled less often would miss the short gaps a writer of many transactions leaves."""
POOL_SIZE = 8
"""Connections kept open between reads and writes."""
POOL_OVERFLOW = 24
"""Connections opened beyond the pool when every pooled one is busy (a managed PostgreSQL
caps its connections: a server with twenty busy tabs stays under 32 of them)."""
WRITE_LOCK = 0x61756752
"""The PostgreSQL advisory lock key every write transaction holds ("augR")."""
DATABASE_URL_ENV = "AUGMENT_REVIEW_DATABASE_URL"
BUSY_STATES = frozenset({"55P03", "40001", "40P01"})
"""PostgreSQL's lock timeout, serialization failure and deadlock: another writer's turn."""
T = TypeVar("T")
Args = Sequence[Any] | Mapping[str, Any]


class StoreBusy(RuntimeError):
    """The database stayed locked by another writer for longer than the store waits."""


class StoreUnavailable(RuntimeError):
    """The database cannot be opened (a malformed URL, a server that does not answer, a
    login refused): one line saying which database and why, without its password."""


def _unavailable(url: str, exc: BaseException) -> StoreUnavailable:
    try:
        where = make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL too malformed to parse is named as such
        where = "at the given URL"
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    reason = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    return StoreUnavailable(f"cannot open the review database {where}: {reason}")


def default_write_wait() -> float:
    try:
        return max(0.0, float(os.environ.get("AUGMENT_REVIEW_WRITE_WAIT", DEFAULT_WRITE_WAIT)))
    except ValueError:
        return DEFAULT_WRITE_WAIT


def resolve_url(given: str | None, sqlite_file: Path) -> str:
    """The database a store opens: ``given`` (``--database-url``), else
    ``$AUGMENT_REVIEW_DATABASE_URL``, else the SQLite file ``sqlite_file``."""
    url = given or os.environ.get(DATABASE_URL_ENV, "").strip()
    return url or f"sqlite:///{sqlite_file}"


def is_busy(exc: BaseException) -> bool:
    """Whether a database error means another writer holds the lock (try again)."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    state = getattr(orig, "sqlstate", None)
    if state is not None:
        return state in BUSY_STATES
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED
    msg = str(orig).lower()
    return "database is locked" in msg or "database table is locked" in msg or "busy" in msg


def busy_message(wait: float) -> str:
    return f"the database is locked by another writer (waited {wait:.3g} s)"


def dumps(value: Any) -> str | None:
    """A JSON column's text (None stays NULL)."""
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)


def marks(n: int) -> str:
    """``?, ?, ...``: the placeholders of an ``IN (...)`` of ``n`` values."""
    return ",".join("?" * n)


IN_CHUNK = 500
"""Values per ``IN (...)`` on SQLite (which caps the parameters of one statement)."""


def among(dialect: str, column: str, values: Sequence[Any]) -> Iterator[tuple[str, tuple]]:
    """``(condition, args)`` pairs that together select the rows whose ``column`` is one of
    ``values`` (``?`` placeholders): on SQLite ``IN (...)`` chunks of :data:`IN_CHUNK`; on
    PostgreSQL one ``= ANY(?)`` of them all (an array: the undo of a bulk reads and clears
    300,000 keys in one statement each, not 600)."""
    if not values:
        return
    if dialect != "sqlite":
        yield f"{column} = ANY(?)", (list(values),)
        return
    for i in range(0, len(values), IN_CHUNK):
        chunk = tuple(values[i : i + IN_CHUNK])
        yield f"{column} IN ({marks(len(chunk))})", chunk


@lru_cache(maxsize=1024)
def _driver_sql(sql: str, dialect: str) -> str:
    """A ``?``-placeholder statement in the driver's own style (psycopg: ``%s``)."""
    if dialect == "sqlite":
        return sql
    return re.sub(r"\?", "%s", sql.replace("%", "%%"))


@lru_cache(maxsize=1024)
def _text(sql: str) -> Any:
    return text(sql)


class Conn:
    """A connection of the store: SQLAlchemy's, with the store's two placeholder styles.

    ``?`` statements go to the driver as they are (the fast path: a run's chunk of 10,000
    rows is one ``executemany``, no per-row dicts); ``:name`` statements and constructs go
    through SQLAlchemy's compiler."""

    def __init__(self, sa: Connection) -> None:
        self.sa = sa
        self.dialect = sa.dialect.name

    def execute(self, sql: str | Executable, args: Args | Sequence[Mapping[str, Any]] = ()) -> CursorResult:
        if not isinstance(sql, str):
            return self.sa.execute(sql, args)
        if isinstance(args, Mapping):
            return self.sa.execute(_text(sql), args)
        return self.sa.exec_driver_sql(_driver_sql(sql, self.dialect), tuple(args))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """One statement for many rows (``?`` placeholders)."""
        rows = [tuple(r) for r in rows]
        if rows:
            self.sa.exec_driver_sql(_driver_sql(sql, self.dialect), rows)

    def scalar(self, sql: str, args: Args = ()) -> Any:
        """The first column of the first row (None when there is none)."""
        row = self.execute(sql, args).fetchone()
        return None if row is None else row[0]


def insert_ignore(c: Conn, table: Table, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert ``rows``, leaving any whose unique key is there already; how many went in."""
    if not rows:
        return 0
    stmt = (sqlite.insert(table) if c.dialect == "sqlite" else postgresql.insert(table)).on_conflict_do_nothing()
    return c.sa.execute(stmt, list(rows)).rowcount


def upsert(c: Conn, table: Table, rows: Sequence[Mapping[str, Any]], keys: Sequence[str],
           update: Callable[[Any], Mapping[str, Any]]) -> None:
    """Insert ``rows``; where ``keys`` are there already, set ``update(excluded)`` instead
    (``excluded``: the row that was to go in, as SQL)."""
    if not rows:
        return
    ins = sqlite.insert(table) if c.dialect == "sqlite" else postgresql.insert(table)
    c.sa.execute(ins.on_conflict_do_update(index_elements=list(keys), set_=update(ins.excluded)), list(rows))


def upsert_ids(c: Conn, table: Table, rows: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> dict[tuple, int]:
    """The ``id`` of each row's ``keys`` (a unique key of ``table``), the rows not there yet
    inserted first, in one statement (``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``):
    a SELECT of the ids by a long ``IN`` list is planned as a scan on PostgreSQL while the
    table fills."""
    if not rows:
        return {}
    ins = sqlite.insert(table) if c.dialect == "sqlite" else postgresql.insert(table)
    last = keys[-1]
    stmt = ins.on_conflict_do_update(index_elements=list(keys), set_={last: ins.excluded[last]})
    found = c.sa.execute(stmt.returning(*(table.c[k] for k in keys), table.c.id), list(rows))
    return {tuple(r[:-1]): r[-1] for r in found}


def insert_rows(c: Conn, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Insert many plain rows (the hot path: a run's chunk of candidates and index rows): one
    ``executemany`` on SQLite, ``COPY`` on PostgreSQL (several times faster than inserts)."""
    if not rows:
        return
    names = ", ".join(columns)
    if c.dialect == "sqlite":
        c.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks(len(columns))})", rows)
        return
    with c.sa.connection.dbapi_connection.cursor() as cur:  # type: ignore[union-attr]
        with cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def contains(dialect: str, haystack: str, needle: str) -> str:
    """SQL: ``needle`` (SQL) occurs in ``haystack`` (SQL), case as it is (no LIKE escapes)."""
    return f"{'instr' if dialect == 'sqlite' else 'strpos'}({haystack}, {needle}) > 0"


def put_blob(c: Conn, table: str, column: str, row_id: int, data: bytes, step: int) -> None:
    """Write ``data`` into the row's blob column, which holds ``len(data)`` zero bytes
    (SQLite, by incremental blob I/O ``step`` bytes at a time: binding a 150 MB upload as a
    parameter would copy it once more in memory), or is empty (PostgreSQL: bound as it is)."""
    if c.dialect != "sqlite":
        c.execute(f"UPDATE {table} SET {column} = ? WHERE id = ?", (data, row_id))
        return
    raw = c.sa.connection.dbapi_connection
    view = memoryview(data)
    with raw.blobopen(table, column, row_id) as blob:  # type: ignore[union-attr]
        for start in range(0, len(view), step):
            blob.write(view[start : start + step])


def make_engine(url: str) -> Engine:
    """An engine with the store's pool; SQLite in WAL mode with short busy slices, and every
    connection in autocommit, the store starting its write transactions itself."""
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):  # a libpq URL, as pg_dump takes: psycopg 3 is the driver
        u = u.set(drivername="postgresql+psycopg")
    if u.get_backend_name() == "sqlite":
        engine = create_engine(u, connect_args={"timeout": BUSY_SLICE, "check_same_thread": False},
                               isolation_level="AUTOCOMMIT", pool_size=POOL_SIZE, max_overflow=-1)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")
            dbapi_connection.execute("PRAGMA foreign_keys=ON")

        return engine
    # prepare_threshold None: no server-side prepared statements. The store's statements
    # carry IN lists of varying length, and a prepared statement's generic plan checks such a
    # list value by value (500 keys against every row scanned); it also keeps the store usable
    # behind a transaction-pooling PgBouncer, as managed PostgreSQL services offer.
    return create_engine(u, isolation_level="AUTOCOMMIT", pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW,
                         pool_pre_ping=True, connect_args={"prepare_threshold": None})


class Database:
    """A thread-safe handle on one database (Streamlit runs sessions on threads): a pool of
    connections, one writer at a time."""

    def __init__(self, url: str, write_wait: float | None = None) -> None:
        self.url = url
        self.write_wait = default_write_wait() if write_wait is None else float(write_wait)
        self._write_lock = threading.Lock()
        try:
            self.engine = make_engine(url)
            self.dialect = self.engine.dialect.name
            deadline = time.monotonic() + self.write_wait
            with self.engine.connect() as c:  # a server that does not answer says so now, in one line
                if self.dialect == "sqlite" and self.retry(
                        lambda: c.exec_driver_sql("PRAGMA journal_mode").scalar(), deadline) != "wal":
                    self.retry(lambda: c.exec_driver_sql("PRAGMA journal_mode=WAL"), deadline)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise _unavailable(url, exc) from exc

    def close(self) -> None:
        with self._write_lock:
            self.engine.dispose()

    def retry(self, fn: Callable[[], T], deadline: float) -> T:
        """``fn()``, again after a growing pause while the database says busy, until ``deadline``."""
        wait = max(0.0, deadline - time.monotonic())
        pause = 0.005
        while True:
            try:
                return fn()
            except DBAPIError as exc:
                left = deadline - time.monotonic()
                if not is_busy(exc) or left <= 0:
                    if is_busy(exc):
                        raise StoreBusy(busy_message(wait)) from exc
                    raise
                time.sleep(min(pause * random.uniform(0.5, 1.0), left))
                pause = min(pause * 2, MAX_PAUSE)

    def _begin(self, c: Connection, deadline: float, wait: float) -> None:
        """Start a write transaction holding the database's writer lock."""
        if self.dialect == "sqlite":
            self.retry(lambda: c.exec_driver_sql("BEGIN IMMEDIATE"), deadline)
            return
        left_ms = max(1, int((deadline - time.monotonic()) * 1000))
        try:  # one round trip: a decision's whole write is ten, each a network hop away
            c.exec_driver_sql(f"BEGIN; SET LOCAL lock_timeout = {left_ms}; SELECT pg_advisory_xact_lock({WRITE_LOCK})")
        except DBAPIError as exc:
            if is_busy(exc):
                raise StoreBusy(busy_message(wait)) from exc
            raise

    @contextmanager
    def write(self, wait: float | None = None) -> Iterator[Conn]:
        """One write transaction, waiting at most ``wait`` seconds (default ``write_wait``) to
        start it; the lock is released and the transaction ended on every path."""
        wait = self.write_wait if wait is None else wait
        deadline = time.monotonic() + wait
        if not self._write_lock.acquire(timeout=max(wait, 0.001)):
            raise StoreBusy(busy_message(wait))
        try:
            with self.engine.connect() as c:
                try:
                    self._begin(c, deadline, wait)
                    yield Conn(c)
                    self.retry(lambda: c.exec_driver_sql("COMMIT"), deadline)
                except BaseException:
                    _rollback(c)
                    raise
        finally:
            self._write_lock.release()

    def analyze(self, tables: Sequence[str]) -> None:
        """Refresh PostgreSQL's planner statistics of tables that just grew a lot (a stored
        run): the review page's first queries after an import are planned from them, before
        autovacuum would get to it. SQLite plans from its indexes alone: nothing to do."""
        if self.dialect == "sqlite":
            return
        try:
            with self.engine.connect() as c:
                c.exec_driver_sql("ANALYZE " + ", ".join(tables))
        except DBAPIError:
            pass  # best effort, after the write committed: autovacuum analyzes them soon anyway

    def reading(self, fn: Callable[[Conn], T]) -> T:
        """``fn(connection)`` on a pooled connection, retried while the database is busy:
        readers never queue behind the write lock."""
        with self.engine.connect() as c:
            return self.retry(lambda: fn(Conn(c)), time.monotonic() + self.write_wait)

    def query(self, sql: str, args: Args = ()) -> list[tuple]:
        """Rows of one read-only statement on a pooled connection."""
        return self.reading(lambda c: [tuple(r) for r in c.execute(sql, args)])


def _rollback(c: Connection) -> None:
    try:
        c.exec_driver_sql("ROLLBACK")
    except DBAPIError:
        pass
