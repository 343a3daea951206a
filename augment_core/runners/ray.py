"""``--runner ray``: the same augmenters on Ray Data, on a cluster or a local Ray.

The run is the local runner's streamed run (:mod:`augment_core.runners.local`), with the
same core (:mod:`augment_core.runners.core`: key scan, fit, worker tasks) and Ray doing the
reading (:class:`RaySource`, a :class:`augment_core.data.sources.RowSource`) and the augmenting:

* **read**: ``ray.data.read_csv`` / ``read_text`` (JSONL) / ``read_parquet`` on any path
  pyarrow or fsspec opens (local, ``s3://``, ``gs://``, ``hdfs://``). CSV cells are read as
  strings, as the local reader reads them, so ids and labels are spelled the same; JSONL
  cells keep their JSON values exactly (held as JSON text between the reader and the
  passes), so every column of the user's schema is written as the local runner writes it.
* **split and fit** (on the driver): one ordered pass over every column (ids, labels,
  the split column, each column's Arrow type, each row's keyword signature), with the same
  seeded stratification and the same fit as the local runners, so every row lands in the
  same split and every swap has the same agreement. Rows are numbered by no distributed
  reader, so ``--id-column`` is required.
* **augment**: ``map_batches`` over an actor pool. Each actor deserialises the alias table
  and the split once and loads its model once (``num_gpus=1`` per actor for the contextual
  augmenters when the cluster has GPUs and ``--device`` is not ``cpu``); each batch's rows
  are built by :func:`augment_core.runners.pipeline.augment_records`, the function every runner
  uses, and per-row seeding makes them independent of the batching. Ray retries a batch
  whose actor dies (actors restart), so a lost worker costs time, never rows.
* **write**: Parquet shards (``part-*.parquet``) and ``manifest.json`` in the output folder.
  A local folder is written beside the target and renamed into place when complete; on a
  remote store the manifest is written last and marks a complete run.

* **quality** (unless ``--no-quality``): see :func:`_score`: the augmented rows are
  materialised, hashed, the held-out texts encoded by an actor pool, and an actor pool
  scores every batch against the index the driver builds once; ``label_drift``'s baseline
  is fitted on the driver after the split (one more ordered pass reads its train rows).

The rows, sorted by id, are the local runner's rows, quality columns included (tests hold
it).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from augment_core.augment.aliases import load_alias_table
from augment_core.augment.models import load_sentence_encoder
from augment_core.augment.quality import (
    FLAGS_COLUMN,
    HELDOUT_SPLITS,
    QUALITY_COLUMNS,
    HashIndex,
    encode,
    heldout_of,
    normalize_text,
    score_chunk,
    text_hash,
)
from augment_core.augment.registry import device_of, fits_train, plain_settings, uses_model
from augment_core.data.dataset import RecordBuilder, check_mapping, format_of, sniff_delimiter
from augment_core.data.io import remove_stale_temps, temp_path
from augment_core.data.limits import json_loads
from augment_core.data.manifest import RunManifest, iso8601, library_versions
from augment_core.data.sources import Chunk, refuse_hf_folder
from augment_core.data.user_schema import OutputSchema
from augment_core.errors import InputError
from augment_core.job import Job, Report
from augment_core.runners.core import (
    ChunkOut,
    WorkSpec,
    arrow_values,
    augment_task,
    fit_drift_baseline,
    fit_keys,
    init_worker,
    output_arrow_schema,
    run_schema,
    scan_keys,
)
from augment_core.runners.pipeline import check_run
from augment_core.runners.run import PhaseProgress

BatchHook = Callable[[list[str]], None]
"""Called in the actor with a batch's ids before it is augmented (tests kill a worker here)."""


def _is_uri(path: str) -> bool:
    return "://" in path


def _format(path: str) -> str:
    if not _is_uri(path):
        refuse_hf_folder(Path(path), "ray")

    fmt = format_of(Path(path.split("?", 1)[0]).name)
    if fmt == "json":
        raise InputError("--runner ray reads CSV, JSONL and Parquet (a .json list of records has no streaming form): "
                         "convert it to .jsonl")
    return fmt


def read_dataset(path: str, fmt: str) -> Any:
    """A Ray dataset of the input, with CSV cells as strings (as the local reader keeps them)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import ray

    if not _is_uri(path):
        p = Path(path)
        if not p.is_file():
            raise InputError(f"file not found: {path}" if not p.exists() else f"{path} is not a regular file")
        path = str(p.resolve())
    try:
        if fmt == "parquet":
            return ray.data.read_parquet(path)
        if fmt == "jsonl":
            return _read_jsonl(path)
        columns, delimiter = _csv_header(path)
        return ray.data.read_csv(
            path,
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in columns},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except (OSError, pa.ArrowException, ValueError) as exc:
        raise InputError(f"cannot read {path}: {str(exc).splitlines()[0]}") from None


def _read_jsonl(path: str) -> Any:
    """JSONL as the local reader reads it: every key seen, in order, each cell held as its
    JSON text (decoded by :func:`_cells`), so values keep their JSON types exactly (no
    reader's inference turns an id ``"1"`` into 1 or a date string into a timestamp)."""
    import ray

    lines: Any = ray.data.read_text(path, encoding="utf-8")
    seen: dict[str, None] = {}
    for batch in lines.iter_batches(batch_format="pyarrow"):
        for line in batch.column("text").to_pylist():
            rec = _json_record(line)
            for key in rec:
                seen.setdefault(key, None)
    if not seen:
        raise InputError(f"{path} is empty")
    return lines.map_batches(_jsonl_cells, fn_kwargs={"columns": list(seen)}, batch_format="pyarrow")


def _json_record(line: str) -> dict[str, Any]:
    try:
        rec = json_loads(line.lstrip("\ufeff"), "a line")
    except json.JSONDecodeError as exc:
        raise InputError(f"a line is not valid JSON ({exc.msg})") from None
    if not isinstance(rec, dict):
        raise InputError("expected a list of records (JSON objects), one per line")
    return {str(k): v for k, v in rec.items()}


def _jsonl_cells(batch: Any, columns: list[str]) -> Any:
    import pyarrow as pa

    recs = [_json_record(line) for line in batch.column("text").to_pylist()]
    return pa.table({c: pa.array([json.dumps(r[c]) if c in r else None for r in recs], pa.string()) for c in columns})


def _cells(batch: Any, column: str, json_cells: bool) -> list[Any]:
    """A column of a batch as Python values (JSONL cells decoded from their JSON text)."""
    values = batch.column(column).to_pylist()
    return [None if v is None else json.loads(v) for v in values] if json_cells else values


def _csv_header(path: str) -> tuple[list[str], str]:
    import csv
    import io

    import pyarrow.fs as pafs

    fs, inner = pafs.FileSystem.from_uri(path)
    with fs.open_input_stream(inner) as fh:
        head = fh.read(65536).decode("utf-8-sig", errors="ignore")
    delimiter = sniff_delimiter(head)
    header = next(csv.reader(io.StringIO(head), delimiter=delimiter), [])
    if not header:
        raise InputError(f"{path} is empty")
    return [c.strip() for c in header], delimiter


class RaySource:
    """A :class:`augment_core.data.sources.RowSource` over a Ray dataset: the driver's ordered
    passes over some of its columns, as row tuples in the dataset's column order (the
    columns not read are ``None``)."""

    def __init__(self, ds: Any, name: str, columns: list[str], read: Sequence[str], batch_rows: int,
                 json_cells: bool = False) -> None:
        self.ds, self.name, self.columns, self.read, self.batch_rows = ds, name, columns, list(dict.fromkeys(read)), batch_rows
        self.json_cells = json_cells

    def chunks(self) -> Iterator[Chunk]:
        where = [self.read.index(c) if c in self.read else None for c in self.columns]
        for batch in self.ds.select_columns(self.read).iter_batches(batch_size=self.batch_rows, batch_format="pyarrow"):
            cols = [_cells(batch, c, self.json_cells) for c in self.read]
            n = batch.num_rows
            none = [None] * n
            yield list(zip(*[cols[w] if w is not None else none for w in where]))


class CrossingTally:
    """A Ray actor: the variants each batch dropped at the joiner (:class:`ChunkOut`'s
    ``crossing``), which the written shards cannot tell. Kept by the batch's first id, so a
    batch Ray retries after a lost worker is counted once."""

    def __init__(self) -> None:
        self._by_batch: dict[str, int] = {}

    def note(self, first_id: str, crossing: int) -> None:
        self._by_batch[first_id] = crossing

    def total(self) -> int:
        return sum(self._by_batch.values())


class AugmentBatch:
    """An actor of the pool: builds the augmenters (and loads their models) once, then
    turns batches of input rows into output rows (an Arrow table under the run's schema).
    ``tally``: a :class:`CrossingTally` actor told each batch's variants dropped at the joiner."""

    def __init__(self, spec: WorkSpec, split_of: dict[str, str], hook: BatchHook | None = None,
                 json_cells: bool = False, tally: Any = None) -> None:
        init_worker(spec, ignore_signals=False)
        self._builder = RecordBuilder(spec.columns, spec.mapping, check_ids=False)
        self._split_of = split_of
        self._columns = spec.columns
        self._hook = hook
        self._json_cells = json_cells
        self._tally = tally

    def __call__(self, batch: Any) -> Any:
        cols = [_cells(batch, c, self._json_cells) if c in batch.column_names else [None] * batch.num_rows
                for c in self._columns]
        rows = list(zip(*cols))
        ids = [self._builder.key(0, row)[0] for row in rows]
        if self._hook is not None:
            self._hook(ids)
        out: ChunkOut = augment_task(0, rows, [self._split_of[i] for i in ids])
        if out.crossing and self._tally is not None:
            import ray

            ray.get(self._tally.note.remote(ids[0], out.crossing))  # counted before the batch is done
        return out.payload


_STATE: dict[str, Any] = {}
"""Per worker process: the run's state, fetched once and kept for its later tasks."""


def _augment_batch(batch: Any, state: Any) -> Any:
    """The alias swap's ``map_batches`` function: the actor's work, with the run's state
    (spec, split, hook) fetched from the object store once per worker process."""
    import ray

    if isinstance(state, ray.ObjectRef):
        key = state.hex()
        if key not in _STATE:
            _STATE.clear()
            _STATE[key] = AugmentBatch(*ray.get(state))
        return _STATE[key](batch)
    return AugmentBatch(*state)(batch)


@dataclass
class RayResult:
    rows: int
    generated: int
    files: list[str]
    crossing: int = 0
    """Variants dropped because their edit crosses the joiner (:class:`CrossingTally`)."""


def run_ray(job: Job, progress: PhaseProgress | None = None, hook: BatchHook | None = None) -> Report:
    """The job on Ray: checks, Ray up (or joined), the run (Ray reports no progress here)."""
    fmt = _format(job.input)
    out = job.output.path
    if not _is_uri(out):
        target = Path(out)
        if target.suffix.lower() in (".csv", ".jsonl", ".ndjson", ".json"):
            raise InputError(f"--runner ray writes a folder of Parquet shards, not {target.suffix}: name a folder")
        if target.exists() and not (target.is_dir() and not any(target.iterdir())):
            raise InputError(f"cannot write {out}: it exists (--runner ray writes a new folder; remove it or choose another)")
        if not target.resolve().parent.is_dir():
            raise InputError(f"cannot write {out}: the folder {target.resolve().parent} does not exist")
    aug = job.augmentation
    settings = aug.check().typed_settings()
    if fits_train(aug.augmenters):
        raise InputError("--runner ray cannot run an augmenter fitted on the train split (tfidf_substitute): "
                         "use --runner local")
    tags = load_alias_table(job.tags)
    started = time.perf_counter()
    ray = _ray_up(job.runner.ray_address)
    try:
        result = augment_on_ray(job.input, fmt, job.mapping, job.split_ratios, aug.seed, tags, aug.augmenters,
                                plain_settings(settings), out, n_per_original=aug.policy.n_per_original,
                                keep_original=aug.policy.keep_original, batch_rows=job.runner.chunk_rows,
                                workers=job.runner.workers, device=device_of(settings), hook=hook,
                                manifest_extra={"input": job.input, "tags": job.tags},
                                provenance_prefix=job.output.provenance_prefix, quality=aug.quality,
                                protect=aug.protect)
    finally:
        if ray is not None:
            ray.shutdown()
    return Report(result.rows, result.generated, out, time.perf_counter() - started, shards=len(result.files),
                  warnings=tuple(tags.warnings), crossing=result.crossing)


def _ray_up(address: str | None) -> Any:
    """Join ``address`` (or ``$RAY_ADDRESS``), or start a local Ray in this process; returns
    ray when this call started it (so the caller shuts it down), None when already up."""
    import ray

    if ray.is_initialized():
        return None
    address = address or os.environ.get("RAY_ADDRESS") or None
    try:
        if address:
            ray.init(address=address, **ray_init_kwargs())
        else:
            ray.init(num_cpus=os.cpu_count() or 1, **ray_init_kwargs())
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise InputError(f"cannot start or join Ray ({address or 'local'}): {str(exc).splitlines()[0]}") from None
    return ray


def ray_init_kwargs() -> dict[str, Any]:
    """How this process starts or joins Ray: no dashboard, and this very ``augment_core``
    shipped to every worker (``py_modules``), so a cluster's nodes run the driver's code
    without installing it, and never another copy found on their path."""
    package = Path(__file__).resolve().parents[1]  # augment_core/runners/ray.py -> augment_core
    return {"include_dashboard": False, "log_to_driver": False, "runtime_env": {"py_modules": [str(package)]}}


def augment_on_ray(
    path: str, fmt: str, mapping: Any, ratios: Sequence[float], seed: int, tags: Any, names: Sequence[str],
    settings: Any, out: str, *, n_per_original: int, keep_original: bool, batch_rows: int = 20_000,
    workers: int | None = None, device: str = "auto", hook: BatchHook | None = None,
    manifest_extra: dict[str, Any] | None = None, provenance_prefix: str | None = None, quality: Any = None,
    protect: Sequence[str] = (),
) -> RayResult:
    """The run on a Ray already up (see the module's docstring). ``quality``: a
    :class:`augment_core.runners.run.QualitySettings` to score the rows (see :func:`_score`)."""
    import ray

    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True  # the driver's passes see the file's order, as locally
    ds = read_dataset(path, fmt)
    columns = list(ds.schema().names)
    check_mapping(columns, mapping)
    json_cells = fmt == "jsonl"
    # every column: the Arrow type of each over the whole input, as the streamed run finds it
    # one ordered pass: ids, labels, splits, every column's type and the train rows' keyword signatures
    keys = scan_keys(RaySource(ds, path, columns, columns, batch_rows, json_cells), mapping, ratios, seed,
                     want_arrow=True, tags=tags)
    check_run(keys.ids, names, mapping.label_column, n_per_original)
    final_schema = run_schema(columns, mapping.label_column, provenance_prefix, quality is not None)
    schema = final_schema
    if quality is not None:  # generated without the quality columns (flags aside), under the final prefix
        schema = OutputSchema(final_schema.input_columns,
                              tuple(p for p in final_schema.provenance
                                    if p not in QUALITY_COLUMNS or p == FLAGS_COLUMN), final_schema.prefix)
    split_of = dict(zip(keys.ids, keys.splits))
    keys.ids = []
    keywords, _with_text = fit_keys(tags, keys)
    drift = None
    if quality is not None:  # label_drift's baseline, fitted here once on the train rows, read in order
        read = [*mapping.text_columns, mapping.label_column, *([mapping.id_column] if mapping.id_column else [])]
        drift = fit_drift_baseline(RaySource(ds, path, columns, read, batch_rows, json_cells), mapping, keys.splits)
    arrow_schema = output_arrow_schema(schema, keys.types or {}, mapping.text_columns)
    spec = WorkSpec(columns, mapping, tags, tuple(names), settings, keywords, n_per_original, keep_original, seed,
                    "parquet", arrow_schema, False, schema, tuple(protect))
    contextual = uses_model(names)
    gpus = ray.cluster_resources().get("GPU", 0) if contextual and device != "cpu" else 0
    cpus = int(ray.cluster_resources().get("CPU", 1))
    tally: Any = ray.remote(num_cpus=0)(CrossingTally).remote()
    state = ray.put((spec, split_of, hook, json_cells, tally))
    ctx.execution_options.preserve_order = False  # shards in any order: rows are independent
    if contextual:  # an actor pool: each actor loads the model once; reads keep a CPU free
        size = actor_pool_size(workers, gpus, cpus)
        augmented = ds.map_batches(
            AugmentBatch, fn_constructor_kwargs={"spec": spec, "split_of": split_of, "hook": hook, "json_cells": json_cells,
                                                 "tally": tally},
            batch_size=batch_rows, batch_format="pyarrow", compute=ray.data.ActorPoolStrategy(size=size),
            num_gpus=1 if gpus else None, num_cpus=1,
        )
    else:  # tasks: no model to keep, and the read tasks share the CPUs
        size = workers or cpus
        augmented = ds.map_batches(
            _augment_batch, fn_kwargs={"state": state}, batch_size=batch_rows, batch_format="pyarrow",
            compute=ray.data.TaskPoolStrategy(size=size), num_cpus=1, max_retries=3,
        )
    manifest_quality = None
    if quality is not None:
        final_arrow = output_arrow_schema(final_schema, keys.types or {}, mapping.text_columns)
        augmented, manifest_quality = _score(augmented, spec, final_arrow, quality, workers, device, batch_rows, drift)
        schema = final_schema
    result = _write(augmented, out, schema.columns, schema.name("augmenter"), {
        "runner": "ray", "output_format": "parquet", "mapping": mapping.to_json(), "augmenters": tuple(names),
        "n_per_original": n_per_original, "keep_original": keep_original, "seed": seed,
        "split_ratios": tuple(ratios), "schema": schema.to_json(), "quality": manifest_quality, "splits": {s: n for s, n in sorted(_count(keys.splits).items())},
        "runner_options": {"workers": size, "gpus_per_worker": 1 if gpus else 0, "batch_rows": batch_rows},
        **(manifest_extra or {}),
    })
    result.crossing = ray.get(tally.total.remote())  # every batch is written: every count is in
    return result


def actor_pool_size(workers: int | None, gpus: float, cpus: int) -> int:
    """Actors of a pool (contextual augmenters, quality scoring): ``--workers``, else one per
    GPU, else one per CPU but one. A CPU pool never takes every CPU of the cluster: the read
    tasks feeding it need one, and a pool holding them all waits forever (measured: 2 actors
    on a 2-CPU local Ray never started)."""
    if gpus:
        return workers or max(1, int(gpus))
    most = max(1, cpus - 1)
    return min(workers, most) if workers else most


def _score(augmented: Any, spec: WorkSpec, final_arrow: Any, quality: Any, workers: int | None, device: str,
           batch_rows: int, drift: Any = None) -> tuple[Any, dict[str, Any]]:
    """Quality signals on Ray, as :func:`augment_core.runners.local._scored_chunks` does them in one
    process: the augmented rows are materialised (Ray's object store, spilled to disk when
    large); one distributed pass hashes every row's normalised text (8 bytes a row to the
    driver), an actor pool encodes the distinct held-out texts (each actor loading the
    encoder once); the driver builds the index (:class:`augment_core.augment.quality.HashIndex`:
    repeated hashes, held-out hashes, held-out embeddings) and puts it in the object store
    once; an actor pool then scores every batch against it with
    :func:`augment_core.augment.quality.score_chunk`, the in-memory run's code, and flags
    ``label_drift`` with ``drift`` (the run's baseline, put in the object store once)."""
    import numpy as np
    import ray

    schema = spec.schema
    assert schema is not None
    names = {p: schema.name(p) for p in ("text", "split", "augmenter")}
    augmented = augmented.materialize()
    row_hashes: list[Any] = []
    held_hashes: list[Any] = []
    for batch in augmented.map_batches(_hash_batch, fn_kwargs={"names": names}, batch_format="pyarrow").iter_batches(
            batch_size=None, batch_format="pyarrow"):
        h = batch.column("h").to_numpy()
        row_hashes.append(h)
        held_hashes.append(h[batch.column("heldout").to_numpy(zero_copy_only=False)])
    gpus = ray.cluster_resources().get("GPU", 0) if device != "cpu" else 0
    cpus = int(ray.cluster_resources().get("CPU", 1))
    size = actor_pool_size(workers, gpus, cpus)
    pool = {"compute": ray.data.ActorPoolStrategy(size=size), "num_gpus": 1 if gpus else None, "num_cpus": 1,
            "batch_format": "pyarrow"}
    seen: set[int] = set()
    held_parts = []
    for batch in augmented.map_batches(EmbedHeldout, fn_constructor_kwargs={"names": names, "device": device},
                                       batch_size=batch_rows, **pool).iter_batches(batch_size=None,
                                                                                   batch_format="pyarrow"):
        keys = batch.column("key").to_pylist()
        emb = np.asarray(batch.column("emb").to_pylist(), dtype=np.float32).reshape(len(keys), -1)
        keep = [k for k, key in enumerate(keys) if not (key in seen or seen.add(key))]  # type: ignore[func-returns-value]
        if keep:
            held_parts.append(emb[keep])
    held = np.concatenate(held_parts) if held_parts else None
    index = HashIndex.from_hashes(np.concatenate(row_hashes) if row_hashes else [],
                                  np.concatenate(held_hashes) if held_hashes else [], held)
    index_ref = ray.put(index)
    scored = augmented.map_batches(
        ScoreBatch, fn_constructor_kwargs={"spec": spec, "final_arrow": final_arrow, "index": index_ref,
                                           "quality": quality, "device": device, "drift": ray.put(drift)},
        batch_size=batch_rows, **pool)
    return scored, {"low_similarity": quality.low_similarity, "leak_threshold": quality.leak_threshold,
                    "ambiguous_below": quality.ambiguous_below, "heldout_texts": 0 if held is None else len(held),
                    "repeated_texts": int(len(index.repeated)), "scoring_workers": size}


def _hash_batch(batch: Any, names: dict[str, str]) -> Any:
    """Each row's normalised-text hash, and whether it is a held-out original."""
    import pyarrow as pa

    texts = batch.column(names["text"]).to_pylist()
    splits = batch.column(names["split"]).to_pylist()
    augmenters = batch.column(names["augmenter"]).to_pylist()
    return pa.table({
        "h": pa.array([text_hash(normalize_text(str(t or ""))) for t in texts], pa.uint64()),
        "heldout": pa.array([a == "original" and str(s or "").lower() in HELDOUT_SPLITS
                             for a, s in zip(augmenters, splits)], pa.bool_()),
    })


def _encoder(device: str) -> Any:
    return load_sentence_encoder(device=device)


class EmbedHeldout:
    """An actor: the encoder loaded once; each batch's held-out originals, distinct texts,
    as (exact-text hash, normalised-text hash, embedding)."""

    def __init__(self, names: dict[str, str], device: str = "auto") -> None:
        self._names = names
        self._encoder = _encoder(device)

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        n = self._names
        rows = [{"text": t, "split": s, "augmenter": a} for t, s, a in zip(
            batch.column(n["text"]).to_pylist(), batch.column(n["split"]).to_pylist(),
            batch.column(n["augmenter"]).to_pylist())]
        texts = heldout_of(rows)
        emb = encode(self._encoder, texts, 64) if texts else None
        return pa.table({
            "key": pa.array([text_hash(t) for t in texts], pa.uint64()),
            "emb": pa.array([] if emb is None else [list(map(float, e)) for e in emb], pa.list_(pa.float32())),
        })


class ScoreBatch:
    """An actor: the encoder loaded once and the run's index fetched once; each batch of
    output rows gets its quality columns."""

    def __init__(self, spec: WorkSpec, final_arrow: Any, index: Any, quality: Any, device: str = "auto",
                 drift: Any = None) -> None:
        import ray

        self._spec, self._arrow, self._quality = spec, final_arrow, quality
        self._index = ray.get(index) if isinstance(index, ray.ObjectRef) else index
        self._drift = ray.get(drift) if isinstance(drift, ray.ObjectRef) else drift
        self._encoder = _encoder(device)
        self._labels = RecordBuilder(spec.columns, spec.mapping, check_ids=False).labels_of

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        spec, schema, q = self._spec, self._spec.schema, self._quality
        assert schema is not None and spec.keywords is not None
        cols = {p: batch.column(schema.name(p)).to_pylist() for p in ("text", "original_text", "augmenter",
                                                                       "parent_id", "split", "changes",
                                                                       FLAGS_COLUMN)}
        label_cells = batch.column(spec.mapping.label_column).to_pylist()
        rows = [dict(zip(cols, values)) for values in zip(*cols.values())]
        labels_by_id = {str(r["parent_id"]): self._labels(cell) for r, cell in zip(rows, label_cells)}
        score_chunk(rows, self._index, table=spec.keywords.table, labels_by_id=labels_by_id, encoder=self._encoder,
                    quality=q)
        if self._drift is not None:
            self._drift.flag(rows)
        arrays = {f.name: batch.column(f.name) for f in self._arrow if f.name in batch.column_names}
        for c in QUALITY_COLUMNS:
            name = schema.prefix + c
            arrays[name] = arrow_values([r[c] for r in rows], self._arrow.field(name).type)
        return pa.Table.from_arrays([arrays[f.name] for f in self._arrow], schema=self._arrow)


def _count(values: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def _write(ds: Any, out: str, columns: list[str], augmenter_column: str, manifest: dict[str, Any]) -> RayResult:
    """Shards, then the manifest (``manifest``: the :class:`RunManifest` keys known before
    the write); a local folder is renamed into place only when complete."""
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    local = not _is_uri(out)
    target = Path(out).resolve() if local else None
    if target is not None:
        remove_stale_temps(target)  # a killed run's folder
    where = str(temp_path(target)) if target is not None else out
    try:
        ds.write_parquet(where, filename_provider=None)
        fs, inner = pafs.FileSystem.from_uri(where if not local else "file://" + where)
        files = sorted(i.path for i in fs.get_file_info(pafs.FileSelector(inner)) if i.path.endswith(".parquet"))
        rows = generated = 0
        for f in files:
            with fs.open_input_file(f) as fh:
                table = pq.read_table(fh, columns=[augmenter_column])
            rows += table.num_rows
            generated += sum(1 for a in table.column(augmenter_column).to_pylist() if a != "original")
        written = RunManifest(**manifest, columns=tuple(columns), rows=rows, generated=generated,
                              files=tuple(f.rsplit("/", 1)[-1] for f in files), created_at=iso8601(),
                              versions=library_versions())
        with fs.open_output_stream(inner.rstrip("/") + "/manifest.json") as fh:
            fh.write(json.dumps(written.to_json(), indent=2, ensure_ascii=False).encode("utf-8"))
        if target is not None:
            if target.exists():
                target.rmdir()  # an empty folder, checked before the run
            os.replace(where, target)
    except BaseException:
        if target is not None:
            shutil.rmtree(where, ignore_errors=True)
        raise
    return RayResult(rows, generated, list(written.files))
