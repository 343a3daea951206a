"""Reading a dataset file and mapping its columns to (id, text, labels, split).

Files are read with the standard library (``csv``, ``json``) rather than pandas: the CLI's
alias-swap path must start fast, and keeping every cell as the file spelled it lets the
output carry the label column "in its input format". Parquet goes through pyarrow, imported
only for Parquet files.

Text files are UTF-8 (with or without BOM), or UTF-16/UTF-32 when a byte-order mark says so
(spreadsheets save "Unicode text" as UTF-16). One rule for NUL: a text file holding a NUL
anywhere is refused as binary; NUL is never data in a CSV or JSON file, and letting it through
past some prefix would carry it into the output. CSV cells have no size limit (the ``csv``
module's default of 131,072 characters would refuse a long document, and our own output).

A CSV file is parsed as a stream (decoded as it is read, never held as one decoded string)
and its rows are kept as tuples, not dicts: a 150 MB upload then costs a few hundred MB in
the app rather than gigabytes. ``Table.rows`` still reads as a sequence of dicts.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import math
import sys
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import IO, Any, Iterator, Literal, Mapping, Sequence, get_args, overload

from augment_core.data import hf
from augment_core.data.io import read_input
from augment_core.data.limits import NO_LIMITS, Limits, check_parquet, json_loads
from augment_core.errors import InputError

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


# A cell as large as memory allows (the default of 131,072 characters refuses long
# documents); C long on every platform Python runs on holds 2**31 - 1.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
_BOMS = (  # UTF-32 first: its little-endian BOM begins with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


class TupleRows(Sequence[dict[str, Any]]):
    """Rows stored as tuples in column order, read as dicts (made on access).

    A dict per row costs about four times a tuple; for a file of half a million rows that
    is the difference between fitting in memory and not.
    """

    __slots__ = ("columns", "cells")

    def __init__(self, columns: Sequence[str], cells: list[tuple[Any, ...]]) -> None:
        self.columns = tuple(columns)
        self.cells = cells

    def __len__(self) -> int:
        return len(self.cells)

    @overload
    def __getitem__(self, i: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, i: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, i: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(i, slice):
            return [dict(zip(self.columns, c)) for c in self.cells[i]]
        return dict(zip(self.columns, self.cells[i]))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        cols = self.columns
        return (dict(zip(cols, c)) for c in self.cells)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def column(self, name: str) -> list[Any]:
        i = self.columns.index(name)
        return [c[i] for c in self.cells]


@dataclass(frozen=True)
class Table:
    """A file's rows as read: every cell as the file gave it."""

    columns: list[str]
    rows: Sequence[dict[str, Any]]
    fmt: str

    def column(self, name: str) -> list[Any]:
        """One column's cells, in row order (without building a dict per row)."""
        if isinstance(self.rows, TupleRows):
            return self.rows.column(name)
        return [r.get(name) for r in self.rows]


@dataclass(frozen=True)
class TablePreview:
    """What a page shows of a table without holding all of it: its columns, first rows
    and row count. Column guessing (:func:`guess_mapping`) works on it as on a Table."""

    columns: list[str]
    rows: list[dict[str, Any]]
    fmt: str
    n_rows: int


def preview(table: Table, n: int = 200) -> TablePreview:
    return TablePreview(columns=list(table.columns), rows=list(table.rows[:n]), fmt=table.fmt, n_rows=len(table.rows))


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
    def from_json(cls, data: Mapping[str, Any]) -> "ColumnMapping":
        """The mapping a settings dict holds (the app's store, a run's manifest); a mapping
        whose fields have other types (a list where a column name belongs, an unknown key)
        is an InputError, so it never reaches the readers as a traceback."""
        if not isinstance(data, Mapping):
            raise InputError("the column mapping is not a JSON object")
        unknown = sorted(str(k) for k in data if k not in {f.name for f in fields(cls)})
        if unknown:
            raise InputError(f"the column mapping has unknown fields: {', '.join(unknown)[:200]}")
        text_columns = data.get("text_columns")
        if (not isinstance(text_columns, (list, tuple)) or not text_columns
                or not all(isinstance(c, str) for c in text_columns)):
            raise InputError("the column mapping's text_columns must be a non-empty list of column names")
        if not isinstance(data.get("label_column"), str):
            raise InputError("the column mapping's label_column must be a column name")
        if not isinstance(data.get("label_sep", ","), str):
            raise InputError("the column mapping's label_sep must be a string")
        for name in ("split_column", "id_column"):
            if not isinstance(data.get(name), (str, type(None))):
                raise InputError(f"the column mapping's {name} must be a column name or null")
        if data.get("label_format", "auto") not in get_args(LabelFormat):
            raise InputError(f"the column mapping's label_format must be one of {', '.join(get_args(LabelFormat))}")
        return cls(**{**data, "text_columns": tuple(text_columns)})


@dataclass(frozen=True, slots=True)
class Record:
    id: str
    text: str
    labels: tuple[str, ...]
    split: str | None
    raw_label: Any
    cells: tuple[Any, ...] = ()
    """Every input cell of the row, exactly as read, in the file's column order (empty for
    records not read from a file): the export writes the user's own columns from these."""


JOINER = " "
"""What joins several text columns into a record's ``text``: one space, always (an empty
column included), so every column's place in the text follows from the cells alone and a
variant's edits map back to the column they fall in. Augmenters never edit it."""


def is_empty_text(text: str) -> bool:
    """A record's text with nothing to augment (empty, or only whitespace): such rows are
    kept but never augmented, by every runner."""
    return not text.strip()


def segments_of(record: Record, text_indices: Sequence[int]) -> list[tuple[int, int]]:
    """Each text column's [start, end) in ``record.text`` (the joiner lies between), from
    the positions of the text columns in ``record.cells``."""
    out: list[tuple[int, int]] = []
    pos = 0
    for i in text_indices:
        n = len(text_cell(record.cells[i]))
        out.append((pos, pos + n))
        pos += n + len(JOINER)
    return out


def text_cell(value: Any) -> str:
    """A text cell as the text the augmenters see: exactly as read (no strip, no
    normalisation), so change spans refer to the user's own characters; a missing cell
    (None, NaN) is empty."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return value if value.__class__ is str else str(value)


@dataclass(frozen=True)
class Dataset:
    records: list[Record]
    mapping: ColumnMapping
    empty_text_ids: list[str] = field(default_factory=list)
    columns: tuple[str, ...] = ()
    """The input file's columns, in order (what ``Record.cells`` holds)."""

    def with_splits(self, splits: Sequence[str]) -> "Dataset":
        # Record(...) rather than dataclasses.replace: 5x faster on half a million rows
        return replace(self, records=[Record(r.id, r.text, r.labels, s, r.raw_label, r.cells) for r, s in zip(self.records, splits)])

    def text_indices(self) -> list[int]:
        """Positions of the text columns in ``Record.cells``."""
        return [self.columns.index(c) for c in self.mapping.text_columns]

    def segments(self, record: Record) -> list[tuple[int, int]]:
        """Each text column's [start, end) in ``record.text`` (the joiner lies between)."""
        return segments_of(record, self.text_indices())

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


def read_table(source: str | Path | bytes, filename: str | None = None, limits: Limits = NO_LIMITS) -> Table:
    """Read a dataset from a path, or from bytes with the ``filename`` it was uploaded as,
    refused (InputError) once over ``limits``."""
    if isinstance(source, bytes):
        data, name = source, filename or "upload.csv"
    else:
        path = Path(source)
        name = filename or path.name
        format_of(name)  # before reading: say "unsupported" rather than "unreadable"
        data = read_input(path, "file")
    fmt = format_of(name)
    if not data or data.isspace():  # isspace, not strip: no copy of a large upload
        raise InputError(f"{Path(name).name} is empty")
    if fmt == "parquet":
        table = _read_parquet(data, name, limits)
    else:
        limits.check_bytes(len(data), name)  # text never decodes to more characters than bytes
        if fmt == "csv":
            table = _read_csv(data, name, limits)
        else:
            text = _decode(data, name)
            table = {"json": _read_json, "jsonl": _read_jsonl}[fmt](text, name, limits)
    if not table.rows:
        raise InputError(f"{Path(name).name} has a header but no rows")
    return table


def text_encoding(data: bytes) -> tuple[str, int]:
    """(codec, BOM length): a BOM names UTF-8/16/32; without one the file must be UTF-8."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding, len(bom)
    return "utf-8", 0


def binary_error(name: str, where: str) -> InputError:
    return InputError(f"{Path(name).name} is not a text file (it holds binary data: a NUL {where})")


def _decode(data: bytes, name: str) -> str:
    """The whole file as text (JSON, JSONL, and CSV in UTF-16/32)."""
    encoding, skip = text_encoding(data)
    if encoding == "utf-8":
        nul = data.find(b"\x00")
        if nul >= 0:
            raise binary_error(name, f"byte at offset {nul}")
    try:
        text = data[skip:].decode(encoding) if skip else data.decode(encoding)
    except UnicodeDecodeError as exc:
        what = "UTF-8" if encoding == "utf-8" else f"{encoding.upper()} (as its byte-order mark says)"
        raise InputError(f"{Path(name).name} is not {what} text (bad byte at offset {exc.start + skip})") from None
    nul = text.find("\x00")
    if nul >= 0:
        raise binary_error(name, f"character at position {nul}")
    if not text.strip():
        raise InputError(f"{Path(name).name} is empty")
    return text


def _csv_stream(data: bytes, name: str) -> tuple[io.TextIOBase, str]:
    """A text stream over a CSV file's bytes and its first 64 KB decoded (to sniff the
    delimiter). UTF-8 is decoded as it is read, without a decoded copy of the whole file."""
    encoding, skip = text_encoding(data)
    if encoding != "utf-8":
        text = _decode(data, name)
        return io.StringIO(text, newline=""), text[:65536]
    nul = data.find(b"\x00")  # memchr over the bytes: fast, no copy
    if nul >= 0:
        raise binary_error(name, f"byte at offset {nul}")
    head = data[skip : skip + 65536].decode("utf-8", errors="ignore")
    # BytesIO shares the bytes object (no copy until written to)
    stream = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
    return stream, head


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


def _read_csv(data: bytes, name: str, limits: Limits = NO_LIMITS) -> Table:
    columns, rows = _csv_tuples(data, name)
    return Table(columns=columns, rows=TupleRows(columns, list(_counted(rows, limits, name))), fmt="csv")


def _counted(rows: Iterator[tuple[Any, ...]], limits: Limits, name: str) -> Iterator[tuple[Any, ...]]:
    """``rows``, refused at the first row over ``limits.max_rows`` (nothing further read)."""
    if limits.max_rows is None:
        yield from rows
        return
    for n, row in enumerate(rows, start=1):
        if n > limits.max_rows:
            limits.check_rows(n, name)
        yield row


def _csv_tuples(data: bytes, name: str) -> tuple[list[str], Iterator[tuple[str, ...]]]:
    """The header, and the rows as tuples, parsed as they are iterated (errors included)."""
    stream, head = _csv_stream(data, name)
    return csv_stream_tuples(stream, head, name)


def csv_stream_tuples(stream: IO[str] | io.TextIOBase, head: str, name: str) -> tuple[list[str], Iterator[tuple[str, ...]]]:
    """:func:`_csv_tuples` over a text stream (closed when read to the end or on error) and
    its first characters ``head`` (to sniff the delimiter): the streaming runner reads a
    file from disk through it, the in-memory reader from bytes."""
    reader = csv.reader(stream, delimiter=sniff_delimiter(head), strict=True)
    label = Path(name).name

    def fail(exc: Exception) -> InputError:
        if isinstance(exc, UnicodeDecodeError):
            return InputError(f"{label} is not UTF-8 text (bad byte after line {reader.line_num})")
        return InputError(f"{label} is not valid CSV (line {reader.line_num}: {exc})")

    try:
        header = next(reader, None)
    except (csv.Error, UnicodeDecodeError) as exc:
        stream.close()
        raise fail(exc) from None
    if header is None:
        stream.close()
        raise InputError(f"{label} is empty")
    columns = [c.strip() for c in header]
    try:
        _check_header(columns, name)
    except InputError:
        stream.close()
        raise
    width = len(columns)

    def rows() -> Iterator[tuple[str, ...]]:
        try:
            for line_no, cells in enumerate(reader, start=2):
                if len(cells) <= 1 and (not cells or not cells[0].strip()):
                    continue  # a blank line
                if len(cells) != width:
                    raise InputError(f"{label}: row {line_no - 1} has {len(cells)} fields, the header has {width}")
                yield tuple(cells)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise fail(exc) from None
        finally:
            stream.close()

    return columns, rows()


class TableStream:
    """A file's rows, read once as they are parsed, for building records without holding
    the table (a CSV is never in memory as rows; other formats are read whole first).

    The first ``keep`` rows are parsed at once and kept (``rows``, like a Table's, for
    :func:`guess_mapping`); :meth:`tuples` then yields every row once, counting them, and
    :meth:`preview` describes the file after that.
    """

    def __init__(self, data: bytes, name: str, keep: int = 200, limits: Limits = NO_LIMITS) -> None:
        fmt = format_of(name)
        if not data or data.isspace():
            raise InputError(f"{Path(name).name} is empty")
        self.fmt = fmt
        self.name = name
        self.columns: list[str]
        rest: Iterator[tuple[Any, ...]]
        if fmt == "csv":
            limits.check_bytes(len(data), name)
            self.columns, rows = _csv_tuples(data, name)
            rest = _counted(rows, limits, name)
        elif fmt == "parquet":
            self.columns, rest = _parquet_tuples(data, name, limits)
        else:
            table = read_table(data, filename=name, limits=limits)
            self.columns = list(table.columns)
            cols = self.columns
            rest = iter([tuple(r.get(c) for c in cols) for r in table.rows])
        self._head = [t for _, t in zip(range(keep), rest)]
        self._rest = rest
        self._used = False
        self.n_rows: int | None = None
        if not self._head:
            raise InputError(f"{Path(name).name} has a header but no rows")

    @classmethod
    def from_path(cls, path: str | Path) -> "TableStream":
        """A file the user named (its type checked before it is read), or a Hugging Face
        dataset folder (``save_to_disk``; see :mod:`augment_core.data.hf`)."""
        if Path(path).is_dir() and not Path(path).is_symlink() and hf.is_hf_folder(path):
            columns, rows = hf.read_folder(path)
            return cls.from_table(Table(columns=columns, rows=rows, fmt="hf"), Path(path).name)
        format_of(Path(path).name)
        return cls(read_input(path, "file"), Path(path).name)

    @classmethod
    def from_table(cls, table: Table, name: str, keep: int = 200) -> "TableStream":
        """Over rows already read (a Hugging Face folder)."""
        self = cls.__new__(cls)
        self.fmt, self.name, self.columns = table.fmt, name, list(table.columns)
        rest = iter([tuple(r.get(c) for c in self.columns) for r in table.rows])
        self._head = [t for _, t in zip(range(keep), rest)]
        self._rest, self._used, self.n_rows = rest, False, None
        return self

    @property
    def rows(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, t)) for t in self._head]

    def tuples(self) -> Iterator[tuple[Any, ...]]:
        if self._used:
            raise RuntimeError("a TableStream is read once")
        self._used = True
        n = 0
        for t in self._head:
            n += 1
            yield t
        for t in self._rest:
            n += 1
            yield t
        self.n_rows = n

    def preview(self) -> TablePreview:
        """After :meth:`tuples` has run to the end."""
        if self.n_rows is None:
            for _ in self.tuples():
                pass
        return TablePreview(columns=list(self.columns), rows=self.rows, fmt=self.fmt, n_rows=self.n_rows or 0)


def scan(data: bytes, name: str, limits: Limits = NO_LIMITS) -> TablePreview:
    """Check a whole file parses and describe it (columns, first rows, row count), holding
    only the first rows."""
    return TableStream(data, name, limits=limits).preview()


def _check_header(columns: list[str], name: str) -> None:
    if not any(columns):
        raise InputError(f"{Path(name).name}: the header row is empty")
    dupes = sorted({c for c in columns if columns.count(c) > 1})
    if dupes:
        raise InputError(f"{Path(name).name}: duplicate column names: {', '.join(dupes)}")


def _records_table(items: Any, name: str, fmt: str, limits: Limits = NO_LIMITS) -> Table:
    if not isinstance(items, list) or not all(isinstance(r, dict) for r in items):
        raise InputError(f"{Path(name).name}: expected a list of records (JSON objects)")
    limits.check_rows(len(items), name)
    columns: dict[str, None] = {}
    for row in items:
        for key in row:
            columns.setdefault(str(key), None)
    return Table(columns=list(columns), rows=[{str(k): v for k, v in r.items()} for r in items], fmt=fmt)


def _read_json(text: str, name: str, limits: Limits = NO_LIMITS) -> Table:
    try:
        items = json_loads(text, Path(name).name)
    except json.JSONDecodeError as exc:
        raise InputError(f"{Path(name).name} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    return _records_table(items, name, "json", limits)


def _read_jsonl(text: str, name: str, limits: Limits = NO_LIMITS) -> Table:
    items = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        items.append(jsonl_record(line, line_no, name))
        if limits.max_rows is not None and len(items) > limits.max_rows:
            limits.check_rows(len(items), name)
    return _records_table(items, name, "jsonl")


def jsonl_record(line: str, line_no: int, name: str) -> Any:
    """One JSONL line's value; a line that is not JSON, or nests too deep, is one line."""
    try:
        return json_loads(line, f"{Path(name).name}: line {line_no}")
    except json.JSONDecodeError as exc:
        raise InputError(f"{Path(name).name}: line {line_no} is not valid JSON ({exc.msg})") from None


PARQUET_BATCH_ROWS = 20_000
"""Rows turned into Python values at a time (a row group may hold millions)."""


def _read_parquet(data: bytes, name: str, limits: Limits = NO_LIMITS) -> Table:
    columns, rows = _parquet_tuples(data, name, limits)
    return Table(columns=columns, rows=TupleRows(columns, list(rows)), fmt="parquet")


def _parquet_tuples(data: bytes, name: str, limits: Limits) -> tuple[list[str], Iterator[tuple[Any, ...]]]:
    """The columns from the footer (checked against ``limits`` before any data page is
    read), and the rows, read a row group at a time: its text columns as dictionaries
    first, so what they decode to is counted (and refused when over) before it is decoded."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    label = Path(name).name

    def unreadable(exc: Exception) -> InputError:
        return InputError(f"{label} is not a readable Parquet file ({exc})")

    try:
        footer = pq.ParquetFile(pa.BufferReader(data))
        check_parquet(footer.metadata, limits, name)
        schema = footer.schema_arrow
        text = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
                or pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type)]
        pf = pq.ParquetFile(pa.BufferReader(data), read_dictionary=text)
    except (pa.ArrowException, OSError) as exc:
        raise unreadable(exc) from None

    def rows() -> Iterator[tuple[Any, ...]]:
        decoded = 0
        for g in range(pf.num_row_groups):
            try:
                group = pf.read_row_group(g)
            except (pa.ArrowException, OSError) as exc:
                raise unreadable(exc) from None
            decoded += _decoded_bytes(group)
            limits.check_bytes(decoded, name)
            for batch in group.to_batches(max_chunksize=PARQUET_BATCH_ROWS):
                yield from zip(*[c.to_pylist() for c in batch.columns])
            del group

    return list(schema.names), _counted(rows(), limits, name)


def _decoded_bytes(table: Any) -> int:
    """What a row group's columns hold once decoded: a dictionary column's value lengths
    summed over its indices (no value decoded), any other column's Arrow buffers."""
    import pyarrow as pa
    import pyarrow.compute as pc

    total = 0
    for column in table.columns:
        for chunk in column.chunks:
            if isinstance(chunk, pa.DictionaryArray):
                lengths = pc.binary_length(chunk.dictionary)
                total += (pc.sum(pc.take(lengths, chunk.indices)).as_py() or 0) + chunk.indices.nbytes
            else:
                total += chunk.nbytes
    return total


# --- column mapping ----------------------------------------------------------------------


def guess_mapping(table: Table | TablePreview | TableStream) -> ColumnMapping:
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
    if cell is None or (isinstance(cell, float) and not math.isfinite(cell)):  # NaN: no label
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
            parsed = json_loads(text, f"label cell {text[:20]!r}…")
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


def build_dataset(table: Table | TableStream, mapping: ColumnMapping) -> Dataset:
    """The records the mapping describes; InputError when it does not fit the file.

    Works on row tuples (no dict per row), from a Table or as a TableStream parses them,
    and shares equal label tuples between rows, so a large file's records stay small.
    """
    builder = RecordBuilder(table.columns, mapping)
    records = [builder.record(i, row) for i, row in enumerate(_row_tuples(table))]
    builder.finish()
    return Dataset(records=records, mapping=mapping, empty_text_ids=builder.empty, columns=tuple(table.columns))


def check_mapping(columns: Sequence[str], mapping: ColumnMapping) -> None:
    """The mapping fits the file's columns (one line naming what does not)."""
    needed = [*mapping.text_columns, mapping.label_column]
    needed += [c for c in (mapping.split_column, mapping.id_column) if c]
    missing = [c for c in dict.fromkeys(needed) if c not in columns]
    if missing:
        raise InputError(
            f"column{'s' if len(missing) > 1 else ''} not found: {', '.join(missing)} "
            f"(the file has: {', '.join(columns)})"
        )
    if not mapping.text_columns:
        raise InputError("choose at least one text column")
    if mapping.label_column in mapping.text_columns:
        raise InputError(
            f"the label column {mapping.label_column!r} is also a text column: choose a label column "
            "that holds the tags and text columns that hold the text"
        )
    if mapping.split_column and mapping.split_column in (mapping.label_column, *mapping.text_columns):
        raise InputError(f"the split column {mapping.split_column!r} is also the label or a text column")


class RecordBuilder:
    """Row tuples -> records, one row at a time, so that the in-memory reader and the
    streaming runners (:mod:`augment_core.runners.local`) build every record the same way.

    ``check_ids``: refuse empty and repeated ids (a set of every id is kept); a later pass
    over a file already checked turns it off. :meth:`finish` raises for bad split values.
    """

    def __init__(self, columns: Sequence[str], mapping: ColumnMapping, check_ids: bool = True) -> None:
        check_mapping(columns, mapping)
        cols = list(columns)
        self.mapping = mapping
        self._id_i = cols.index(mapping.id_column) if mapping.id_column else None
        self._text_is = [cols.index(c) for c in mapping.text_columns]
        self.text_indices = list(self._text_is)
        """Positions of the text columns in a row (and in ``Record.cells``)."""
        self._label_i = cols.index(mapping.label_column)
        self._split_i = cols.index(mapping.split_column) if mapping.split_column else None
        self._parsed: dict[str, tuple[str, ...]] = {}  # label cell -> labels: parsed once, shared
        self._canon: dict[str, str] = {}  # one string object per distinct label
        self._seen: set[str] | None = set() if check_ids else None
        self.bad_splits: dict[str, int] = {}
        self.empty: list[str] = []

    def labels_of(self, raw: Any) -> tuple[str, ...]:
        m, canon = self.mapping, self._canon
        if raw.__class__ is str:
            hit = self._parsed.get(raw)
            if hit is None:
                hit = self._parsed[raw] = tuple(canon.setdefault(x, x) for x in parse_labels(raw, m.label_format, m.label_sep))
            return hit
        return tuple(canon.setdefault(x, x) for x in parse_labels(raw, m.label_format, m.label_sep))

    def key(self, i: int, row: Sequence[Any]) -> tuple[str, tuple[str, ...], str | None]:
        """(id, labels, split) of row ``i`` (0-based, in file order: the default id is
        ``i + 1``), checked: what splitting needs, without the text."""
        id_i = self._id_i
        rid = _cell_text(row[id_i]) if id_i is not None else str(i + 1)
        if self._seen is not None:
            if not rid:
                raise InputError(f"row {i + 1}: the id column {self.mapping.id_column!r} is empty")
            if rid in self._seen:
                raise InputError(f"id {rid!r} appears more than once in column {self.mapping.id_column!r}")
            self._seen.add(rid)
        split = None
        if self._split_i is not None:
            raw_split = row[self._split_i]
            split = normalize_split(raw_split)
            if split is None:
                key = _cell_text(raw_split) or "(empty)"
                self.bad_splits[key] = self.bad_splits.get(key, 0) + 1
        return rid, self.labels_of(row[self._label_i]), split

    def record(self, i: int, row: Sequence[Any], split: str | None = None) -> Record:
        """Row ``i`` as a record; ``split``, when given, stands in for the split column (a
        split assigned by an earlier pass)."""
        if split is None:
            rid, labels, split = self.key(i, row)
        else:
            id_i = self._id_i
            rid = _cell_text(row[id_i]) if id_i is not None else str(i + 1)
            labels = self.labels_of(row[self._label_i])
        text = self.text_of(row)
        if is_empty_text(text):
            self.empty.append(rid)
        return Record(rid, text, labels, split, row[self._label_i], tuple(row))

    def text_of(self, row: Sequence[Any]) -> str:
        """The row's text: its text cells joined, exactly as read (matching and models may
        normalise a copy, never the text itself)."""
        text_is = self._text_is
        if len(text_is) == 1:
            return text_cell(row[text_is[0]])
        cells = [row[j] for j in text_is]
        try:  # strings (every cell of a CSV) are their own text: joined as they are
            return JOINER.join(cells)
        except TypeError:  # a missing or non-string cell
            return JOINER.join([text_cell(c) for c in cells])

    def finish(self) -> None:
        if self.bad_splits:
            shown = ", ".join(f"{k!r} ({n} rows)" for k, n in list(self.bad_splits.items())[:5])
            raise InputError(
                f"split column {self.mapping.split_column!r} has values that are not train/val/test: {shown}"
            )


def _row_tuples(table: Table | TableStream) -> Iterator[tuple[Any, ...]]:
    if isinstance(table, TableStream):
        return table.tuples()
    if isinstance(table.rows, TupleRows):
        return iter(table.rows.cells)
    cols = list(table.columns)
    return (tuple(r.get(c) for c in cols) for r in table.rows)


def _cell_text(value: Any) -> str:
    if value.__class__ is str:  # every cell of a CSV
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN from Parquet/JSON
        return ""
    return str(value).strip()
