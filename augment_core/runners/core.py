"""The shared core of every runner: the key scan, the fit, and the worker protocol.

A run over a table in chunks (the local runner streaming, Ray) is made of:

1. **keys** (:func:`scan_keys`): ids and label sets (ids are checked as the in-memory
   reader checks them), the split computed from them exactly as
   :func:`augment_core.data.splitting.assign_splits` does, the Arrow type of every column (so
   every Parquet row group has one schema), and each row's keyword signature (the (key,
   spelling) of every keyword found, interned: rows share a few thousand of them), from
   which :func:`fit_keys` makes the train split's fit
   (:func:`augment_core.augment.agreement.fit_to_train`'s attested forms and keyword agreement)
   with no pass of its own;
2. **augment**: a worker (:func:`init_worker` once, then :func:`augment_task` or
   :func:`generate_task` per chunk) turns each chunk's records, through
   :func:`augment_core.runners.pipeline.plan_rows` (the code the in-memory run uses), into output
   rows in the user's schema: a Parquet row group built column by column
   (:func:`arrow_chunk`), or CSV/JSONL lines. :class:`WorkerPool` runs the tasks in this
   process or in worker processes, results in input order.
"""

from __future__ import annotations

import io
from array import array
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

from augment_core.augment.agreement import TrainKeywords, key_agreement, member_agreement
from augment_core.augment.aliases import AliasTable
from augment_core.augment.changes import Candidate, changes_to_json
from augment_core.augment.quality import FLAGS_COLUMN, QUALITY_COLUMNS
from augment_core.augment.registry import build_augmenters, checked_settings, run_protector
from augment_core.data.dataset import ColumnMapping, Dataset, Record, RecordBuilder, is_empty_text, text_cell
from augment_core.data.io import arrow_column, write_rows_to
from augment_core.data.sources import Chunk, RowSource
from augment_core.data.splitting import check_ratios, fill_splits
from augment_core.data.user_schema import OutputSchema, output_schema, provenance_of, split_variant, user_rows
from augment_core.errors import InputError
from augment_core.runners.pipeline import (
    Dropped,
    PlannedRow,
    RowPlan,
    augment_records,
    original_params_json,
    output_columns,
    plan_rows,
    variant_id,
)


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


def scan_keys(source: RowSource, mapping: ColumnMapping, ratios: Sequence[float], seed: int,
              want_arrow: bool = False, tags: AliasTable | None = None) -> Keys:
    """Ids (checked), splits (given, or the seeded stratified split of the rest, as in memory).
    With ``tags``, also each row's keyword signature (what the fit needs of its text), so
    the fit needs no pass of its own (:func:`fit_keys`)."""
    check_ratios(ratios)
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
            types.append([_cells_type([row[j] for row in chunk]) for j in range(ncols)])
    builder.finish()
    splits = fill_splits(given, labels, ratios, seed)
    column_types = None
    if want_arrow:
        column_types = {c: _column_type([t[j] for t in types]) for j, c in enumerate(source.columns)}
    if find is None:
        return Keys(ids, splits, column_types)
    return Keys(ids, splits, column_types, labels, list(sig_index), row_sig, empty_rows)


def fit_keys(tags: AliasTable, keys: Keys) -> tuple[TrainKeywords, int]:
    """:func:`augment_core.augment.agreement.fit_to_train` from pass 1's signatures of the train
    rows: the same fit (spellings counted in the order the train rows first use them, so
    ties go the same way), from one count per distinct (signature, labels). Also counts the
    train rows with text (the run's progress total)."""
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


def fit_drift_baseline(source: RowSource, mapping: ColumnMapping, splits: Sequence[str]) -> Any:
    """``label_drift``'s baseline for a run with quality signals
    (:class:`augment_core.evaluate.drift.LabelBaseline`, or None when the labels leave nothing
    to tell apart): one more pass reads the train rows it is fitted on (the ones
    :func:`augment_core.evaluate.drift.baseline_positions` picks, as the in-memory run picks
    them), and holds only those texts."""
    from augment_core.evaluate import drift  # scikit-learn: never imported by a run without quality signals

    wanted = set(drift.baseline_positions(sum(1 for s in splits if s == "train")))
    builder = RecordBuilder(source.columns, mapping, check_ids=False)
    train: list[tuple[str, tuple[str, ...]]] = []
    i = k = 0
    for chunk in source.chunks():
        for row in chunk:
            if splits[i] == "train":
                if k in wanted:
                    r = builder.record(i, row, "train")
                    train.append((r.text, r.labels))
                k += 1
            i += 1
        if len(train) == len(wanted):
            break
    return drift.fit_label_baseline(train)


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


def _cells_type(values: list[Any]) -> Any:
    """The Arrow type of a chunk's cells of a column, as :func:`arrow_column` gives it; a
    column of strings (every column of a CSV) is known without converting its cells."""
    import pyarrow as pa

    if set(map(type, values)) == {str}:
        return pa.string()
    return arrow_column(values).type


@dataclass(frozen=True)
class WorkSpec:
    """What a worker needs to turn a chunk of row tuples into results (sent once to each
    worker process; the augmenters are built, and their models loaded, there)."""

    columns: list[str]
    mapping: ColumnMapping
    tags: AliasTable
    names: tuple[str, ...] = ()
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Augmenter name -> its settings as plain values (:func:`augment_core.augment.registry.plain_settings`)."""
    keywords: TrainKeywords | None = None
    n_per_original: int = 5
    keep_original: bool = False
    seed: int = 0
    fmt: str = "csv"
    arrow_schema: Any = None
    """Parquet: the one Arrow schema of every row group (:func:`output_arrow_schema`)."""
    formula_guard: bool = False
    schema: OutputSchema | None = None
    """The output's columns: the user's own, then provenance (:mod:`augment_core.data.user_schema`)."""
    protect: tuple[str, ...] = ()


_WORKER: dict[str, Any] = {}
"""In a worker (or in-process): the spec, its record builder and its row plan (its augmenters)."""


def init_worker(spec: WorkSpec, ignore_signals: bool = True) -> None:
    if ignore_signals:  # the parent handles Ctrl-C and SIGTERM, and ends its workers
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _WORKER.clear()
    _WORKER["spec"] = spec
    if spec.keywords is not None:
        augmenters = build_augmenters(list(spec.names), spec.settings, spec.keywords, spec.protect)
        protector = run_protector(checked_settings(list(spec.names), spec.settings), spec.keywords, spec.protect)
        for a in augmenters:
            if hasattr(a, "load"):
                a.load()
        text_indices = [spec.columns.index(c) for c in spec.mapping.text_columns]
        _WORKER["plan"] = RowPlan(augmenters, spec.mapping.label_column, spec.n_per_original, spec.keep_original,
                                  spec.seed, text_indices, spec.columns, protector)


def _records(start: int, rows: Chunk, splits: list[str]) -> list[Record]:
    builder: RecordBuilder | None = _WORKER.get("builder")
    if builder is None:  # one for every chunk: each distinct label cell parsed once per worker, not per chunk
        spec: WorkSpec = _WORKER["spec"]
        builder = _WORKER["builder"] = RecordBuilder(spec.columns, spec.mapping, check_ids=False)
    builder.empty.clear()  # its list of empty texts is not read here: the tasks find a chunk's own
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
    crossing: int = 0
    """Variants dropped because their edit crosses the joiner (:class:`Dropped`)."""


def augment_task(start: int, rows: Chunk, splits: list[str]) -> ChunkOut:
    spec: WorkSpec = _WORKER["spec"]
    plan: RowPlan = _WORKER["plan"]
    records = _records(start, rows, splits)
    empty_ids = [r.id for r in records if is_empty_text(r.text)]
    empty = set(empty_ids)
    originals = sum(1 for r in records if r.split == "train" and r.id not in empty)
    schema = spec.schema
    assert schema is not None
    dropped = Dropped()
    if spec.fmt == "parquet":  # columns built straight from the plan: no row dicts
        planned = plan_rows(records, plan, empty, dropped=dropped)
        generated = sum(1 for p in planned if p[4] is not None)
        table = arrow_chunk(records, planned, spec.seed, plan.text_indices, schema, spec.arrow_schema)
        return ChunkOut(table, len(planned), generated, originals, 0, empty_ids, dropped.crossing)
    out = augment_records(records, plan, empty, dropped=dropped)
    generated = sum(1 for r in out if r["augmenter"] != "original")
    # the user's schema, shaped exactly as the in-memory run shapes it (parents are in this chunk)
    chunk = Dataset(records=records, mapping=spec.mapping, empty_text_ids=empty_ids, columns=tuple(spec.columns))
    shaped = list(user_rows(out, chunk, schema))
    buf = io.BytesIO()
    guarded = write_rows_to(shaped, buf, spec.fmt, schema.columns, formula_guard=spec.formula_guard, header=False)
    return ChunkOut(buf.getvalue(), len(out), generated, originals, guarded, empty_ids, dropped.crossing)


@dataclass
class ChunkRows:
    """Pass 3 of a run with quality signals, on one chunk: its records and output rows,
    not yet scored (spilled to disk until the run's global knowledge is complete)."""

    records: list[Record]
    rows: list[dict[str, Any]]
    originals: int
    empty: list[str]
    crossing: int = 0


def generate_task(start: int, rows: Chunk, splits: list[str]) -> ChunkRows:
    records = _records(start, rows, splits)
    empty_ids = [r.id for r in records if is_empty_text(r.text)]
    empty = set(empty_ids)
    dropped = Dropped()
    out = augment_records(records, _WORKER["plan"], empty, dropped=dropped)
    originals = sum(1 for r in records if r.split == "train" and r.id not in empty)
    return ChunkRows(records, out, originals, empty_ids, dropped.crossing)


def arrow_table(rows: list[dict[str, Any]], schema: Any) -> Any:
    """Row dicts as one row group under the run's one schema (:func:`output_arrow_schema`):
    the reference :func:`arrow_chunk` is held to (a test compares them)."""
    import pyarrow as pa

    arrays = [arrow_values([r.get(f.name) for r in rows], f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def arrow_values(values: list[Any], type_: Any) -> Any:
    """One column of a row group, typed as the run's schema says."""
    import pyarrow as pa

    col = arrow_column(values, None if pa.types.is_string(type_) else type_)
    if col.type != type_:
        col = arrow_column(values, pa.string()) if pa.types.is_string(type_) else col.cast(type_)
    return col


def _uniform_array(values: list[Any], type_: Any) -> Any:
    """``values`` as an array of ``type_`` when every conversion is cell by cell (one kind
    of cell, converted by Arrow as it is), so that taking rows of it equals converting
    those rows (what :func:`arrow_values` does); None when that is not sure."""
    import pyarrow as pa

    kinds = set(map(type, values))
    kinds.discard(type(None))
    if len(kinds) > 1:
        return None
    if pa.types.is_string(type_) and kinds - {str}:
        return None
    try:
        arr = pa.array(values, type=type_)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    return arr if arr.type == type_ else None


def _changes_json(cands: Sequence[Candidate | None]) -> list[str]:
    """Each row's change JSON (an original's: none), encoded once per candidate: an
    augmenter may give rows of one text the same candidate (the alias swap's, kept per text)."""
    done: dict[int, str] = {}  # by id: every candidate is alive in ``cands`` meanwhile
    out = []
    for cand in cands:
        if cand is None:
            out.append("[]")
            continue
        text = done.get(id(cand))
        if text is None:
            text = done[id(cand)] = changes_to_json(cand.changes)
        out.append(text)
    return out


def arrow_chunk(records: Sequence[Record], plan: Sequence[PlannedRow], seed: int, text_indices: Sequence[int],
                schema: OutputSchema, arrow_schema: Any) -> Any:
    """A chunk's output rows (:func:`augment_core.runners.pipeline.plan_rows`) as one row group,
    built column by column: an input column is converted once per chunk, over its records,
    and its rows taken by parent (a column whose cells Arrow might convert differently in
    another company falls back to the row-by-row conversion); text columns and provenance
    are built from the plan. The same table as shaping row dicts (:func:`arrow_table`)."""
    import pyarrow as pa


    parent = [p[0] for p in plan]
    take = pa.array(parent, type=pa.int64())
    original_params = original_params_json(seed)
    # an original's plan row names the augmenter "original" and carries no params
    ids = [records[i].id if cand is None else variant_id(records[i].id, name, k) for i, name, k, _, cand, _ in plan]
    texts = [records[i].text if cand is None else cand.text for i, _, _, _, cand, _ in plan]
    params = [original_params if cand is None else prm for _, _, _, prm, cand, _ in plan]
    changes = _changes_json([cand for _, _, _, _, cand, _ in plan])
    text_parts: list[list[Any]] = [[] for _ in text_indices]
    parent_cells: dict[int, list[str]] = {}  # a parent's text cells, for each of its variants
    for i, _, _, _, cand, _ in plan:
        rec = records[i]
        if cand is None:
            for n, j in enumerate(text_indices):
                text_parts[n].append(rec.cells[j])
            continue
        cells = parent_cells.get(i)
        if cells is None:
            cells = parent_cells[i] = [text_cell(rec.cells[j]) for j in text_indices]
        parts = split_variant(cells, cand.changes)
        for n in range(len(text_indices)):
            text_parts[n].append(parts[n] if parts is not None else None)
    by_text = dict(zip(text_indices, text_parts))
    arrays = []
    for j, f in enumerate(arrow_schema):
        if j >= len(schema.input_columns):
            break
        if j in by_text:
            values = by_text[j]
            if pa.types.is_string(f.type) and set(map(type, values)) <= {str, type(None)}:
                arrays.append(pa.array(values, type=pa.string()))
            else:
                arrays.append(arrow_values(values, f.type))
            continue
        cells = [r.cells[j] for r in records]
        whole = _uniform_array(cells, f.type)
        if whole is not None:
            arrays.append(whole.take(take))
        else:
            arrays.append(arrow_values([cells[i] for i in parent], f.type))

    def of_parent(values: list[Any]) -> Any:  # a record's string, on each of its rows
        return pa.array(values, type=pa.string()).take(take)

    provenance: dict[str, list[Any]] = {
        "id": ids, "parent_id": [r.id for r in records], "split": [r.split for r in records],
        "augmenter": [p[1] for p in plan], "text": texts, "original_text": [r.text for r in records],
        "params": params, "changes": changes, FLAGS_COLUMN: [p[5] for p in plan],
    }
    for p in schema.provenance:
        column = provenance[p]
        arrays.append(of_parent(column) if p in ("parent_id", "split", "original_text")
                      else pa.array(column, type=pa.string()))
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


def _worker_main(tasks: Any, results: Any) -> None:
    """A worker process: its spec, then tasks, from its pipe until ``None`` or the pipe closes. A setup
    that fails (a model that does not load) is the answer to every task, so the parent
    raises it as it would in-process. A thread takes tasks off the pipe as they come, so
    the parent can queue the next chunk while this one runs (it never waits on a worker
    that is itself waiting to send a result)."""
    import queue
    import threading

    try:
        spec: WorkSpec = tasks.recv()
    except (EOFError, OSError):  # the parent went away before sending it
        return
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
        init_worker(spec)
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


class WorkerPool:
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
            init_worker(spec, ignore_signals=False)

    def _start(self, slot: int | None) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        tasks_in, tasks_out = ctx.Pipe(duplex=False)  # one-way pipes, as multiprocessing's queues use
        results_in, results_out = ctx.Pipe(duplex=False)
        # the spec (alias tables, settings: often over a pipe's 64 KB) goes as the first message,
        # not in the process's arguments: multiprocessing writes those while holding the pipe's
        # read end itself, so a child that died before reading them all hung start() for good
        proc = ctx.Process(target=_worker_main, args=(tasks_in, results_out), daemon=True)
        proc.start()
        tasks_in.close()  # the worker's ends: a worker that dies then reads as EOF here
        results_out.close()
        try:
            tasks_out.send(self._spec)
        except OSError:  # it died at once: its results read as EOF, and map() replaces it as any lost worker
            pass
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

