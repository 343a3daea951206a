"""The local runner (``--runner local``, the default): one machine, streaming by default.

A streamed run (:func:`run_streaming`) reads the input twice, in chunks of ``chunk_rows``
rows, and never holds more than a chunk of texts, so memory stays constant however large
the file (1M rows: ~0.4 GB, where holding the table took 5.4 GB): pass 1 scans the keys
and fits the tags (:func:`augment_core.runners.core.scan_keys`, :func:`fit_keys`), pass 2
augments each chunk (:mod:`augment_core.runners.core`'s worker protocol) and writes it at
once in the user's schema: a Parquet row group, or CSV/JSONL lines appended.

Rows are independent (per-row seeding) and are written in input order, so CSV and JSONL
output is byte-identical to the in-memory run's, and Parquet holds the same table (the
same bytes when the input fits one chunk). Quality signals need the whole run for two of
them (near duplicates, leaks into val/test): with quality on, pass 2 spills its rows and
a third pass scores them (:func:`_scored_chunks`); before them, one more pass reads the
train rows ``label_drift``'s baseline is fitted on
(:func:`augment_core.runners.core.fit_drift_baseline`: at most 20,000 texts held).

The in-memory run (:func:`run_in_memory`: :func:`augment_core.runners.run.augment` on the whole
dataset, as the Augment page runs it) is taken only where a format needs the whole table
(:func:`needs_whole_table`): a Hugging Face DatasetDict output or input folder, a ``.json``
list of records.
"""

from __future__ import annotations

import io
import pickle
import tempfile
import time
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Sequence

from augment_core import interrupts
from augment_core.augment.aliases import AliasTable, load_alias_table
from augment_core.augment.models import load_sentence_encoder
from augment_core.augment.quality import HashIndex, encode, heldout_of, normalize_text, score_chunk, text_hash
from augment_core.augment.registry import fits_train, plain_settings
from augment_core.data import hf
from augment_core.data.dataset import ColumnMapping, Dataset, TableStream, build_dataset, content_hash, format_of
from augment_core.data.io import (
    check_output_dir,
    check_output_target,
    open_output,
    open_output_dir,
    read_input,
    write_failures,
    write_rows_to,
)
from augment_core.data.manifest import RunManifest, library_versions
from augment_core.data.sources import FileSource, RowSource
from augment_core.data.splitting import assign_splits
from augment_core.data.user_schema import OutputSchema, output_schema, provenance_of, user_rows
from augment_core.errors import InputError
from augment_core.job import Job, Report, empty_text_warning
from augment_core.runners.core import (
    ChunkOut,
    ChunkRows,
    WorkerPool,
    WorkSpec,
    arrow_table,
    augment_task,
    fit_drift_baseline,
    fit_keys,
    generate_task,
    output_arrow_schema,
    run_schema,
    scan_keys,
)
from augment_core.runners.pipeline import check_run
from augment_core.runners.run import PhaseProgress, RunOutput, augment_with


def run_local(job: Job, progress: PhaseProgress | None = None, encoder: Any = None) -> Report:
    """The job on this machine: streamed, unless a format needs the whole table."""
    fmt = job.output.fmt
    if fmt == "hf":
        check_output_dir(job.output.path, job.inputs)
    else:
        check_output_target(job.output.path, job.inputs)
    if needs_whole_table(job):
        return run_in_memory(job, progress)
    return run_streaming(job, progress, encoder)


def needs_whole_table(job: Job) -> bool:
    """A DatasetDict is built in memory (``--format hf``); a Hugging Face folder is read
    whole (``load_from_disk``) and a ``.json`` list has no streaming form; an augmenter
    fitted on the train split (TF-IDF) needs its texts before the first variant."""
    path = Path(job.input)
    if job.output.fmt == "hf" or (path.is_dir() and hf.is_hf_folder(path)) or fits_train(job.augmentation.augmenters):
        return True
    try:
        return format_of(path.name) == "json"
    except InputError:
        return False  # the reader says what is wrong with the name


def run_streaming(job: Job, progress: PhaseProgress | None = None, encoder: Any = None) -> Report:
    """The streamed run (see the module's docstring), into the job's output file."""
    started = time.perf_counter()
    aug, out_spec = job.augmentation, job.output
    with open_output(out_spec.path, job.inputs) as out:
        source = FileSource(job.input, job.runner.chunk_rows)
        tags = load_alias_table(job.tags)
        result = run_streamed(
            source, job.mapping, job.split_ratios, aug.seed, tags, aug.augmenters, plain_settings(aug.typed_settings()), out, out_spec.fmt,
            n_per_original=aug.policy.n_per_original, keep_original=aug.policy.keep_original,
            formula_guard=out_spec.formula_guard, name=out_spec.path,
            workers=job.runner.workers or default_workers(aug.augmenters), progress=progress,
            provenance_prefix=out_spec.provenance_prefix, quality=aug.quality, encoder=encoder, protect=aug.protect,
        )
    return Report(result.rows, result.generated, out_spec.path, time.perf_counter() - started,
                  result.guarded if out_spec.formula_guard else None,
                  warnings=(*tags.warnings, *empty_text_warning(result.empty_text_ids)), crossing=result.crossing)


def run_in_memory(job: Job, progress: PhaseProgress | None = None) -> Report:
    """The whole dataset in memory, then written (the only way to a DatasetDict)."""
    started = time.perf_counter()
    out_spec = job.output
    guarded = None
    # The temporary output exists from here on: an unwritable folder fails now, not after
    # the run, and every way out of this block (error, Ctrl-C, SIGTERM) removes it.
    if out_spec.fmt == "hf":
        with open_output_dir(out_spec.path, job.inputs) as folder:
            run, dataset, tags = _augment_whole(job, progress)
            _write_hf(job, run, dataset, folder)
    else:
        with open_output(out_spec.path, job.inputs) as out:
            run, dataset, tags = _augment_whole(job, progress)
            schema, shaped = _user_rows(job, run, dataset)
            n = write_rows_to(shaped, out, out_spec.fmt, schema.columns, formula_guard=out_spec.formula_guard,
                              name=out_spec.path)
            guarded = n if out_spec.formula_guard else None
    return Report(len(run.rows), int(run.params["variants"]), out_spec.path, time.perf_counter() - started, guarded,
                  warnings=(*tags.warnings, *empty_text_warning(dataset.empty_text_ids)), crossing=run.crossing)


def _augment_whole(job: Job, progress: PhaseProgress | None) -> tuple[RunOutput, Dataset, AliasTable]:
    """Read, split, augment and score: the run's output, the split dataset, the tags."""
    job.augmentation.check()
    table = TableStream.from_path(job.input)  # rows parsed straight into records, no table held
    dataset = assign_splits(build_dataset(table, job.mapping), job.split_ratios, job.seed)
    tags = load_alias_table(job.tags)
    return augment_with(dataset, tags, job.augmentation, progress=progress), dataset, tags


def _user_rows(job: Job, run: RunOutput, dataset: Dataset) -> tuple[OutputSchema, Any]:
    """The output schema (input columns, then provenance) and the rows shaped to it."""
    schema = output_schema(dataset.columns, provenance_of(run.columns, dataset.mapping.label_column),
                           job.output.provenance_prefix)
    return schema, user_rows(run.rows, dataset, schema)


def _feature_note(feature: Any) -> dict[str, Any]:
    """The label feature in a line of the manifest (its class names are in the dataset's own info)."""
    inner = getattr(feature, "feature", None)
    names = getattr(inner if inner is not None else feature, "names", None)
    return {"type": type(feature).__name__, **({"of": type(inner).__name__} if inner is not None else {}),
            **({"classes": len(names)} if names else {})}


def _write_hf(job: Job, run: RunOutput, dataset: Dataset, folder: Any) -> None:
    """The DatasetDict and its manifest into ``folder`` (the temporary output folder)."""
    schema, shaped = _user_rows(job, run, dataset)
    shaped = list(shaped)
    labels_by_id = {r.id: r.labels for r in dataset.records}
    label_column = dataset.mapping.label_column
    ddict = hf.dataset_dict(shaped, schema.columns, [r["split"] for r in run.rows],
                            [labels_by_id[str(r["parent_id"])] for r in run.rows], label_column)
    source = Path(job.input)
    split_column = job.mapping.split_column
    params = run.params
    manifest = RunManifest(
        runner="local", output_format="hf", columns=tuple(schema.columns), rows=len(run.rows),
        generated=params["variants"], mapping=dataset.mapping.to_json(),
        augmenters=tuple(a["name"] for a in params["augmenters"]),
        augmenter_params={a["name"]: {k: v for k, v in a.items() if k != "name"} for a in params["augmenters"]},
        n_per_original=params["n_per_original"], keep_original=params["keep_original"], seed=job.seed,
        split_ratios=None if split_column else tuple(job.split_ratios), split_column=split_column,
        schema=schema.to_json(), input=source.name,
        input_sha256=None if source.is_dir() else content_hash(read_input(source, "input")),
        tags=Path(job.tags).name, quality=params["quality"], splits={k: len(v) for k, v in ddict.items()},
        label_feature=_feature_note(ddict["train"].features[label_column]),
        versions=library_versions(),  # no created_at: the same input and seed give the same bytes, manifest included
    )
    hf.save(ddict, folder, manifest.to_json())


@dataclass
class StreamResult:
    rows: int
    generated: int
    guarded: int
    empty_text_ids: list[str]
    crossing: int = 0
    """Variants dropped because their edit crosses the joiner (summed over the chunks)."""


def default_workers(names: Sequence[str]) -> int:
    """Processes for a streamed run unless ``--workers`` says otherwise: one. Measured on
    2 shared cores, worker processes cost memory (a Python and a chunk in flight each) and
    gained nothing; on idle cores ``--workers N`` spreads the fit and augment passes."""
    return 1


def run_streamed(
    source: RowSource, mapping: ColumnMapping, ratios: Sequence[float], seed: int, tags: AliasTable,
    names: Sequence[str], settings: Any, out: IO[bytes], fmt: str, *, n_per_original: int,
    keep_original: bool, formula_guard: bool = False, name: str = "the output", workers: int = 1,
    progress: Callable[[str, int, int], None] | None = None, provenance_prefix: str | None = None,
    quality: Any = None, encoder: Any = None, protect: Sequence[str] = (),
) -> StreamResult:
    """The passes (see the module's docstring), writing to ``out`` as it goes. ``quality``:
    a :class:`augment_core.runners.run.QualitySettings` to score the rows (two passes over the
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
                    keep_original, seed, fmt, arrow_schema, formula_guard, schema, tuple(protect))
    if progress is not None:
        progress("model", 0, 1)
    runner = WorkerPool(spec, workers)
    total, done = with_text * len(names), 0
    columns = schema.columns
    rows = generated = guarded = crossing = 0
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
            chunks: Iterator[ChunkOut] = runner.map(augment_task, source.chunks(), keys.splits)
        else:
            drift = fit_drift_baseline(source, mapping, keys.splits)
            chunks = _scored_chunks(runner.map(generate_task, source.chunks(), keys.splits), spec, quality,
                                    encoder, progress, total, drift)
        for chunk in chunks:
            interrupts.raise_noted()  # a signal whose exception was dropped: stop at the next chunk, not the commit
            if fmt == "parquet":
                if chunk.rows:
                    with write_failures(name):
                        writer.write_table(chunk.payload)
            else:
                _write(out, chunk.payload, name)
            rows += chunk.rows
            generated += chunk.generated
            crossing += chunk.crossing
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
    return StreamResult(rows, generated, guarded, empty_ids, crossing)


def _scored_chunks(generated: Iterator[ChunkRows], spec: WorkSpec, quality: Any, encoder: Any,
                   progress: Callable[[str, int, int], None] | None, total: int, drift: Any) -> Iterator[ChunkOut]:
    """Quality signals in two passes over the output, in constant memory.

    Most signals are a row's own (keywords, similarity to its original, artifacts); two
    need the whole run: ``duplicate`` (the text, normalised, occurs more than once among
    the output rows) and ``leak`` (a val/test text, exactly or by embedding). So:

    1. each chunk's rows are generated, spilled to a temporary file (pickled, removed at
       the end), and what the global signals need is kept: a 64-bit hash of every row's
       normalised text, of every held-out text, and the held-out texts' embeddings
       (written to a second temporary file and memory-mapped, so never held at once);
    2. each spilled chunk is read back, scored by :func:`augment_core.augment.quality.score_chunk`
       (the in-memory run's code) against that index, flagged ``label_drift`` by ``drift``
       (the run's baseline, :func:`augment_core.runners.core.fit_drift_baseline`, when there is
       one), shaped and encoded.
    """
    import numpy as np

    if encoder is None:
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
                emb = encode(encoder, fresh, 64)
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
                        labels_by_id={r.id: r.labels for r in res.records}, encoder=encoder, quality=quality)
            if drift is not None:
                drift.flag(res.rows)
            chunk = Dataset(records=res.records, mapping=spec.mapping, empty_text_ids=res.empty,
                            columns=tuple(spec.columns))
            shaped = list(user_rows(res.rows, chunk, schema))
            generated_n = sum(1 for r in res.rows if r["augmenter"] != "original")
            if progress is not None:
                progress("quality", k + 1, chunks)
            if spec.fmt == "parquet":
                yield ChunkOut(arrow_table(shaped, spec.arrow_schema), len(res.rows), generated_n, 0, 0, res.empty,
                               res.crossing)
                continue
            buf = io.BytesIO()
            guarded = write_rows_to(shaped, buf, spec.fmt, schema.columns, formula_guard=spec.formula_guard,
                                    header=False)
            yield ChunkOut(buf.getvalue(), len(res.rows), generated_n, 0, guarded, res.empty, res.crossing)
        del held, index


def _write(out: IO[bytes], data: bytes, name: str) -> None:
    with write_failures(name):
        out.write(data)
