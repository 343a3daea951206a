"""The curated export of a run reviewed by sample: its files read again, streamed, with the
rule decisions applied to every row of each rule.

A run imported by sample (:mod:`augment_core.review.run_import`) keeps only a sample of its
variants in the store; its files stay where they were. Export reads them chunk by chunk
and keeps, for each variant:

1. the reviewer's own decision on it, when it was one of the sampled rows and was decided
   (a single decision always wins over its rule's);
2. else what the decisions on its rules say (:func:`augment_core.review.rule_sample.rule_decided`:
   rejected when one of its rules is rejected, accepted when all are accepted);
3. else it is undecided and left out.

Accepted variants are written as the run wrote them (the user's schema: every input column,
the text per column, the provenance columns), with the run's train originals; val/test
originals only when asked. A run made without ``--keep-original`` has no train originals in
its files: they are built from the dataset (as the run's settings give it) and written after
the variants. The manifest says all of this, with counts per rule.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Mapping, Sequence

from augment_core.augment.aliases import BUNDLED_TAGS
from augment_core.augment.changes import changes_from_json
from augment_core.data.dataset import Dataset
from augment_core.data.io import InputFile, KnownContent, open_output_pair, output_format, write_failures, write_rows_to
from augment_core.data.user_schema import OutputSchema, user_rows
from augment_core.errors import InputError
from augment_core.review.rule_sample import rule_decided, strata_of
from augment_core.review.run_import import (
    MANIFEST_NAMES,
    RunFiles,
    dataset_as,
    imported,
    is_sampled,
    iter_rows,
    locate_run,
)
from augment_core.review.schema import LOCAL_REVIEWER
from augment_core.review.store import RunInfo, Store, candidate_key, split_key
from augment_core.runners.pipeline import ORIGINAL, original_params_json, original_row

FORMATS = ("csv", "jsonl", "parquet")
RULE_POLICY = (
    "A decision on a rule applies to every variant of the rule in the run's files; a decision on a single sampled "
    "variant takes precedence over its rule's. A variant with several rules is accepted when every one of its rules "
    "is accepted and rejected when one is rejected. Undecided variants are left out."
)


@dataclass
class _Counts:
    rows: int = 0
    by_split: Counter = field(default_factory=Counter)
    by_augmenter: Counter = field(default_factory=Counter)
    variants: Counter = field(default_factory=Counter)
    """accepted / rejected / undecided over every variant of the run."""
    by_source: Counter = field(default_factory=Counter)
    """accepted_by_rule, rejected_by_rule, accepted_individually, rejected_individually."""
    overridden: int = 0
    """Sampled variants whose own decision differs from what their rules say."""
    rules: dict[str, Counter] = field(default_factory=dict)
    train_originals_in_files: int = 0

    def written(self, row: Mapping[str, Any], split: str, augmenter: str) -> None:
        self.rows += 1
        self.by_split[split] += 1
        self.by_augmenter[augmenter] += 1


def row_decision(row_id: str, strata: tuple[str, ...], own: Mapping[str, str], by_rule: Mapping[str, str],
                 counts: _Counts | None = None) -> str | None:
    """A variant's decision in the export: its own (a sampled row), else its rules'."""
    mine = own.get(row_id)
    ruled = rule_decided(strata, dict(by_rule))
    if counts is not None:
        if mine is not None:
            counts.by_source[f"{mine}_individually"] += 1
            if ruled is not None and ruled != mine:
                counts.overridden += 1
        elif ruled is not None:
            counts.by_source[f"{ruled}_by_rule"] += 1
    return mine if mine is not None else ruled


def export_sampled_run(
    store: Store,
    dataset_hash: str,
    run: RunInfo,
    out: IO[bytes],
    fmt: str,
    *,
    include_eval: bool = False,
    reviewer: str = LOCAL_REVIEWER,
    dataset_for: Callable[[Mapping[str, Any]], Dataset] | None = None,
    progress: Callable[[int], None] | None = None,
    name: str = "the output",
) -> dict[str, Any]:
    """Write the curated rows of a run imported by sample to ``out`` (``csv``, ``jsonl`` or
    ``parquet``; ``name``: what a failed write names) and return the export's manifest. The decisions are one ``reviewer``'s
    (rule decisions and sampled rows' alike): a team's policies need every row decided by
    each reviewer, which a sample does not give."""
    if fmt not in FORMATS:
        raise InputError(f"cannot export a sampled run as {fmt}: choose csv, jsonl or parquet")
    info, files, own, by_rule = _sampled_run(store, dataset_hash, run, reviewer)
    settings = run.settings or {}
    counts = _Counts()
    started = time.time()
    writer = _Writer(out, fmt, files, name)
    for chunk in iter_rows(files):
        kept: list[dict[str, Any]] = []
        for row in chunk:
            if _keep(row, files, own, by_rule, include_eval, counts):
                kept.append(row)
        writer.write(kept)
        if progress is not None:
            progress(counts.rows)
    added = 0
    if not counts.train_originals_in_files:  # only then is the dataset needed (built from the store)
        dataset = dataset_for(settings) if dataset_for is not None else dataset_as(store, dataset_hash, settings)
        originals = _train_originals(dataset, files)
        added = len(originals)
        writer.write(originals)
        for r in originals:
            counts.written(r, "train", ORIGINAL)
    writer.close()
    rules = store.run_rules(run.id)
    return {
        "format": 1,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "dataset": {"sha256": dataset_hash, "name": (store.dataset(dataset_hash) or _NoInfo()).name,
                    "settings": settings},
        "run": {"id": run.id, "imported": {k: v for k, v in info.items() if k != "manifest"},
                "manifest": info.get("manifest"), "params": {k: v for k, v in run.params.items() if k != "imported"}},
        "review": {
            "mode": "sampled by rule",
            "policy": RULE_POLICY,
            "reviewer": reviewer,
            "variants": {k: counts.variants.get(k, 0) for k in ("accepted", "rejected", "undecided")},
            **{k: counts.by_source.get(k, 0) for k in ("accepted_by_rule", "rejected_by_rule",
                                                       "accepted_individually", "rejected_individually")},
            "individual_overrode_rule": counts.overridden,
            "rules": [{"rule": r.rule, "rows": r.n_rows, "sampled": r.n_sampled, "agreement": r.agreement,
                       "decision": by_rule.get(r.rule), **dict(counts.rules.get(r.rule, Counter()))} for r in rules],
        },
        "export": {
            "format": fmt, "columns": list(files.columns), "include_val_test": include_eval, "rows": counts.rows,
            "rows_by_split": dict(counts.by_split), "rows_by_augmenter": dict(counts.by_augmenter),
            "train_originals": ("from the run's files" if counts.train_originals_in_files
                                else f"built from the dataset ({added:,}): the run was made without its train originals"),
            "order": "the run's files in order, accepted variants and originals as they come"
                     + ("" if counts.train_originals_in_files else "; then the train originals"),
            "seconds": round(time.time() - started, 2),
        },
    }


def export_inputs(store: Store, dataset_hash: str, run: RunInfo,
                  dataset_file: str | os.PathLike[str] | None = None) -> list[tuple[str, InputFile]]:
    """Every input of the export of ``run``, which its output (and the manifest beside it)
    must not be: the run's files and manifest, the dataset and tags file the run says it was
    made from, and the dataset and tags file as the store holds them (by their bytes: an
    uploaded file's path is not kept, so a file on the server with the same bytes is taken
    for it), or the bundled tags file. ``dataset_file``: the dataset's file, when named."""
    info = imported(run.params) or {}
    inputs: list[tuple[str, InputFile]] = [("dataset", Path(dataset_file))] if dataset_file is not None else []
    inputs += [("run file", Path(f)) for f in info.get("files", []) if isinstance(f, str)]
    given = Path(str(info.get("path") or ""))
    if info.get("path") and (given.is_dir() or given.suffix.lower() == ".json"):
        inputs.append(("run's manifest", given / MANIFEST_NAMES[0] if given.is_dir() else given))
    manifest = info.get("manifest")
    for key, what in (("input", "dataset"), ("tags", "tags file")):
        named = manifest.get(key) if isinstance(manifest, Mapping) else None
        if isinstance(named, str) and named:
            inputs.append((what, Path(named).expanduser()))
    inputs.append(("dataset", KnownContent.of(store.dataset_bytes(dataset_hash))))
    tags = store.tags(dataset_hash)[1]
    inputs.append(("tags file", KnownContent.of(tags) if tags is not None else BUNDLED_TAGS))
    return inputs


def write_sampled_export(
    store: Store,
    dataset_hash: str,
    run: RunInfo,
    path: str | os.PathLike[str],
    *,
    include_eval: bool = False,
    reviewer: str = LOCAL_REVIEWER,
    dataset_for: Callable[[Mapping[str, Any]], Dataset] | None = None,
    dataset_file: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """The curated file of ``run`` at ``path`` and its manifest beside it, written as a pair
    (:func:`augment_core.data.io.open_output_pair`), neither of them any of :func:`export_inputs`:
    the one way the CLI's ``export-run`` and the Export page write it. Returns the manifest."""
    fmt = output_format(path)
    with open_output_pair(path, export_inputs(store, dataset_hash, run, dataset_file)) as pair:
        pair.manifest = export_sampled_run(store, dataset_hash, run, pair.data, fmt, include_eval=include_eval,
                                           reviewer=reviewer, dataset_for=dataset_for, name=str(path))
    return dict(pair.manifest)


class _NoInfo:
    name = ""


def _sampled_run(store: Store, dataset_hash: str, run: RunInfo, reviewer: str
                 ) -> tuple[Mapping[str, Any], RunFiles, dict[str, str], dict[str, str]]:
    """A sampled run's import record, its files (checked to be the ones imported), and one
    reviewer's decisions on its sampled rows (by row id) and on its rules."""
    info = imported(run.params)
    if info is None or not info.get("sampled"):
        raise InputError(f"run {run.id} was not imported by sample: export it from the Export page's usual download")
    files = locate_run(info["path"])
    if [str(f.resolve()) for f in files.files] != list(info["files"]):
        raise InputError(f"the files at {info['path']} are not the ones imported as run {run.id}: the run was changed or moved")
    own = {split_key(k)[1]: d for k, d in store.decisions(dataset_hash, reviewer=reviewer).items()
           if not k.startswith("rule:") and split_key(k)[0] == run.id}
    return info, files, own, store.rule_decisions(dataset_hash, run.id, reviewer=reviewer)


def file_variants(store: Store, dataset_hash: str, run: RunInfo, reviewer: str = LOCAL_REVIEWER
                  ) -> Iterator[tuple[dict[str, Any], str | None]]:
    """Every train variant in a sampled run's files, as the store keeps candidate rows (``id``,
    ``parent_id``, ``augmenter``, ``text``, ``key``), with the decision export gives it (its
    own, else its rules', else None). The store holds only the sample: what is evaluated
    must be what is exported, so Evaluate reads the files as export does."""
    _, files, own, by_rule = _sampled_run(store, dataset_hash, run, reviewer)
    names = {p: files.name(p) for p in ("id", "parent_id", "augmenter", "split", "text", "changes")}
    for chunk in iter_rows(files):
        for row in chunk:
            augmenter = str(row.get(names["augmenter"]))
            if augmenter == ORIGINAL or str(row.get(names["split"])) != "train":
                continue
            try:
                changes = tuple(changes_from_json(row.get(names["changes"])))
            except (ValueError, TypeError, KeyError):
                changes = ()
            rid = str(row.get(names["id"]))
            yield ({"id": rid, "parent_id": str(row.get(names["parent_id"])), "augmenter": augmenter,
                    "text": row.get(names["text"]), "key": candidate_key(run.id, rid)},
                   row_decision(rid, strata_of(augmenter, changes), own, by_rule))


def candidates_with_files(store: Store, dataset_hash: str, runs: Sequence[RunInfo], decisions: Mapping[str, str],
                          reviewer: str = LOCAL_REVIEWER) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The candidates of ``runs`` and their decisions, a sampled run's read from its files
    (every variant, decided by rule or one by one) instead of its stored sample."""
    out_decisions = dict(decisions)
    whole = [r.id for r in runs if not is_sampled(r.params)]
    candidates = [{**c.row, "key": c.key} for c in store.candidates(dataset_hash, whole)] if whole else []
    for run in runs:
        if is_sampled(run.params):
            for row, decision in file_variants(store, dataset_hash, run, reviewer):
                candidates.append(row)
                if decision is None:
                    out_decisions.pop(row["key"], None)
                else:
                    out_decisions[row["key"]] = decision
    return candidates, out_decisions


def _keep(row: Mapping[str, Any], files: RunFiles, own: Mapping[str, str], by_rule: Mapping[str, str],
          include_eval: bool, counts: _Counts) -> bool:
    augmenter = str(row.get(files.name("augmenter")))
    split = str(row.get(files.name("split")))
    if augmenter == ORIGINAL:
        if split == "train":
            counts.train_originals_in_files += 1
        elif not include_eval:
            return False
        counts.written(row, split, augmenter)
        return True
    try:
        changes = tuple(changes_from_json(row.get(files.name("changes"))))
    except (ValueError, TypeError, KeyError):
        changes = ()
    strata = strata_of(augmenter, changes)
    d = row_decision(str(row.get(files.name("id"))), strata, own, by_rule, counts)
    status = d or "undecided"
    counts.variants[status] += 1
    for s in strata:
        counts.rules.setdefault(s, Counter())[status] += 1
    if d != "accepted":
        return False
    counts.written(row, split, augmenter)
    return True


def _train_originals(dataset: Dataset, files: RunFiles) -> list[dict[str, Any]]:
    """The dataset's train originals in the run's columns (for a run without them)."""
    label = dataset.mapping.label_column
    rows = [original_row(r, label, original_params_json(None)) for r in dataset.records if r.split == "train"]
    schema = OutputSchema(tuple(dataset.columns), files.provenance, files.prefix)
    return list(user_rows(rows, dataset, schema))


class _Writer:
    """Chunks of rows in the run's columns to CSV/JSONL (appended) or Parquet (row groups
    under the first file's schema)."""

    def __init__(self, out: IO[bytes], fmt: str, files: RunFiles, name: str = "the output") -> None:
        self.out, self.fmt, self.files, self.name = out, fmt, files, name
        self.columns = list(files.columns)
        self.header = True
        self._pq: Any = None
        self._schema: Any = None

    def write(self, rows: list[dict[str, Any]]) -> None:
        if self.fmt != "parquet":
            if rows or self.header:
                write_rows_to(rows, self.out, self.fmt, self.columns, header=self.header, name=self.name)
                self.header = False
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._pq is None:
            self._schema = self._arrow_schema()
            with write_failures(self.name):
                self._pq = pq.ParquetWriter(self.out, self._schema)
        if rows:
            try:
                table = pa.Table.from_pylist(rows, schema=self._schema)
            except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                raise InputError(f"cannot write these rows under the run's column types ({exc}): export as CSV or JSONL")
            with write_failures(self.name):
                self._pq.write_table(table)

    def _arrow_schema(self) -> Any:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self.files.fmt == "parquet":
            return pq.read_schema(self.files.files[0])
        if self.files.fmt == "csv":
            return pa.schema([(c, pa.string()) for c in self.columns])
        raise InputError("a run written as JSONL exports as CSV or JSONL (its cells have no one column type)")

    def close(self) -> None:
        if self.fmt == "parquet":
            if self._pq is None:
                self.write([])
            if self._pq is not None:
                with write_failures(self.name):
                    self._pq.close()
