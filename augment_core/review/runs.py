"""Augmentation runs in the review store: each run's provenance rows (originals and variants)
with the dataset settings they were generated from, and its variants in the review index.

A long run is written in chunks, each its own transaction with a short pause after it, so
decisions from other tabs or processes go through while it is stored; it is shown only once
complete. The index rows (:class:`~augment_core.review.index.Facts`) come computed from the
caller: storage reads and writes rows, it builds no review objects.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Callable, Iterable, Mapping, Sequence

from sqlalchemy.exc import SQLAlchemyError

from augment_core.review.database import Database, StoreBusy, dumps, insert_rows
from augment_core.review.index import Facts, IndexChunk, drop_index
from augment_core.review.keys import candidate_key
from augment_core.runners.pipeline import ORIGINAL

INDEXED_TABLES = ("candidates", "review_items", "review_text", "review_groups", "review_values", "review_item_values",
                  "review_value_counts")
"""What storing a run fills (the review page's queries read them)."""
RUN_CHUNK = 10_000
"""Candidates written per transaction when storing a run."""
RUN_PAUSE = 0.05
"""Seconds between a run's chunks: long enough for writers polling every ``MAX_PAUSE`` to get in."""
INDEX_CLAIM = 600.0
"""Seconds after which a run another process began indexing (and never finished) is indexed again."""

FactsOf = Callable[[Mapping[str, Any], Mapping[str, Any] | None], "Facts | None"]
"""A stored row and its run's settings -> its review index facts (None: not reviewed)."""


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


def add_run(
    db: Database,
    dataset_hash: str,
    params: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
    settings: Mapping[str, Any] | None,
    facts: Iterable[Facts | None],
) -> int:
    """Store one run's rows with the settings they were generated from, and ``facts`` (one
    per row, in order, None for a row not reviewed; an iterator is read a chunk at a time)
    in the review index.

    Written in chunks of :data:`RUN_CHUNK` rows, one transaction each with a pause in
    between, so other writers are never held up for long; the run shows (in :func:`runs`)
    once every chunk is in, and a run that fails half-way is removed.
    """
    now = time.time()
    with db.write() as c:
        run_id = int(c.scalar(
            "INSERT INTO runs (dataset_hash, params, n_rows, created_at, settings, complete) VALUES (?, ?, ?, ?, ?, 0)"
            " RETURNING id",
            (dataset_hash, dumps(params), len(rows), now, dumps(settings)),
        ))
    each = iter(facts)
    try:
        for start in range(0, len(rows), RUN_CHUNK):
            if start:
                time.sleep(RUN_PAUSE)  # let waiting writers (reviewers' decisions) in
            chunk = rows[start : start + RUN_CHUNK]
            index = IndexChunk(dataset_hash, run_id, [
                (start + i, r, f) for i, (r, f) in enumerate(zip(chunk, islice(each, len(chunk)), strict=True))
                if f is not None
            ])
            with db.write() as c:
                insert_rows(c, "candidates", ("run_id", "pos", "row_id", "augmenter", "row"), [
                    (run_id, start + i, str(r["id"]), str(r.get("augmenter", "")),
                     json.dumps(r, ensure_ascii=False, default=str)) for i, r in enumerate(chunk)])
                index.write(c)
        with db.write() as c:
            c.execute("UPDATE runs SET complete = 1, indexed = 1 WHERE id = ?", (run_id,))
        db.analyze(INDEXED_TABLES)
    except BaseException:
        try:
            with db.write() as c:
                drop_index(c, run_id)
                c.execute("DELETE FROM candidates WHERE run_id = ?", (run_id,))
                c.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        except (SQLAlchemyError, StoreBusy):
            pass  # left incomplete: never shown
        raise
    return run_id


def runs(db: Database, dataset_hash: str) -> list[RunInfo]:
    rows = db.query(
        "SELECT id, dataset_hash, params, n_rows, created_at, settings FROM runs"
        " WHERE dataset_hash = ? AND complete = 1 ORDER BY id",
        (dataset_hash,),
    )
    return [RunInfo(r[0], r[1], json.loads(r[2]), r[3], r[4], json.loads(r[5]) if r[5] else None) for r in rows]


def index_runs(db: Database, facts_of: FactsOf) -> int:
    """Put the variants of complete runs stored before the review index into it (a
    database from an older version), a chunk per transaction like :func:`add_run`, their
    facts taken by ``facts_of``; returns how many runs were indexed. Another process
    indexing a run at the same time has claimed it (a claim older than ``INDEX_CLAIM``
    seconds, left by a process that died, is taken over)."""
    done = 0
    while True:
        now = time.time()
        # a read first: opening a store whose runs are all indexed (the usual case) takes
        # no write lock, so it opens while another program holds it
        if not db.query("SELECT 1 FROM runs WHERE complete = 1 AND (indexed = 0 OR (indexed > 1 AND indexed < ?))"
                        " LIMIT 1", (now - INDEX_CLAIM,)):
            return done
        with db.write() as c:
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
            c.execute("UPDATE runs SET indexed = ? WHERE id = ?", (int(now), run_id))
            drop_index(c, run_id)
        settings = json.loads(run_settings or dataset_settings or "null")
        pos = -1
        while True:
            chunk = db.query("SELECT pos, row FROM candidates WHERE run_id = ? AND pos > ? ORDER BY pos LIMIT ?",
                             (run_id, pos, RUN_CHUNK))
            if not chunk:
                break
            pos = chunk[-1][0]
            parsed = [(p, json.loads(raw)) for p, raw in chunk]
            index = IndexChunk(dataset_hash, run_id, [
                (p, r, f) for p, r in parsed if (f := facts_of(r, settings)) is not None
            ])
            with db.write() as c:
                index.write(c)
            time.sleep(RUN_PAUSE)
        with db.write() as c:
            c.execute("UPDATE runs SET indexed = 1 WHERE id = ?", (run_id,))
        done += 1


def review_run_ids(db: Database, dataset_hash: str) -> tuple[int, ...]:
    """The runs the review shows: complete and in the review index, oldest first."""
    rows = db.query("SELECT id FROM runs WHERE dataset_hash = ? AND complete = 1 AND indexed = 1 ORDER BY id",
                    (dataset_hash,))
    return tuple(r[0] for r in rows)


def run_rows(db: Database, run_id: int) -> list[dict[str, Any]]:
    return [json.loads(r[0]) for r in db.query("SELECT row FROM candidates WHERE run_id = ? ORDER BY pos", (run_id,))]


def candidates(db: Database, dataset_hash: str, run_ids: Iterable[int] | None = None) -> list[StoredCandidate]:
    """Every generated variant (not the originals) of the dataset's complete runs,
    oldest run first."""
    wanted = None if run_ids is None else set(int(r) for r in run_ids)
    out: list[StoredCandidate] = []
    for run in runs(db, dataset_hash):
        if wanted is not None and run.id not in wanted:
            continue
        rows = db.query("SELECT row_id, row FROM candidates WHERE run_id = ? AND augmenter != ? ORDER BY pos",
                        (run.id, ORIGINAL))
        out.extend(StoredCandidate(run.id, candidate_key(run.id, row_id), json.loads(raw)) for row_id, raw in rows)
    return out
