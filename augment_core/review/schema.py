"""The review database's tables, and the migration of databases made by older versions.

Kept apart from :mod:`augment_core.review.store` (which runs statements) so the shape of the
stored work can be read in one place. Every statement is idempotent: :func:`migrate` runs on
every open, inside the store's write transaction.
"""

from __future__ import annotations

import sqlite3

TABLES = (
    """CREATE TABLE IF NOT EXISTS datasets (
        hash TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        data BLOB NOT NULL,
        settings TEXT,
        tags_name TEXT,
        tags_data BLOB,
        created_at REAL NOT NULL,
        last_opened REAL NOT NULL
    )""",
    # The uploaded file's bytes, apart from its datasets row (whose ``data`` is then empty):
    # a column after a 150 MB blob is read by walking the blob's overflow pages, so every
    # look at a dataset's name or settings cost a second, and an update of last_opened
    # rewrote the file.
    """CREATE TABLE IF NOT EXISTS dataset_files (
        id INTEGER PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        data BLOB NOT NULL
    )""",
    # settings: the dataset settings the run was generated from (mapping, split, seed), so
    # review and export keep using them after the dataset is remapped. complete: 0 while
    # the run's candidates are still being written (in chunks, so other writers interleave);
    # an incomplete run is never shown.
    """CREATE TABLE IF NOT EXISTS runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        dataset_hash TEXT NOT NULL REFERENCES datasets(hash),
        params TEXT NOT NULL,
        n_rows INTEGER NOT NULL,
        created_at REAL NOT NULL,
        settings TEXT,
        complete INTEGER NOT NULL DEFAULT 1
    )""",
    "CREATE INDEX IF NOT EXISTS runs_dataset ON runs(dataset_hash)",
    """CREATE TABLE IF NOT EXISTS candidates (
        run_id INTEGER NOT NULL REFERENCES runs(id),
        pos INTEGER NOT NULL,
        row_id TEXT NOT NULL,
        augmenter TEXT NOT NULL,
        row TEXT NOT NULL,
        PRIMARY KEY (run_id, pos)
    )""",
    """CREATE TABLE IF NOT EXISTS decisions (
        dataset_hash TEXT NOT NULL,
        key TEXT NOT NULL,
        decision TEXT NOT NULL CHECK (decision IN ('accepted', 'rejected')),
        decided_at REAL NOT NULL,
        PRIMARY KEY (dataset_hash, key)
    )""",
    # origin: who made the action (the app: one id per browser tab), so undo reverts only
    # the tab's own actions.
    """CREATE TABLE IF NOT EXISTS actions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        dataset_hash TEXT NOT NULL,
        label TEXT NOT NULL,
        created_at REAL NOT NULL,
        origin TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS actions_dataset ON actions(dataset_hash, id)",
    """CREATE TABLE IF NOT EXISTS action_items (
        action_id INTEGER NOT NULL REFERENCES actions(id),
        key TEXT NOT NULL,
        before TEXT,
        after TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS action_items_action ON action_items(action_id)",
    # client_actions: the outcome of every decision the review page sent with its own id
    # (the browser queues them and may send one again after a reload or a lost answer), so
    # applying it again returns the first outcome instead of writing twice.
    """CREATE TABLE IF NOT EXISTS client_actions (
        dataset_hash TEXT NOT NULL,
        id TEXT NOT NULL,
        outcome TEXT NOT NULL,
        at REAL NOT NULL,
        PRIMARY KEY (dataset_hash, id)
    )""",
    # --- the review index: what the review page filters, sorts, pages and counts by, one
    # narrow row per variant (augment_core.review.facts), written with its run's candidates.
    # An original (parent id and text) is one review_groups row.
    """CREATE TABLE IF NOT EXISTS review_groups (
        id INTEGER PRIMARY KEY,
        dataset_hash TEXT NOT NULL,
        digest TEXT NOT NULL,
        original TEXT NOT NULL,
        UNIQUE (dataset_hash, digest)
    )""",
    # rid: the order variants were stored in (run, then position): "original order".
    # k_*: each sort order's key (facts.SORT_COLUMNS).
    """CREATE TABLE IF NOT EXISTS review_items (
        rid INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL,
        pos INTEGER NOT NULL,
        key TEXT NOT NULL,
        grp INTEGER NOT NULL,
        augmenter TEXT NOT NULL,
        similarity REAL,
        agreement REAL,
        flagged INTEGER NOT NULL,
        k_sim REAL NOT NULL,
        k_simd REAL NOT NULL,
        k_agr REAL NOT NULL,
        k_flag REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS review_items_key ON review_items(key)",
    "CREATE INDEX IF NOT EXISTS review_items_grp ON review_items(grp, rid)",
    "CREATE INDEX IF NOT EXISTS review_items_sim ON review_items(k_sim, rid)",
    "CREATE INDEX IF NOT EXISTS review_items_simd ON review_items(k_simd, rid)",
    "CREATE INDEX IF NOT EXISTS review_items_agr ON review_items(k_agr, rid)",
    "CREATE INDEX IF NOT EXISTS review_items_flag ON review_items(k_flag, rid)",
    # the variant's text lower-cased, apart (only the text search reads it)
    """CREATE TABLE IF NOT EXISTS review_text (
        rid INTEGER PRIMARY KEY,
        text TEXT NOT NULL
    )""",
    # facet values (tag, rule, word_change, flag, augmenter); a rule's keyword agreement
    # as first recorded
    """CREATE TABLE IF NOT EXISTS review_values (
        id INTEGER PRIMARY KEY,
        dataset_hash TEXT NOT NULL,
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        agreement REAL,
        support INTEGER,
        UNIQUE (dataset_hash, kind, value)
    )""",
    """CREATE TABLE IF NOT EXISTS review_item_values (
        value_id INTEGER NOT NULL,
        rid INTEGER NOT NULL,
        PRIMARY KEY (value_id, rid)
    ) WITHOUT ROWID""",
    # per run, how many of its variants have each value: facet counts without a scan
    """CREATE TABLE IF NOT EXISTS review_value_counts (
        run_id INTEGER NOT NULL,
        value_id INTEGER NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (run_id, value_id)
    ) WITHOUT ROWID""",
)

ADDED_COLUMNS = (
    ("runs", "settings", "TEXT"),
    ("runs", "complete", "INTEGER NOT NULL DEFAULT 1"),
    ("actions", "origin", "TEXT"),
    # 1 once the run's variants are in the review index (runs stored before it are indexed
    # when the store opens: Store.index_runs)
    ("runs", "indexed", "INTEGER NOT NULL DEFAULT 0"),
)


def schema_is_current(c: sqlite3.Connection) -> bool:
    """Whether every table and added column is there (read only: no lock needed)."""
    tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not {"datasets", "dataset_files", "runs", "candidates", "decisions", "actions", "action_items", "client_actions",
             "review_groups", "review_items", "review_text", "review_values", "review_item_values",
             "review_value_counts"} <= tables:
        return False
    for table, column, _ in ADDED_COLUMNS:
        if column not in {r[1] for r in c.execute(f"PRAGMA table_info({table})")}:
            return False
    return True


def migrate(c: sqlite3.Connection) -> None:
    """Create what is missing; give runs made before runs kept their settings the settings
    their run parameters recorded, else the dataset's settings of today (the best record left)."""
    for statement in TABLES:
        c.execute(statement)
    for table, column, decl in ADDED_COLUMNS:
        have = {r[1] for r in c.execute(f"PRAGMA table_info({table})")}
        if column not in have:
            c.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
    c.execute("INSERT INTO dataset_files (hash, data) SELECT hash, data FROM datasets"
              " WHERE length(data) > 0 AND hash NOT IN (SELECT hash FROM dataset_files)")
    c.execute("UPDATE datasets SET data = x'' WHERE length(data) > 0 AND hash IN (SELECT hash FROM dataset_files)")
    c.execute(
        "UPDATE runs SET settings = COALESCE(json_extract(params, '$.settings'),"
        " (SELECT d.settings FROM datasets d WHERE d.hash = runs.dataset_hash))"
        " WHERE settings IS NULL"
    )
