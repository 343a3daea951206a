"""The connection and transaction layer of the review store, on SQLAlchemy Core: SQLite (the
default, one file, nothing to set up) or PostgreSQL (``postgresql+psycopg://...``), pooled
connections, busy retries with back-off, and transactions; nothing about what is stored.

Every store module (:mod:`~augment_core.review.datasets`, :mod:`~augment_core.review.runs`,
:mod:`~augment_core.review.decisions`, ...) runs its own SQL through a :class:`Database`:
``db.query(sql, args)`` for a read, ``with db.write() as c:`` for a write transaction,
``db.reading(fn)`` for several reads on one connection. ``c`` is a :class:`Conn`: statements
with ``?`` placeholders (a sequence of values) or ``:name`` ones (a mapping), or SQLAlchemy
constructs. Where the two databases' SQL differs, a helper here says it once
(:func:`upsert`, :func:`contains`, :func:`put_blob`).

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
from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol, Sequence, TypeVar, overload

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


PIPELINE_ROWS = 1000
"""Rows :func:`insert_rows` queues as inserts on PostgreSQL; more go by ``COPY``."""
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


class Rows(Protocol):
    """What a statement answers: SQLAlchemy's result, or psycopg's cursor where the statement
    went in a pipeline (:meth:`Conn.queue`); rows index and unpack as tuples."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> Sequence[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Later:
    """The rows a queued statement answers (:meth:`Conn.queue`), once it has been sent."""

    def __init__(self) -> None:
        self.rows: list[tuple] | None = None

    def scalar(self) -> Any:
        """The first column of the first row (None when there is none)."""
        if self.rows is None:
            raise RuntimeError("the statement has not been sent yet: read it after the write's transaction")
        return self.rows[0][0] if self.rows else None


class Conn:
    """A connection of the store: SQLAlchemy's, with the store's two placeholder styles.

    ``?`` statements go to the driver as they are (the fast path: a run's chunk of 10,000
    rows is one ``executemany``, no per-row dicts); ``:name`` statements and constructs go
    through SQLAlchemy's compiler.

    **Round trips.** On PostgreSQL every statement is a network round trip, and a decision's
    write was ten of them (5x SQLite's in-process calls). A statement whose answer the write
    does not read before it commits is :meth:`queue`\ d instead: it is sent, in psycopg's
    pipeline mode, with the next statement that has to answer (the write's ``BEGIN`` and
    lock go with its first read) or with the ``COMMIT``: a decision is two round trips, one
    where it checks what the page showed instead of reading it first
    (:func:`~augment_core.review.decisions.assume`).
    On SQLite (in the process: no round trip) a queued statement runs at once. Anything that
    reaches SQLAlchemy's connection (:attr:`sa`) sends the queue first, so statements always
    run in the order they were given."""

    def __init__(self, sa: Connection) -> None:
        self._sa = sa
        self.dialect = sa.dialect.name
        self._queued: list[tuple[str, Any, bool, Later | None]] = []
        self._first = False
        """Whether the next batch is a write's first (sent again on a new connection if the
        server dropped this one)."""

    @property
    def sa(self) -> Connection:
        """SQLAlchemy's connection, every queued statement sent."""
        self._send()
        return self._sa

    @overload
    def execute(self, sql: Executable, args: Args | Sequence[Mapping[str, Any]] = ()) -> CursorResult: ...

    @overload
    def execute(self, sql: str, args: Args | Sequence[Mapping[str, Any]] = ()) -> Rows: ...

    def execute(self, sql: str | Executable, args: Args | Sequence[Mapping[str, Any]] = ()) -> Rows | CursorResult:
        """Run one statement; a construct's answer is SQLAlchemy's result, a string's
        :class:`Rows` (psycopg's cursor where it went with queued statements)."""
        if isinstance(sql, str) and not isinstance(args, Mapping) and self._queued:
            cursor = self._send((_driver_sql(sql, self.dialect), tuple(args)))  # with the queue: one round trip
            assert cursor is not None
            return cursor
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

    def queue(self, sql: str, args: Sequence[Any] = (), many: bool = False) -> Later:
        """Run ``sql`` (``?`` placeholders; ``many``: ``args`` is a sequence of rows, one
        statement each) when the next statement that answers is sent, or at the commit, on
        PostgreSQL; now on SQLite. Its rows, if any, are in the returned :class:`Later` once
        it ran (after the transaction, at the latest). Only inside :meth:`Database.write`."""
        later = Later()
        if self.dialect == "sqlite":
            if many:
                self.executemany(sql, args)
            else:
                found = self.execute(sql, args)
                later.rows = [tuple(r) for r in found] if found.returns_rows else []  # type: ignore[attr-defined]
            return later
        values = [tuple(r) for r in args] if many else tuple(args)
        if not many or values:
            self._queued.append((_driver_sql(sql, self.dialect), values, many, later))
        return later

    def commit(self) -> None:
        """End the transaction; on PostgreSQL the ``COMMIT`` goes with the queued statements."""
        if self._queued:
            self._send(("COMMIT", ()))
        else:
            self._sa.exec_driver_sql("COMMIT")

    def _send(self, last: tuple[str, tuple] | None = None) -> Any:
        """Send the queued statements, and ``last``, in one pipeline (one round trip); the
        cursor of ``last``. A failure is SQLAlchemy's error, as a statement run alone raises.

        The pool does not ping a connection before lending it (a round trip per write): a
        write's first batch carries its ``BEGIN``, so where the server dropped the connection
        (a restart) nothing has run yet, and the batch goes again on a new connection."""
        if not self._queued and last is None:
            return None
        queued, self._queued = self._queued, []
        first, self._first = self._first, False
        error = self._sa.dialect.loaded_dbapi.Error
        while True:
            raw: Any = self._sa.connection.dbapi_connection
            cursors: list[tuple[Any, Later | None]] = []
            final = None
            try:
                with raw.pipeline():
                    for sql, args, many, later in queued:
                        cursor = raw.cursor()
                        if many:
                            cursor.executemany(sql, args)
                        else:
                            cursor.execute(sql, args)
                        cursors.append((cursor, later))
                    if last is not None:
                        final = raw.cursor()
                        final.execute(*last)
                break
            except error as exc:
                lost = self._sa.dialect.is_disconnect(exc, raw, None)
                if first and lost:
                    first = False
                    self._sa.invalidate()
                    continue
                raise DBAPIError.instance(last[0] if last else queued[-1][0], None, exc, error,
                                          connection_invalidated=lost) from exc
        for cursor, later in cursors:
            if later is not None:
                later.rows = [tuple(r) for r in cursor.fetchall()] if cursor.description else []
        return final

    def scalar(self, sql: str, args: Args = ()) -> Any:
        """The first column of the first row (None when there is none)."""
        row = self.execute(sql, args).fetchone()
        return None if row is None else row[0]


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
    ``executemany`` on SQLite, ``COPY`` on PostgreSQL (several times faster than inserts);
    up to :data:`PIPELINE_ROWS` rows queued instead (:meth:`Conn.queue`: a ``COPY`` is two
    round trips of its own, a decision's history row none)."""
    if not rows:
        return
    names = ", ".join(columns)
    if c.dialect == "sqlite" or len(rows) <= PIPELINE_ROWS:
        c.queue(f"INSERT INTO {table} ({names}) VALUES ({marks(len(columns))})", rows, many=True)
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
    # No pool_pre_ping: a round trip on every checkout, a third of a decision's. A read on a
    # connection the server dropped is run again on a new one (Database.reading), a write's
    # first batch sent again (Conn._send).
    # prepare_threshold None: no server-side prepared statements. The store's statements
    # carry IN lists of varying length, and a prepared statement's generic plan checks such a
    # list value by value (500 keys against every row scanned); it also keeps the store usable
    # behind a transaction-pooling PgBouncer, as managed PostgreSQL services offer.
    return create_engine(u, isolation_level="AUTOCOMMIT", pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW,
                         connect_args={"prepare_threshold": None})


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

    def _begin(self, c: Connection, deadline: float) -> Conn:
        """Start a write transaction holding the database's writer lock; on PostgreSQL it is
        queued, to go with the transaction's first statement that answers (one round trip)."""
        if self.dialect == "sqlite":
            self.retry(lambda: c.exec_driver_sql("BEGIN IMMEDIATE"), deadline)
            return Conn(c)
        conn = Conn(c)
        conn._first = True
        left_ms = max(1, int((deadline - time.monotonic()) * 1000))
        conn.queue("BEGIN")
        conn.queue(f"SET LOCAL lock_timeout = {left_ms}")
        conn.queue("SELECT pg_advisory_xact_lock(?)", (WRITE_LOCK,))
        return conn

    @contextmanager
    def write(self, wait: float | None = None) -> Iterator[Conn]:
        """One write transaction, waiting at most ``wait`` seconds (default ``write_wait``) to
        start it; the lock is released and the transaction ended on every path. On
        PostgreSQL the wait ends in the server's lock timeout, raised by whichever statement
        first reaches the server (the ``BEGIN`` is queued with it): :class:`StoreBusy`."""
        wait = self.write_wait if wait is None else wait
        deadline = time.monotonic() + wait
        if not self._write_lock.acquire(timeout=max(wait, 0.001)):
            raise StoreBusy(busy_message(wait))
        try:
            with self.engine.connect() as c:
                try:
                    conn = self._begin(c, deadline)
                    yield conn
                    if self.dialect == "sqlite":
                        self.retry(conn.commit, deadline)
                    else:  # never again: a failed pipeline's COMMIT would be a silent ROLLBACK
                        conn.commit()
                except BaseException as exc:
                    _rollback(c)
                    if self.dialect != "sqlite" and isinstance(exc, DBAPIError) and is_busy(exc):
                        raise StoreBusy(busy_message(wait)) from exc
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
        readers never queue behind the write lock; run again once on a new connection where
        the server had dropped the pooled one (restarted: the pool does not ping)."""
        with self.engine.connect() as c:
            try:
                return self.retry(lambda: fn(Conn(c)), time.monotonic() + self.write_wait)
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
                c.rollback()
                return self.retry(lambda: fn(Conn(c)), time.monotonic() + self.write_wait)

    def query(self, sql: str, args: Args = ()) -> list[tuple]:
        """Rows of one read-only statement on a pooled connection."""
        return self.reading(lambda c: [tuple(r) for r in c.execute(sql, args)])


def _rollback(c: Connection) -> None:
    try:
        c.exec_driver_sql("ROLLBACK")
    except DBAPIError:
        pass
