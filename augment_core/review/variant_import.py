"""Variants made elsewhere (nlpaug, TextAttack, a language model, a team's own scripts) into
the review store, from a file in the user's own schema.

The file has the dataset's columns, the text columns holding each variant's edited text,
plus one column naming each variant's parent (an id of the dataset's rows under its stored
mapping and split) and optionally one naming the augmenter that made it (default
:data:`DEFAULT_AUGMENTER`). CSV, JSONL or Parquet.

What happens to each row, in file order:

* **unknown**: its parent is no row of the dataset (one line per such parent, up to
  :data:`UNKNOWN_SHOWN`, and a count);
* **refused**: its parent is in val or test, whatever its text (split first, augment train
  only: a variant of a held-out row would leak it into training);
* **dropped, unchanged**: its text columns are byte-identical to its parent's;
* **dropped, duplicate**: its text columns repeat an earlier variant of the same parent;
* **dropped, crosses a joiner**: its edits cannot be told apart from an edit of the joiner
  between text columns (as the built-ins drop such a variant);
* else **stored**: the change spans come from the word-level diff per text column
  (:func:`augment_core.augment.diff_changes`), shifted into the joined text, so the review
  highlights every change as for the product's own runs; ``keyword_changed`` goes into its
  flags always, the quality signals (with ``label_drift``) when quality is on. The row
  keeps its own cells (:data:`augment_core.data.user_schema.USER_CELLS`), which the export
  writes as they were.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from augment_core.augment.agreement import fit_to_train
from augment_core.augment.aliases import AliasTable
from augment_core.augment.changes import Change, changes_from_json, changes_to_json
from augment_core.augment.diff import diff_changes
from augment_core.augment.keywords import keyword_changed
from augment_core.augment.protection import Protector
from augment_core.augment.quality import FLAG_KEYWORD_CHANGED, QualitySettings, add_flag, score_rows
from augment_core.data.dataset import JOINER, Dataset, Record, format_of, text_cell
from augment_core.data.sources import FileSource
from augment_core.data.user_schema import USER_CELLS, split_variant
from augment_core.errors import InputError
from augment_core.evaluate.drift import flag_label_drift, train_examples
from augment_core.review.facts import store_run
from augment_core.review.store import Store
from augment_core.runners.pipeline import ORIGINAL, variant_id

DEFAULT_AUGMENTER = "imported"
"""The augmenter a variant is recorded under when the file has no augmenter column."""
UNKNOWN_SHOWN = 5
"""Unknown parents named one per line; the rest are only counted."""
FORMATS = ("csv", "jsonl", "parquet")


@dataclass
class VariantImport:
    """What an import did with the file's rows (every row is counted exactly once)."""

    rows: int = 0
    stored: int = 0
    refused: int = 0
    """Variants of parents outside train."""
    refused_parents: int = 0
    unchanged: int = 0
    duplicates: int = 0
    crossing: int = 0
    unknown: int = 0
    unknown_parents: list[str] = field(default_factory=list)
    """The first :data:`UNKNOWN_SHOWN` unknown parent ids, in file order."""
    keyword_changed: int = 0
    label_drift: int | None = None
    """Variants flagged ``label_drift`` (None: quality signals off)."""
    run_id: int | None = None
    augmenters: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """The counts as a person reads them (the CLI prints them, the page shows them)."""
        out = [f"{self.rows:,} rows read; {self.stored:,} variants stored"
               + (f" as run {self.run_id}" if self.run_id is not None else "")
               + (f" ({', '.join(f'{n}: {k:,}' for n, k in self.augmenters.items())})" if self.augmenters else "")]
        if self.refused:
            out.append(f"refused {self.refused:,} variants of {self.refused_parents:,} parents outside train "
                       "(split first, augment train only)")
        out.append(f"dropped {self.unchanged:,} unchanged (identical to their parent), {self.duplicates:,} duplicates "
                   f"of an earlier variant of the same parent, {self.crossing:,} whose edit crosses the joiner "
                   "between text columns")
        out += [f"unknown parent {p!r}: no row of this dataset has this id" for p in self.unknown_parents]
        if self.unknown:
            out.append(f"{self.unknown:,} variants name an unknown parent")
        out.append(f"flagged keyword_changed: {self.keyword_changed:,}; label_drift: "
                   + (f"{self.label_drift:,}" if self.label_drift is not None else "not computed (quality off)"))
        return out


def check_columns(columns: Sequence[str], dataset: Dataset, parent_column: str, augmenter_column: str | None,
                  name: str) -> None:
    """InputError (one line) when the file lacks the parent column, the augmenter column or a
    column of the dataset."""
    if parent_column not in columns:
        raise InputError(f"{name} has no parent column {parent_column!r} (--parent-column names the column holding "
                         "each variant's parent id)")
    if augmenter_column is not None and augmenter_column not in columns:
        raise InputError(f"{name} has no augmenter column {augmenter_column!r}")
    missing = [c for c in dataset.columns if c not in columns]
    if missing:
        raise InputError(f"{name} has no column {', '.join(repr(c) for c in missing[:5])} of the dataset: a file of "
                         "variants has the dataset's columns (with edited text) plus the parent column")


def column_changes(parent_cells: Sequence[str], cells: Sequence[str]) -> tuple[Change, ...]:
    """The changes (joined-text positions of the variant) that turn the parent's text cells
    into ``cells``: a diff per column, shifted by the column's place in the joined text."""
    out: list[Change] = []
    offset = 0
    for before, after in zip(parent_cells, cells, strict=True):
        for c in diff_changes(before, after):
            out.append(Change(c.start + offset, c.end + offset, c.before, c.after, c.kind))
        offset += len(after) + len(JOINER)
    return tuple(out)


def _cell_id(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and value != value) else str(value)


def read_variants(path: str | Path, dataset: Dataset, parent_column: str, augmenter_column: str | None,
                  params: dict[str, Any]) -> tuple[list[dict[str, Any]], VariantImport]:
    """The stored rows of the file's variants (provenance rows with their own cells), and the
    counts. ``params``: the run's parameters, recorded in each row's ``params`` cell."""
    p = Path(path)
    if format_of(p.name) not in FORMATS:
        raise InputError(f"{p.name}: variants are read from a .csv, .jsonl or .parquet file")
    source = FileSource(p)
    cols = source.columns
    check_columns(cols, dataset, parent_column, augmenter_column, p.name)
    at = [cols.index(c) for c in dataset.columns]
    parent_i = cols.index(parent_column)
    aug_i = cols.index(augmenter_column) if augmenter_column is not None else None
    text_is = dataset.text_indices()
    label_i = dataset.columns.index(dataset.mapping.label_column)
    by_id: dict[str, Record] = {r.id: r for r in dataset.records}
    counts = VariantImport()
    refused_parents: set[str] = set()
    unknown_seen: set[str] = set()
    seen: dict[str, set[tuple[str, ...]]] = {}
    numbered: dict[tuple[str, str], int] = {}
    rows: list[dict[str, Any]] = []
    params_json = json.dumps(params, ensure_ascii=False, sort_keys=True)
    for chunk in source.chunks():
        for raw in chunk:
            counts.rows += 1
            pid = _cell_id(raw[parent_i])
            parent = by_id.get(pid)
            if parent is None:
                counts.unknown += 1
                if pid not in unknown_seen and len(counts.unknown_parents) < UNKNOWN_SHOWN:
                    counts.unknown_parents.append(pid)
                unknown_seen.add(pid)
                continue
            if parent.split != "train":
                counts.refused += 1
                refused_parents.add(pid)
                continue
            cells = [raw[i] for i in at]
            texts = tuple(text_cell(cells[i]) for i in text_is)
            parent_texts = [text_cell(parent.cells[i]) for i in text_is]
            if list(texts) == parent_texts:
                counts.unchanged += 1
                continue
            earlier = seen.setdefault(pid, set())
            if texts in earlier:
                counts.duplicates += 1
                continue
            earlier.add(texts)
            changes = column_changes(parent_texts, texts)
            if split_variant(parent_texts, changes) != list(texts):
                counts.crossing += 1
                continue
            augmenter = (_cell_id(raw[aug_i]) if aug_i is not None else "") or DEFAULT_AUGMENTER
            if augmenter == ORIGINAL:
                augmenter = DEFAULT_AUGMENTER  # "original" names the dataset's own rows in the store
            k = numbered[(pid, augmenter)] = numbered.get((pid, augmenter), -1) + 1
            rows.append({
                "id": variant_id(pid, augmenter, k), "parent_id": pid, "split": parent.split, "augmenter": augmenter,
                "text": JOINER.join(texts), "original_text": parent.text,
                dataset.mapping.label_column: cells[label_i], "params": params_json,
                "changes": changes_to_json(changes), USER_CELLS: cells,
            })
            counts.augmenters[augmenter] = counts.augmenters.get(augmenter, 0) + 1
    counts.refused_parents = len(refused_parents)
    counts.stored = len(rows)
    return rows, counts


def import_variants(
    store: Store,
    dataset_hash: str,
    path: str | Path,
    dataset: Dataset,
    *,
    parent_column: str,
    augmenter_column: str | None = None,
    tags: AliasTable,
    quality: QualitySettings | None = QualitySettings(),
    encoder: Any = None,
    progress: Callable[[int, int], None] | None = None,
) -> VariantImport:
    """Read the file's variants (see the module's docstring), flag them as the product's own
    runs are flagged, and store them as one run of ``dataset`` (the stored dataset under its
    current settings). Nothing is stored when no variant is left."""
    info = store.stored_dataset(dataset_hash)
    params = {"augmenter": "imported", "file": Path(path).name, "parent_column": parent_column,
              "augmenter_column": augmenter_column}
    rows, counts = read_variants(path, dataset, parent_column, augmenter_column, params)
    if not rows:
        raise InputError(f"{Path(path).name} holds no variant to review: " + "; ".join(counts.lines()[1:]))
    keywords = fit_to_train(tags, dataset)
    protector = Protector(keywords.table)
    spans: dict[str, Any] = {}
    if quality is not None:
        score_rows(rows, table=keywords.table, labels_by_id={r.id: r.labels for r in dataset.records},
                   heldout_texts=[r.text for r in dataset.records if r.split in ("val", "test")], encoder=encoder,
                   quality=quality, progress=progress)
        counts.label_drift = flag_label_drift(rows, train_examples(dataset))
    for r in rows:
        original = r["original_text"]
        if original not in spans:
            spans[original] = protector.spans(original)
        if keyword_changed(original, r["text"], changes_from_json(r["changes"]), protector, spans[original]):
            add_flag(r, FLAG_KEYWORD_CHANGED)
            counts.keyword_changed += 1
        elif "flags" not in r:
            r["flags"] = "[]"
    run_params = {
        "augmenters": [{"name": n, "imported": True} for n in counts.augmenters],
        "quality": asdict(quality) if quality is not None else None,
        "variants": counts.stored,
        "settings": info.settings,
        "imported": {"path": str(Path(path).expanduser().resolve()), "format": format_of(Path(path).name),
                     "parent_column": parent_column, "augmenter_column": augmenter_column, "variants_file": True,
                     "counts": {k: v for k, v in asdict(counts).items() if k not in ("run_id",)}},
    }
    counts.run_id = store_run(store, dataset_hash, run_params, rows, info.settings)
    return counts
