"""The manifests a run or an export writes beside its rows: one typed shape each, one key per fact.

* :class:`RunManifest`: what an augmentation run wrote (``--runner ray``'s ``manifest.json``,
  the ``augment_manifest.json`` of a ``--format hf`` folder). Run import reads it back.
* :class:`ExportManifest`: what a curated export wrote (the Export page, ``export-run``'s
  ``OUT.manifest.json``).

``manifest_version`` is the schema version of the manifest; ``output_format`` is the kind
of file the rows are in. The previous release wrote ``"format"`` for either (a number in one
manifest, ``"parquet shards"`` in another) and ``"created"`` beside ``"created_at"``: its
manifests are read through :data:`OLD_KEYS`, so runs made before keep importing. Every key
is documented once, in its field's metadata; :func:`key_table` prints the table the docs show.

A manifest is untrusted text: :meth:`RunManifest.from_json` checks every key's JSON type and
what the import relies on (mapping, split ratios, seed), each failure one line. Unknown keys
are ignored (a later release may add some).
"""

from __future__ import annotations

import datetime as dt
import platform
from dataclasses import MISSING, dataclass, field, fields
from importlib import metadata
from typing import Any, ClassVar, Mapping, Self

from augment_core.data.dataset import ColumnMapping
from augment_core.data.splitting import DEFAULT_RATIOS, check_ratios
from augment_core.errors import InputError

MANIFEST_VERSION = 2
"""The schema version this release writes; a manifest without ``manifest_version`` is version 1."""
VERSION_PACKAGES = (
    "streamlit", "pandas", "pyarrow", "altair", "numpy", "inflect",
    "nlpaug", "transformers", "torch", "sentence-transformers",
)
"""The libraries whose versions a manifest records (those that shape the rows or read them)."""
OLD_KEYS = {"created": "created_at", "tags_file": "tags", "ray": "runner_options"}
"""Keys of the previous release -> this release's, where only the name changed. The rest is
in :func:`_upgrade`: ``"format"`` (a number: the schema version; a string: the output kind),
an export's ``"export": {"format"}`` and ``"run"``, and a ``--format hf`` run's
``"input"``, ``"split"``, ``"run"`` and ``"hf"`` objects."""
OLD_OUTPUT_FORMATS = {"parquet shards": "parquet"}

JsonKind = type


def _key(doc: str, kind: JsonKind, default: Any = MISSING, *, items: tuple[JsonKind, str] | None = None) -> Any:
    """A manifest key: its documentation, its JSON type and (for a list) what its items are."""
    meta = {"doc": doc, "json": kind, "items": items}
    if default is MISSING:
        return field(metadata=meta)
    return field(default=default, metadata=meta)


def iso8601(when: float | str | dt.datetime | None = None) -> str | None:
    """A time as ISO 8601 in UTC (``2026-11-25T01:52:07Z``), the one form every manifest time
    takes; an epoch number (as the store keeps times), a datetime, or now. Strings pass
    through (they are ISO already); None stays None."""
    if isinstance(when, str):
        return when
    if when is None:
        moment = dt.datetime.now(dt.timezone.utc)
    elif isinstance(when, dt.datetime):
        moment = when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)
    else:
        moment = dt.datetime.fromtimestamp(float(when), dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def library_versions(packages: tuple[str, ...] = VERSION_PACKAGES) -> dict[str, str]:
    """Installed versions of the libraries that shape the output (those missing are left out)."""
    out = {"python": platform.python_version()}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


_TYPE_NAMES = {list: "a list", int: "a whole number", bool: "true or false", str: "a string", dict: "an object",
               float: "a number"}


def _json_type(value: Any) -> str:
    return {bool: "true or false", int: "a whole number", float: "a number with a fraction", str: "a string",
            list: "a list", dict: "an object"}.get(type(value), "null")


def _is(value: Any, kind: JsonKind) -> bool:
    if isinstance(value, bool):
        return kind is bool
    if kind is float:
        return isinstance(value, (int, float))
    return isinstance(value, kind)


def _checked(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    """The keys of ``cls`` in ``data`` with their JSON types checked (one line each), lists
    as tuples; a key absent takes its default, a required one absent is an error."""
    out: dict[str, Any] = {}
    for f in fields(cls):
        kind, items = f.metadata["json"], f.metadata["items"]
        value = data.get(f.name)
        if value is None:
            if f.default is MISSING:
                raise InputError(f"\"{f.name}\" is missing")
            continue
        if not _is(value, kind):
            raise InputError(f"\"{f.name}\" must be {_TYPE_NAMES[kind]}, not {_json_type(value)}")
        if kind is list:
            if items is not None and not all(_is(v, items[0]) for v in value):
                raise InputError(f"\"{f.name}\" must be a list of {items[1]}")
            value = tuple(value)
        out[f.name] = value
    return out


def _upgrade(data: Mapping[str, Any]) -> dict[str, Any]:
    """A manifest of the previous release (no ``manifest_version``: version 1) in this
    release's keys; a new one passes as it is."""
    if "manifest_version" in data:
        return dict(data)
    out: dict[str, Any] = {OLD_KEYS.get(k, k): v for k, v in data.items() if k != "format"}
    out["manifest_version"] = MANIFEST_VERSION  # what it now is: in this release's keys
    if isinstance(data.get("format"), str):  # a Ray run: "parquet shards"; a number was the schema version
        out["output_format"] = OLD_OUTPUT_FORMATS.get(data["format"], data["format"])
    export, run = out.get("export"), out.pop("run", None)
    if isinstance(export, dict):  # an export: the file kind sat in its section, a sampled export's run alone
        out["export"] = {k: v for k, v in export.items() if k != "format"}
        out.setdefault("output_format", export.get("format"))
        if run is not None:
            out["runs"] = [run]
        return out
    given, split, hf = out.pop("input", None), out.pop("split", None), out.pop("hf", None)
    out["input"] = given.get("name") if isinstance(given, dict) else given
    if isinstance(given, dict):  # a --format hf run: {"name", "sha256"}
        out["input_sha256"] = given.get("sha256")
    if isinstance(split, dict):  # {"column", "ratios", "seed"}
        out.update({"split_column": split.get("column"), "split_ratios": split.get("ratios"), "seed": split.get("seed")})
    if isinstance(hf, dict):  # {"splits", "label_feature"}
        out.update({"runner": "local", "output_format": "hf", "splits": hf.get("splits"),
                    "label_feature": hf.get("label_feature")})
    if isinstance(run, dict):  # the run's parameters: augmenters with theirs, policy, quality settings, variants
        named = [a for a in run.get("augmenters") or () if isinstance(a, dict)]
        out["augmenters"] = [a.get("name") for a in named]
        out["augmenter_params"] = {str(a.get("name")): {k: v for k, v in a.items() if k != "name"} for a in named}
        out.update({k: run.get(k) for k in ("n_per_original", "keep_original", "quality")})
        out["generated"] = run.get("variants")
    return out


_VERSION_DOC = "The schema version of this manifest (absent: 1, written before the keys were unified)."
_VERSIONS_DOC = "Versions of Python and of the libraries that shape the rows."


class _Manifest:
    """JSON in and out, shared by the manifest kinds."""

    WHAT: ClassVar[str] = "a manifest"

    def to_json(self) -> dict[str, Any]:
        """The manifest as JSON values: every key written (null when unknown), lists for tuples."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in vars(self).items()}

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """The manifest in ``data`` (this release's keys or the previous one's), or InputError
        naming the first key that is wrong, in one line."""
        if not isinstance(data, dict):
            raise InputError(f"{cls.WHAT} must be a JSON object, not {_json_type(data)}")
        out = cls(**_checked(cls, _upgrade(data)))
        out.check()
        return out

    def check(self) -> None:
        """What the types alone do not say (InputError, one line)."""


@dataclass(frozen=True)
class RunManifest(_Manifest):
    """What an augmentation run wrote, and how: enough to check its rows against the dataset
    and to make it again."""

    runner: str = _key("The runner that wrote the run: `local` or `ray`.", str)
    output_format: str = _key("The kind of file the rows are in: `parquet` (Ray's shards), `csv`, `jsonl` or `hf`.", str)
    files: tuple[str, ...] = _key("The data files the run wrote, relative to the manifest's folder (Ray's shards).",
                                  list, (), items=(str, "names"))
    columns: tuple[str, ...] = _key("The output's columns, in order.", list, (), items=(str, "names"))
    rows: int | None = _key("Rows written, originals included.", int, None)
    generated: int | None = _key("Variants written (rows that are not originals).", int, None)
    mapping: dict[str, Any] | None = _key("The column mapping (text, label, id and split columns) the run read the "
                                          "input with.", dict, None)
    augmenters: tuple[str, ...] = _key("The augmenters' names, in the order they ran.", list, (), items=(str, "augmenter names"))
    augmenter_params: dict[str, Any] | None = _key("Each augmenter's parameters, by name (where the runner records "
                                                   "them).", dict, None)
    n_per_original: int | None = _key("Policy: variants asked for per original.", int, None)
    keep_original: bool | None = _key("Policy: whether the train originals are in the output.", bool, None)
    seed: int | None = _key("The seed of the augmenters and of the split.", int, None)
    split_ratios: tuple[float, ...] | None = _key("Train, validation and test shares of the split (null when the input's "
                                                  "split column gave it).", list, None, items=(float, "numbers"))
    split_column: str | None = _key("The input's column that gave the split, if one did.", str, None)
    schema: dict[str, Any] | None = _key("The output schema: input columns, provenance columns and their prefix.",
                                         dict, None)
    input: str | None = _key("The input the run read (a path or URI as given; a Hugging Face run: its name).", str, None)
    input_sha256: str | None = _key("SHA-256 of the input file's bytes (where the runner reads it whole).", str, None)
    tags: str | None = _key("The alias (tags) file the run used.", str, None)
    quality: dict[str, Any] | None = _key("Quality scoring: its settings, and on Ray the figures of the scoring pass.",
                                          dict, None)
    splits: dict[str, Any] | None = _key("Rows per split.", dict, None)
    label_feature: dict[str, Any] | None = _key("A `hf` run: the label column's feature type.", dict, None)
    runner_options: dict[str, Any] | None = _key("The runner's own settings (Ray: workers, GPUs per worker, batch rows).",
                                                 dict, None)
    created_at: str | None = _key("When the run finished, ISO 8601 in UTC (null for `hf`: the same input and seed give "
                                  "the same bytes, this file included).", str, None)
    versions: dict[str, Any] | None = _key(_VERSIONS_DOC, dict, None)
    manifest_version: int = _key(_VERSION_DOC, int, MANIFEST_VERSION)

    WHAT: ClassVar[str] = "a run's manifest"

    def check(self) -> None:
        if (self.n_per_original or 0) < 0:
            raise InputError("\"n_per_original\" must be 0 or more")
        if self.mapping is not None:
            self.settings()  # the mapping and the split settings, checked as the import reads them

    def settings(self) -> dict[str, Any]:
        """The dataset settings the run was made with (the CLI's ``--seed`` seeds the split too)."""
        mapping = self.mapping
        if mapping is None or "text_columns" not in mapping or "label_column" not in mapping:
            raise InputError("the manifest has no column mapping (\"mapping\"): not a run of augment-review")
        ColumnMapping.from_json(mapping)  # InputError for a field of another type
        ratios = list(self.split_ratios or DEFAULT_RATIOS)
        check_ratios(ratios)
        seed = self.seed or 0
        if seed < 0:
            raise InputError("the seed must be a whole number, 0 or more")
        return {"mapping": mapping, "split_ratios": ratios, "split_seed": seed}


@dataclass(frozen=True)
class ExportManifest(_Manifest):
    """What a curated export wrote: where every row came from and which decisions kept it."""

    output_format: str = _key("The kind of file the rows are in: `csv`, `jsonl`, `parquet` or `hf`.", str)
    dataset: dict[str, Any] = _key("The dataset: its SHA-256, name, settings (mapping, split) and tags file.", dict)
    runs: tuple[dict[str, Any], ...] = _key("The runs whose variants the export holds: id, when, parameters.",
                                            list, items=(dict, "objects"))
    review: dict[str, Any] = _key("The decisions: counts, reviewers and the policy that combined them.", dict)
    export: dict[str, Any] = _key("The rows written: count per split and augmenter, schema, options.", dict)
    seed: int | None = _key("The split's seed.", int, None)
    evaluation: dict[str, Any] | None = _key("The latest evaluation of the accepted variants, if any.", dict, None)
    created_at: str | None = _key("When the export was made, ISO 8601 in UTC.", str, None)
    versions: dict[str, Any] | None = _key(_VERSIONS_DOC, dict, None)
    platform: str | None = _key("The operating system (`sys.platform`) of the machine that exported.", str, None)
    manifest_version: int = _key(_VERSION_DOC, int, MANIFEST_VERSION)

    WHAT: ClassVar[str] = "an export's manifest"


def key_table(cls: type) -> str:
    """The keys of a manifest class as a Markdown table (key, JSON type, meaning), for the docs."""
    lines = ["| key | type | meaning |", "|---|---|---|"]
    for f in fields(cls):
        kind, items = f.metadata["json"], f.metadata["items"]
        what = _TYPE_NAMES[kind].removeprefix("a ").removeprefix("an ") + (f" of {items[1]}" if items else "")
        lines.append(f"| `{f.name}` | {what}{'' if f.default is MISSING else ', optional'} | {f.metadata['doc']} |")
    return "\n".join(lines)
