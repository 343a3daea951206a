"""The curated training split, its manifest and the export page's chart data.

The curated split is the dataset's train originals plus the accepted variants (each
variant right after its original), optionally followed by the untouched val/test rows.
Rows have the provenance columns of :mod:`augment_core.runners.pipeline`; originals are built
from the dataset's records, so they are there whether or not a run kept them.

A variant belongs to the dataset *as its run saw it*: the run's own mapping, ids, split
and seed (kept with the run). So an export is made per :class:`Basis`, the runs that share
one set of settings, with the originals rebuilt from those settings: remapping the dataset
later never moves a variant to another original, drops it, or re-labels it. Every count the
page shows comes from the exported rows themselves (:class:`ExportCounts`).
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from augment_core.augment.quality import QUALITY_COLUMNS
from augment_core.data.dataset_settings import settings_key
from augment_core.data.manifest import ExportManifest, iso8601, library_versions
from augment_core.data.user_schema import USER_CELLS, OutputSchema, output_schema, provenance_of, user_rows
from augment_core.review.candidates import CandidateRow
from augment_core.review.store import RunInfo
from augment_core.runners.pipeline import PROVENANCE_COLUMNS, TRAILING_COLUMNS, original_params_json, original_row

TAIL_COLUMNS = (*TRAILING_COLUMNS, "run_id")


@dataclass(frozen=True)
class Basis:
    """Runs generated from one set of dataset settings, and those settings."""

    settings: dict[str, Any]
    run_ids: tuple[int, ...]

    @property
    def key(self) -> str:
        return settings_key(self.settings)


def bases(runs: Sequence[RunInfo], current_settings: Mapping[str, Any] | None) -> list[Basis]:
    """The runs grouped by the settings they were generated from, oldest first; a run that
    recorded none (made before runs kept them) counts as made with ``current_settings``.
    With no runs at all, one basis of the current settings and no runs."""
    groups: dict[str, Basis] = {}
    for run in runs:
        settings = dict(run.settings or current_settings or {})
        k = settings_key(settings)
        b = groups.get(k)
        groups[k] = Basis(settings, (*b.run_ids, run.id) if b else (run.id,))
    if not groups and current_settings:
        return [Basis(dict(current_settings), ())]
    return list(groups.values())


def label_column(dataset: Any) -> str:
    return dataset.mapping.label_column


def _original(record: Any, label_col: str) -> dict[str, Any]:
    return {**original_row(record, label_col, original_params_json(None)), "run_id": None}


def curated_rows(
    dataset: Any,
    candidates: Iterable[CandidateRow],
    decisions: Mapping[str, str],
    include_eval: bool = False,
) -> list[dict[str, Any]]:
    """Train originals with their accepted variants, then (optionally) val and test.

    ``dataset`` is the dataset built from the settings the candidates' runs were made with
    (see :class:`Basis`). A variant whose text repeats its original or an already exported
    variant of the same original (two runs can generate the same one) is exported once.
    """
    label_col = label_column(dataset)
    accepted: dict[str, list[CandidateRow]] = {}
    for cand in candidates:
        if decisions.get(cand.key) == "accepted":
            accepted.setdefault(cand.parent_id, []).append(cand)
    extra = [c for c in (*QUALITY_COLUMNS, USER_CELLS) if any(c in v.row for vs in accepted.values() for v in vs)]
    columns = [*PROVENANCE_COLUMNS, label_col, *TAIL_COLUMNS, *extra]

    out: list[dict[str, Any]] = []
    for rec in dataset.records:
        if rec.split != "train":
            continue
        out.append(_shape(_original(rec, label_col), columns))
        seen = {rec.text}
        for cand in accepted.get(rec.id, ()):
            if cand.text in seen:
                continue
            seen.add(cand.text)
            out.append(_shape({**cand.row, "run_id": cand.run_id}, columns))
    if include_eval:
        for split in ("val", "test"):
            for rec in dataset.records:
                if rec.split == split:
                    out.append(_shape(_original(rec, label_col), columns))
        others = [r for r in dataset.records if r.split not in ("train", "val", "test")]
        for rec in others:
            out.append(_shape(_original(rec, label_col), columns))
    return out


FORMATS = ("csv", "jsonl", "parquet", "hf")
"""Export formats; ``hf`` is a Hugging Face DatasetDict folder, downloaded as a zip."""


def export_schema(dataset: Any, rows: Sequence[Mapping[str, Any]], prefix: str | None = None) -> OutputSchema:
    """The file's columns: every input column, then the provenance columns (``aug_`` before
    each when an input column has a provenance column's name; :mod:`augment_core.data.user_schema`)."""
    label_col = label_column(dataset)
    columns = list(rows[0]) if rows else [*PROVENANCE_COLUMNS, label_col, *TAIL_COLUMNS]
    return output_schema(dataset.columns, provenance_of(columns, label_col), prefix)


def encode_export(
    rows: Sequence[Mapping[str, Any]], dataset: Any, fmt: str, *, formula_guard: bool = False,
    manifest: Mapping[str, Any] | None = None, name: str = "curated",
) -> tuple[bytes, int]:
    """The curated rows as the downloaded file, in the user's schema, and how many cells the
    CSV formula guard changed. ``hf``: a zip of the saved DatasetDict (folder ``name``) with
    ``manifest`` in it."""
    from augment_core.data.io import encode_rows

    schema = export_schema(dataset, rows)
    shaped = list(user_rows(rows, dataset, schema))
    if fmt != "hf":
        return encode_rows(shaped, fmt, schema.columns, formula_guard=formula_guard)
    from augment_core.data import hf

    labels = {r.id: r.labels for r in dataset.records}
    ddict = hf.dataset_dict(shaped, schema.columns, [r.get("split") for r in rows],
                            [labels[str(r["parent_id"])] for r in rows], label_column(dataset))
    return hf.zip_bytes(ddict, dict(manifest or {}), name), 0


def _shape(row: Mapping[str, Any], columns: Sequence[str]) -> dict[str, Any]:
    return {c: row.get(c) for c in columns}


def count_by(rows: Iterable[Mapping[str, Any]], key: str) -> dict[str, int]:
    return dict(Counter(str(r.get(key)) for r in rows))


@dataclass(frozen=True)
class ExportCounts:
    """What an export holds, counted from its rows, and what was left out and why."""

    rows: int
    train_originals: int
    variants: int
    """Accepted variants in the file."""
    repeats: int
    """Accepted variants left out because their text repeats their original or another
    exported variant of it."""
    rejected: int
    undecided: int


def export_counts(
    rows: Sequence[Mapping[str, Any]], candidates: Iterable[CandidateRow], decisions: Mapping[str, str]
) -> ExportCounts:
    variants = sum(1 for r in rows if r.get("augmenter") != "original")
    status = decision_counts(candidates, decisions)
    return ExportCounts(
        rows=len(rows),
        train_originals=sum(1 for r in rows if r.get("augmenter") == "original" and r.get("split") == "train"),
        variants=variants,
        repeats=status["accepted"] - variants,
        rejected=status["rejected"],
        undecided=status["undecided"],
    )


def decision_counts(candidates: Iterable[CandidateRow], decisions: Mapping[str, str]) -> dict[str, int]:
    c = Counter(decisions.get(cand.key, "undecided") for cand in candidates)
    return {"candidates": sum(c.values()), "accepted": c["accepted"], "rejected": c["rejected"], "undecided": c["undecided"]}


def _run_entry(run: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(run)
    if "created_at" in out and out["created_at"] is not None:
        out["created_at"] = iso8601(out["created_at"])
    return out


def build_manifest(
    *,
    dataset_hash: str,
    dataset_name: str,
    columns: Sequence[str],
    settings: Mapping[str, Any] | None,
    tags_name: str | None,
    runs: Sequence[Mapping[str, Any]],
    dataset: Any,
    candidates: Sequence[CandidateRow],
    decisions: Mapping[str, str],
    exported: Sequence[Mapping[str, Any]],
    include_eval: bool,
    fmt: str,
    csv_formula_guard: bool | None = None,
    guarded_cells: int = 0,
    evaluation: Mapping[str, Any] | None = None,
    reviewers: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything needed to know where an exported file came from: an
    :class:`~augment_core.data.manifest.ExportManifest` as JSON.

    Every time in it is ISO 8601 UTC (runs' epoch times are converted). For CSV it records
    whether the formula guard changed cells (``'`` prefixes are in the file, not the data).
    ``evaluation``: the latest evaluation (:func:`augment_core.evaluate.manifest.manifest_entry`).
    ``reviewers``: who decided and which policy made ``decisions`` of their decisions
    (:func:`augment_core.review.reviewers.manifest_entry`), recorded under ``review``.
    """
    return ExportManifest(
        output_format=fmt,
        created_at=iso8601(),
        dataset={
            "sha256": dataset_hash,
            "name": dataset_name,
            "columns": list(columns),
            "settings": dict(settings or {}),
            "tags_file": tags_name or "bundled",
            "records_by_split": count_by(({"split": r.split} for r in dataset.records), "split"),
        },
        seed=(settings or {}).get("split_seed"),
        runs=tuple(_run_entry(r) for r in runs),
        review={
            **decision_counts(candidates, decisions),
            "by_augmenter": acceptance_table(candidates, decisions, "augmenter"),
            **(dict(reviewers) if reviewers is not None else {}),
        },
        export={
            "schema": export_schema(dataset, exported).to_json() if getattr(dataset, "columns", ()) else None,
            "include_val_test": include_eval,
            "rows": len(exported),
            "rows_by_split": count_by(exported, "split"),
            "rows_by_augmenter": count_by(exported, "augmenter"),
            "csv_formula_guard": (
                {"enabled": bool(csv_formula_guard), "cells_prefixed": guarded_cells if csv_formula_guard else 0}
                if fmt == "csv" else None
            ),
        },
        evaluation=dict(evaluation) if evaluation is not None else None,
        versions=library_versions(),
        platform=sys.platform,
    ).to_json()


# --- chart data ----------------------------------------------------------------------


def tag_counts_before_after(
    dataset: Any,
    exported: Iterable[Mapping[str, Any]],
    labels_by_id: Mapping[str, Sequence[str]],
) -> list[dict[str, Any]]:
    """Per tag: train rows before (originals) and after (curated split)."""
    before: Counter = Counter()
    for rec in dataset.records:
        if rec.split == "train":
            before.update(rec.labels)
    after: Counter = Counter()
    for row in exported:
        if row.get("split") == "train":
            after.update(labels_by_id.get(str(row.get("parent_id")), ()))
    tags = sorted(set(before) | set(after))
    return [
        {"tag": t, "stage": stage, "count": counts.get(t, 0)}
        for t in tags
        for stage, counts in (("before", before), ("after", after))
    ]


def acceptance_table(
    items: Iterable[CandidateRow],
    decisions: Mapping[str, str],
    by: str = "augmenter",
) -> list[dict[str, Any]]:
    """Counts of accepted/rejected/undecided per augmenter (``by="augmenter"``) or per
    alias rule (``by="rule"``)."""
    counts: Counter = Counter()
    for it in items:
        status = decisions.get(it.key, "undecided")
        if by == "rule":
            for rule in it.rules or ("(none)",):
                counts[(rule, status)] += 1
        else:
            counts[(str(getattr(it, by)), status)] += 1
    return [{"group": g, "status": s, "count": n} for (g, s), n in sorted(counts.items())]


def flag_share(items: Iterable[CandidateRow], flag: str) -> list[dict[str, Any]]:
    """Per augmenter, the share of its variants carrying ``flag`` (``label_drift`` on the
    Export page's charts): ``{"augmenter", "flagged", "variants", "share"}``."""
    total: Counter = Counter()
    flagged: Counter = Counter()
    for it in items:
        total[it.augmenter] += 1
        flagged[it.augmenter] += flag in it.flags
    return [{"augmenter": a, "flagged": flagged[a], "variants": n, "share": flagged[a] / n}
            for a, n in sorted(total.items())]
