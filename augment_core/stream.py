"""Streaming runs: augment a file of any size in constant memory (``--runner stream``).

The in-memory run holds every record, every output row and the whole output file; at a
million rows that is several gigabytes. A streamed run reads the input three times, in
chunks of ``chunk_rows`` rows, and never holds more than a chunk of texts:

1. **keys**: ids and label sets only (ids are checked as the in-memory reader checks
   them), the split computed from them exactly as :func:`augment_core.splitting.assign_splits`
   does, and the Arrow type of the label column (so every Parquet row group has one schema);
2. **fit**: the train texts and labels, for the attested forms and keyword agreement
   (:func:`augment_core.agreement.fit_to_train`, as one pass that keeps per row only the
   set of keywords found);
3. **augment**: each chunk's records go through :func:`augment_core.pipeline.augment_records`,
   the function the in-memory run uses, and are written at once (a Parquet row group, or
   CSV/JSONL lines appended).

Rows are independent (per-row seeding) and are written in input order, so CSV and JSONL
output is byte-identical to the in-memory run's, and Parquet holds the same table (the
same bytes when the input fits one chunk). Quality signals need every text at once (near
duplicates, leaks into val/test), so a streamed run refuses them: ``--no-quality``.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Sequence

from augment_core.agreement import TrainKeywords, key_agreement, member_agreement
from augment_core.aliases import AliasTable
from augment_core.augmenter import Augmenter
from augment_core.dataset import (
    SPLITS, ColumnMapping, RecordBuilder, Record, TableStream, _binary, _encoding, check_mapping, csv_stream_tuples,
    format_of,
)
from augment_core.errors import InputError
from augment_core.io import arrow_column, open_input, write_rows_to
from augment_core.pipeline import augment_records, check_run, output_columns
from augment_core.splitting import check_ratios, iterative_stratify

DEFAULT_CHUNK_ROWS = 20_000
"""Input rows per chunk: with 5 variants each, about 120,000 output rows (~100 MB) in flight."""
QUALITY_REFUSED = (
    "--runner stream cannot score quality (near duplicates and leaks into val/test need every text at once): "
    "add --no-quality, or use --runner local"
)

Chunk = list[tuple[Any, ...]]


class ChunkSource:
    """A file's columns and its rows in chunks of tuples, read again from disk on every
    :meth:`chunks` call (CSV and JSONL line by line, Parquet by record batch; a ``.json``
    list of records has no streaming form and is read whole)."""

    def __init__(self, path: str | Path, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> None:
        self.path = Path(path)
        self.name = self.path.name
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
        encoding, skip = _encoding(start)
        if encoding != "utf-8":  # UTF-16/32 (spreadsheets' "Unicode text"): decoded whole, as in memory
            data = fh.read()
            fh.close()
            table = TableStream(data, self.name, keep=0)
            return table.columns, table.tuples()
        head = fh.read(skip + 65536)[skip:].decode("utf-8", errors="ignore")
        fh.seek(0)
        text = io.TextIOWrapper(io.BufferedReader(_NulGuard(fh, self.name)), encoding="utf-8-sig", newline="")  # type: ignore[arg-type]
        columns, rows = csv_stream_tuples(text, head, self.name)
        first = next(rows, None)
        if first is None:
            raise InputError(f"{self.name} has a header but no rows")

        def all_rows() -> Iterator[tuple[str, ...]]:
            yield first
            yield from rows

        gen = all_rows()
        return columns, gen

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
            from augment_core.dataset import read_table

            rows = list(read_table(self.path).rows)
            for i in range(0, len(rows), self.chunk_rows):
                yield rows[i : i + self.chunk_rows]
            return
        fh = open_input(self.path, "file")
        text = io.TextIOWrapper(io.BufferedReader(_NulGuard(fh, self.name)), encoding="utf-8-sig", newline=None)  # type: ignore[arg-type]
        chunk: list[dict[str, Any]] = []
        any_rows = False
        try:
            for line_no, line in enumerate(text, start=1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(f"{self.name}: line {line_no} is not valid JSON ({exc.msg})") from None
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
            raise _binary(self._name, f"byte at offset {self._offset + nul}")
        n = len(data)
        buf[:n] = data
        self._offset += n
        return n

    def close(self) -> None:
        self._fh.close()
        super().close()


def _batched(rows: Iterator[tuple[Any, ...]], n: int) -> Iterator[Chunk]:
    chunk: Chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= n:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@dataclass
class Keys:
    """Pass 1: what the split and the checks need, and nothing of the texts."""

    ids: list[str]
    splits: list[str]
    empty: set[str]
    label_type: Any = None
    """The Arrow type every Parquet row group gives the label column."""
    train: int = 0
    counts: Counter[str] = field(default_factory=Counter)


def scan_keys(source: ChunkSource, mapping: ColumnMapping, ratios: Sequence[float], seed: int,
              want_arrow: bool = False) -> Keys:
    """Ids (checked), splits (given, or the seeded stratified split of the rest, as in memory)."""
    ratios = check_ratios(ratios)
    check_mapping(source.columns, mapping)
    builder = RecordBuilder(source.columns, mapping)
    ids: list[str] = []
    labels: list[tuple[str, ...]] = []
    given: list[str | None] = []
    types: list[Any] = []
    label_i = source.columns.index(mapping.label_column)
    i = 0
    for chunk in source.chunks():
        for row in chunk:
            rec = builder.record(i, row)
            i += 1
            ids.append(rec.id)
            labels.append(rec.labels)
            given.append(rec.split)
        if want_arrow:
            types.append(arrow_column([row[label_i] for row in chunk]).type)
    builder.finish()
    todo = [k for k, s in enumerate(given) if not s]
    if todo:
        chosen = iterative_stratify([labels[k] for k in todo], ratios, seed)
        for k, c in zip(todo, chosen):
            given[k] = SPLITS[c]
    splits: list[str] = given  # type: ignore[assignment]
    keys = Keys(ids, splits, set(builder.empty), _label_type(types) if want_arrow else None)
    keys.counts = Counter(splits)
    return keys


def _label_type(types: list[Any]) -> Any:
    """One type for every chunk's label cells: the chunks' common type, Arrow's unification
    of list types (``list<null>`` of empty lists beside ``list<string>``), else JSON text."""
    import pyarrow as pa

    known = [t for t in types if not pa.types.is_null(t)]
    if not known:
        return pa.null()
    if all(t == known[0] for t in known):
        return known[0]
    try:
        unified = pa.unify_schemas([pa.schema([("x", t)]) for t in known], promote_options="permissive").field("x").type
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return pa.string()
    return unified if all(pa.types.is_list(t) for t in known) else pa.string()


def fit_streamed(tags: AliasTable, records: Iterator[Record]) -> TrainKeywords:
    """:func:`augment_core.agreement.fit_to_train` over train records given one by one:
    each row's keyword keys are kept (shared tuples), not its text."""
    keyed: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    shared: dict[tuple[str, ...], tuple[str, ...]] = {}

    def matches() -> Iterator[Any]:
        for r in records:
            found = tags.find(r.text)
            keys = tuple(m.key for m in found)
            keyed.append((shared.setdefault(keys, keys), r.labels))
            yield found

    fitted = tags.attested_by(matches())
    by_member = member_agreement(fitted, [[_Key(k) for k in ks] for ks, _ in keyed], [lb for _, lb in keyed])  # type: ignore[misc]
    return TrainKeywords(fitted, by_member, key_agreement(by_member, fitted))


@dataclass(frozen=True, slots=True)
class _Key:
    """What :func:`member_agreement` reads of a match: its key."""

    key: str


def records_of(source: ChunkSource, mapping: ColumnMapping, keys: Keys) -> Iterator[list[Record]]:
    """The records of each chunk, with their splits from pass 1."""
    builder = RecordBuilder(source.columns, mapping, check_ids=False)
    i = 0
    splits = keys.splits
    for chunk in source.chunks():
        out = []
        for row in chunk:
            out.append(builder.record(i, row, splits[i]))
            i += 1
        yield out


class ChunkWriter:
    """Writes chunks of output rows as they come: CSV with one header, JSONL appended,
    Parquet one row group per chunk under one schema."""

    def __init__(self, fh: IO[bytes], fmt: str, columns: list[str], label_column: str, label_type: Any,
                 formula_guard: bool = False, name: str = "the output") -> None:
        self.fh, self.fmt, self.columns, self.name = fh, fmt, columns, name
        self.formula_guard = formula_guard
        self.guarded = 0
        self.rows = 0
        self.generated = 0
        self._first = True
        self._writer: Any = None
        if fmt == "parquet":
            import pyarrow as pa

            self._schema = pa.schema([(c, label_type if c == label_column else pa.string()) for c in columns])

    def write(self, rows: list[dict[str, Any]]) -> None:
        self.rows += len(rows)
        self.generated += sum(1 for r in rows if r["augmenter"] != "original")
        if self.fmt != "parquet":
            self.guarded += write_rows_to(rows, self.fh, self.fmt, self.columns, formula_guard=self.formula_guard,
                                          name=self.name, header=self._first)
            self._first = False
            return
        if not rows:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        arrays = []
        for f in self._schema:
            col = arrow_column([r.get(f.name) for r in rows], None if pa.types.is_string(f.type) else f.type)
            if col.type != f.type:
                col = arrow_column([r.get(f.name) for r in rows], pa.string()) if pa.types.is_string(f.type) else col.cast(f.type)
            arrays.append(col)
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.fh, self._schema)
        try:
            self._writer.write_table(pa.Table.from_arrays(arrays, schema=self._schema))
        except OSError as exc:
            raise InputError(f"cannot write {self.name}: {exc.strerror or exc}") from None

    def close(self) -> None:
        if self.fmt == "parquet":
            if self._writer is None:  # no rows at all: what the in-memory run writes for none
                import pyarrow as pa

                import pyarrow.parquet as pq

                self._writer = pq.ParquetWriter(self.fh, self._schema)
                self._writer.write_table(pa.Table.from_pylist([], schema=self._schema))
            self._writer.close()
        elif self._first:
            self.write([])


@dataclass
class StreamResult:
    rows: int
    generated: int
    guarded: int
    empty_text_ids: list[str]


def run_streamed(
    source: ChunkSource, mapping: ColumnMapping, ratios: Sequence[float], seed: int, tags: AliasTable,
    names: Sequence[str], build: Callable[[TrainKeywords], list[Augmenter]], out: IO[bytes], fmt: str, *, n_per_original: int,
    keep_original: bool, formula_guard: bool = False, name: str = "the output",
    progress: Callable[[str, int, int], None] | None = None,
) -> StreamResult:
    """The three passes (see the module's docstring), writing to ``out`` as it goes."""
    keys = scan_keys(source, mapping, ratios, seed, want_arrow=fmt == "parquet")
    check_run(keys.ids, names, mapping.label_column, n_per_original)
    train = (r for chunk in records_of(source, mapping, keys) for r in chunk if r.split == "train")
    keywords = fit_streamed(tags, train)
    augmenters = build(keywords)
    loaders = [a for a in augmenters if hasattr(a, "load")]
    for k, a in enumerate(loaders, 1):
        a.load()  # type: ignore[attr-defined]
        if progress is not None:
            progress("model", k, len(loaders))
    empty = keys.empty
    total = sum(1 for i, s in zip(keys.ids, keys.splits) if s == "train" and i not in empty) * len(augmenters)
    empty_ids = [i for i in keys.ids if i in empty]
    keys.ids = []  # the largest thing held, not needed past here
    done = 0

    def step(k: int) -> None:
        nonlocal done
        done += k
        if progress is not None:
            progress("generate", done, total)

    writer = ChunkWriter(out, fmt, output_columns(mapping.label_column), mapping.label_column, keys.label_type,
                         formula_guard, name)
    for records in records_of(source, mapping, keys):
        writer.write(augment_records(records, augmenters, mapping.label_column, n_per_original, keep_original,
                                     seed, empty, step))
    writer.close()
    return StreamResult(writer.rows, writer.generated, writer.guarded, empty_ids)


def stream_cli(args: Any, names: list[str], ratios: tuple[float, float, float]) -> int:
    """``augment --runner stream``: the CLI's in-memory path, chunk by chunk (same checks,
    same atomic output, same closing line)."""
    import sys
    import time

    from augment_core.cli import augmenter_settings, column_mapping, load_tags, progress_bars
    from augment_core.io import open_output, output_format
    from augment_core.registry import build_augmenters

    if not args.no_quality:
        raise InputError(QUALITY_REFUSED)
    fmt = output_format(args.output)
    inputs = [("input", args.input), ("tags file", args.tags)]
    settings = augmenter_settings(args)
    started = time.perf_counter()
    with open_output(args.output, inputs) as out:
        source = ChunkSource(args.input, args.chunk_rows)
        tags = load_tags(args.tags)
        with progress_bars() as progress:
            result = run_streamed(
                source, column_mapping(args), ratios, args.seed, tags,
                names, lambda kw: build_augmenters(names, settings, kw), out, fmt,
                n_per_original=args.n_per_original, keep_original=args.keep_original,
                formula_guard=args.csv_formula_guard, name=args.output, progress=progress,
            )
    if result.empty_text_ids:
        ids = result.empty_text_ids
        shown = ", ".join(ids[:10]) + (" ..." if len(ids) > 10 else "")
        print(f"warning: {len(ids)} rows have empty text and are not augmented (ids: {shown})", file=sys.stderr)
    guard_note = f"; the formula guard prefixed {result.guarded} cells with '" if args.csv_formula_guard else ""
    print(f"wrote {result.rows} rows ({result.generated} generated) to {args.output} in "
          f"{time.perf_counter() - started:.1f}s{guard_note}", file=sys.stderr)
    return 0
