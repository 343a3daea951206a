"""Evaluation results kept with the dataset, in the review store's SQLite file.

A table of its own (``evaluations``, created if missing), written through a connection of
its own, so the store's schema and code are untouched: an additive change that merges
with any reorganisation of the store. Results are JSON, newest last, keyed by the
dataset's content hash like everything else.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from contextlib import closing
from pathlib import Path
from typing import Any, Iterable, Mapping

from augment_core.data.manifest import iso8601

_SCHEMA = """
CREATE TABLE IF NOT EXISTS evaluations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset_hash TEXT NOT NULL,
    created_at REAL NOT NULL,
    result TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS evaluations_dataset ON evaluations(dataset_hash, id);
"""


def _connect(db_path: str | Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db_path, timeout=10, isolation_level=None)
    conn.executescript(_SCHEMA)
    return conn


def variants_fingerprint(keys: Iterable[str]) -> str:
    """A hash of the variant keys an evaluation trained on: the manifest says whether the
    stored result still describes the decisions being exported."""
    return hashlib.sha256("\n".join(sorted(keys)).encode("utf-8")).hexdigest()


def save_evaluation(db_path: str | Path, dataset_hash: str, result: Mapping[str, Any]) -> int:
    with closing(_connect(db_path)) as conn:
        cur = conn.execute(
            "INSERT INTO evaluations (dataset_hash, created_at, result) VALUES (?, ?, ?)",
            (dataset_hash, time.time(), json.dumps(result, ensure_ascii=False)),
        )
        return int(cur.lastrowid or 0)


def latest_evaluation(db_path: str | Path, dataset_hash: str) -> dict[str, Any] | None:
    """The dataset's newest result, with ``id`` and ``created_at`` (ISO 8601 UTC) added."""
    with closing(_connect(db_path)) as conn:
        row = conn.execute(
            "SELECT id, created_at, result FROM evaluations WHERE dataset_hash = ? ORDER BY id DESC LIMIT 1",
            (dataset_hash,),
        ).fetchone()
    if row is None:
        return None
    return {**json.loads(row[2]), "id": row[0], "created_at": iso8601(row[1])}


def manifest_entry(db_path: str | Path, dataset_hash: str, accepted_keys: Iterable[str]) -> dict[str, Any] | None:
    """What the export manifest says of the latest evaluation: its verdict and figures on
    val, and whether it was run on the variants now accepted (``matches_export``)."""
    result = latest_evaluation(db_path, dataset_hash)
    if result is None:
        return None
    val = result["splits"]["val"]
    return {
        "id": result["id"],
        "created_at": result["created_at"],
        "baseline": result["baseline"],
        "config": result["config"],
        "data": result["data"],
        "primary_metric": result["primary_metric"],
        "verdict": val["verdict"],
        "val": {"arms": val["arms"], "differences": val["differences"]},
        "test_used": result["data"].get("test_used", False),
        "matches_export": result.get("variants_sha256") == variants_fingerprint(accepted_keys)
        and result["data"].get("variants_source") == "accepted",
    }
