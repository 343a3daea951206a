"""Review work in a database: datasets, augmentation runs, candidates and decisions.

By default one SQLite file (``augment-review.sqlite3``) in the data directory, which is
``$AUGMENT_REVIEW_DATA_DIR`` or ``~/.augment-review``; a team's server gives a PostgreSQL
URL instead (``database_url``, else ``$AUGMENT_REVIEW_DATABASE_URL``:
``postgresql+psycopg://user@host/db``). :class:`Store` is a thin facade: each
method runs one concern's SQL on the store's :class:`~augment_core.review.database.Database`
(connections, the writer lock, busy retries, transactions):

- :mod:`~augment_core.review.datasets`: uploaded files under their content hash, settings, tags;
- :mod:`~augment_core.review.runs` and :mod:`~augment_core.review.index`: runs, their rows
  and the review index (written from facts the caller computed:
  :func:`augment_core.review.facts.store_run`);
- :mod:`~augment_core.review.rules`: the alias rules of runs imported by sample;
- :mod:`~augment_core.review.decisions`: each reviewer's decisions;
- :mod:`~augment_core.review.decide`: writes with conflict checks, and undo;
- :mod:`~augment_core.review.history`: the undo log and the history of who decided what;
- :mod:`~augment_core.review.client_actions`: the browser queue's records;
- :mod:`~augment_core.review.evaluations`: the Evaluate page's results.

The tables are in :mod:`augment_core.review.schema`, brought up to date by Alembic when
the store opens (:mod:`augment_core.review.migrate`). The store keeps JSON and plain rows;
it builds no dataset or review objects from them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from augment_core.errors import InputError
from augment_core.review import client_actions, datasets, decide, decisions, evaluations, history, runs
from augment_core.review import rules as run_rules
from augment_core.review.database import Args, Database, StoreBusy, StoreUnavailable, resolve_url
from augment_core.review.datasets import DatasetInfo
from augment_core.review.decide import UNCHECKED, ActionResult, BulkResult, UndoResult
from augment_core.review.decisions import DECISIONS, decisions_of
from augment_core.review.history import ActionInfo, HistoryEntry
from augment_core.review.index import Facts
from augment_core.review.keys import candidate_key, rule_key, split_key, split_rule_key
from augment_core.review.migrate import upgrade
from augment_core.review.rules import RunRule
from augment_core.review.runs import FactsOf, RunInfo, StoredCandidate
from augment_core.review.schema import LOCAL_REVIEWER

DB_NAME = "augment-review.sqlite3"

__all__ = [
    "DB_NAME", "DECISIONS", "UNCHECKED", "ActionInfo", "ActionResult", "BulkResult", "DatasetInfo", "HistoryEntry",
    "RunInfo", "RunRule", "Store", "StoreBusy", "StoreUnavailable", "StoredCandidate", "UndoResult", "candidate_key", "decisions_of",
    "default_data_dir", "rule_key", "split_key", "split_rule_key",
]


def default_data_dir() -> Path:
    env = os.environ.get("AUGMENT_REVIEW_DATA_DIR")
    return Path(env).expanduser() if env else Path.home() / ".augment-review"


class Store:
    """A thread-safe handle on the review database; see each method's module for the details."""

    def __init__(self, data_dir: str | os.PathLike[str] | None = None, write_wait: float | None = None,
                 database_url: str | None = None) -> None:
        """``database_url``: a SQLAlchemy URL (``postgresql+psycopg://...``); None:
        ``$AUGMENT_REVIEW_DATABASE_URL``, else the SQLite file in ``data_dir``."""
        self.data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.data_dir / DB_NAME
        self.db = Database(resolve_url(database_url, self.path), write_wait)
        upgrade(self.db)  # only a new or older database takes the write lock to open

    @property
    def write_wait(self) -> float:
        return self.db.write_wait

    @write_wait.setter
    def write_wait(self, seconds: float) -> None:
        self.db.write_wait = seconds

    def close(self) -> None:
        self.db.close()

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``: what SQL that differs between them is written for."""
        return self.db.dialect

    @property
    def location(self) -> str:
        """Where the review work is, for messages: the SQLite file, or the server's URL
        without its password."""
        return str(self.path) if self.db.dialect == "sqlite" else self.db.engine.url.render_as_string(hide_password=True)

    def read(self, sql: str, args: Args = ()) -> list[tuple]:
        """Rows of one read-only statement (what :mod:`augment_core.review.query` runs)."""
        return self.db.query(sql, args)

    # --- datasets
    def add_dataset(self, hash: str, name: str, data: bytes, settings: Mapping[str, Any] | None = None) -> bool:
        return datasets.add_dataset(self.db, hash, name, data, settings)

    def has_dataset(self, hash: str) -> bool:
        return datasets.has_dataset(self.db, hash)

    def dataset(self, hash: str) -> DatasetInfo | None:
        return datasets.dataset(self.db, hash)

    def stored_dataset(self, hash: str) -> DatasetInfo:
        """The dataset a run is imported into; InputError (one line) when none is stored under ``hash``."""
        info = datasets.dataset(self.db, hash)
        if info is None:
            raise InputError(f"no stored dataset {hash[:12]}")
        return info

    def decisions_version(self, hash: str) -> tuple[Any, ...]:
        return history.actions_version(self.db, hash)

    def dataset_bytes(self, hash: str) -> bytes:
        return datasets.dataset_bytes(self.db, hash)

    def recent_datasets(self, limit: int = 10) -> list[DatasetInfo]:
        return datasets.recent_datasets(self.db, limit)

    def touch_dataset(self, hash: str) -> None:
        datasets.touch_dataset(self.db, hash)

    def save_settings(self, hash: str, settings: Mapping[str, Any]) -> None:
        datasets.save_settings(self.db, hash, settings)

    def save_tags(self, hash: str, name: str | None, data: bytes | None) -> None:
        datasets.save_tags(self.db, hash, name, data)

    def tags(self, hash: str) -> tuple[str | None, bytes | None]:
        return datasets.tags(self.db, hash)

    # --- evaluations
    def save_evaluation(self, hash: str, result: Mapping[str, Any]) -> int:
        return evaluations.save_evaluation(self.db, hash, result)

    def latest_evaluation(self, hash: str) -> dict[str, Any] | None:
        return evaluations.latest_evaluation(self.db, hash)

    # --- runs, candidates and the review index
    def add_run(self, dataset_hash: str, params: Mapping[str, Any], rows: Sequence[Mapping[str, Any]],
                settings: Mapping[str, Any] | None, facts: Iterable[Facts | None]) -> int:
        return runs.add_run(self.db, dataset_hash, params, rows, settings, facts)

    def runs(self, dataset_hash: str) -> list[RunInfo]:
        return runs.runs(self.db, dataset_hash)

    def index_runs(self, facts_of: FactsOf) -> int:
        return runs.index_runs(self.db, facts_of)

    def review_run_ids(self, dataset_hash: str) -> tuple[int, ...]:
        return runs.review_run_ids(self.db, dataset_hash)

    def run_rows(self, run_id: int) -> list[dict[str, Any]]:
        return runs.run_rows(self.db, run_id)

    def candidates(self, dataset_hash: str, run_ids: Iterable[int] | None = None) -> list[StoredCandidate]:
        return runs.candidates(self.db, dataset_hash, run_ids)

    # --- alias rules of runs imported by sample
    def add_run_rules(self, run_id: int, rules: Sequence[RunRule]) -> None:
        run_rules.add_run_rules(self.db, run_id, rules)

    def run_rules(self, run_id: int) -> list[RunRule]:
        return run_rules.run_rules(self.db, run_id)

    def run_reviewers(self, dataset_hash: str, run_id: int) -> list[str]:
        return run_rules.run_reviewers(self.db, dataset_hash, run_id)

    def rule_decisions(self, dataset_hash: str, run_id: int, reviewer: str = LOCAL_REVIEWER) -> dict[str, str]:
        return run_rules.rule_decisions(self.db, dataset_hash, run_id, reviewer)

    # --- reading decisions
    def decisions(self, dataset_hash: str, reviewer: str = LOCAL_REVIEWER) -> dict[str, str]:
        return decisions.decisions(self.db, dataset_hash, reviewer)

    def decisions_by_reviewer(self, dataset_hash: str, run_ids: Sequence[int] | None = None) -> dict[str, dict[str, str]]:
        return decisions.decisions_by_reviewer(self.db, dataset_hash, run_ids)

    def reviewers(self, dataset_hash: str) -> list[str]:
        return decisions.reviewers(self.db, dataset_hash)

    def decisions_of_keys(self, dataset_hash: str, keys: Sequence[str], reviewer: str = LOCAL_REVIEWER) -> dict[str, str]:
        return decisions.decisions_of_keys(self.db, dataset_hash, keys, reviewer)

    # --- writing decisions, undo and history
    def decide(self, dataset_hash: str, key: str, decision: str | None, label: str | None = None,
               origin: str | None = None, expected: str | None = UNCHECKED, wait: float | None = None,
               reviewer: str = LOCAL_REVIEWER) -> ActionResult:
        """One decision (None clears it) as an undoable action; with ``expected`` (the decision
        the caller showed; None: undecided) written only if the database still has that one."""
        return decide.decide_many(self.db, dataset_hash, {key: decision}, label=label or f"{decision or 'clear'} {key}",
                                  origin=origin, expected=None if expected is UNCHECKED else {key: expected},
                                  wait=wait, reviewer=reviewer)

    def decide_many(self, dataset_hash: str, changes: Mapping[str, str | None], label: str = "bulk",
                    origin: str | None = None, expected: Mapping[str, str | None] | None = None,
                    wait: float | None = None, client_id: str | None = None,
                    reviewer: str = LOCAL_REVIEWER) -> ActionResult:
        return decide.decide_many(self.db, dataset_hash, changes, label, origin, expected, wait, client_id, reviewer)

    def decide_matching(self, dataset_hash: str, source: str, params: Mapping[str, Any], decision: str,
                        only_undecided: bool, origin: str | None = None, seen: float | None = None,
                        label: str = "bulk", wait: float | None = None, reviewer: str = LOCAL_REVIEWER) -> BulkResult:
        return decide.decide_matching(self.db, dataset_hash, source, params, decision, only_undecided, origin, seen,
                                      label, wait, reviewer)

    def undo(self, dataset_hash: str, origin: str | None = None, wait: float | None = None,
             client_id: str | None = None, reviewer: str = LOCAL_REVIEWER,
             client_origin: str | None = None) -> UndoResult | None:
        return decide.undo(self.db, dataset_hash, origin, wait, client_id, reviewer, client_origin)

    def last_action(self, dataset_hash: str, origin: str | None = None,
                    reviewer: str = LOCAL_REVIEWER) -> ActionInfo | None:
        return history.last_action(self.db, dataset_hash, origin, reviewer)

    def can_undo(self, dataset_hash: str, origin: str | None = None, reviewer: str = LOCAL_REVIEWER) -> bool:
        return self.last_action(dataset_hash, origin, reviewer) is not None

    def history(self, dataset_hash: str, reviewer: str | None = None) -> list[HistoryEntry]:
        return history.history(self.db, dataset_hash, reviewer)

    # --- the browser queue's records
    def client_outcomes(self, dataset_hash: str, ids: Sequence[str],
                        reviewer: str = LOCAL_REVIEWER) -> dict[str, dict[str, Any]]:
        return client_actions.outcomes(self.db, dataset_hash, reviewer, ids)
