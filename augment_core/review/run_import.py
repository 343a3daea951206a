"""Load a run made by the CLI (``--runner local`` or ``stream``) or on Ray into the review store.

What such a run leaves on disk:

* ``--runner ray``: a folder of Parquet shards (``part-*.parquet``) and ``manifest.json``
  (mapping, augmenters, seed, split ratios, the column schema, rows, files);
* ``--runner local`` / ``stream``: one CSV, JSONL or Parquet file, no manifest.

Rows are in the user's schema (every input column, then the provenance columns, prefixed
``aug_`` when an input column has one of their names, see :mod:`augment_core.data.user_schema`);
the store keeps provenance rows (:mod:`augment_core.runners.pipeline`), so each row is turned back
into one (its provenance columns under their own names and the label cell).

**It must be this dataset's run.** The run is checked row by row against the dataset, built
with the run's own settings (the manifest's mapping, split ratios and seed; without a
manifest, the dataset's current settings, then those with the run's seed): every row's
parent must be a row of the dataset with the same text, and in the same split. A run of
another file, or made with another mapping or split, is refused with a message saying what
differs, and nothing is stored. The app checks against its cached dataset; the CLI reads
the stored file for ids, label sets and text digests only (:func:`lean_parents`), not
records, so checking a run of a million rows does not hold a million records.

**Whole or sampled.** A run of at most ``max_whole`` variants is stored whole, as the
Augment page stores its own runs, and reviewed like them. A larger one is stored by sample:
every alias rule's row count (and keyword agreement) and a seeded stratified sample of
``per_rule`` variants per rule (:mod:`augment_core.review.rule_sample`) as its candidates;
the files stay where they are and are read again, streamed, at export
(:mod:`augment_core.review.rule_export`).
"""

from __future__ import annotations

import hashlib
import json
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from augment_core.augment.changes import changes_from_json
from augment_core.augment.quality import QUALITY_COLUMNS
from augment_core.data.dataset import (
    JOINER,
    SPLITS,
    ColumnMapping,
    Dataset,
    RecordBuilder,
    TableStream,
    format_of,
    text_cell,
)
from augment_core.data.dataset_settings import build_from_settings, settings_key
from augment_core.data.limits import check_depth, json_loads, too_deep
from augment_core.data.manifest import RunManifest
from augment_core.data.sources import FileSource
from augment_core.data.splitting import DEFAULT_RATIOS, fill_splits
from augment_core.errors import InputError
from augment_core.review.facts import store_run
from augment_core.review.rule_sample import DEFAULT_PER_RULE, MAX_WHOLE, RuleSampler
from augment_core.review.store import RunRule, Store
from augment_core.runners.pipeline import ORIGINAL, PROVENANCE_COLUMNS, TRAILING_COLUMNS

MANIFEST_NAMES = ("manifest.json",)
KNOWN_PROVENANCE = (*PROVENANCE_COLUMNS, *TRAILING_COLUMNS, *QUALITY_COLUMNS)
NEEDED = ("id", "parent_id", "split", "augmenter", "text", "original_text", "changes")
CHUNK_ROWS = 20_000
Progress = Callable[[int], None]
"""Called with the rows read so far."""


@dataclass(frozen=True)
class RunFiles:
    """A run's files on disk and what its manifest (if any) says."""

    path: str
    """What was given: a folder, a manifest or a file."""
    files: tuple[Path, ...]
    fmt: str
    manifest: RunManifest | None
    columns: tuple[str, ...]
    prefix: str
    provenance: tuple[str, ...]
    """The provenance columns the files have, by their own names (``id``, ``parent_id``, ...)."""

    def name(self, provenance_column: str) -> str:
        return self.prefix + provenance_column


def _read_manifest(path: Path) -> RunManifest:
    """A run's manifest, or InputError. Nothing from a file that is not one is quoted back
    (the path may name any JSON file on the server, a config holding secrets included):
    only a manifest whose ``files`` are all ``.parquet`` names passes."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the manifest {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"the manifest {path} is not valid JSON ({exc.msg}, line {exc.lineno})") from None
    except RecursionError:
        raise too_deep(f"the manifest {path}") from None
    check_depth(data, f"the manifest {path}")  # stored with the run and read again deeper in a page's stack
    files = data.get("files") if isinstance(data, dict) else None
    if (not isinstance(data, dict) or not isinstance(files, list) or not files
            or not all(isinstance(f, str) and f.endswith(".parquet") for f in files)):
        raise InputError(f"{path} is not the manifest of a run (a folder's manifest.json lists its Parquet files "
                         "under \"files\")")
    try:
        return RunManifest.from_json(data)  # every key's type, the mapping and split settings: one line
    except InputError as exc:
        raise InputError(f"the manifest {path}: {exc}") from None


def _listed_files(manifest: RunManifest, folder: Path) -> list[Path]:
    """The manifest's files, each a relative path inside the run's folder (symlinks followed);
    one absolute, with ``..``, or leading out of the folder is refused, and its name is not
    quoted (a manifest is untrusted)."""
    root = folder.resolve()
    out = []
    for i, name in enumerate(manifest.files, 1):
        parts = Path(name).parts
        f = (root / name).resolve()
        if Path(name).is_absolute() or ".." in parts or not f.is_relative_to(root):
            raise InputError(f"the manifest's files entry {i} is not a relative path inside the run's folder: "
                             "a run's manifest names its own shards")
        if not f.is_file():
            raise InputError(f"the manifest lists a shard (files entry {i}) which is not in {folder}: the run is incomplete "
                             "or was moved")
        out.append(f)
    return out


def locate_run(path: str | Path) -> RunFiles:
    """The run at ``path``: a folder of Parquet shards (with ``manifest.json``, as
    ``--runner ray`` writes it, or without), a run's ``manifest.json``, or one CSV, JSONL or
    Parquet output file. InputError (one line) for anything else."""
    given = str(path)
    p = Path(path).expanduser()
    if not str(given).strip():
        raise InputError("no path given: name a run's folder, its manifest.json or an output file")
    if not p.exists():
        raise InputError(f"{given} does not exist (the path is read on the machine the app runs on)")
    manifest: RunManifest | None = None
    if p.is_dir():
        if (p / "dataset_dict.json").exists():
            raise InputError(f"{given} is a Hugging Face dataset folder: load a --runner ray folder, or a CSV, JSONL or "
                             "Parquet output file")
        folder = p
        for name in MANIFEST_NAMES:
            if (p / name).is_file():
                manifest = _read_manifest(p / name)
                break
        if manifest is None:
            files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix == ".parquet")
            if not files:
                raise InputError(f"{given} holds no manifest.json and no .parquet files: not a run's folder")
    elif p.suffix.lower() == ".json":
        if p.name not in MANIFEST_NAMES:
            raise InputError(f"{p.name}: a run's manifest is named {' or '.join(MANIFEST_NAMES)}; give it, the run's "
                             "folder, or a .csv, .jsonl or .parquet output file")
        manifest = _read_manifest(p)
        folder = p.parent
    elif p.is_file():
        fmt = _table_format(p)
        return _with_columns(given, (p,), fmt, None)
    else:
        raise InputError(f"{given} is not a regular file or folder")
    if manifest is not None:
        files = _listed_files(manifest, folder)
    return _with_columns(given, tuple(files), "parquet", manifest)


def _table_format(p: Path) -> str:
    try:
        fmt = format_of(p.name)
    except InputError:
        fmt = ""
    if fmt not in ("csv", "jsonl", "parquet"):
        raise InputError(f"{p.name}: a run is a folder of Parquet shards, its manifest.json, or a .csv, .jsonl or "
                         ".parquet output file")
    return fmt


def _with_columns(given: str, files: tuple[Path, ...], fmt: str, manifest: RunManifest | None) -> RunFiles:
    from augment_core.evaluate.data import provenance_prefix

    columns = FileSource(files[0]).columns
    for f in files[1:]:
        other = FileSource(f).columns
        if other != columns:
            raise InputError(f"{f.name} has other columns than {files[0].name}: not one run")
    schema = (manifest.schema if manifest is not None else None) or {}
    prefix = schema.get("provenance_prefix") if isinstance(schema.get("provenance_prefix"), str) else None
    if prefix is None:
        prefix = provenance_prefix(columns)
    provenance = tuple(p for p in KNOWN_PROVENANCE if prefix + p in columns)
    missing = [prefix + p for p in NEEDED if p not in provenance]
    if missing:
        raise InputError(f"{Path(given).name} is not an augment output: it has no {', '.join(missing)} column"
                         f"{'s' if len(missing) > 1 else ''}")
    return RunFiles(given, files, fmt, manifest, tuple(columns), prefix, provenance)


def iter_rows(run: RunFiles, chunk_rows: int = CHUNK_ROWS) -> Iterator[list[dict[str, Any]]]:
    """The run's rows in the user's schema, file by file, in chunks."""
    for f in run.files:
        source = FileSource(f, chunk_rows)
        cols = source.columns
        for chunk in source.chunks():
            yield [dict(zip(cols, row)) for row in chunk]


def provenance_row(row: Mapping[str, Any], run: RunFiles, label_column: str) -> dict[str, Any]:
    """A row of the user's schema as the store keeps rows (provenance names, and the label)."""
    out = {p: row.get(run.name(p)) for p in run.provenance}
    out[label_column] = row.get(label_column)
    return out


# --- which settings, and does it belong -----------------------------------------------------


def manifest_settings(manifest: RunManifest) -> dict[str, Any]:
    """The dataset settings a CLI or Ray run was made with (see :meth:`RunManifest.settings`)."""
    return manifest.settings()


def params_of(cell: Any) -> dict[str, Any]:
    """A run row's ``params`` cell as the augmenter's parameters; {} when it is not a JSON
    object (they only describe the run: a malformed or deeply nested cell loses nothing)."""
    try:
        value = json_loads(cell, "a params cell") if isinstance(cell, str) else None
    except (ValueError, InputError):  # not JSON, or nested too deep to be stored with the run
        return {}
    return value if isinstance(value, dict) else {}



def _seed_of(params: Any) -> int | None:
    value = params_of(params).get("seed")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass
class Mismatch:
    """How a run differs from the dataset, counted over its rows."""

    rows: int = 0
    unknown: int = 0
    text: int = 0
    split: int = 0
    examples: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.unknown or self.text or self.split)

    def message(self, what: str) -> str:
        parts = []
        if self.unknown:
            parts.append(f"{self.unknown:,} of {self.rows:,} rows name an original this dataset does not have "
                         f"(e.g. id {self.examples['unknown']!r})")
        if self.text:
            parts.append(f"{self.text:,} rows have another original text than this dataset's row "
                         f"(e.g. id {self.examples['text']!r})")
        if self.split:
            parts.append(f"{self.split:,} rows are in another split than under {what} (e.g. id {self.examples['split']!r})")
        return "; ".join(parts)


@dataclass(frozen=True)
class Parents:
    """What the check needs of the dataset: its columns and mapping, and per row id the
    row's text (or a digest of it) and split."""

    columns: tuple[str, ...]
    mapping: ColumnMapping
    by_id: dict[str, tuple[Any, str | None]]
    digest: bool = False
    """Texts are held as :func:`text_digest` s (a large dataset read for the check alone)."""

    def text_key(self, text: Any) -> Any:
        return text_digest(text) if self.digest and isinstance(text, str) else text


def text_digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def parents_of(dataset: Dataset) -> Parents:
    """The check's view of a dataset already built (the app's cached one)."""
    return Parents(tuple(dataset.columns), dataset.mapping, {r.id: (r.text, r.split) for r in dataset.records})


def lean_parents(data: bytes, name: str, settings: Mapping[str, Any]) -> Parents:
    """The check's view of a stored dataset without building its records (a million rows'
    records with their cells take gigabytes): ids, label sets for the split, text digests.
    The rows, ids and splits are :func:`augment_core.data.dataset_settings.build_from_settings`'s
    (the same builder, the same seeded stratification)."""
    table = TableStream(data, name)
    mapping = ColumnMapping.from_json(dict(settings["mapping"]))
    builder = RecordBuilder(table.columns, mapping)
    text_is = builder.text_indices
    ids: list[str] = []
    labels: list[tuple[str, ...]] = []
    splits: list[str | None] = []
    digests: list[bytes] = []
    for i, row in enumerate(table.tuples()):
        rid, lab, split = builder.key(i, row)
        ids.append(rid)
        labels.append(lab)
        splits.append(split)
        digests.append(text_digest(JOINER.join([text_cell(row[j]) for j in text_is])))
    builder.finish()
    filled = fill_splits(splits, labels, settings.get("split_ratios") or DEFAULT_RATIOS,
                         int(settings.get("split_seed") or 0))
    return Parents(tuple(table.columns), mapping, dict(zip(ids, zip(digests, filled))), digest=True)


def check_row(row: Mapping[str, Any], parents: Parents, seen: Mismatch) -> None:
    """Count how a provenance row differs from the dataset's row of its parent."""
    seen.rows += 1
    parent = parents.by_id.get(str(row.get("parent_id")))
    rid = str(row.get("id"))
    if parent is None:
        seen.unknown += 1
        seen.examples.setdefault("unknown", str(row.get("parent_id")))
        return
    text, parent_split = parent
    if parents.text_key(row.get("original_text")) != text:
        seen.text += 1
        seen.examples.setdefault("text", rid)
    split = row.get("split")
    if split not in SPLITS or split != parent_split or (row.get("augmenter") != ORIGINAL and split != "train"):
        seen.split += 1
        seen.examples.setdefault("split", rid)


# --- import ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    run_id: int
    rows: int
    """Rows in the run's files."""
    variants: int
    sampled: bool
    candidates: int
    """Variants stored as candidates (all of them, or the sample)."""
    rules: int
    settings: dict[str, Any]


def _augmenters(params_by_name: Mapping[str, Any], names: Sequence[str]) -> list[dict[str, Any]]:
    """Each augmenter's parameters as the app's runs record them (``{"name": ..., ...}``)."""
    out = []
    for name in names:
        p = params_by_name.get(name) or {}
        out.append({"name": name, **{k: v for k, v in p.items() if k not in ("augmenter", "n_per_original", "seed")}})
    return out


@dataclass
class _Pass:
    """One pass over the run: checked against the dataset, counted, sampled, and (while small
    enough) kept whole."""

    mismatch: Mismatch = field(default_factory=Mismatch)
    rows: int = 0
    variants: int = 0
    whole: list[dict[str, Any]] | None = field(default_factory=list)
    sampler: RuleSampler[dict[str, Any]] = field(default_factory=RuleSampler)
    params_by_name: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    id_hashes: array = field(default_factory=lambda: array("q"))
    """One 8-byte hash per variant id: a million ids in 8 MB, where a set of them takes ~100 MB."""
    train_originals: int = 0


def _scan(run: RunFiles, parents: Parents, max_whole: int, per_rule: int, sample_seed: int,
          progress: Progress | None) -> _Pass:
    label = parents.mapping.label_column
    state = _Pass(sampler=RuleSampler(per_rule, sample_seed))
    for chunk in iter_rows(run):
        for raw in chunk:
            row = provenance_row(raw, run, label)
            state.rows += 1
            check_row(row, parents, state.mismatch)
            augmenter = str(row.get("augmenter"))
            if augmenter == ORIGINAL and row.get("split") == "train":
                state.train_originals += 1
            if augmenter != ORIGINAL:
                state.variants += 1
                rid = str(row.get("id"))
                state.id_hashes.append(hash(rid))
                if augmenter not in state.params_by_name:
                    state.params_by_name[augmenter] = params_of(row.get("params"))
                    if state.seed is None:
                        state.seed = _seed_of(row.get("params"))
                try:
                    changes = changes_from_json(row.get("changes"))
                except (ValueError, TypeError, KeyError):
                    raise InputError(f"row {rid!r} has a changes cell that is not a list of change spans") from None
                _check_variant(rid, row.get("text"), changes)
                state.sampler.add(rid, augmenter, changes, row)
            if state.whole is not None:
                state.whole.append(row)
                if state.variants > max_whole:
                    state.whole = None  # too large to keep: sampled
        if progress is not None:
            progress(state.rows)
    _check_ids_once(run, state.id_hashes)
    return state


def _check_variant(rid: str, text: Any, changes: Sequence[Any]) -> None:
    """InputError unless a variant has a text and every change span lies inside it (the
    review page highlights ``text[start:end]``)."""
    if not isinstance(text, str):
        raise InputError(f"row {rid!r} has no variant text (the text cell is empty): not a run to review")
    for c in changes:
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (c.start, c.end)) or not (
                0 <= c.start <= c.end <= len(text)):
            raise InputError(f"row {rid!r} has a change span outside its text: not a run to review")


def _check_ids_once(run: RunFiles, id_hashes: array) -> None:
    """InputError naming a variant id that appears twice (the files hold more than one run,
    or a shard was copied twice). Equal hashes are only suspects: their ids are compared in
    a second pass, which happens only when two hashes collide."""
    import numpy as np

    hashes = np.frombuffer(id_hashes, dtype=np.int64) if len(id_hashes) else np.empty(0, dtype=np.int64)
    ordered = np.sort(hashes)
    suspects = set(ordered[1:][ordered[1:] == ordered[:-1]].tolist())
    if not suspects:
        return
    seen: set[str] = set()
    id_column, augmenter_column = run.name("id"), run.name("augmenter")
    for chunk in iter_rows(run):
        for raw in chunk:
            if str(raw.get(augmenter_column)) == ORIGINAL:
                continue
            rid = str(raw.get(id_column))
            if hash(rid) in suspects:
                if rid in seen:
                    raise InputError(f"row id {rid!r} appears twice: the files hold more than one run")
                seen.add(rid)


def _settings_to_try(run: RunFiles, current: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    if run.manifest is not None:
        return [manifest_settings(run.manifest)]
    if not current:
        raise InputError("this dataset has no column mapping yet: map it on the Data page first (a run without a "
                         "manifest is checked against the dataset's mapping)")
    return [dict(current)]


def dataset_as(store: Store, dataset_hash: str, settings: Mapping[str, Any]) -> Dataset:
    """The stored dataset read with ``settings`` (a run's own mapping and split), as the run saw it."""
    info = store.stored_dataset(dataset_hash)
    try:
        table: Any = TableStream(store.dataset_bytes(dataset_hash), info.name)  # read once, as the app does
        return build_from_settings(table, settings)
    except InputError as exc:
        raise InputError(f"the run's column mapping does not fit this dataset: {exc}") from None


def import_run(
    store: Store,
    dataset_hash: str,
    path: str | Path,
    *,
    max_whole: int = MAX_WHOLE,
    per_rule: int = DEFAULT_PER_RULE,
    sample_seed: int = 0,
    progress: Progress | None = None,
    dataset_for: Callable[[Mapping[str, Any]], Dataset] | None = None,
) -> ImportResult:
    """Check the run at ``path`` against the dataset and store it, whole or by sample (see
    the module's docstring). ``dataset_for``: the dataset under given settings (the app
    passes its cached builder). Nothing is stored when the run does not belong."""
    if per_rule < 1:
        raise InputError("the sample per rule must be at least 1")
    run = locate_run(path)
    info = store.stored_dataset(dataset_hash)
    build: Callable[[Mapping[str, Any]], Parents]
    if dataset_for is not None:
        build = lambda s: parents_of(dataset_for(s))  # noqa: E731
    else:
        data, name = store.dataset_bytes(dataset_hash), info.name
        build = lambda s: lean_parents(data, name, s)  # noqa: E731
    tried = _settings_to_try(run, info.settings)
    settings = tried[0]
    parents = _built(build, settings)
    _check_columns(run, parents)
    state = _scan(run, parents, max_whole, per_rule, sample_seed, progress)
    if not state.mismatch.ok and run.manifest is None and state.seed is not None:
        # a CLI run seeds the split with --seed: try the dataset's mapping with the run's seed
        other = {**settings, "split_seed": state.seed}
        if settings_key(other) != settings_key(settings) and state.mismatch.split and not state.mismatch.unknown:
            parents2 = _built(build, other)
            state2 = _scan(run, parents2, max_whole, per_rule, sample_seed, progress)
            if state2.mismatch.ok:
                settings, state = other, state2
    if not state.mismatch.ok:
        what = "the run's own split settings" if run.manifest is not None else "this dataset's split settings"
        raise InputError(f"this run does not belong to this dataset: {state.mismatch.message(what)}")
    if not state.variants:
        raise InputError(f"{run.path} holds no variants (only originals): nothing to review")
    return _store(store, dataset_hash, run, settings, state, per_rule, sample_seed)


def _built(build: Callable[[Mapping[str, Any]], Parents], settings: Mapping[str, Any]) -> Parents:
    try:
        return build(settings)
    except InputError as exc:
        raise InputError(f"the run's column mapping does not fit this dataset: {exc}") from None


def _check_columns(run: RunFiles, dataset: Parents) -> None:
    missing = [c for c in dataset.columns if c not in run.columns]
    if missing:
        raise InputError(f"the run has no column {', '.join(repr(c) for c in missing[:5])} of this dataset: it was "
                         "made from another file")
    label = dataset.mapping.label_column
    if label not in run.columns:
        raise InputError(f"the run has no label column {label!r}")


def _store(store: Store, dataset_hash: str, run: RunFiles, settings: dict[str, Any], state: _Pass, per_rule: int,
           sample_seed: int) -> ImportResult:
    manifest = run.manifest or RunManifest(runner="local or stream (no manifest)", output_format=run.fmt)
    names = list(manifest.augmenters or state.params_by_name)
    stats, sample = state.sampler.result()
    sampled = state.whole is None
    rows = state.whole if state.whole is not None else sample
    originals = state.rows - state.variants
    policy = {
        "n_per_original": manifest.n_per_original if manifest.n_per_original is not None else next(
            (p.get("n_per_original") for p in state.params_by_name.values() if "n_per_original" in p), None),
        "keep_original": manifest.keep_original if manifest.keep_original is not None else state.train_originals > 0,
        "seed": manifest.seed if manifest.seed is not None else state.seed,
    }
    params = {
        "augmenters": _augmenters(state.params_by_name, names),
        **{k: v for k, v in policy.items() if v is not None},  # the Augment page's form reads them back
        "quality": None,
        "variants": state.variants,
        "settings": settings,
        "imported": {
            "path": str(Path(run.path).expanduser().resolve()),
            "files": [str(f.resolve()) for f in run.files],
            "format": run.fmt,
            "runner": manifest.runner,
            "provenance_prefix": run.prefix,
            "rows": state.rows,
            "originals": originals,
            "manifest": run.manifest.to_json() if run.manifest is not None else None,
            "sampled": sampled,
            **({"per_rule": per_rule, "sample_seed": sample_seed, "sampled_variants": len(sample),
                "rules": len(stats)} if sampled else {}),
        },
    }
    run_id = store_run(store, dataset_hash, params, rows, settings)
    if sampled:
        store.add_run_rules(run_id, [RunRule(s.rule, s.rows, s.sampled, s.agreement, s.support) for s in stats])
    return ImportResult(run_id, state.rows, state.variants, sampled, len(sample) if sampled else state.variants,
                        len(stats), settings)


def imported(params: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """What a run's parameters say of its import (None: a run made in the app)."""
    value = params.get("imported")
    return value if isinstance(value, Mapping) else None


def is_sampled(params: Mapping[str, Any]) -> bool:
    """Whether a run was imported by sample (reviewed by rule, exported from its files)."""
    info = imported(params)
    return bool(info and info.get("sampled"))
