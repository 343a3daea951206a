"""The review database's tables, defined once as SQLAlchemy Core ``Table``s: the same
schema on SQLite and PostgreSQL.

Kept apart from the modules that run statements so the shape of the stored work can be read
in one place. The schema is Alembic's (``augment_core/review/migrations``): the baseline
revision creates these tables (or brings a database of an older release to them, see
:mod:`augment_core.review.legacy`), and each later change is a revision of its own;
:mod:`augment_core.review.migrate` runs them when a store opens.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    text,
)

LOCAL_REVIEWER = "local"
"""The reviewer of every decision made without sign-in, and of decisions made before
decisions had reviewers."""

BigId = BigInteger().with_variant(Integer(), "sqlite")
"""A 64-bit id that is SQLite's ``INTEGER PRIMARY KEY`` (the rowid: no second index)."""
_LOCAL = text("'local'")
_DECISION = "decision IN ('accepted', 'rejected')"

metadata = MetaData()

datasets = Table(
    "datasets", metadata,
    Column("hash", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("data", LargeBinary, nullable=False),  # empty: the bytes are in dataset_files
    Column("settings", Text),
    Column("tags_name", Text),
    Column("tags_data", LargeBinary),
    Column("created_at", Double, nullable=False),
    Column("last_opened", Double, nullable=False),
)
# The uploaded file's bytes, apart from its datasets row: a column after a 150 MB blob is
# read by walking the blob's overflow pages, so every look at a dataset's name or settings
# cost a second, and an update of last_opened rewrote the file.
dataset_files = Table(
    "dataset_files", metadata,
    Column("id", Integer, primary_key=True),
    Column("hash", Text, nullable=False, unique=True),
    Column("data", LargeBinary, nullable=False),
)
# settings: the dataset settings the run was generated from (mapping, split, seed), so review
# and export keep using them after the dataset is remapped. complete: 0 while the run's
# candidates are still being written (in chunks, so other writers interleave); an incomplete
# run is never shown. indexed: 1 once its variants are in the review index (runs stored
# before it are indexed when the store opens: Store.index_runs; a time: being indexed).
runs = Table(
    "runs", metadata,
    Column("id", Integer, primary_key=True),
    Column("dataset_hash", Text, ForeignKey("datasets.hash"), nullable=False),
    Column("params", Text, nullable=False),
    Column("n_rows", Integer, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("settings", Text),
    Column("complete", Integer, nullable=False, server_default=text("1")),
    Column("indexed", BigInteger, nullable=False, server_default=text("0")),
    Index("runs_dataset", "dataset_hash"),
    sqlite_autoincrement=True,
)
candidates = Table(
    "candidates", metadata,
    Column("run_id", Integer, ForeignKey("runs.id"), nullable=False),
    Column("pos", Integer, nullable=False),
    Column("row_id", Text, nullable=False),
    Column("augmenter", Text, nullable=False),
    Column("row", Text, nullable=False),
    PrimaryKeyConstraint("run_id", "pos"),
)
# one decision per candidate and reviewer (the signed-in e-mail, or "local" when the app has
# no sign-in): several reviewers' decisions on one dataset are kept side by side.
decisions = Table(
    "decisions", metadata,
    Column("dataset_hash", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("reviewer", Text, nullable=False, server_default=_LOCAL),
    Column("decision", Text, nullable=False),
    Column("decided_at", Double, nullable=False),
    PrimaryKeyConstraint("dataset_hash", "key", "reviewer"),
    CheckConstraint(_DECISION),
    Index("decisions_reviewer", "dataset_hash", "reviewer"),
)
# origin: where the action was made (the app: one id per browser tab), so undo reverts only
# the tab's own actions; reviewer: whose decisions it changed.
actions = Table(
    "actions", metadata,
    Column("id", BigId, primary_key=True),
    Column("dataset_hash", Text, nullable=False),
    Column("label", Text, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("origin", Text),
    Column("reviewer", Text, nullable=False, server_default=_LOCAL),
    Index("actions_dataset", "dataset_hash", "id"),
    sqlite_autoincrement=True,
)
# action_id: no foreign key (a bulk writes 300,000 items; see migration 0003)
action_items = Table(
    "action_items", metadata,
    Column("action_id", BigInteger, nullable=False),
    Column("key", Text, nullable=False),
    Column("before", Text),
    Column("after", Text),
    Index("action_items_action", "action_id"),
)
# history: who decided what and when, append only: every change a decision or an undo made,
# one row per candidate (undo deletes its action, never its history). No index: appended to
# by every decision and read only to audit.
history = Table(
    "history", metadata,
    Column("id", BigId, primary_key=True),
    Column("dataset_hash", Text, nullable=False),
    Column("reviewer", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("label", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("before", Text),
    Column("after", Text),
    Column("at", Double, nullable=False),
    Column("origin", Text),
    CheckConstraint("kind IN ('decide', 'undo')"),
    sqlite_autoincrement=True,
)
# the outcome of every decision the review page sent with its own id (the browser queues them
# and may send one again after a reload or a lost answer), so applying it again returns the
# first outcome instead of writing twice. Keyed by reviewer: the ids are the page's, so another
# reviewer's page may send the same one. origin: the tab that sent it; seq: the order they
# came in, so each tab's newest are kept (augment_core.review.client_actions).
client_actions = Table(
    "client_actions", metadata,
    Column("seq", BigId, primary_key=True),
    Column("dataset_hash", Text, nullable=False),
    Column("reviewer", Text, nullable=False),
    Column("origin", Text),
    Column("id", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("at", Double, nullable=False),
    UniqueConstraint("dataset_hash", "reviewer", "id"),
    Index("client_actions_tab", "dataset_hash", "reviewer", "origin", "seq"),
)

# --- the review index: what the review page filters, sorts, pages and counts by, one narrow
# row per variant (augment_core.review.facts), written with its run's candidates. An original
# (parent id and text) is one review_groups row.
review_groups = Table(
    "review_groups", metadata,
    Column("id", BigId, primary_key=True),
    Column("dataset_hash", Text, nullable=False),
    Column("digest", Text, nullable=False),
    Column("original", Text, nullable=False),
    UniqueConstraint("dataset_hash", "digest"),
)
# rid: the order variants were stored in (run, then position): "original order" (index.item_rid).
# k_*: each sort order's key (index.SORT_COLUMNS).
review_items = Table(
    "review_items", metadata,
    Column("rid", BigId, primary_key=True, autoincrement=False),
    Column("run_id", Integer, nullable=False),
    Column("pos", Integer, nullable=False),
    Column("key", Text, nullable=False),
    Column("grp", BigInteger, nullable=False),
    Column("augmenter", Text, nullable=False),
    Column("similarity", Double),
    Column("agreement", Double),
    Column("flagged", Integer, nullable=False),
    Column("k_sim", Double, nullable=False),
    Column("k_simd", Double, nullable=False),
    Column("k_agr", Double, nullable=False),
    Column("k_flag", Double, nullable=False),
    Index("review_items_key", "key"),
    Index("review_items_grp", "grp", "rid"),
    Index("review_items_sim", "k_sim", "rid"),
    Index("review_items_simd", "k_simd", "rid"),
    Index("review_items_agr", "k_agr", "rid"),
    Index("review_items_flag", "k_flag", "rid"),
)
# the variant's text lower-cased, apart (only the text search reads it)
review_text = Table(
    "review_text", metadata,
    Column("rid", BigId, primary_key=True, autoincrement=False),
    Column("text", Text, nullable=False),
)
# facet values (tag, rule, word_change, flag, augmenter); a rule's keyword agreement as first
# recorded
review_values = Table(
    "review_values", metadata,
    Column("id", BigId, primary_key=True),
    Column("dataset_hash", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("value", Text, nullable=False),
    Column("agreement", Double),
    Column("support", Integer),
    UniqueConstraint("dataset_hash", "kind", "value"),
)
review_item_values = Table(
    "review_item_values", metadata,
    Column("value_id", BigInteger, nullable=False),
    Column("rid", BigInteger, nullable=False),
    PrimaryKeyConstraint("value_id", "rid"),
    sqlite_with_rowid=False,
)
# per run, how many of its variants have each value: facet counts without a scan
review_value_counts = Table(
    "review_value_counts", metadata,
    Column("run_id", Integer, nullable=False),
    Column("value_id", BigInteger, nullable=False),
    Column("n", BigInteger, nullable=False),
    PrimaryKeyConstraint("run_id", "value_id"),
    sqlite_with_rowid=False,
)

# Runs made by the CLI or Ray and loaded from their files (augment_core.review.run_import).
# A run too large to review one by one keeps only a sample per alias rule as candidates;
# run_rules holds every rule's row count (and agreement), rule_decisions the decision on a
# whole rule. A rule decision is undoable as any decision: its action item's key is
# "rule:<run id>:<rule>" (augment_core.review.keys.rule_key).
run_rules = Table(
    "run_rules", metadata,
    Column("run_id", Integer, ForeignKey("runs.id"), nullable=False),
    Column("rule", Text, nullable=False),
    Column("position", Integer, nullable=False),
    Column("n_rows", Integer, nullable=False),
    Column("n_sampled", Integer, nullable=False),
    Column("agreement", Double),
    Column("support", Integer),
    PrimaryKeyConstraint("run_id", "rule"),
)
rule_decisions = Table(
    "rule_decisions", metadata,
    Column("dataset_hash", Text, nullable=False),
    Column("run_id", Integer, nullable=False),
    Column("rule", Text, nullable=False),
    Column("reviewer", Text, nullable=False, server_default=_LOCAL),
    Column("decision", Text, nullable=False),
    Column("decided_at", Double, nullable=False),
    PrimaryKeyConstraint("dataset_hash", "run_id", "rule", "reviewer"),
    CheckConstraint(_DECISION),
)

# Evaluation results (augment_core.evaluate), kept with the dataset in the same database as
# its decisions, so every app server of a team sees the same latest result and an export's
# manifest says the same of it on any of them. ``result`` is the evaluation's JSON.
evaluations = Table(
    "evaluations", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("dataset_hash", Text, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("result", Text, nullable=False),
    Index("evaluations_dataset", "dataset_hash", "id"),
)
