"""Writing provenance rows as CSV, JSONL or Parquet.

Files are written to a temporary file beside the target and renamed into place, so a
failed run never leaves a half-written or stale output behind.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Sequence

from augment_core.errors import InputError

OUTPUT_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}


def read_input(path: str | os.PathLike[str], what: str) -> bytes:
    """A file the user named, as bytes; a missing or unreadable one is one line saying so."""
    path = Path(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{what} not found: {path}") from None
    except IsADirectoryError:
        raise InputError(f"{what} {path} is a directory, not a file") from None
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror}") from None


def output_format(path: str | os.PathLike[str]) -> str:
    ext = Path(path).suffix.lower()
    if ext not in OUTPUT_FORMATS:
        raise InputError(f"cannot write {ext or 'a file without extension'}: the output must end in .csv, .jsonl or .parquet")
    return OUTPUT_FORMATS[ext]


def columns_of(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> list[str]:
    if columns is not None:
        return list(columns)
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(key, None)
    return list(seen)


def rows_to_bytes(rows: Sequence[dict[str, Any]], fmt: str, columns: Sequence[str] | None = None) -> bytes:
    cols = columns_of(rows, columns)
    if fmt == "csv":
        buf = io.StringIO(newline="")
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(cols)
        for row in rows:
            writer.writerow([_csv_cell(row.get(c)) for c in cols])
        return buf.getvalue().encode("utf-8")
    if fmt == "jsonl":
        return "".join(
            json.dumps({c: row.get(c) for c in cols}, ensure_ascii=False) + "\n" for row in rows
        ).encode("utf-8")
    if fmt == "parquet":
        return _parquet_bytes(rows, cols)
    raise ValueError(f"unknown format {fmt!r}")


def write_rows(rows: Sequence[dict[str, Any]], path: str | os.PathLike[str], columns: Sequence[str] | None = None) -> None:
    target = Path(path)
    data = rows_to_bytes(rows, output_format(target), columns)
    directory = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise InputError(f"cannot write {target}: it is a directory")
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
    except FileNotFoundError:
        raise InputError(f"cannot write {target}: the folder {directory} does not exist") from None
    except OSError as exc:
        raise InputError(f"cannot write {target}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise InputError(f"cannot write {target}: {exc.strerror}") from None


def _csv_cell(value: Any) -> Any:
    if value.__class__ is str:
        return value
    if value is None:
        return ""
    if isinstance(value, (list, dict, tuple)):
        return json.dumps(value, ensure_ascii=False)
    if hasattr(value, "tolist"):
        return json.dumps(value.tolist(), ensure_ascii=False)
    return value


def _parquet_bytes(rows: Sequence[dict[str, Any]], cols: list[str]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = {}
    for c in cols:
        values = [row.get(c) for row in rows]
        kinds = {type(v) for v in values if v is not None}
        if len(kinds) > 1:  # mixed cells (a list here, a string there): keep them as JSON text
            values = [None if v is None else v if isinstance(v, str) else json.dumps(v) for v in values]
        data[c] = values
    buf = io.BytesIO()
    pq.write_table(pa.table(data), buf)
    return buf.getvalue()
