"""Bringing a store's database to the current schema with Alembic, when the store opens.

The revisions are in ``augment_core/review/migrations/versions``: the first (the baseline)
creates the tables of :mod:`augment_core.review.schema`, or brings a SQLite database of an
older release (one without Alembic's ``alembic_version`` table) to them with the hand-written
migration those releases ran (:mod:`augment_core.review.legacy`); every change after it is a
revision of its own. Opening a database that is current is one read and takes no lock;
otherwise the upgrade runs inside one write transaction (the writer lock: a second process
opening the same database waits, then finds it current), so a failed upgrade changes nothing.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

from augment_core.review.database import Conn, Database

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version"


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, no ini file: the scripts here, run on ``connection``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


@lru_cache(maxsize=1)
def head() -> str:
    """The newest revision (the schema this code reads and writes)."""
    found = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if found is None:  # pragma: no cover - the baseline is always there
        raise RuntimeError("no Alembic revision in " + str(MIGRATIONS))
    return found


def revision(c: Conn) -> str | None:
    """The revision the database is at (None: new, or made before Alembic)."""
    if not inspect(c.sa).has_table(VERSION_TABLE):
        return None
    return c.scalar(f"SELECT version_num FROM {VERSION_TABLE}")


def upgrade(db: Database) -> None:
    """Run every revision the database lacks, in one write transaction."""
    if db.reading(revision) == head():
        return
    with db.write() as c:
        if revision(c) != head():
            command.upgrade(alembic_config(c.sa), "head")
