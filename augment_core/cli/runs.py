"""``import-run`` and ``export-run``: a CLI or Ray run into the review store, and the curated
file of a run reviewed by sample, from the command line (what the Augment and Export pages
do with a path on the machine the app runs on).

Both name the dataset by its file (hashed, as the app keys it) or by its stored hash; the
store is the app's (``--data-dir``, default ``$AUGMENT_REVIEW_DATA_DIR`` or
``~/.augment-review``). A dataset not stored yet is added with the run's own settings, which
needs the run's manifest (a Ray folder has one); otherwise open it in the app first.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from augment_core.errors import InputError


def add_parsers(sub: Any) -> None:
    from augment_core.review.rule_sample import DEFAULT_PER_RULE, MAX_WHOLE

    i = sub.add_parser(
        "import-run",
        help="load a run made by augment (--runner local, stream or ray) into the review store of the app",
        description="Check a run against its dataset row by row and store it for review: whole up to "
        f"{MAX_WHOLE:,} variants, else by a seeded sample per alias rule (reviewed rule by rule in the app).",
    )
    i.add_argument("run", help="a --runner ray output folder or its manifest.json, or a .csv, .jsonl or .parquet output file; "
                   "with --parent-column, a file of variants made elsewhere in the dataset's own columns")
    _dataset_args(i)
    _variant_args(i)
    i.add_argument("--store", choices=("auto", "whole", "sample"), default="auto",
                   help=f"auto (default): whole up to {MAX_WHOLE:,} variants, else by sample")
    i.add_argument("--sample-per-rule", type=int, default=DEFAULT_PER_RULE, metavar="K",
                   help=f"variants sampled per alias rule (default {DEFAULT_PER_RULE})")
    i.add_argument("--sample-seed", type=int, default=0, metavar="S", help="seed of the sample (default 0)")
    e = sub.add_parser(
        "export-run",
        help="write the curated file of a run reviewed by sample, rule decisions applied to every row of each rule",
        description="Read the run's files again and write its train originals and accepted variants (a decision on "
        "a sampled variant wins over its rule's), with OUT.manifest.json beside the file.",
    )
    e.add_argument("run_id", type=int, help="the run's number (the app's runs table; import-run prints it)")
    _dataset_args(e)
    e.add_argument("--output", required=True, metavar="OUT", help="the curated file: .csv, .jsonl or .parquet")
    e.add_argument("--include-val-test", action="store_true", help="also write the val and test originals")
    e.add_argument("--reviewer", default="local", metavar="NAME",
                   help="whose decisions to export: a signed-in reviewer's e-mail (default: local, the single-user mode's)")


def _dataset_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", required=True, metavar="FILE_OR_HASH",
                   help="the dataset the run was made from: its file, or its sha256 as the app shows it (a prefix will do)")
    p.add_argument("--data-dir", default=None, metavar="DIR",
                   help="the app's data folder (default $AUGMENT_REVIEW_DATA_DIR or ~/.augment-review)")
    p.add_argument("--database-url", default=None, metavar="URL",
                   help="the team's review database, e.g. postgresql+psycopg://user@host/db "
                   "(default $AUGMENT_REVIEW_DATABASE_URL, else the SQLite file in the data folder)")


def _variant_args(p: argparse.ArgumentParser) -> None:
    """Variants made elsewhere (nlpaug, a language model, ...): the file's parent column, its
    augmenter column, and (for a dataset not stored yet) ``augment``'s mapping flags, which
    store and split it exactly as ``augment`` with the same flags does."""
    from augment_core.augment.aliases import BUNDLED_TAGS
    from augment_core.data.splitting import DEFAULT_RATIOS
    from augment_core.job import Augmentation

    ratios = ",".join(f"{r:g}" for r in DEFAULT_RATIOS)
    g = p.add_argument_group("variants made elsewhere (a file in the dataset's own columns)")
    g.add_argument("--parent-column", metavar="COL",
                   help="the file's column naming each variant's parent (a row id of the dataset): reads RUN as a file "
                   "of variants made by another tool, in the dataset's columns with edited text")
    g.add_argument("--augmenter-column", metavar="COL",
                   help="the file's column naming each variant's augmenter (default: every variant is 'imported')")
    g.add_argument("--text-column", action="append", metavar="COL",
                   help="as for augment, when --dataset is a file not stored yet (repeat for several text columns)")
    g.add_argument("--label-column", metavar="COL", help="as for augment, when --dataset is not stored yet")
    g.add_argument("--label-sep", metavar="SEP", help="as for augment (default ',')")
    g.add_argument("--split-column", metavar="COL", help="as for augment")
    g.add_argument("--id-column", metavar="COL", help="as for augment (default: the row number, from 1)")
    g.add_argument("--split-ratios", metavar="TRAIN,VAL,TEST", help=f"as for augment (default {ratios})")
    g.add_argument("--seed", type=int, metavar="S", help=f"as for augment (default {Augmentation.seed}): seeds the "
                   "split, so the same flags give the same split as augment")
    g.add_argument("--tags", default=str(BUNDLED_TAGS), metavar="TAGS_JSON",
                   help="tag vocabulary (protected keywords, keyword flags; default: the bundled tags)")
    g.add_argument("--no-quality", action="store_true",
                   help="skip the quality signals and label_drift (keyword_changed is flagged always)")


MAPPING_FLAGS = ("text_column", "label_column", "split_column", "id_column")
SPLIT_FLAGS = ("label_sep", "split_ratios", "seed")
"""Flags with a default: given alone, they are checked against a stored dataset's settings."""


def _flag_settings(args: argparse.Namespace) -> dict[str, Any] | None:
    """The dataset settings ``augment`` would split with under the same flags (None: no
    mapping flag given)."""
    from augment_core.data.dataset import ColumnMapping

    if not any(getattr(args, f) for f in MAPPING_FLAGS):
        return None
    if not args.text_column or not args.label_column:
        raise InputError("--text-column and --label-column are both needed to map a dataset (as for augment)")
    mapping = ColumnMapping(text_columns=tuple(args.text_column), label_column=args.label_column,
                            split_column=args.split_column, id_column=args.id_column)
    return _with_split_flags(args, {"mapping": mapping.to_json()})


def _with_split_flags(args: argparse.Namespace, settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` with the label separator, split ratios and seed the flags give (their
    defaults where ``settings`` has none)."""
    from augment_core.data.splitting import DEFAULT_RATIOS, check_ratios, parse_ratios
    from augment_core.job import Augmentation

    out = {**settings, "mapping": dict(settings["mapping"])}
    if args.label_sep is not None or "label_sep" not in out["mapping"]:
        out["mapping"]["label_sep"] = "," if args.label_sep is None else args.label_sep
    if args.split_ratios is not None or "split_ratios" not in out:
        ratios = DEFAULT_RATIOS if args.split_ratios is None else parse_ratios(args.split_ratios)
        check_ratios(ratios)
        out["split_ratios"] = list(ratios)
    if args.seed is not None or "split_seed" not in out:
        if args.seed is not None and args.seed < 0:
            raise InputError("--seed must be 0 or more")
        out["split_seed"] = Augmentation.seed if args.seed is None else args.seed
    return out


NOT_STORED_HINT = "the run has no manifest to say how to map it: open it in the app (Data page) first, or load a run " \
    "with its manifest.json"


def _dataset_hash(store: Any, given: str, manifest_settings: dict[str, Any] | None,
                  not_stored_hint: str = NOT_STORED_HINT) -> str:
    """The stored dataset ``given`` names; a file not stored yet is added (with the run's
    settings); ``not_stored_hint``: what the one line says to do when there are none."""
    from augment_core.data.dataset import content_hash
    from augment_core.data.io import read_input

    path = Path(given).expanduser()
    if path.exists():
        data = read_input(path, "dataset")
        h = content_hash(data)
        if store.dataset(h) is None:
            if manifest_settings is None:
                raise InputError(f"{path.name} is not in the review store yet and {not_stored_hint}")
            store.add_dataset(h, path.name, data, manifest_settings)
        return h
    matches = [d.hash for d in store.recent_datasets(limit=10**6) if d.hash.startswith(given.lower())]
    if len(given) < 8 or len(matches) != 1:
        raise InputError(f"--dataset {given}: no such file, and {'no' if not matches else 'more than one'} stored "
                         "dataset has that hash (give the file, or 8 or more characters of its sha256)")
    return matches[0]


def import_run_cmd(args: argparse.Namespace) -> int:
    return _busy_is_one_line(_import_run, args)


def export_run_cmd(args: argparse.Namespace) -> int:
    return _busy_is_one_line(_export_run, args)


def _busy_is_one_line(fn: Any, args: argparse.Namespace) -> int:
    from augment_core.review.store import StoreBusy, StoreUnavailable

    try:
        return int(fn(args))
    except StoreBusy as exc:
        raise InputError(f"the review store is busy: {exc}; try again in a moment") from None
    except StoreUnavailable as exc:
        raise InputError(str(exc)) from None


def _import_run(args: argparse.Namespace) -> int:
    from augment_core.review.rule_sample import STORE_WHOLE_UP_TO
    from augment_core.review.run_import import import_run, locate_run, manifest_settings
    from augment_core.review.store import Store

    if args.parent_column is not None:
        return _import_variants(args)
    if args.augmenter_column or _flag_settings(args) is not None or any(getattr(args, f) is not None
                                                                       for f in SPLIT_FLAGS):
        raise InputError("--augmenter-column and the mapping flags go with --parent-column (a file of variants made "
                         "elsewhere); a run of augment carries its own")

    if args.sample_per_rule < 1:
        raise InputError("--sample-per-rule must be at least 1")
    run = locate_run(args.run)
    store = Store(args.data_dir, database_url=args.database_url)
    h = _dataset_hash(store, args.dataset, manifest_settings(run.manifest) if run.manifest is not None else None)
    max_whole = STORE_WHOLE_UP_TO[args.store]
    result = import_run(store, h, args.run, max_whole=max_whole, per_rule=args.sample_per_rule,
                        sample_seed=args.sample_seed)
    how = (f"by sample: {result.candidates:,} variants over {result.rules:,} rules (review them rule by rule)"
           if result.sampled else "whole")
    print(f"loaded run {result.run_id} ({result.rows:,} rows, {result.variants:,} variants) {how} into {store.location}; "
          f"dataset {h[:12]}", file=sys.stderr)
    return 0


def _export_run(args: argparse.Namespace) -> int:
    from augment_core.data.io import manifest_path
    from augment_core.review.rule_export import write_sampled_export
    from augment_core.review.store import Store

    store = Store(args.data_dir, database_url=args.database_url)
    h = _dataset_hash(store, args.dataset, None)
    run = next((r for r in store.runs(h) if r.id == args.run_id), None)
    if run is None:
        raise InputError(f"dataset {h[:12]} has no run {args.run_id}")
    dataset_file = Path(args.dataset).expanduser() if Path(args.dataset).expanduser().exists() else None
    manifest = write_sampled_export(store, h, run, args.output, include_eval=args.include_val_test,
                                    reviewer=args.reviewer, dataset_file=dataset_file)
    r = manifest["review"]
    print(f"wrote {manifest['export']['rows']:,} rows to {args.output} ({r['variants']['accepted']:,} accepted variants: "
          f"{r['accepted_by_rule']:,} by their rule, {r['accepted_individually']:,} one by one; "
          f"{r['variants']['undecided']:,} undecided left out) and {manifest_path(args.output).name}", file=sys.stderr)
    return 0


def _import_variants(args: argparse.Namespace) -> int:
    from augment_core.augment.aliases import load_alias_table
    from augment_core.augment.quality import QualitySettings
    from augment_core.data.dataset_settings import settings_key
    from augment_core.review.run_import import dataset_as
    from augment_core.review.store import Store
    from augment_core.review.variant_import import import_variants

    if not Path(args.run).expanduser().is_file():
        raise InputError(f"{args.run}: no such file (a file of variants is one .csv, .jsonl or .parquet file)")
    flags = _flag_settings(args)
    store = Store(args.data_dir, database_url=args.database_url)
    h = _dataset_hash(store, args.dataset, flags, "no mapping flags say how to map it: give --text-column and "
                      "--label-column (as for augment, with its --id-column, --split-ratios and --seed), or map it on "
                      "the Data page")
    info = store.dataset(h)
    if info is None or not info.settings:
        raise InputError(f"dataset {h[:12]} has no column mapping yet: give --text-column and --label-column (as for "
                         "augment), or map it on the Data page")
    if flags is None and any(getattr(args, f) is not None for f in SPLIT_FLAGS):
        flags = _with_split_flags(args, info.settings)  # --seed alone: the stored split must be the one it gives
    if flags is not None and settings_key(flags) != settings_key(info.settings):
        raise InputError(f"dataset {h[:12]} is stored with another mapping or split than these flags: drop the mapping "
                         "flags to use the stored one, or change it on the Data page")
    tags = load_alias_table(Path(args.tags).expanduser())
    counts = import_variants(store, h, Path(args.run).expanduser(), dataset_as(store, h, info.settings),
                             parent_column=args.parent_column, augmenter_column=args.augmenter_column, tags=tags,
                             quality=None if args.no_quality else QualitySettings())
    for line in counts.lines():
        print(line)
    print(f"dataset sha256: {h}")
    print(f"review it in the app at /review?dataset={h}")
    return 0
