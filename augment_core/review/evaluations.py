"""Evaluation results in the review store: each a JSON document under the dataset's content
hash, newest last; what the Evaluate page shows and an export's manifest summarises
(:func:`augment_core.evaluate.manifest.manifest_entry`)."""

from __future__ import annotations

import json
import time
from typing import Any, Mapping

from sqlalchemy import insert, select

from augment_core.data.manifest import iso8601
from augment_core.review.database import Database
from augment_core.review.schema import evaluations


def save_evaluation(db: Database, dataset_hash: str, result: Mapping[str, Any]) -> int:
    """Store ``result``; its id."""
    stmt = insert(evaluations).values(dataset_hash=dataset_hash, created_at=time.time(),
                                      result=json.dumps(result, ensure_ascii=False))
    with db.write() as c:
        key = c.execute(stmt).inserted_primary_key
    assert key is not None
    return int(key[0])


def latest_evaluation(db: Database, dataset_hash: str) -> dict[str, Any] | None:
    """The dataset's newest result, with ``id`` and ``created_at`` (ISO 8601 UTC) added."""
    e = evaluations.c
    stmt = select(e.id, e.created_at, e.result).where(e.dataset_hash == dataset_hash).order_by(e.id.desc()).limit(1)
    rows = db.reading(lambda c: c.execute(stmt).all())
    if not rows:
        return None
    id_, created_at, result = rows[0]
    return {**json.loads(result), "id": int(id_), "created_at": iso8601(created_at)}
