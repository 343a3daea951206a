"""The hand-written migration of SQLite databases made before Alembic managed the schema
(releases up to the one that split the store by job): run once, by the baseline revision
(``migrations/versions/v0001_baseline.py``), on a database of this product without an
``alembic_version`` table, inside the store's write transaction. It brings any such database
to the baseline; Alembic takes over from there. The DDL below is that of those releases, kept
as they ran it (SQLite only: PostgreSQL databases were never made by them).
"""

from __future__ import annotations

from augment_core.review.client_actions import prune_all
from augment_core.review.database import Conn
from augment_core.review.schema import LOCAL_REVIEWER

DECISIONS_TABLE = """CREATE TABLE IF NOT EXISTS decisions (
        dataset_hash TEXT NOT NULL,
        key TEXT NOT NULL,
        reviewer TEXT NOT NULL DEFAULT 'local',
        decision TEXT NOT NULL CHECK (decision IN ('accepted', 'rejected')),
        decided_at REAL NOT NULL,
        PRIMARY KEY (dataset_hash, key, reviewer)
    )"""
# client_actions: the outcome of every decision the review page sent with its own id (the
# browser queues them and may send one again after a reload or a lost answer), so applying it
# again returns the first outcome instead of writing twice. Keyed by reviewer: the ids are the
# page's, so another reviewer's page may send the same one. origin: the tab that sent it; seq:
# the order they came in, so each tab's newest are kept (augment_core.review.client_actions).
CLIENT_ACTIONS_TABLE = """CREATE TABLE IF NOT EXISTS client_actions (
        seq INTEGER PRIMARY KEY,
        dataset_hash TEXT NOT NULL,
        reviewer TEXT NOT NULL,
        origin TEXT,
        id TEXT NOT NULL,
        outcome TEXT NOT NULL,
        at REAL NOT NULL,
        UNIQUE (dataset_hash, reviewer, id)
    )"""

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
    # one decision per candidate and reviewer (the signed-in e-mail, or "local" when the app
    # has no sign-in): several reviewers' decisions on one dataset are kept side by side.
    DECISIONS_TABLE,
    "CREATE INDEX IF NOT EXISTS decisions_reviewer ON decisions(dataset_hash, reviewer)",
    # origin: where the action was made (the app: one id per browser tab), so undo reverts
    # only the tab's own actions; reviewer: whose decisions it changed.
    """CREATE TABLE IF NOT EXISTS actions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        dataset_hash TEXT NOT NULL,
        label TEXT NOT NULL,
        created_at REAL NOT NULL,
        origin TEXT,
        reviewer TEXT NOT NULL DEFAULT 'local'
    )""",
    "CREATE INDEX IF NOT EXISTS actions_dataset ON actions(dataset_hash, id)",
    """CREATE TABLE IF NOT EXISTS action_items (
        action_id INTEGER NOT NULL REFERENCES actions(id),
        key TEXT NOT NULL,
        before TEXT,
        after TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS action_items_action ON action_items(action_id)",
    # history: who decided what and when, append only: every change a decision or an undo
    # made, one row per candidate (undo deletes its action, never its history).
    """CREATE TABLE IF NOT EXISTS history (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        dataset_hash TEXT NOT NULL,
        reviewer TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('decide', 'undo')),
        label TEXT NOT NULL,
        key TEXT NOT NULL,
        before TEXT,
        after TEXT,
        at REAL NOT NULL,
        origin TEXT
    )""",
    # no index: history is appended to by every decision and read only to audit
    # client_actions: see CLIENT_ACTIONS_TABLE
    CLIENT_ACTIONS_TABLE,
    "CREATE INDEX IF NOT EXISTS client_actions_tab ON client_actions(dataset_hash, reviewer, origin, seq)",
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
    # k_*: each sort order's key (index.SORT_COLUMNS).
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

# Runs made by the CLI or Ray and loaded from their files (augment_core.review.run_import).
# A run too large to review one by one keeps only a sample per alias rule as candidates;
# run_rules holds every rule's row count (and agreement), rule_decisions the decision on a
# whole rule. A rule decision is undoable as any decision: its action item's key is
# "rule:<run id>:<rule>" (see augment_core.review.store.rule_key).
RULE_TABLES = (
    """CREATE TABLE IF NOT EXISTS run_rules (
        run_id INTEGER NOT NULL REFERENCES runs(id),
        rule TEXT NOT NULL,
        position INTEGER NOT NULL,
        n_rows INTEGER NOT NULL,
        n_sampled INTEGER NOT NULL,
        agreement REAL,
        support INTEGER,
        PRIMARY KEY (run_id, rule)
    )""",
    """CREATE TABLE IF NOT EXISTS rule_decisions (
        dataset_hash TEXT NOT NULL,
        run_id INTEGER NOT NULL,
        rule TEXT NOT NULL,
        reviewer TEXT NOT NULL DEFAULT 'local',
        decision TEXT NOT NULL CHECK (decision IN ('accepted', 'rejected')),
        decided_at REAL NOT NULL,
        PRIMARY KEY (dataset_hash, run_id, rule, reviewer)
    )""",
)

ADDED_COLUMNS = (
    ("runs", "settings", "TEXT"),
    ("runs", "complete", "INTEGER NOT NULL DEFAULT 1"),
    ("actions", "origin", "TEXT"),
    ("actions", "reviewer", "TEXT NOT NULL DEFAULT 'local'"),
    # 1 once the run's variants are in the review index (runs stored before it are indexed
    # when the store opens: Store.index_runs)
    ("runs", "indexed", "INTEGER NOT NULL DEFAULT 0"),
)


def _columns(c: Conn, table: str) -> set[str]:
    return {r[1] for r in c.execute(f"PRAGMA table_info({table})")}


def _keyed_by_reviewer(c: Conn, table: str, create: str, columns: str, select: str) -> bool:
    """Rebuild ``table`` of the shape before reviewers as ``create`` (SQLite cannot change a
    primary key in place), its rows copied by ``select`` (``?``: reviewer "local", whose they
    become) in this transaction; False when there is no such table to rebuild."""
    tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if table not in tables or "reviewer" in _columns(c, table):
        return False
    c.execute(f"ALTER TABLE {table} RENAME TO {table}_before_reviewers")
    c.execute(create)
    c.execute(f"INSERT INTO {table} ({columns}) {select.format(old=table + '_before_reviewers')}", (LOCAL_REVIEWER,))
    c.execute(f"DROP TABLE {table}_before_reviewers")
    return True


def _decisions_per_reviewer(c: Conn) -> None:
    """A decisions table of the one-decision-per-candidate shape becomes one keyed by
    reviewer too; every decision in it becomes reviewer "local"'s."""
    _keyed_by_reviewer(c, "decisions", DECISIONS_TABLE, "dataset_hash, key, reviewer, decision, decided_at",
                       "SELECT dataset_hash, key, ?, decision, decided_at FROM {old}")


def _client_actions_per_reviewer(c: Conn) -> None:
    """Records of the one-per-id shape become reviewer "local"'s (whose they were is not
    recorded), in the order they came, pruned to each tab's newest (the old table kept
    every record forever)."""
    if _keyed_by_reviewer(c, "client_actions", CLIENT_ACTIONS_TABLE, "dataset_hash, reviewer, origin, id, outcome, at",
                          "SELECT dataset_hash, ?, NULL, id, outcome, at FROM {old} ORDER BY at, rowid"):
        prune_all(c)


def migrate(c: Conn) -> None:
    """Create what is missing; give runs made before runs kept their settings the settings
    their run parameters recorded, else the dataset's settings of today (the best record left);
    decisions made before decisions had reviewers become reviewer "local"'s, and so do the
    browser queue's records."""
    _decisions_per_reviewer(c)
    _client_actions_per_reviewer(c)
    for statement in (*TABLES, *RULE_TABLES):
        c.execute(statement)
    for table, column, decl in ADDED_COLUMNS:
        if column not in _columns(c, table):
            c.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
    c.execute("INSERT INTO dataset_files (hash, data) SELECT hash, data FROM datasets"
              " WHERE length(data) > 0 AND hash NOT IN (SELECT hash FROM dataset_files)")
    c.execute("UPDATE datasets SET data = x'' WHERE length(data) > 0 AND hash IN (SELECT hash FROM dataset_files)")
    c.execute(
        "UPDATE runs SET settings = COALESCE(json_extract(params, '$.settings'),"
        " (SELECT d.settings FROM datasets d WHERE d.hash = runs.dataset_hash))"
        " WHERE settings IS NULL"
    )
