"""One reader interface: a table's columns, and its rows in chunks of tuples.

Every runner and the run import read through a :class:`RowSource`: the local runner and
``import-run`` through :class:`FileSource` (a file on disk, read again on every pass),
the Ray runner through its own (:class:`augment_core.runners.ray.RaySource`, Ray Data's
batches). The passes over a table (:func:`augment_core.runners.core.scan_keys`, the
augment pass) take any of them. Rows are tuples in ``columns`` order, cells as the file
gave them (what :class:`augment_core.data.dataset.RecordBuilder` turns into records).
"""

from __future__ import annotations

import io
from itertools import chain, islice
from pathlib import Path
from typing import IO, Any, Iterator, Protocol

from augment_core.data import hf
from augment_core.data.dataset import (
    TableStream,
    binary_error,
    csv_stream_tuples,
    format_of,
    jsonl_record,
    read_table,
    text_encoding,
)
from augment_core.data.io import open_input
from augment_core.errors import InputError

DEFAULT_CHUNK_ROWS = 20_000
"""Input rows per chunk: with 5 variants each, about 120,000 output rows (~100 MB) in flight."""
Chunk = list[tuple[Any, ...]]


class RowSource(Protocol):
    """A table read in chunks: its name (for messages), its columns, and its rows, every
    call to :meth:`chunks` a new pass from the first row."""

    name: str
    columns: list[str]

    def chunks(self) -> Iterator[Chunk]: ...


class FileSource:
    """A file's columns and its rows in chunks of tuples, read again from disk on every
    :meth:`chunks` call (CSV and JSONL line by line, Parquet by record batch; a ``.json``
    list of records has no streaming form and is read whole)."""

    def __init__(self, path: str | Path, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> None:
        self.path = Path(path)
        self.name = self.path.name
        refuse_hf_folder(self.path, "stream")
        self.fmt = format_of(self.name)
        self.chunk_rows = chunk_rows
        self.columns: list[str] = []
        if self.fmt == "csv":
            self.columns, rows = self._csv()
            del rows  # opened to check the header and the first row; closed when collected
        elif self.fmt == "parquet":
            self.columns = list(self._parquet().schema_arrow.names)
        else:  # json(l): the columns are every key seen, in order, so one pass first
            seen: dict[str, None] = {}
            for chunk in self._records():
                for rec in chunk:
                    for key in rec:
                        seen.setdefault(str(key), None)
            self.columns = list(seen)

    def chunks(self) -> Iterator[Chunk]:
        if self.fmt == "csv":
            yield from _batched(self._csv()[1], self.chunk_rows)
        elif self.fmt == "parquet":
            pf = self._parquet()
            for batch in pf.iter_batches(batch_size=self.chunk_rows):
                cols = [batch.column(c).to_pylist() for c in self.columns]
                yield list(zip(*cols))
        else:
            cols = self.columns
            for recs in self._records():
                yield [tuple(r.get(c) for c in cols) for r in recs]

    def _csv(self) -> tuple[list[str], Iterator[tuple[str, ...]]]:
        fh = open_input(self.path, "file")
        start = fh.read(4)
        if not start.strip():
            rest = fh.read(1 << 16)
            if not (start + rest).strip():
                fh.close()
                raise InputError(f"{self.name} is empty")
        fh.seek(0)
        encoding, skip = text_encoding(start)
        if encoding != "utf-8":  # UTF-16/32 (spreadsheets' "Unicode text"): decoded whole, as in memory
            data = fh.read()
            fh.close()
            table = TableStream(data, self.name, keep=1)
            return table.columns, table.tuples()
        head = fh.read(skip + 65536)[skip:].decode("utf-8", errors="ignore")
        fh.seek(0)
        text = io.TextIOWrapper(io.BufferedReader(_NulGuard(fh, self.name)), encoding="utf-8-sig", newline="")
        columns, rows = csv_stream_tuples(text, head, self.name)
        first = next(rows, None)
        if first is None:
            raise InputError(f"{self.name} has a header but no rows")

        return columns, chain([first], rows)

    def _parquet(self) -> Any:
        import pyarrow as pa
        import pyarrow.parquet as pq

        fh = open_input(self.path, "file")
        try:
            return pq.ParquetFile(fh)
        except (pa.ArrowException, OSError) as exc:
            fh.close()
            raise InputError(f"{self.name} is not a readable Parquet file ({exc})") from None

    def _records(self) -> Iterator[list[dict[str, Any]]]:
        if self.fmt == "json":
            rows = list(read_table(self.path).rows)
            for i in range(0, len(rows), self.chunk_rows):
                yield rows[i : i + self.chunk_rows]
            return
        fh = open_input(self.path, "file")
        text = io.TextIOWrapper(io.BufferedReader(_NulGuard(fh, self.name)), encoding="utf-8-sig", newline=None)
        chunk: list[dict[str, Any]] = []
        any_rows = False
        try:
            for line_no, line in enumerate(text, start=1):
                if not line.strip():
                    continue
                rec = jsonl_record(line, line_no, self.name)
                if not isinstance(rec, dict):
                    raise InputError(f"{self.name}: expected a list of records (JSON objects)")
                chunk.append({str(k): v for k, v in rec.items()})
                any_rows = True
                if len(chunk) >= self.chunk_rows:
                    yield chunk
                    chunk = []
        except UnicodeDecodeError:
            raise InputError(f"{self.name} is not UTF-8 text") from None
        finally:
            text.close()
        if chunk:
            yield chunk
        if not any_rows:
            raise InputError(f"{self.name} is empty")


def refuse_hf_folder(path: Path, runner: str) -> None:
    """A Hugging Face dataset folder is read whole (``load_from_disk``): ``--runner local`` only."""
    if path.is_dir() and not path.is_symlink() and hf.is_hf_folder(path):
        raise InputError(f"--runner {runner} reads CSV, JSONL or Parquet files; the Hugging Face folder {path.name} "
                             "is read by --runner local only")


class _NulGuard(io.RawIOBase):
    """A raw reader that refuses a NUL byte anywhere (as the in-memory reader does), as it
    reads, naming its offset."""

    def __init__(self, fh: IO[bytes], name: str) -> None:
        self._fh = fh
        self._name = name
        self._offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        data = self._fh.read(len(buf))
        nul = data.find(b"\x00")
        if nul >= 0:
            raise binary_error(self._name, f"byte at offset {self._offset + nul}")
        n = len(data)
        buf[:n] = data
        self._offset += n
        return n

    def close(self) -> None:
        self._fh.close()
        super().close()


def _batched(rows: Iterator[tuple[Any, ...]], n: int) -> Iterator[Chunk]:
    while chunk := list(islice(rows, n)):  # no Python step per row: a run reads millions of rows twice
        yield chunk

