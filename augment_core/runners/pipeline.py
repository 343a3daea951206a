"""From a split dataset and some augmenters to provenance rows.

Only train rows are augmented; val and test rows pass through untouched (the lesson's
"split first, augment train only"). Every output row says where it came from: its parent,
the augmenter, the parameters that with the seed reproduce it, and the change spans.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from typing import Any, Callable, Container, Sequence

from augment_core.augment.augmenter import Augmenter
from augment_core.augment.changes import Candidate, changes_to_json
from augment_core.augment.keywords import keyword_changed
from augment_core.augment.protection import Protector
from augment_core.augment.quality import FLAG_KEYWORD_CHANGED, FLAGS_COLUMN
from augment_core.data.dataset import Dataset, Record, segments_of
from augment_core.data.user_schema import crosses_joiner, off_joiners
from augment_core.errors import InputError

ORIGINAL = "original"
PROVENANCE_COLUMNS = ("id", "parent_id", "split", "augmenter", "text", "original_text")
TRAILING_COLUMNS = ("params", "changes")
NO_FLAGS = "[]"
SWAPS_KEYWORDS = frozenset({"alias_swap"})
"""Augmenters whose changes are keyword swaps by design: never flagged ``keyword_changed``."""
KEYWORD_CHANGED_FLAGS = json.dumps([FLAG_KEYWORD_CHANGED])
RunProgress = Callable[[int, int], None]
"""Called as (originals done, originals in all) while augmenters run."""


def variant_id(parent_id: str, augmenter: str, index: int) -> str:
    return f"{parent_id}~{augmenter}~{index}"


def check_variant_ids(ids: Sequence[str], augmenters: Sequence[str]) -> None:
    """Refuse input ids that a variant's id could repeat.

    A variant of ``x`` is ``x~<augmenter>~<k>``; an input id of that very shape, with ``x``
    another input id and the augmenter one of this run's, could be written twice. The rule
    depends on the ids alone (not on which variants a run happens to make), so a file is
    refused or accepted the same way whatever the seed. Ids of another shape are kept as
    they are: escaping them would break the link from an output row to its input row.
    """
    known = set(ids)
    names = set(augmenters)
    for rid in ids:
        if rid.count("~") < 2:
            continue
        parent, name, k = rid.rsplit("~", 2)
        if parent in known and name in names and k.isdigit():
            raise InputError(
                f"id {rid!r} has the form of a variant id of row {parent!r} (<id>~<augmenter>~<k>), so the "
                "output could hold it twice: rename it or choose another id column"
            )


def output_columns(label_column: str, extra: Sequence[str] = ()) -> list[str]:
    """A run's columns; ``flags`` always (``keyword_changed`` is flagged with quality signals
    on or off), in its place among ``extra`` (the quality columns) when they hold it."""
    tail = tuple(extra) if FLAGS_COLUMN in extra else (*extra, FLAGS_COLUMN)
    return [*PROVENANCE_COLUMNS, label_column, *TRAILING_COLUMNS, *tail]


def original_params_json(seed: int | None) -> str:
    return json.dumps({"augmenter": ORIGINAL, "seed": seed})


def original_row(record: Record, label_column: str, params: str) -> dict[str, Any]:
    """An original as a provenance row: its own parent, no changes."""
    return {
        "id": record.id, "parent_id": record.id, "split": record.split, "augmenter": ORIGINAL,
        "text": record.text, "original_text": record.text, label_column: record.raw_label,
        "params": params, "changes": "[]", FLAGS_COLUMN: NO_FLAGS,
    }


def check_run(ids: Sequence[str], augmenters: Sequence[str], label_column: str, n_per_original: int) -> None:
    """What makes a run impossible whatever the rows: checked once, before any row is built."""
    if n_per_original < 0:
        raise InputError("--n-per-original must be 0 or more")
    if len(set(augmenters)) != len(augmenters):
        raise InputError(f"each augmenter may run once per run, got {', '.join(augmenters)}")
    check_variant_ids(ids, augmenters)
    if label_column in (*PROVENANCE_COLUMNS, *TRAILING_COLUMNS, FLAGS_COLUMN):
        # provenance rows carry the label under its own name (the review store reads them so)
        raise InputError(f"the label column is named {label_column!r}, which the output uses itself: rename it")


@dataclass
class Dropped:
    """Variants an augmenter made that a run did not keep, counted where :func:`plan_rows`
    drops them and summed by every runner, so a run that keeps few or none says why (an
    augmenter that rewrites the whole text of title + description keeps none)."""

    crossing: int = 0
    """Variants whose edit crosses the joiner between two text columns (see :class:`RowPlan`)."""


@dataclass(frozen=True)
class RowPlan:
    """How one run turns records into output rows: what stays the same for every chunk of it
    (built once per run, or once per worker), so the in-memory run, a streamed chunk and a Ray
    batch hand :func:`augment_records` and :func:`plan_rows` the very same settings.

    ``text_indices``: the text columns' positions in ``Record.cells``; with several, a
    variant that edits the joiner between two columns is dropped (it cannot be written back
    per column). ``columns``: the input's column names (``Record.cells`` order), for the
    augmenters that see each row's own cells (the Snorkel adapter). ``protector``: the run's
    protected keywords, to flag ``keyword_changed`` (none: no flag; see :func:`plan_rows`)."""

    augmenters: Sequence[Augmenter]
    label_column: str
    n_per_original: int
    keep_original: bool
    seed: int
    text_indices: Sequence[int] = ()
    columns: Sequence[str] = ()
    protector: Protector | None = None


def run_augmentation(
    dataset: Dataset,
    augmenters: Sequence[Augmenter],
    n_per_original: int,
    keep_original: bool,
    seed: int,
    progress: RunProgress | None = None,
    protector: Protector | None = None,
    dropped: Dropped | None = None,
) -> list[dict[str, Any]]:
    """``protector``: the run's protected keywords, to flag ``keyword_changed`` (none: no flag).
    ``dropped``: counts the variants not kept (see :func:`plan_rows`)."""
    if not dataset.has_splits:
        raise InputError("the dataset must be split before augmentation (split first, augment train only)")
    label_column = dataset.mapping.label_column
    check_run([r.id for r in dataset.records], [a.name for a in augmenters], label_column, n_per_original)
    empty = set(dataset.empty_text_ids)
    total = sum(1 for r in dataset.records if r.split == "train" and r.id not in empty) * len(augmenters)
    done = 0

    def step(k: int) -> None:
        nonlocal done
        done += k
        if progress is not None:
            progress(done, total)

    text_indices = dataset.text_indices() if dataset.columns else []
    plan = RowPlan(augmenters, label_column, n_per_original, keep_original, seed, text_indices, dataset.columns,
                   protector)
    return augment_records(dataset.records, plan, empty, step, dropped)


def augment_records(
    records: Sequence[Record],
    plan: RowPlan,
    empty: Container[str] = (),
    step: Callable[[int], None] | None = None,
    dropped: Dropped | None = None,
) -> list[dict[str, Any]]:
    """The output rows of some split records, in their order: each original (train ones
    only with ``keep_original``) followed by its variants. Rows are independent (per-row
    seeding), so the in-memory run, a streamed chunk and a Ray batch all build their rows
    here and agree row for row. ``empty``: ids whose text is empty (never augmented).
    ``step``: called with the number of originals each augmenter has done; ``dropped``:
    counts the variants not kept (see :func:`plan_rows`)."""
    planned = plan_rows(records, plan, empty, step, dropped)
    original_params = original_params_json(plan.seed)
    label_column = plan.label_column
    rows: list[dict[str, Any]] = []
    for i, name, k, params, cand, flags in planned:
        record = records[i]
        if cand is None:
            rows.append(original_row(record, label_column, original_params))
            continue
        rows.append({
            "id": variant_id(record.id, name, k), "parent_id": record.id, "split": "train",
            "augmenter": name, "text": cand.text, "original_text": record.text,
            label_column: record.raw_label, "params": params, "changes": changes_to_json(cand.changes),
            FLAGS_COLUMN: flags,
        })
    return rows


def takes_rows(augmenter: Augmenter) -> bool:
    """Whether ``generate`` takes each row's own cells (``rows=``), as the Snorkel adapter does."""
    try:
        return "rows" in inspect.signature(augmenter.generate).parameters
    except (TypeError, ValueError):
        return False


PlannedRow = tuple[int, str, int, str, "Candidate | None", str]
"""(index of the record, augmenter name, k, params JSON, candidate, flags JSON): one output
row; an original is ``(i, "original", 0, "", None, "[]")``."""


def plan_rows(
    records: Sequence[Record],
    plan: RowPlan,
    empty: Container[str] = (),
    step: Callable[[int], None] | None = None,
    dropped: Dropped | None = None,
) -> list[PlannedRow]:
    """What :func:`augment_records` writes, row by row, before any row is built: which
    record, which augmenter, which candidate and its flags. The streamed Parquet writer
    builds its columns straight from this (no row dicts, no change JSON read back).
    ``keyword_changed`` is decided here, once per variant, for every runner and whether or
    not quality signals follow: a variant whose changes alter a keyword of ``protector``
    (other than by letter case) is kept and flagged for the reviewer. The alias swap is the
    exception: replacing a keyword by another alias of its tag is what it does, and its
    changes carry their keyword's agreement instead. ``dropped``: where a variant whose edit
    crosses the joiner between text columns (and cannot be moved off it) is counted."""
    augmenters, n_per_original, seed = plan.augmenters, plan.n_per_original, plan.seed
    columns, text_indices, protector = plan.columns, plan.text_indices, plan.protector
    train = [r for r in records if r.split == "train" and r.id not in empty]
    texts = [r.text for r in train]
    ids = [r.id for r in train]
    variants_by_augmenter = []
    for augmenter in augmenters:
        if columns and takes_rows(augmenter):
            cells = [dict(zip(columns, r.cells)) for r in train]
            variants = augmenter.generate(texts, ids, n_per_original, seed, step, rows=cells)  # type: ignore[call-arg]
        else:
            variants = augmenter.generate(texts, ids, n_per_original, seed, step)
        params = json.dumps(
            {"augmenter": augmenter.name, **augmenter.params(), "n_per_original": n_per_original, "seed": seed},
            sort_keys=True,
        )
        variants_by_augmenter.append((augmenter.name, params, variants))

    multi = len(text_indices) > 1
    # the alias swap is never flagged: a run of it alone needs no protected spans at all
    flagged = protector is not None and any(a.name not in SWAPS_KEYWORDS for a in augmenters)
    position = {r.id: i for i, r in enumerate(train)}
    out: list[PlannedRow] = []
    for j, record in enumerate(records):
        if record.split != "train" or plan.keep_original:
            out.append((j, ORIGINAL, 0, "", None, NO_FLAGS))
        i = position.get(record.id)
        if i is None:
            continue
        segments = segments_of(record, text_indices) if multi else []
        spans = protector.spans(record.text) if flagged and protector is not None else []
        for name, params, variants in variants_by_augmenter:
            seen = {record.text}
            k = 0
            for cand in variants[i]:
                if cand.text in seen:  # augmenters promise distinct variants; hold them to it
                    continue
                if multi and crosses_joiner(cand.changes, segments):  # the joiner between columns is never edited
                    moved = off_joiners(record.text, cand, segments)
                    if moved is None:
                        if dropped is not None:
                            dropped.crossing += 1
                        continue
                    cand = moved
                seen.add(cand.text)
                k += 1
                changed = (protector is not None and bool(spans) and name not in SWAPS_KEYWORDS
                           and keyword_changed(record.text, cand.text, cand.changes, protector, spans))
                out.append((j, name, k, params, cand, KEYWORD_CHANGED_FLAGS if changed else NO_FLAGS))
    return out
