"""The review workflow, apart from the augmenters that produce what is reviewed.

- :mod:`~augment_core.review.store` and :mod:`~augment_core.review.schema`: datasets, runs
  (each with the settings it was generated from), candidates, decisions and the undo log in
  SQLite; safe with many threads and processes at once. ``Store`` is a facade over one
  module per concern (``database``, ``datasets``, ``runs``, ``index``, ``rules``,
  ``decisions``, ``decide``, ``history``, ``client_actions``), which import no domain module.
- :mod:`~augment_core.review.facts` and :mod:`~augment_core.review.fields`: what the review
  index holds of a variant, computed before its run is stored (``store_run``, ``open_store``).
- :mod:`~augment_core.review.candidates`: :class:`CandidateRow`, a stored variant as the
  review works with it.
- :mod:`~augment_core.review.filters`: filters, sorting, grouping, bulk selection, progress.
- :mod:`~augment_core.review.export`: the curated split per :class:`Basis`, its manifest
  and chart data.
- :mod:`~augment_core.review.reviewers`: several reviewers' decisions: conflicts, Cohen's
  kappa, export :class:`Policy`.
- :mod:`~augment_core.review.run_import`, :mod:`~augment_core.review.rule_sample` and
  :mod:`~augment_core.review.rule_export`: a run made by the CLI or on Ray loaded into the
  store (whole, or by a seeded sample per alias rule), and a sampled run's curated file
  written from its files with the rule decisions applied.

The public API is what this module exports; each name is imported when first used
(:mod:`augment_core.lazy`), so reading one module of the package imports no other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from augment_core.lazy import lazy_names

if TYPE_CHECKING:
    from augment_core.review.candidates import CandidateRow, prepare
    from augment_core.review.export import Basis, ExportCounts, bases, build_manifest, curated_rows, export_counts
    from augment_core.review.filters import Filter
    from augment_core.review.reviewers import Agreement, Policy
    from augment_core.review.store import (
        ActionInfo,
        ActionResult,
        DatasetInfo,
        HistoryEntry,
        RunInfo,
        Store,
        StoreBusy,
        StoredCandidate,
        UndoResult,
        candidate_key,
    )

_API = {
    **dict.fromkeys(["CandidateRow", "prepare"], "augment_core.review.candidates"),
    **dict.fromkeys(["Basis", "ExportCounts", "bases", "build_manifest", "curated_rows", "export_counts"],
                    "augment_core.review.export"),
    "Filter": "augment_core.review.filters",
    **dict.fromkeys(["Agreement", "Policy"], "augment_core.review.reviewers"),
    **dict.fromkeys(["ActionInfo", "ActionResult", "DatasetInfo", "HistoryEntry", "RunInfo", "Store", "StoreBusy",
                     "StoredCandidate", "UndoResult", "candidate_key"], "augment_core.review.store"),
}
__getattr__ = lazy_names(__name__, _API)

__all__ = [
    "ActionInfo", "ActionResult", "Agreement", "Basis", "CandidateRow", "DatasetInfo", "ExportCounts", "Filter",
    "HistoryEntry", "Policy", "RunInfo",
    "Store", "StoreBusy", "StoredCandidate", "UndoResult", "bases", "build_manifest", "candidate_key",
    "curated_rows", "export_counts", "prepare",
]
