"""The output in the user's own schema: every input column under its own name, in its order,
with the provenance columns beside them.

Augmenters work on a record's joined ``text`` (the text columns joined by
:data:`augment_core.data.dataset.JOINER`); this module maps a variant back to the columns:

* an original keeps every cell exactly as read;
* a variant's text columns hold its text per column: each change is given to the column it
  falls in (a change never touches the joiner: the pipeline moves a deletion that took it
  onto the space beside it, see :func:`off_joiners`, and drops a variant whose change still
  would, see :func:`crosses_joiner`); an insertion at a column's edge goes to the column
  whose edge it is: at the end of a column, before the joiner, to that column; at the start
  of the next column, after the joiner, to that one (the joiner is one character wide, so a
  position is never both);
* every other column of a variant is copied from its parent.

Provenance columns keep their documented names (``id``, ``parent_id``, ``split``, ...)
unless an input column has one of those names: then *every* provenance column gets the
prefix ``aug_`` (``aug_id``, ``aug_text``, ...), so user data is never overwritten and the
provenance columns stay one recognisable family (``aug_aug_`` when ``aug_`` clashes too, as
for an augment output read again). An explicit prefix (the CLI's
``--provenance-prefix``) is always used; a prefixed name that still clashes is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Mapping, Sequence

from augment_core.augment.changes import Candidate, Change, Edit, apply_edits, changes_from_json, original_spans
from augment_core.data.dataset import JOINER, Dataset, Record, text_cell
from augment_core.errors import InputError

DEFAULT_PREFIX = "aug_"
USER_CELLS = "user_cells"
"""A stored row's own input cells (a list in the dataset's column order), kept for a variant
imported from the user's file (:mod:`augment_core.review.variant_import`): the export writes
them as they were, never rebuilt from the parent. Not a column of the output."""


def _column_of(start: int, end: int, segments: Sequence[tuple[int, int]]) -> int | None:
    """The column whose closed range [s, e] holds [start, end]; None when it touches a joiner."""
    for i, (s, e) in enumerate(segments):
        if s <= start and end <= e:
            return i
    return None


def crosses_joiner(changes: Sequence[Change], segments: Sequence[tuple[int, int]]) -> bool:
    """Whether a change edits a joiner between text columns (a multi-word keyword spanning
    the end of one column and the start of the next, say). Such a variant cannot be written
    back per column, so it is not kept."""
    if len(segments) < 2:
        return False
    return any(_column_of(s, e, segments) is None for s, e, _ in original_spans(changes))


def off_joiners(text: str, candidate: Candidate, segments: Sequence[tuple[int, int]]) -> Candidate | None:
    """The same variant with each deletion that takes a joiner placed so that it does not,
    where an equal placement exists; None where none does (then it is dropped).

    A word deleted with its neighbouring space takes the joiner when it is the first word of
    a column (``"Basics A practical"`` -> ``"Basics practical"``), and a run of deleted words
    may span the end of one column and the start of the next; deleting the joiner and the
    words is the same text as deleting the words and the space on their other side, so the
    deletion moves off the joiner (or is cut in two, one per column). Without this a third of
    ``word_delete``'s variants of a title + description were dropped."""
    if len(segments) < 2:
        return candidate
    joiners = [end for _, end in segments[:-1]]  # each column's end is where the joiner after it stands
    edits = []
    for start, end, change in original_spans(candidate.changes):
        inside = [j for j in joiners if start <= j < end]
        if change.after or not inside:
            edits.append(Edit(start, end, change.after, change.kind, change.agreement, change.support))
            continue
        if len(inside) > 1:
            return None
        j = inside[0]
        if end < len(text) and text[end] == text[j]:  # keep the joiner, take the character after the deletion
            pieces = [(start, j), (j + 1, end + 1)]
        elif start > 0 and text[start - 1] == text[j]:  # or the one before it
            pieces = [(start - 1, j), (j + 1, end)]
        else:
            return None
        edits.extend(Edit(s, e, "", "delete") for s, e in pieces if s < e)
    try:
        moved = apply_edits(text, edits)
    except ValueError:  # a moved deletion would overlap another change
        return None
    if moved.text != candidate.text or crosses_joiner(moved.changes, segments):
        return None
    return moved


def split_variant(cells: Sequence[str], changes: Sequence[Change]) -> list[str] | None:
    """A variant's text per column, from its parent's text cells and its changes; None when a
    change edits a joiner."""
    segments = []
    pos = 0
    for cell in cells:
        segments.append((pos, pos + len(cell)))
        pos += len(cell) + len(JOINER)
    if len(changes) == 1:  # one swap, the alias swap's default: one cell edited, the rest as they are
        start, end, change = original_spans(changes)[0]
        i = _column_of(start, end, segments)
        if i is None:
            return None
        s = segments[i][0]
        out = list(cells)
        out[i] = cells[i][: start - s] + change.after + cells[i][end - s :]
        return out
    pieces: list[list[str]] = [[] for _ in cells]
    cursor = [s for s, _ in segments]
    for start, end, change in original_spans(changes):
        i = _column_of(start, end, segments)
        if i is None:
            return None
        s = segments[i][0]
        pieces[i].append(cells[i][cursor[i] - s : start - s])
        pieces[i].append(change.after)
        cursor[i] = end
    return ["".join([*p, cell[cur - s :]]) for p, cell, cur, (s, _) in zip(pieces, cells, cursor, segments)]


@dataclass(frozen=True)
class OutputSchema:
    """Which columns the output has, in order, and what each provenance column is called."""

    input_columns: tuple[str, ...]
    provenance: tuple[str, ...]
    """The provenance columns by their internal names (the keys of pipeline rows)."""
    prefix: str

    @property
    def columns(self) -> list[str]:
        return [*self.input_columns, *(self.prefix + p for p in self.provenance)]

    def name(self, provenance_column: str) -> str:
        return self.prefix + provenance_column

    def to_json(self) -> dict[str, Any]:
        return {"input_columns": list(self.input_columns), "provenance_prefix": self.prefix,
                "provenance_columns": {p: self.name(p) for p in self.provenance}}


def output_schema(input_columns: Sequence[str], provenance: Sequence[str], prefix: str | None = None) -> OutputSchema:
    """The schema, with the clash rule of this module; InputError when an explicit prefix
    still clashes."""
    inputs = tuple(input_columns)
    taken = set(inputs)
    chosen = prefix
    if chosen is None:  # "", else aug_, aug_aug_, ...: an augment output read again gets a fresh family
        chosen = ""
        while not taken.isdisjoint(chosen + p for p in provenance):
            chosen += DEFAULT_PREFIX
    clash = [chosen + p for p in provenance if chosen + p in taken]
    if clash:
        raise InputError(
            f"the input has column{'s' if len(clash) > 1 else ''} {', '.join(clash)}, which the output's provenance "
            f"columns would overwrite: choose another --provenance-prefix"
        )
    return OutputSchema(inputs, tuple(provenance), chosen)


def provenance_of(columns: Sequence[str], label_column: str) -> list[str]:
    """The provenance columns of pipeline rows with ``columns`` (all but the label column,
    which is the user's own)."""
    return [c for c in columns if c not in (label_column, USER_CELLS)]


def user_rows(rows: Iterable[Mapping[str, Any]], dataset: Dataset, schema: OutputSchema) -> Iterator[dict[str, Any]]:
    """Pipeline rows (keyed by provenance names) as output rows in the user's schema.

    A variant whose changes cannot be mapped to its parent's columns (a run stored before
    texts were kept exactly as read, whose ``original_text`` no longer matches) gets empty
    text columns rather than wrong ones; its joined ``text`` is still written."""
    by_id = {r.id: r for r in dataset.records}
    text_is = dataset.text_indices()
    for row in rows:
        parent: Record = by_id[str(row["parent_id"])]
        cells = list(parent.cells)
        own = row.get(USER_CELLS)
        if isinstance(own, list) and len(own) == len(cells):
            cells = own  # a variant imported from the user's file: its cells as they were
        elif row.get("augmenter") != "original":
            parts = None
            if row.get("original_text") == parent.text:
                parts = split_variant([text_cell(parent.cells[i]) for i in text_is], changes_from_json(row.get("changes")))
            for k, i in enumerate(text_is):
                cells[i] = parts[k] if parts is not None else None
        out = dict(zip(schema.input_columns, cells))
        for p in schema.provenance:
            out[schema.prefix + p] = row.get(p)
        yield out
