"""Reading a dataset file and mapping its columns to (id, text, labels, split).

Files are read with the standard library (``csv``, ``json``) rather than pandas: the CLI's
alias-swap path must start fast, and keeping every cell as the file spelled it lets the
output carry the label column "in its input format". Parquet goes through pyarrow, imported
only for Parquet files.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Sequence

from augment_core.errors import InputError
from augment_core.io import read_input

FORMATS = ("csv", "json", "jsonl", "parquet")
SPLITS = ("train", "val", "test")
SPLIT_ALIASES = {
    "train": "train",
    "training": "train",
    "val": "val",
    "validation": "val",
    "valid": "val",
    "dev": "val",
    "test": "test",
    "testing": "test",
}
LabelFormat = Literal["auto", "json", "delimited", "single"]
_EXTENSIONS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".json": "json", ".jsonl": "jsonl",
               ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet"}


@dataclass(frozen=True)
class Table:
    """A file's rows as read: every cell as the file gave it."""

    columns: list[str]
    rows: list[dict[str, Any]]
    fmt: str


@dataclass(frozen=True)
class ColumnMapping:
    text_columns: tuple[str, ...]
    label_column: str
    label_sep: str = ","
    label_format: LabelFormat = "auto"
    split_column: str | None = None
    id_column: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "text_columns": list(self.text_columns),
            "label_column": self.label_column,
            "label_sep": self.label_sep,
            "label_format": self.label_format,
            "split_column": self.split_column,
            "id_column": self.id_column,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ColumnMapping":
        return cls(**{**data, "text_columns": tuple(data["text_columns"])})


@dataclass(frozen=True)
class Record:
    id: str
    text: str
    labels: tuple[str, ...]
    split: str | None
    raw_label: Any


@dataclass(frozen=True)
class Dataset:
    records: list[Record]
    mapping: ColumnMapping
    empty_text_ids: list[str] = field(default_factory=list)

    def with_splits(self, splits: Sequence[str]) -> "Dataset":
        return replace(self, records=[replace(r, split=s) for r, s in zip(self.records, splits)])

    @property
    def has_splits(self) -> bool:
        return all(r.split for r in self.records)


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def format_of(filename: str) -> str:
    ext = Path(filename).suffix.lower()
    if ext not in _EXTENSIONS:
        raise InputError(
            f"unsupported file type {ext or '(no extension)'!r} for {Path(filename).name}: "
            "use .csv, .tsv, .json, .jsonl or .parquet"
        )
    return _EXTENSIONS[ext]


def read_table(source: str | Path | bytes, filename: str | None = None) -> Table:
    """Read a dataset from a path, or from bytes with the ``filename`` it was uploaded as."""
    if isinstance(source, bytes):
        data, name = source, filename or "upload.csv"
    else:
        path = Path(source)
        name = filename or path.name
        format_of(name)  # before reading: say "unsupported" rather than "unreadable"
        data = read_input(path, "file")
    fmt = format_of(name)
    if not data.strip():
        raise InputError(f"{Path(name).name} is empty")
    if fmt == "parquet":
        table = _read_parquet(data, name)
    else:
        text = _decode(data, name)
        table = {"csv": _read_csv, "json": _read_json, "jsonl": _read_jsonl}[fmt](text, name)
    if not table.rows:
        raise InputError(f"{Path(name).name} has a header but no rows")
    return table


def _decode(data: bytes, name: str) -> str:
    if b"\x00" in data[:65536]:
        raise InputError(f"{Path(name).name} is not a text file (it holds binary data)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{Path(name).name} is not UTF-8 text (bad byte at offset {exc.start})") from None


def sniff_delimiter(text: str) -> str:
    """Comma, semicolon or tab, judged from the header line (cells there are rarely quoted,
    unlike the label cells below it, whose JSON lists are full of commas)."""
    header = text.split("\n", 1)[0]
    counts = {d: _count_outside_quotes(header, d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def _count_outside_quotes(line: str, ch: str) -> int:
    n, quoted = 0, False
    for c in line:
        if c == '"':
            quoted = not quoted
        elif c == ch and not quoted:
            n += 1
    return n


def _read_csv(text: str, name: str) -> Table:
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
        columns = [c.strip() for c in header]
        _check_header(columns, name)
        rows = []
        for line_no, cells in enumerate(reader, start=2):
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            if len(cells) != len(columns):
                raise InputError(
                    f"{Path(name).name}: row {line_no - 1} has {len(cells)} fields, the header has {len(columns)}"
                )
            rows.append(dict(zip(columns, cells)))
    except csv.Error as exc:
        raise InputError(f"{Path(name).name} is not valid CSV (line {reader.line_num}: {exc})") from None
    return Table(columns=columns, rows=rows, fmt="csv")


def _check_header(columns: list[str], name: str) -> None:
    if not any(columns):
        raise InputError(f"{Path(name).name}: the header row is empty")
    dupes = sorted({c for c in columns if columns.count(c) > 1})
    if dupes:
        raise InputError(f"{Path(name).name}: duplicate column names: {', '.join(dupes)}")


def _records_table(items: Any, name: str, fmt: str) -> Table:
    if not isinstance(items, list) or not all(isinstance(r, dict) for r in items):
        raise InputError(f"{Path(name).name}: expected a list of records (JSON objects)")
    columns: dict[str, None] = {}
    for row in items:
        for key in row:
            columns.setdefault(str(key), None)
    return Table(columns=list(columns), rows=[{str(k): v for k, v in r.items()} for r in items], fmt=fmt)


def _read_json(text: str, name: str) -> Table:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{Path(name).name} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    return _records_table(items, name, "json")


def _read_jsonl(text: str, name: str) -> Table:
    items = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise InputError(f"{Path(name).name}: line {line_no} is not valid JSON ({exc.msg})") from None
    return _records_table(items, name, "jsonl")


def _read_parquet(data: bytes, name: str) -> Table:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        arrow = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{Path(name).name} is not a readable Parquet file ({exc})") from None
    return Table(columns=list(arrow.column_names), rows=arrow.to_pylist(), fmt="parquet")


# --- column mapping ----------------------------------------------------------------------


def guess_mapping(table: Table) -> ColumnMapping:
    """A first guess the user can edit: the usual names, else the longest text column."""
    cols = table.columns
    lower = {c.lower(): c for c in cols}

    def first(*names: str) -> str | None:
        return next((lower[n] for n in names if n in lower), None)

    label = first("tags", "labels", "label", "tag", "category", "class", "target", "y")
    text_cols = [lower[n] for n in ("title", "description") if n in lower]
    if not text_cols:
        single = first("text", "sentence", "content", "body", "review", "document", "abstract")
        if single is None:
            sample = table.rows[:200]
            lengths = {
                c: sum(len(str(r.get(c) or "")) for r in sample)
                for c in cols
                if c != label and all(not isinstance(r.get(c), (int, float, list)) for r in sample)
            }
            single = max(lengths, key=lengths.__getitem__) if lengths else cols[0]
        text_cols = [single]
    if label is None:
        label = next((c for c in cols if c not in text_cols), cols[-1])
    return ColumnMapping(
        text_columns=tuple(text_cols),
        label_column=label,
        split_column=first("split", "fold", "subset", "partition"),
        id_column=first("id", "uid", "row_id", "idx"),
    )


def parse_labels(cell: Any, label_format: LabelFormat = "auto", sep: str = ",") -> tuple[str, ...]:
    """A label cell as a tuple of labels: a JSON list, a delimited string or one label."""
    if cell is None:
        return ()
    if isinstance(cell, (list, tuple)):
        return tuple(str(x).strip() for x in cell if x is not None and str(x).strip())
    if hasattr(cell, "tolist"):  # numpy arrays from Parquet
        return parse_labels(cell.tolist(), label_format, sep)
    text = str(cell).strip()
    if not text:
        return ()
    if label_format in ("auto", "json") and text.startswith("["):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            if label_format == "json":
                raise InputError(f"label cell is not a JSON list: {text[:60]!r}") from None
        else:
            if isinstance(parsed, list):
                return parse_labels(parsed)
    if label_format == "json":
        raise InputError(f"label cell is not a JSON list: {text[:60]!r}")
    if label_format in ("auto", "delimited") and sep and sep in text:
        return tuple(p.strip() for p in text.split(sep) if p.strip())
    return (text,)


def normalize_split(value: Any) -> str | None:
    return SPLIT_ALIASES.get(str(value).strip().lower()) if value is not None else None


def build_dataset(table: Table, mapping: ColumnMapping) -> Dataset:
    needed = [*mapping.text_columns, mapping.label_column]
    needed += [c for c in (mapping.split_column, mapping.id_column) if c]
    missing = [c for c in dict.fromkeys(needed) if c not in table.columns]
    if missing:
        raise InputError(
            f"column{'s' if len(missing) > 1 else ''} not found: {', '.join(missing)} "
            f"(the file has: {', '.join(table.columns)})"
        )
    if not mapping.text_columns:
        raise InputError("choose at least one text column")
    records: list[Record] = []
    empty: list[str] = []
    seen: set[str] = set()
    bad_splits: dict[str, int] = {}
    for i, row in enumerate(table.rows, start=1):
        rid = _cell_text(row.get(mapping.id_column)) if mapping.id_column else str(i)
        if not rid:
            raise InputError(f"row {i}: the id column {mapping.id_column!r} is empty")
        if rid in seen:
            raise InputError(f"id {rid!r} appears more than once in column {mapping.id_column!r}")
        seen.add(rid)
        parts = [_cell_text(row.get(c)) for c in mapping.text_columns]
        text = " ".join(p for p in parts if p)
        if not text:
            empty.append(rid)
        split = None
        if mapping.split_column:
            raw_split = row.get(mapping.split_column)
            split = normalize_split(raw_split)
            if split is None:
                key = _cell_text(raw_split) or "(empty)"
                bad_splits[key] = bad_splits.get(key, 0) + 1
        raw_label = row.get(mapping.label_column)
        records.append(Record(rid, text, parse_labels(raw_label, mapping.label_format, mapping.label_sep), split, raw_label))
    if bad_splits:
        shown = ", ".join(f"{k!r} ({n} rows)" for k, n in list(bad_splits.items())[:5])
        raise InputError(
            f"split column {mapping.split_column!r} has values that are not train/val/test: {shown}"
        )
    return Dataset(records=records, mapping=mapping, empty_text_ids=empty)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN from Parquet/JSON
        return ""
    return str(value).strip()
