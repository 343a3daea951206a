"""Streaming runs: augment a file of any size in constant memory (``--runner stream``).

The in-memory run holds every record, every output row and the whole output file; at a
million rows that is several gigabytes. A streamed run reads the input twice, in chunks
of ``chunk_rows`` rows, and never holds more than a chunk of texts:

1. **keys**: ids and label sets (ids are checked as the in-memory reader checks them), the
   split computed from them exactly as :func:`augment_core.splitting.assign_splits` does,
   the Arrow type of every column (so every Parquet row group has one schema), and each
   row's keyword signature (the (key, spelling) of every keyword found, interned: rows
   share a few thousand of them), from which :func:`fit_keys` makes the train split's fit
   (:func:`augment_core.agreement.fit_to_train`'s attested forms and keyword agreement)
   with no pass of its own;
2. **augment**: each chunk's records go through :func:`augment_core.pipeline.plan_rows`,
   the code the in-memory run uses, and are written at once in the user's schema (as in
   memory: every input column, text per column, provenance beside): a Parquet row group
   built column by column (:func:`arrow_chunk`), or CSV/JSONL lines appended.

Rows are independent (per-row seeding) and are written in input order, so CSV and JSONL
output is byte-identical to the in-memory run's, and Parquet holds the same table (the
same bytes when the input fits one chunk). Quality signals need the whole run for two of
them (near duplicates, leaks into val/test): with quality on, pass 2 spills its rows and
a third pass scores them (:func:`_scored_chunks`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Sequence

from augment_core.agreement import TrainKeywords, key_agreement, member_agreement
from augment_core.aliases import AliasTable
from augment_core.dataset import (
    SPLITS,
    ColumnMapping,
    Dataset,
    Record,
    RecordBuilder,
    TableStream,
    _binary,
    _encoding,
    csv_stream_tuples,
    format_of,
    is_empty_text,
    jsonl_record,
)
from augment_core.errors import InputError
from augment_core.io import arrow_column, open_input, write_failures, write_rows_to
from augment_core.pipeline import PlannedRow, augment_records, check_run, output_columns, plan_rows
from augment_core.splitting import check_ratios, iterative_stratify
from augment_core.user_schema import OutputSchema, output_schema, provenance_of, user_rows

DEFAULT_CHUNK_ROWS = 20_000
"""Input rows per chunk: with 5 variants each, about 120,000 output rows (~100 MB) in flight."""
Chunk = list[tuple[Any, ...]]


class ChunkSource:
    """A file's columns and its rows in chunks of tuples, read again from disk on every
    :meth:`chunks` call (CSV and JSONL line by line, Parquet by record batch; a ``.json``
    list of records has no streaming form and is read whole)."""

    def __init__(self, path: str | Path, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> None:
        self.path = Path(path)
        self.name = self.path.name
        _refuse_hf_folder(self.path, "stream")
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
            table = TableStream(data, self.name, keep=1)
            return table.columns, table.tuples()
        head = fh.read(skip + 65536)[skip:].decode("utf-8", errors="ignore")
        fh.seek(0)
        text = io.TextIOWrapper(io.BufferedReader(_NulGuard(fh, self.name)), encoding="utf-8-sig", newline="")
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


def _refuse_hf_folder(path: Path, runner: str) -> None:
    """A Hugging Face dataset folder is read whole (``load_from_disk``): ``--runner local`` only."""
    if path.is_dir() and not path.is_symlink():
        from augment_core import hf

        if hf.is_hf_folder(path):
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
    """Pass 1: what the split, the checks and the fit need, and nothing of the texts."""

    ids: list[str]
    splits: list[str]
    types: dict[str, Any] | None = None
    """The Arrow type every Parquet row group gives each input column (the label column's
    included), unified over the chunks."""
    labels: list[tuple[str, ...]] = field(default_factory=list)
    signatures: list[tuple[tuple[str, str], ...]] = field(default_factory=list)
    """Each distinct keyword signature (the (key, surface) of every match, in order)."""
    row_signature: Any = None
    """Per row, its signature's index (an ``array('i')``); with ``tags`` only."""
    empty_rows: list[int] = field(default_factory=list)
    """Rows whose text is empty (never augmented)."""


def scan_keys(source: ChunkSource, mapping: ColumnMapping, ratios: Sequence[float], seed: int,
              want_arrow: bool = False, tags: AliasTable | None = None) -> Keys:
    """Ids (checked), splits (given, or the seeded stratified split of the rest, as in memory).
    With ``tags``, also each row's keyword signature (what the fit needs of its text), so
    the fit needs no pass of its own (:func:`fit_keys`)."""
    from array import array

    ratios = check_ratios(ratios)
    builder = RecordBuilder(source.columns, mapping)
    ids: list[str] = []
    labels: list[tuple[str, ...]] = []
    given: list[str | None] = []
    types: list[Any] = []
    ncols = len(source.columns)
    key = builder.key
    text_of = builder.text_of
    sig_index: dict[tuple[tuple[str, str], ...], int] = {}
    row_sig = array("i")
    empty_rows: list[int] = []
    find = tags.find if tags is not None else None
    i = 0
    for chunk in source.chunks():
        for row in chunk:
            rid, labs, split = key(i, row)
            if find is not None:
                text = text_of(row)
                if is_empty_text(text):
                    empty_rows.append(i)
                sig = tuple([(m.key, m.surface) for m in find(text)])
                n = sig_index.get(sig)
                if n is None:
                    n = sig_index[sig] = len(sig_index)
                row_sig.append(n)
            i += 1
            ids.append(rid)
            labels.append(labs)
            given.append(split)
        if want_arrow:
            types.append([arrow_column([row[j] for row in chunk]).type for j in range(ncols)])
    builder.finish()
    todo = [k for k, s in enumerate(given) if not s]
    if todo:
        chosen = iterative_stratify([labels[k] for k in todo], ratios, seed)
        for k, c in zip(todo, chosen):
            given[k] = SPLITS[c]
    splits: list[str] = given  # type: ignore[assignment]
    column_types = None
    if want_arrow:
        column_types = {c: _column_type([t[j] for t in types]) for j, c in enumerate(source.columns)}
    if find is None:
        return Keys(ids, splits, column_types)
    return Keys(ids, splits, column_types, labels, list(sig_index), row_sig, empty_rows)


def fit_keys(tags: AliasTable, keys: Keys) -> tuple[TrainKeywords, int]:
    """:func:`augment_core.agreement.fit_to_train` from pass 1's signatures of the train
    rows: the same fit (spellings counted in the order the train rows first use them, so
    ties go the same way), from one count per distinct (signature, labels). Also counts the
    train rows with text (the run's progress total)."""
    from collections import Counter

    pairs: dict[tuple[int, tuple[str, ...]], int] = {}
    train = 0
    for sig, labs, split in zip(keys.row_signature, keys.labels, keys.splits):
        if split == "train":
            pairs[(sig, labs)] = pairs.get((sig, labs), 0) + 1
            train += 1
    with_text = train - sum(1 for i in keys.empty_rows if keys.splits[i] == "train")
    per_sig: dict[int, int] = {}
    for (sig, _labs), n in pairs.items():  # signatures in the order of their first train row
        per_sig[sig] = per_sig.get(sig, 0) + n
    surfaces: dict[str, Counter[str]] = {}
    for sig, n in per_sig.items():
        for k, surface in keys.signatures[sig]:
            surfaces.setdefault(k, Counter())[surface] += n
    fitted = tags.attested_as(surfaces)
    matched = [[_Key(k) for k, _ in keys.signatures[sig]] for sig, _ in pairs]
    by_member = member_agreement(fitted, matched, [lb for _, lb in pairs], list(pairs.values()))  # type: ignore[arg-type]
    return TrainKeywords(fitted, by_member, key_agreement(by_member, fitted)), with_text


def _column_type(types: list[Any]) -> Any:
    """One type for every chunk's cells of a column: the chunks' common type, Arrow's unification
    of list types (``list<null>`` of empty lists beside ``list<string>``), else JSON text."""
    import pyarrow as pa

    known = [t for t in types if not pa.types.is_null(t)]
    if not known:
        return pa.null()
    if all(t == known[0] for t in known):
        return known[0]
    if not all(pa.types.is_list(t) for t in known):
        return pa.string()
    try:
        return pa.unify_schemas([pa.schema([("x", t)]) for t in known], promote_options="permissive").field("x").type
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return pa.string()


@dataclass(frozen=True)
class WorkSpec:
    """What a worker needs to turn a chunk of row tuples into results (sent once to each
    worker process; the augmenters are built, and their models loaded, there)."""

    columns: list[str]
    mapping: ColumnMapping
    tags: AliasTable
    names: tuple[str, ...] = ()
    settings: Any = None
    keywords: TrainKeywords | None = None
    n_per_original: int = 5
    keep_original: bool = False
    seed: int = 0
    fmt: str = "csv"
    arrow_schema: Any = None
    """Parquet: the one Arrow schema of every row group (:func:`output_arrow_schema`)."""
    formula_guard: bool = False
    schema: OutputSchema | None = None
    """The output's columns: the user's own, then provenance (:mod:`augment_core.user_schema`)."""


_WORKER: dict[str, Any] = {}
"""In a worker (or in-process): the spec, its record builder and its augmenters."""


def _init_worker(spec: WorkSpec, ignore_signals: bool = True) -> None:
    if ignore_signals:  # the parent handles Ctrl-C and SIGTERM, and ends its workers
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _WORKER.clear()
    _WORKER["spec"] = spec
    if spec.keywords is not None:
        from augment_core.registry import build_augmenters

        augmenters = build_augmenters(list(spec.names), spec.settings, spec.keywords)
        for a in augmenters:
            if hasattr(a, "load"):
                a.load()
        _WORKER["augmenters"] = augmenters


def _records(start: int, rows: Chunk, splits: list[str]) -> list[Record]:
    spec: WorkSpec = _WORKER["spec"]
    builder = RecordBuilder(spec.columns, spec.mapping, check_ids=False)
    return [builder.record(start + k, row, split) for k, (row, split) in enumerate(zip(rows, splits))]


@dataclass
class ChunkOut:
    """Pass 3 on one chunk: the encoded rows (bytes, or an Arrow table) and their counts."""

    payload: Any
    rows: int
    generated: int
    originals: int
    guarded: int = 0
    empty: list[str] = field(default_factory=list)
    """Ids whose text is empty (not augmented: the CLI warns)."""


def _augment_task(start: int, rows: Chunk, splits: list[str]) -> ChunkOut:
    spec: WorkSpec = _WORKER["spec"]
    augmenters = _WORKER["augmenters"]
    records = _records(start, rows, splits)
    empty_ids = [r.id for r in records if is_empty_text(r.text)]
    empty = set(empty_ids)
    text_indices = [spec.columns.index(c) for c in spec.mapping.text_columns]
    originals = sum(1 for r in records if r.split == "train" and r.id not in empty)
    schema = spec.schema
    assert schema is not None
    if spec.fmt == "parquet":  # columns built straight from the plan: no row dicts
        plan = plan_rows(records, augmenters, spec.n_per_original, spec.keep_original, spec.seed, empty,
                         text_indices=text_indices)
        generated = sum(1 for p in plan if p[4] is not None)
        table = arrow_chunk(records, plan, spec.seed, text_indices, schema, spec.arrow_schema)
        return ChunkOut(table, len(plan), generated, originals, 0, empty_ids)
    out = augment_records(records, augmenters, spec.mapping.label_column, spec.n_per_original, spec.keep_original,
                          spec.seed, empty, text_indices=text_indices)
    generated = sum(1 for r in out if r["augmenter"] != "original")
    # the user's schema, shaped exactly as the in-memory run shapes it (parents are in this chunk)
    chunk = Dataset(records=records, mapping=spec.mapping, empty_text_ids=empty_ids, columns=tuple(spec.columns))
    shaped = list(user_rows(out, chunk, schema))
    buf = io.BytesIO()
    guarded = write_rows_to(shaped, buf, spec.fmt, schema.columns, formula_guard=spec.formula_guard, header=False)
    return ChunkOut(buf.getvalue(), len(out), generated, originals, guarded, empty_ids)


@dataclass
class ChunkRows:
    """Pass 3 of a run with quality signals, on one chunk: its records and output rows,
    not yet scored (spilled to disk until the run's global knowledge is complete)."""

    records: list[Record]
    rows: list[dict[str, Any]]
    originals: int
    empty: list[str]


def _generate_task(start: int, rows: Chunk, splits: list[str]) -> ChunkRows:
    spec: WorkSpec = _WORKER["spec"]
    records = _records(start, rows, splits)
    empty_ids = [r.id for r in records if is_empty_text(r.text)]
    empty = set(empty_ids)
    text_indices = [spec.columns.index(c) for c in spec.mapping.text_columns]
    out = augment_records(records, _WORKER["augmenters"], spec.mapping.label_column, spec.n_per_original,
                          spec.keep_original, spec.seed, empty, text_indices=text_indices)
    originals = sum(1 for r in records if r.split == "train" and r.id not in empty)
    return ChunkRows(records, out, originals, empty_ids)


def _arrow_table(rows: list[dict[str, Any]], schema: Any) -> Any:
    """Row dicts as one row group under the run's one schema (:func:`output_arrow_schema`):
    the reference :func:`arrow_chunk` is held to (a test compares them)."""
    import pyarrow as pa

    arrays = [_arrow_values([r.get(f.name) for r in rows], f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def _arrow_values(values: list[Any], type_: Any) -> Any:
    """One column of a row group, typed as the run's schema says."""
    import pyarrow as pa

    col = arrow_column(values, None if pa.types.is_string(type_) else type_)
    if col.type != type_:
        col = arrow_column(values, pa.string()) if pa.types.is_string(type_) else col.cast(type_)
    return col


def _uniform_array(values: list[Any], type_: Any) -> Any:
    """``values`` as an array of ``type_`` when every conversion is cell by cell (one kind
    of cell, converted by Arrow as it is), so that taking rows of it equals converting
    those rows (what :func:`_arrow_values` does); None when that is not sure."""
    import pyarrow as pa

    kinds = {v.__class__ for v in values if v is not None}
    if len(kinds) > 1:
        return None
    if pa.types.is_string(type_) and kinds - {str}:
        return None
    try:
        arr = pa.array(values, type=type_)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    return arr if arr.type == type_ else None


def arrow_chunk(records: Sequence[Record], plan: Sequence[PlannedRow], seed: int, text_indices: Sequence[int],
                schema: OutputSchema, arrow_schema: Any) -> Any:
    """A chunk's output rows (:func:`augment_core.pipeline.plan_rows`) as one row group,
    built column by column: an input column is converted once per chunk, over its records,
    and its rows taken by parent (a column whose cells Arrow might convert differently in
    another company falls back to the row-by-row conversion); text columns and provenance
    are built from the plan. The same table as shaping row dicts (:func:`_arrow_table`)."""
    import pyarrow as pa

    from augment_core.changes import changes_to_json
    from augment_core.dataset import text_cell
    from augment_core.pipeline import ORIGINAL, original_params_json, variant_id
    from augment_core.user_schema import split_variant

    parent = [p[0] for p in plan]
    take = pa.array(parent, type=pa.int64())
    text_parts: list[list[Any]] = [[] for _ in text_indices]
    ids: list[str] = []
    texts: list[str] = []
    params: list[str] = []
    changes: list[str] = []
    augmenter: list[str] = []
    original_params = original_params_json(seed)
    for i, name, k, prm, cand in plan:
        rec = records[i]
        if cand is None:
            ids.append(rec.id)
            texts.append(rec.text)
            params.append(original_params)
            changes.append("[]")
            augmenter.append(ORIGINAL)
            for n, j in enumerate(text_indices):
                text_parts[n].append(rec.cells[j])
            continue
        ids.append(variant_id(rec.id, name, k))
        texts.append(cand.text)
        params.append(prm)
        changes.append(changes_to_json(cand.changes))
        augmenter.append(name)
        parts = split_variant([text_cell(rec.cells[j]) for j in text_indices], cand.changes)
        for n in range(len(text_indices)):
            text_parts[n].append(parts[n] if parts is not None else None)
    by_text = dict(zip(text_indices, text_parts))
    arrays = []
    for j, f in enumerate(arrow_schema):
        if j >= len(schema.input_columns):
            break
        if j in by_text:
            values = by_text[j]
            if pa.types.is_string(f.type) and all(v is None or v.__class__ is str for v in values):
                arrays.append(pa.array(values, type=pa.string()))
            else:
                arrays.append(_arrow_values(values, f.type))
            continue
        cells = [r.cells[j] for r in records]
        whole = _uniform_array(cells, f.type)
        if whole is not None:
            arrays.append(whole.take(take))
        else:
            arrays.append(_arrow_values([cells[i] for i in parent], f.type))
    provenance = {
        "id": ids, "parent_id": [records[i].id for i in parent], "split": [records[i].split for i in parent],
        "augmenter": augmenter, "text": texts, "original_text": [records[i].text for i in parent],
        "params": params, "changes": changes,
    }
    for p in schema.provenance:
        arrays.append(pa.array(provenance[p], type=pa.string()))
    return pa.Table.from_arrays(arrays, schema=arrow_schema)


def output_arrow_schema(schema: OutputSchema, types: dict[str, Any], text_columns: Sequence[str]) -> Any:
    """The Arrow schema of a chunked Parquet output: each input column with the type its
    cells have over the whole input (``types``), text columns as strings (a variant's text
    cells are strings), provenance columns as strings."""
    import pyarrow as pa

    fields = []
    for c in schema.input_columns:
        t = types.get(c, pa.null())
        if c in text_columns and not pa.types.is_null(t):
            t = pa.string()
        fields.append((c, t))
    typed = {"similarity": pa.float64(), "heldout_similarity": pa.float64(), "leak": pa.bool_()}
    fields += [(schema.name(p), typed.get(p, pa.string())) for p in schema.provenance]
    return pa.schema(fields)


def run_schema(columns: Sequence[str], label_column: str, prefix: str | None, quality: bool = False) -> OutputSchema:
    """The output schema of a chunked run: as the in-memory run's (quality columns last)."""
    from augment_core.quality import QUALITY_COLUMNS

    extra = QUALITY_COLUMNS if quality else ()
    return output_schema(columns, provenance_of(output_columns(label_column, extra), label_column), prefix)


RETRIES = 2
"""How many times a chunk is run again in a new worker when its worker dies."""


class WorkerLost(InputError):
    """A worker process died mid-run (most often the kernel's out-of-memory killer) and its
    chunk died again in each new worker: the user can act on it (fewer workers, smaller
    chunks), so it is one line, not a traceback."""

    def __init__(self, exitcode: int | None) -> None:
        super().__init__(f"a worker process ended in the middle of the run ({_how(exitcode)}), "
                         f"{RETRIES + 1} times on the same chunk (out of memory?): "
                         "try fewer --workers or a smaller --chunk-rows")


def _how(exitcode: int | None) -> str:
    return f"killed by signal {-exitcode}" if exitcode is not None and exitcode < 0 else f"exit code {exitcode}"


def _worker_main(tasks: Any, results: Any, spec: WorkSpec) -> None:
    """A worker process: tasks from its pipe until ``None`` or the pipe closes. A setup
    that fails (a model that does not load) is the answer to every task, so the parent
    raises it as it would in-process. A thread takes tasks off the pipe as they come, so
    the parent can queue the next chunk while this one runs (it never waits on a worker
    that is itself waiting to send a result)."""
    import queue
    import threading

    inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def take() -> None:
        while True:
            try:
                message = tasks.recv()
            except (EOFError, OSError):
                message = None
            inbox.put(message)
            if message is None:
                return

    threading.Thread(target=take, daemon=True).start()
    failed: Exception | None = None
    try:
        _init_worker(spec)
    except Exception as exc:
        failed = exc
    while True:
        message = inbox.get()
        if message is None:
            return
        task, start, rows, splits = message
        try:
            if failed is not None:
                raise failed
            answer: tuple[str, Any] = ("ok", task(start, rows, splits))
        except Exception as exc:
            answer = ("error", exc)
        try:
            results.send(answer)
        except Exception as exc:  # an answer that does not pickle: nothing of it was written
            results.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))


class _Runner:
    """Runs a task over chunks in order: in this process, or in ``workers`` spawned
    processes with a few chunks in flight (so memory stays bounded); results come back in
    input order. Any exception (Ctrl-C, SIGTERM included) ends the workers at once. A worker
    that dies (killed, out of memory) is replaced and its chunk run again: rows are seeded
    one by one, so the output is the same.

    Each worker has a pipe of its own and the parent waits on the pipes itself: no helper
    thread and no lock shared between processes. ``multiprocessing.Pool`` has both, and an
    exception a signal handler raises in the parent can leave one of its locks held, after
    which ``Pool.terminate()`` waits forever (seen once in this project's SIGTERM test); it
    also waits forever for a chunk whose worker was killed."""

    def __init__(self, spec: WorkSpec, workers: int) -> None:
        self.workers = workers
        self._spec = spec
        self._procs: list[Any] = []
        self._conns: list[Any] = []  # per worker: its results (read here)
        self._tasks: list[Any] = []  # per worker: its tasks (written here)
        if workers > 1:
            for _ in range(workers):
                self._start(None)
        else:
            _init_worker(spec, ignore_signals=False)

    def _start(self, slot: int | None) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        tasks_in, tasks_out = ctx.Pipe(duplex=False)  # one-way pipes, as multiprocessing's queues use
        results_in, results_out = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_worker_main, args=(tasks_in, results_out, self._spec), daemon=True)
        proc.start()
        tasks_in.close()  # the worker's ends: a worker that dies then reads as EOF here
        results_out.close()
        if slot is None:
            self._procs.append(proc)
            self._conns.append(results_in)
            self._tasks.append(tasks_out)
        else:
            self._conns[slot].close()
            self._tasks[slot].close()
            self._procs[slot], self._conns[slot], self._tasks[slot] = proc, results_in, tasks_out

    def map(self, task: Callable[[int, Chunk, list[str]], Any], chunks: Iterator[Chunk],
            splits: list[str]) -> Iterator[Any]:
        start = 0
        if not self._procs:
            for rows in chunks:
                yield task(start, rows, splits[start : start + len(rows)])
                start += len(rows)
            return
        from collections import deque
        from multiprocessing.connection import wait

        held: list[deque[tuple[int, Any]]] = [deque() for _ in self._procs]  # per worker: its chunks, in order
        tries: dict[int, int] = {}  # chunk -> how many workers died on it
        done: dict[int, Any] = {}  # chunk -> its result, until its turn
        sent = given = 0
        source = iter(chunks)
        more = True

        def send(w: int, index: int, message: Any) -> None:
            while True:
                try:
                    self._tasks[w].send(message)
                    held[w].append((index, message))
                    return
                except OSError:  # it died: a new one takes its chunks, this one last
                    lost = list(held[w])
                    held[w].clear()
                    self._replace(w, lost[0][0] if lost else index, tries)
                    for i, m in lost:
                        send(w, i, m)

        while True:
            while more and sent - given < 2 * len(self._procs):
                w = min(range(len(self._procs)), key=lambda i: len(held[i]))
                if len(held[w]) >= 2:  # two chunks each: one running, the next queued
                    break
                try:
                    rows = next(source)
                except StopIteration:
                    more = False
                    break
                send(w, sent, (task, start, rows, splits[start : start + len(rows)]))
                sent, start = sent + 1, start + len(rows)
            while given in done:
                yield done.pop(given)
                given += 1
            busy = [w for w in range(len(self._procs)) if held[w]]
            if not busy:
                if not more:
                    return
                continue
            for ready in wait([self._conns[w] for w in busy]):
                w = self._conns.index(ready)
                try:
                    kind, value = self._conns[w].recv()
                except (EOFError, OSError):  # its end closed, or reset with a task unread
                    lost = list(held[w])
                    held[w].clear()
                    self._replace(w, lost[0][0], tries)
                    for i, m in lost:
                        send(w, i, m)
                    continue
                if kind == "error":
                    raise value  # the worker's exception, as in-process
                index, _ = held[w].popleft()
                done[index] = value

    def _replace(self, w: int, index: int, tries: dict[int, int]) -> None:
        proc = self._procs[w]
        proc.join(5)
        tries[index] = tries.get(index, 0) + 1
        if tries[index] > RETRIES:
            raise WorkerLost(proc.exitcode)
        import logging

        logging.getLogger(__name__).warning(
            "a worker process ended (%s): its chunk is run again in a new worker", _how(proc.exitcode))
        self._start(w)

    def close(self, ok: bool) -> None:
        for tasks, proc in zip(self._tasks, self._procs):
            if ok:
                try:
                    tasks.send(None)
                except OSError:
                    proc.kill()
            else:
                proc.kill()
        for proc in self._procs:
            proc.join()
        for conn in [*self._conns, *self._tasks]:
            conn.close()
        self._procs, self._conns, self._tasks = [], [], []
        _WORKER.clear()


@dataclass(frozen=True, slots=True)
class _Key:
    """What :func:`member_agreement` reads of a match: its key."""

    key: str


@dataclass
class StreamResult:
    rows: int
    generated: int
    guarded: int
    empty_text_ids: list[str]


def default_workers(names: Sequence[str]) -> int:
    """Processes for a streamed run unless ``--workers`` says otherwise: one. Measured on
    2 shared cores, worker processes cost memory (a Python and a chunk in flight each) and
    gained nothing; on idle cores ``--workers N`` spreads the fit and augment passes."""
    return 1


def run_streamed(
    source: ChunkSource, mapping: ColumnMapping, ratios: Sequence[float], seed: int, tags: AliasTable,
    names: Sequence[str], settings: Any, out: IO[bytes], fmt: str, *, n_per_original: int,
    keep_original: bool, formula_guard: bool = False, name: str = "the output", workers: int = 1,
    progress: Callable[[str, int, int], None] | None = None, provenance_prefix: str | None = None,
    quality: Any = None, encoder: Any = None,
) -> StreamResult:
    """The passes (see the module's docstring), writing to ``out`` as it goes. ``quality``:
    a :class:`augment_core.run.QualitySettings` to score the rows (two passes over the
    output, see :func:`_scored_chunks`); ``encoder``: the sentence encoder (default: the
    packaged one)."""
    keys = scan_keys(source, mapping, ratios, seed, want_arrow=fmt == "parquet", tags=tags)
    check_run(keys.ids, names, mapping.label_column, n_per_original)
    schema = run_schema(source.columns, mapping.label_column, provenance_prefix, quality is not None)
    arrow_schema = output_arrow_schema(schema, keys.types, mapping.text_columns) if keys.types is not None else None
    keys.ids = []  # the largest thing held: the last pass rebuilds the ids it needs
    keywords, with_text = fit_keys(tags, keys)
    keys.labels, keys.signatures, keys.row_signature = [], [], None
    spec = WorkSpec(list(source.columns), mapping, tags, tuple(names), settings, keywords, n_per_original,
                    keep_original, seed, fmt, arrow_schema, formula_guard, schema)
    if progress is not None:
        progress("model", 0, 1)
    runner = _Runner(spec, workers)
    total, done = with_text * len(names), 0
    columns = schema.columns
    rows = generated = guarded = 0
    writer: Any = None
    empty_ids: list[str] = []
    ok = False
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            with write_failures(name):
                writer = pq.ParquetWriter(out, arrow_schema)
        else:
            guarded += write_rows_to([], out, fmt, columns, formula_guard=formula_guard, name=name)
        if quality is None:
            chunks: Iterator[ChunkOut] = runner.map(_augment_task, source.chunks(), keys.splits)
        else:
            chunks = _scored_chunks(runner.map(_generate_task, source.chunks(), keys.splits), spec, quality,
                                    encoder, progress, total)
        for chunk in chunks:
            if fmt == "parquet":
                if chunk.rows:
                    with write_failures(name):
                        writer.write_table(chunk.payload)
            else:
                _write(out, chunk.payload, name)
            rows += chunk.rows
            generated += chunk.generated
            guarded += chunk.guarded
            empty_ids += chunk.empty
            done += chunk.originals * len(names)
            if progress is not None and quality is None:
                progress("generate", done, total)
        if writer is not None:
            with write_failures(name):
                if not rows:  # no rows at all: an empty table, as the in-memory run writes
                    import pyarrow as pa

                    writer.write_table(pa.Table.from_pylist([], schema=arrow_schema))
                writer.close()
        ok = True
    finally:
        runner.close(ok)
    return StreamResult(rows, generated, guarded, empty_ids)


def _scored_chunks(generated: Iterator[ChunkRows], spec: WorkSpec, quality: Any, encoder: Any,
                   progress: Callable[[str, int, int], None] | None, total: int) -> Iterator[ChunkOut]:
    """Quality signals in two passes over the output, in constant memory.

    Most signals are a row's own (keywords, similarity to its original, artifacts); two
    need the whole run: ``duplicate`` (the text, normalised, occurs more than once among
    the output rows) and ``leak`` (a val/test text, exactly or by embedding). So:

    1. each chunk's rows are generated, spilled to a temporary file (pickled, removed at
       the end), and what the global signals need is kept: a 64-bit hash of every row's
       normalised text, of every held-out text, and the held-out texts' embeddings
       (written to a second temporary file and memory-mapped, so never held at once);
    2. each spilled chunk is read back, scored by :func:`augment_core.quality.score_chunk`
       (the in-memory run's code) against that index, shaped and encoded.
    """
    import pickle
    import tempfile
    from array import array

    import numpy as np

    from augment_core.quality import HashIndex, _encode, heldout_of, normalize_text, score_chunk, text_hash

    if encoder is None:
        from augment_core.models import load_sentence_encoder

        encoder = load_sentence_encoder()
    if progress is not None:
        progress("model", 1, 1)
    row_hashes = array("Q")
    heldout_hashes = array("Q")
    seen_heldout: set[int] = set()  # exact held-out texts already encoded (by hash)
    held_rows = 0
    dim = 0
    chunks = done = 0
    with tempfile.TemporaryFile(prefix="augment-review-spill-") as spill, \
            tempfile.TemporaryFile(prefix="augment-review-heldout-") as held_file:
        for res in generated:
            pickle.dump(res, spill, protocol=pickle.HIGHEST_PROTOCOL)
            chunks += 1
            row_hashes.extend(text_hash(normalize_text(str(r.get("text", "")))) for r in res.rows)
            fresh = []
            for t in heldout_of(res.rows):
                h = text_hash(t)
                if h not in seen_heldout:
                    seen_heldout.add(h)
                    fresh.append(t)
                    heldout_hashes.append(text_hash(normalize_text(t)))
            if fresh:
                emb = _encode(encoder, fresh, 64)
                dim = emb.shape[1]
                held_file.write(np.ascontiguousarray(emb, dtype=np.float32).tobytes())
                held_rows += len(fresh)
            done += res.originals * len(spec.names)
            if progress is not None:
                progress("generate", done, total)
        held_file.flush()
        held = np.memmap(held_file, dtype=np.float32, mode="r", shape=(held_rows, dim)) if held_rows else None
        index = HashIndex.from_hashes(np.frombuffer(row_hashes, dtype=np.uint64) if row_hashes else [],
                                      np.frombuffer(heldout_hashes, dtype=np.uint64) if heldout_hashes else [], held)
        del row_hashes, seen_heldout
        spill.seek(0)
        schema = spec.schema
        assert schema is not None
        for k in range(chunks):
            res = pickle.load(spill)
            score_chunk(res.rows, index, table=spec.keywords.table if spec.keywords else spec.tags,
                        labels_by_id={r.id: r.labels for r in res.records}, encoder=encoder,
                        low_similarity=quality.low_similarity, leak_threshold=quality.leak_threshold,
                        ambiguous_below=quality.ambiguous_below)
            chunk = Dataset(records=res.records, mapping=spec.mapping, empty_text_ids=res.empty,
                            columns=tuple(spec.columns))
            shaped = list(user_rows(res.rows, chunk, schema))
            generated_n = sum(1 for r in res.rows if r["augmenter"] != "original")
            if progress is not None:
                progress("quality", k + 1, chunks)
            if spec.fmt == "parquet":
                yield ChunkOut(_arrow_table(shaped, spec.arrow_schema), len(res.rows), generated_n, 0, 0, res.empty)
                continue
            buf = io.BytesIO()
            guarded = write_rows_to(shaped, buf, spec.fmt, schema.columns, formula_guard=spec.formula_guard,
                                    header=False)
            yield ChunkOut(buf.getvalue(), len(res.rows), generated_n, 0, guarded, res.empty)
        del held, index


def _write(out: IO[bytes], data: bytes, name: str) -> None:
    with write_failures(name):
        out.write(data)


def stream_cli(args: Any, names: list[str], ratios: tuple[float, float, float]) -> int:
    """``augment --runner stream``: the CLI's in-memory path, chunk by chunk (same checks,
    same atomic output, same closing line)."""
    import sys
    import time

    from augment_core.cli import augmenter_settings, column_mapping, load_tags, progress_bars, quality_settings
    from augment_core.io import open_output, output_format

    fmt = args.format if args.format is not None else output_format(args.output)
    if fmt == "hf":
        raise InputError("--runner stream cannot write --format hf (a DatasetDict is built in memory): "
                         "use --runner local, or stream to .parquet")
    inputs = [("input", args.input), ("tags file", args.tags)]
    settings = augmenter_settings(args)
    started = time.perf_counter()
    with open_output(args.output, inputs) as out:
        source = ChunkSource(args.input, args.chunk_rows)
        tags = load_tags(args.tags)
        with progress_bars() as progress:
            result = run_streamed(
                source, column_mapping(args), ratios, args.seed, tags, names, settings, out, fmt,
                n_per_original=args.n_per_original, keep_original=args.keep_original,
                formula_guard=args.csv_formula_guard, name=args.output,
                workers=args.workers or default_workers(names), progress=progress,
                provenance_prefix=args.provenance_prefix, quality=quality_settings(args),
            )
    if result.empty_text_ids:
        ids = result.empty_text_ids
        shown = ", ".join(ids[:10]) + (" ..." if len(ids) > 10 else "")
        print(f"warning: {len(ids)} rows have empty text and are not augmented (ids: {shown})", file=sys.stderr)
    guard_note = f"; the formula guard prefixed {result.guarded} cells with '" if args.csv_formula_guard else ""
    print(f"wrote {result.rows} rows ({result.generated} generated) to {args.output} in "
          f"{time.perf_counter() - started:.1f}s{guard_note}", file=sys.stderr)
    return 0
