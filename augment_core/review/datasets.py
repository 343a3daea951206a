"""Datasets in the review store: the uploaded file's bytes under their content hash, its
settings (mapping, split) and tags file.

Everything is keyed by the dataset's content hash, so uploading a different file never
touches another dataset's work, and uploading the same bytes again opens the same work.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from augment_core.review.database import Database, dumps, put_blob

BLOB_STEP = 1 << 20
"""Bytes written per step of an upload's incremental blob I/O."""


@dataclass(frozen=True)
class DatasetInfo:
    hash: str
    name: str
    settings: dict[str, Any] | None
    tags_name: str | None
    created_at: float
    last_opened: float
    n_runs: int = 0


_SELECT = (
    "SELECT d.hash, d.name, d.settings, d.tags_name, d.created_at, d.last_opened,"
    " (SELECT COUNT(*) FROM runs r WHERE r.dataset_hash = d.hash AND r.complete = 1)"
    " FROM datasets d"
)


def _info(r: Sequence[Any]) -> DatasetInfo:
    return DatasetInfo(hash=r[0], name=r[1], settings=json.loads(r[2]) if r[2] else None, tags_name=r[3],
                       created_at=r[4], last_opened=r[5], n_runs=r[6])


def add_dataset(db: Database, hash: str, name: str, data: bytes, settings: Mapping[str, Any] | None = None) -> bool:
    """Store an uploaded file under its content hash; True when it is new.

    Storing bytes that are already there only marks the dataset as opened: its
    settings, runs and decisions stay as they are.
    """
    now = time.time()
    with db.write() as c:
        exists = c.execute("SELECT 1 FROM datasets WHERE hash = ?", (hash,)).fetchone()
        if exists:
            c.execute("UPDATE datasets SET last_opened = ? WHERE hash = ?", (now, hash))
            return False
        c.execute(
            "INSERT INTO datasets (hash, name, data, settings, created_at, last_opened) VALUES (?, ?, ?, ?, ?, ?)",
            (hash, name, b"", dumps(settings), now, now),
        )
        # SQLite: zeros first, the bytes then a MiB at a time (put_blob)
        zeros = "zeroblob(?)" if c.dialect == "sqlite" else "?"
        file_id = c.scalar(f"INSERT INTO dataset_files (hash, data) VALUES (?, {zeros}) RETURNING id",
                           (hash, len(data) if c.dialect == "sqlite" else b""))
        put_blob(c, "dataset_files", "data", file_id, data, BLOB_STEP)
        return True


def has_dataset(db: Database, hash: str) -> bool:
    return bool(db.query("SELECT 1 FROM datasets WHERE hash = ?", (hash,)))


def dataset(db: Database, hash: str) -> DatasetInfo | None:
    rows = db.query(_SELECT + " WHERE d.hash = ?", (hash,))
    return _info(rows[0]) if rows else None


def dataset_bytes(db: Database, hash: str) -> bytes:
    rows = db.query("SELECT data FROM dataset_files WHERE hash = ?", (hash,)) or db.query(
        "SELECT data FROM datasets WHERE hash = ?", (hash,))
    if not rows:
        raise KeyError(hash)
    return bytes(rows[0][0])


def recent_datasets(db: Database, limit: int = 10) -> list[DatasetInfo]:
    return [_info(r) for r in db.query(_SELECT + " ORDER BY d.last_opened DESC LIMIT ?", (limit,))]


def touch_dataset(db: Database, hash: str) -> None:
    with db.write() as c:
        c.execute("UPDATE datasets SET last_opened = ? WHERE hash = ?", (time.time(), hash))


def save_settings(db: Database, hash: str, settings: Mapping[str, Any]) -> None:
    """The column mapping and split settings (a JSON-able dict) for new runs; runs
    already stored keep their own."""
    with db.write() as c:
        c.execute("UPDATE datasets SET settings = ? WHERE hash = ?", (dumps(settings), hash))


def save_tags(db: Database, hash: str, name: str | None, data: bytes | None) -> None:
    """The dataset's tags file (None: the bundled vocabulary)."""
    with db.write() as c:
        c.execute("UPDATE datasets SET tags_name = ?, tags_data = ? WHERE hash = ?", (name, data, hash))


def tags(db: Database, hash: str) -> tuple[str | None, bytes | None]:
    rows = db.query("SELECT tags_name, tags_data FROM datasets WHERE hash = ?", (hash,))
    if not rows:
        return None, None
    name, data = rows[0]
    return name, (bytes(data) if data is not None else None)
