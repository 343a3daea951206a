"""Hugging Face ``datasets`` output and input.

Output: a ``datasets.DatasetDict`` with ``train``, ``validation`` and ``test`` (always all
three, an empty one included, so training code can index them), saved with
``save_to_disk`` and loadable with ``datasets.load_from_disk``; the run's manifest lies
beside it as ``augment_manifest.json``. Every column of the user's schema is there, with
the Arrow types the cells have (as for Parquet); the label column becomes a ``ClassLabel``
when every row has exactly one string label, a ``List(ClassLabel)`` when labels are
string lists (multi-label), and stays as read when the labels are numbers (their indices
are the user's own). Fingerprints are derived from the content, so the same input,
parameters and seed give the same bytes.

Input: a folder saved by ``save_to_disk`` (a ``DatasetDict`` or one ``Dataset``) reads as
one table: its splits one after the other, ClassLabel values as their names, and the split
name in a column ``split`` (``hf_split`` when the data has a ``split`` column already).

``datasets`` is imported only here, and only when such a folder is written or read.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any, Sequence

from augment_core.data.io import HF_MARKERS, arrow_table
from augment_core.errors import InputError

HF_SPLITS = {"train": "train", "val": "validation", "test": "test"}
"""Our split names -> the DatasetDict's keys."""
MANIFEST_NAME = HF_MARKERS[1]


def label_encoding(cells: Sequence[Any], labels: Sequence[tuple[str, ...]]) -> tuple[str, list[str]]:
    """How the label column is typed: ("single", names), ("multi", names) or ("keep", [])."""
    if any(isinstance(c, (int, float)) and not isinstance(c, bool) for c in cells if c is not None):
        return "keep", []
    names = sorted({x for labs in labels for x in labs})
    scalar = all(isinstance(c, str) and not c.strip().startswith("[") for c in cells)
    if scalar and all(len(labs) == 1 for labs in labels):
        return "single", names
    return "multi", names


def _content_fingerprint(table: Any, split: str) -> str:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return hashlib.sha256(split.encode() + sink.getvalue().to_pybytes()).hexdigest()[:16]


def dataset_dict(
    rows: Sequence[dict[str, Any]], columns: Sequence[str], splits: Sequence[str | None],
    labels: Sequence[tuple[str, ...]], label_column: str,
) -> Any:
    """The rows (in the user's schema) as a DatasetDict; ``splits`` and ``labels`` are each
    row's split (train/val/test) and parsed labels (a variant's are its parent's)."""
    import datasets
    import pyarrow as pa

    cols = list(columns)
    table = arrow_table(list(rows), cols)
    kind, names = label_encoding([r.get(label_column) for r in rows], labels)
    features = datasets.Features.from_arrow_schema(table.schema)
    if kind != "keep":
        index = {n: i for i, n in enumerate(names)}
        if kind == "single":
            array = pa.array([index[labs[0]] for labs in labels], pa.int64())
            features[label_column] = datasets.ClassLabel(names=names)
        else:
            array = pa.array([[index[x] for x in labs] for labs in labels], pa.list_(pa.int64()))
            features[label_column] = datasets.List(datasets.ClassLabel(names=names))
        table = table.set_column(cols.index(label_column), label_column, array)
    table = table.cast(features.arrow_schema)
    out = {}
    for ours, theirs in HF_SPLITS.items():
        part = table.take(pa.array([i for i, s in enumerate(splits) if s == ours], pa.int64()))
        out[theirs] = datasets.Dataset(part, info=datasets.DatasetInfo(features=features), split=theirs,
                                       fingerprint=_content_fingerprint(part, theirs))
    return datasets.DatasetDict(out)


def save(ddict: Any, folder: Path, manifest: dict[str, Any]) -> None:
    """``save_to_disk`` into ``folder`` (a fresh temporary folder), manifest beside it."""
    import datasets

    datasets.disable_progress_bars()  # the CLI's stderr is one line per outcome
    ddict.save_to_disk(str(folder))
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + "\n",
                                        encoding="utf-8")


def zip_bytes(ddict: Any, manifest: dict[str, Any], name: str) -> bytes:
    """The saved DatasetDict and manifest as a zip holding one folder ``name`` (the app's
    download): unzip and ``load_from_disk(name)``."""
    import tempfile

    buf = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="augment-hf-") as tmp:
        folder = Path(tmp) / name
        folder.mkdir()
        save(ddict, folder, manifest)
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    info = zipfile.ZipInfo(str(Path(name) / path.relative_to(folder)), date_time=(1980, 1, 1, 0, 0, 0))
                    info.compress_type = zipfile.ZIP_DEFLATED
                    zf.writestr(info, path.read_bytes())
    return buf.getvalue()


def is_hf_folder(path: str | Path) -> bool:
    p = Path(path)
    return p.is_dir() and ((p / "dataset_dict.json").is_file() or (p / "state.json").is_file())


def read_folder(path: str | Path) -> tuple[list[str], list[dict[str, Any]]]:
    """A ``save_to_disk`` folder as one table's columns and rows (see the module docstring;
    :class:`augment_core.data.dataset.TableStream` wraps them, so this module needs nothing of it)."""
    import datasets

    try:
        loaded = datasets.load_from_disk(str(path))
    except Exception as exc:  # datasets raises many kinds; all mean "not a readable dataset"
        raise InputError(f"{path} is not a readable Hugging Face dataset folder ({str(exc).splitlines()[0][:200]})") from None
    parts = loaded.items() if isinstance(loaded, datasets.DatasetDict) else [("train", loaded)]
    columns: list[str] = []
    rows: list[dict[str, Any]] = []
    for split, ds in parts:
        for c in ds.column_names:
            if c not in columns:
                columns.append(c)
        decoders = {c: _decoder(f) for c, f in ds.features.items()}
        for row in ds.to_list():
            rows.append({c: (decoders[c](v) if decoders.get(c) else v) for c, v in row.items()} | {"\0split": split})
    split_col = "split" if "split" not in columns else "hf_split"
    for row in rows:
        row[split_col] = row.pop("\0split")
    if not rows:
        raise InputError(f"{path} has no rows")
    return [*columns, split_col], rows


def _decoder(feature: Any) -> Any:
    import datasets

    if isinstance(feature, datasets.ClassLabel):
        return lambda v: None if v is None or v < 0 else feature.int2str(v)
    inner = getattr(feature, "feature", None)
    if isinstance(feature, (datasets.List, datasets.Sequence)) and isinstance(inner, datasets.ClassLabel):
        return lambda v: None if v is None else [inner.int2str(x) for x in v]
    return None
