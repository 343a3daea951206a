"""``python -m augment_core``: the command-line shell over the library.

Bad input ends with exit status 2 and one line on stderr, and leaves no output file.
Ctrl-C (SIGINT) and SIGTERM end with 130 and 143 and one line, and leave neither a
temporary file nor a changed output behind: SIGTERM is turned into an exception like
Ctrl-C, so the output's cleanup (:func:`augment_core.io.open_output`) runs for both.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, NoReturn, Sequence

from augment_core.aliases import BUNDLED_TAGS
from augment_core.errors import InputError
from augment_core.registry import AUGMENTERS


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not usage + message
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    command = "augment-review" if Path(sys.argv[0]).name == "augment-review" else "python -m augment_core"
    parser = _Parser(prog=command, description="Augment a text-classification dataset with provenance.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p = sub.add_parser(
        "augment",
        help="split (if needed), augment the train split, write one row per original and per variant",
        description="Split first (unless --split-column is given), augment the train split only, and write "
        "every input column, then provenance columns: id, parent_id, split, augmenter, text, original_text, params, "
        "changes (and quality columns unless --no-quality).",
    )
    p.add_argument("input", help="dataset file: .csv/.tsv (comma, semicolon or tab), .json (list of records), .jsonl or .parquet; "
                   "or a Hugging Face dataset folder (save_to_disk)")
    p.add_argument("--text-column", action="append", required=True, metavar="COL",
                   help="text column; repeat to join several with a space, in order (e.g. title then description)")
    p.add_argument("--label-column", required=True, metavar="COL",
                   help="label column: a JSON list, a delimited string or a single label per row")
    p.add_argument("--label-sep", default=",", metavar="SEP", help="separator for delimited labels (default ',')")
    p.add_argument("--split-column", metavar="COL",
                   help="existing split column (train/val/test; validation, valid and dev mean val)")
    p.add_argument("--id-column", metavar="COL", help="unique row id column (default: the row number, from 1)")
    p.add_argument("--split-ratios", default="0.7,0.15,0.15", metavar="TRAIN,VAL,TEST",
                   help="ratios for the seeded stratified split when there is no split column (default 0.7,0.15,0.15)")
    p.add_argument("--tags", default=str(BUNDLED_TAGS), metavar="TAGS_JSON",
                   help="tag vocabulary: a JSON list of {\"tag\", \"aliases\"} (default: the bundled Made With ML tags)")
    p.add_argument("--augmenter", action="append", choices=AUGMENTERS, metavar="NAME",
                   help=f"augmenter to run, repeatable: {', '.join(AUGMENTERS)} (default alias_swap)")
    p.add_argument("--n-per-original", type=int, default=5, metavar="N",
                   help="up to N distinct variants per train row, per augmenter (default 5)")
    p.add_argument("--keep-original", action="store_true", help="also write the train originals")
    p.add_argument("--max-swaps", type=int, default=1, metavar="K", help="alias swaps per variant (default 1)")
    p.add_argument("--min-agreement", type=float, default=None, metavar="X",
                   help="alias swap: leave alone keywords whose agreement with their tag in the train split is below X "
                   "(0-1; keywords in fewer than 3 train rows are always swapped)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed: same input + parameters + seed = same bytes")
    p.add_argument("--output", required=True, metavar="OUT",
                   help="output file; .csv, .jsonl or .parquet (never one of the inputs; an existing read-only file is refused); "
                   "with --format hf a folder")
    p.add_argument("--format", choices=("csv", "jsonl", "parquet", "hf"), default=None,
                   help="output format (default: the output's extension); hf writes a Hugging Face DatasetDict folder "
                   "(train/validation/test, save_to_disk) with its manifest")
    p.add_argument("--provenance-prefix", default=None, metavar="PREFIX",
                   help="prefix of the provenance columns (id, parent_id, split, ...); default: none, or aug_ when an "
                   "input column has one of their names")
    p.add_argument("--csv-formula-guard", action="store_true",
                   help="CSV output for spreadsheets: prefix cells starting with = + - @ tab or CR with ' so they are not run "
                        "as formulas (changes the text: use JSONL or Parquet for training)")
    r = p.add_argument_group("runners (see the README's \"Beyond one machine\")")
    r.add_argument("--runner", choices=("local", "stream", "ray"), default="local",
                   help="local: in memory (default); stream: in chunks, constant memory (quality in two passes); "
                   "ray: Ray Data, on a cluster or a local Ray (--output is then a folder of Parquet shards)")
    r.add_argument("--chunk-rows", type=int, default=20_000, metavar="N",
                   help="--runner stream: input rows per chunk (default 20,000); --runner ray: rows per batch")
    r.add_argument("--ray-address", default=None, metavar="ADDR",
                   help="--runner ray: the cluster to join (default $RAY_ADDRESS, else a local Ray started in-process)")
    r.add_argument("--workers", type=int, default=None, metavar="N",
                   help="--runner stream: worker processes for the fit and augment passes (default 1); --runner ray: parallel tasks or actors (default: what the cluster's CPUs allow)")
    g = p.add_argument_group("contextual augmenters")
    g.add_argument("--engine", choices=("native", "nlpaug"), default="native",
                   help="native (batched transformers masked LM, default) or nlpaug's ContextualWordEmbsAug")
    g.add_argument("--model", default=None, metavar="NAME_OR_PATH",
                   help="masked LM: a local path or a Hugging Face name (default $AUGMENT_REVIEW_MODEL or distilbert-base-uncased)")
    g.add_argument("--aug-p", type=float, default=0.3, metavar="P", help="share of words changed (default 0.3)")
    g.add_argument("--aug-max", type=int, default=None, metavar="N", help="at most N words changed per variant")
    g.add_argument("--top-k", type=int, default=50, metavar="K", help="sample replacements among the top K (default 50)")
    g.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="auto picks cuda when available")
    g.add_argument("--protect", action="append", default=[], metavar="WORD",
                   help="never change this word or phrase (repeatable); tag keywords are always protected")
    g.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                   help="native engine: auto uses bf16 where the GPU or CPU computes it natively (AMX, AVX512-BF16), else fp32")
    g.add_argument("--batch-size", type=int, default=32, metavar="N", help="sentences per forward pass (default 32)")
    q = p.add_argument_group("quality signals")
    q.add_argument("--no-quality", action="store_true",
                   help="skip similarity, flags and the leakage guard (they load a sentence-embedding model)")
    q.add_argument("--low-similarity", type=float, default=0.8, metavar="T", help="flag variants below this similarity (default 0.8)")
    q.add_argument("--leak-threshold", type=float, default=0.95, metavar="T",
                   help="flag variants this similar to a val/test row (default 0.95)")
    q.add_argument("--ambiguous-below", type=float, default=0.5, metavar="X",
                   help="flag ambiguous_keyword on alias swaps of keywords whose train-split agreement is below X "
                   "(default 0.5; needs at least 3 train rows)")
    _add_evaluate(sub)
    from augment_core.runs_cli import add_parsers

    add_parsers(sub)
    return parser


def _add_evaluate(sub: Any) -> None:
    from augment_core.evaluate.config import EvalConfig

    d = EvalConfig()
    e = sub.add_parser(
        "evaluate",
        help="does the augmentation help? train a quick baseline with and without the variants, score on val",
        description="Train TF-IDF character n-grams + logistic regression on (a) the train originals and (b) the "
        "originals plus the variants of an augment output (written with --keep-original), over several seeds; "
        "score both on val, on val with its aliases swapped, and by prediction flips; paired bootstrap intervals "
        "and a verdict. Test rows are never read unless --use-test.",
    )
    e.add_argument("input", help="an augment output (.csv, .jsonl or .parquet) with the train originals and val rows")
    e.add_argument("--label-column", default=None, metavar="COL",
                   help="label column (default: the one column that is not augment's own)")
    e.add_argument("--label-sep", default=",", metavar="SEP", help="separator for delimited labels (default ',')")
    e.add_argument("--tags", default=str(BUNDLED_TAGS), metavar="TAGS_JSON",
                   help="tag vocabulary for the alias-swapped val rows (default: the bundled Made With ML tags)")
    e.add_argument("--variants", choices=("auto", "all", "accepted"), default="auto",
                   help="which variants arm b adds: all, or accepted (rows whose decision column says accept); "
                   "auto (default): accepted when the file has a decision column, else all")
    e.add_argument("--seeds", type=int, default=d.seeds, metavar="N", help=f"seeds per arm (default {d.seeds})")
    e.add_argument("--seed", type=int, default=d.seed, metavar="S",
                   help=f"first seed; seeds S..S+N-1 (default {d.seed}); same input and seed give the same figures")
    e.add_argument("--train-fraction", type=float, default=d.train_fraction, metavar="F",
                   help=f"share of train originals each seed trains on, the same for both arms (default {d.train_fraction})")
    e.add_argument("--bootstrap", type=int, default=d.bootstrap, metavar="B",
                   help=f"bootstrap replicates for the intervals (default {d.bootstrap})")
    e.add_argument("--max-tags", type=int, default=d.max_tags, metavar="N",
                   help=f"multi-label: score the N most frequent train tags (default {d.max_tags})")
    e.add_argument("--min-tag-count", type=int, default=d.min_tag_count, metavar="N",
                   help=f"multi-label: ...carried by at least N train originals (default {d.min_tag_count})")
    e.add_argument("--use-test", action="store_true",
                   help="also score on the test split (read only with this flag; do it once, at the end)")
    e.add_argument("--output", default=None, metavar="OUT_JSON", help="also write the full result as JSON (.json)")


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that the same cleanup runs."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if in_main_thread else None
    try:
        return _command(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BaseException as exc:
        interrupt = interrupt_of(exc)
        if interrupt is None:
            raise
        name = "terminated" if isinstance(interrupt, Terminated) else "interrupted"
        kept = f", {args.output} left as it was" if getattr(args, "output", None) else ""
        print(f"{name}: no output written{kept}", file=sys.stderr)
        return 128 + (signal.SIGTERM if isinstance(interrupt, Terminated) else signal.SIGINT)
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


def interrupt_of(exc: BaseException | None) -> KeyboardInterrupt | None:
    """The Ctrl-C or SIGTERM an exception stands for: itself, or the one it was raised while
    handling. Where the signal lands must not decide how the run ends: one that lands while a
    class body is being set up reaches us as a RuntimeError ("Error calling __set_name__")."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def run() -> None:
    """The ``augment-review`` command and ``python -m augment_core``: :func:`main`, and its
    status as the process's exit status. After an interrupt (130, 143) the process leaves at
    once, its cleanup done: a Ctrl-C that passed through C code running Python code (some
    imports do) leaves CPython's "unhandled KeyboardInterrupt" mark set, and the interpreter
    would then end itself by SIGINT (status -2) whatever ``main`` returned."""
    import os

    status = main()
    if status in (128 + signal.SIGINT, 128 + signal.SIGTERM):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    sys.exit(status)


def _command(args: argparse.Namespace) -> int:
    from augment_core.runs_cli import export_run_cmd, import_run_cmd

    commands = {"augment": _augment, "evaluate": _evaluate, "import-run": import_run_cmd, "export-run": export_run_cmd}
    return commands[args.command](args)


def _augment(args: argparse.Namespace) -> int:
    from augment_core.io import check_output_dir, check_output_target, output_format
    from augment_core.splitting import parse_ratios

    if args.n_per_original < 0:
        raise InputError("--n-per-original must be >= 0")
    if not 0.0 <= args.ambiguous_below <= 1.0:
        raise InputError("--ambiguous-below must be between 0 and 1")
    if args.chunk_rows < 1:
        raise InputError("--chunk-rows must be at least 1")
    if args.workers is not None and args.workers < 1:
        raise InputError("--workers must be at least 1")
    ratios = parse_ratios(args.split_ratios)
    names = list(dict.fromkeys(args.augmenter or ["alias_swap"]))
    if args.runner == "ray":  # a folder of shards, perhaps on a remote store: checked there
        if args.format not in (None, "parquet"):
            raise InputError(f"--runner ray writes a folder of Parquet shards, not --format {args.format}: "
                             "use --runner local for that format")
        from augment_core.runners.ray import run_ray

        return run_ray(args, names, ratios)
    fmt = _output_format(args)
    if fmt == "hf" and args.runner == "stream":
        raise InputError("--runner stream cannot write --format hf (a DatasetDict is built in memory): "
                         "use --runner local, or stream to .parquet")
    inputs = [("input", args.input), ("tags file", args.tags)]
    if fmt == "hf":
        check_output_dir(args.output, inputs)
    else:
        check_output_target(args.output, inputs)
        if args.format is not None and output_format(args.output) != fmt:
            raise InputError(f"--format {fmt} does not match the output's extension ({args.output})")
    if args.csv_formula_guard and fmt != "csv":
        raise InputError("--csv-formula-guard applies to .csv output only (JSONL and Parquet cells are never run as formulas)")
    if args.runner == "stream":
        from augment_core.runners.local import stream_cli

        return stream_cli(args, names, ratios)

    started = time.perf_counter()
    guarded = 0
    # The temporary output exists from here on: an unwritable folder fails now, not after
    # the run, and every way out of this block (error, Ctrl-C, SIGTERM) removes it.
    if fmt == "hf":
        from augment_core.io import open_output_dir

        with open_output_dir(args.output, inputs) as folder:
            run, dataset = _run(args, names, ratios)
            rows = run.rows
            _write_hf(args, run, dataset, ratios, folder)
    else:
        from augment_core.io import open_output, write_rows_to

        with open_output(args.output, inputs) as out:
            run, dataset = _run(args, names, ratios)
            rows = run.rows
            schema, shaped = _user_rows(args, run, dataset)
            guarded = write_rows_to(shaped, out, fmt, schema.columns, formula_guard=args.csv_formula_guard,
                                    name=args.output)
    generated = sum(1 for r in rows if r["augmenter"] != "original")
    guard_note = f"; the formula guard prefixed {guarded} cells with '" if args.csv_formula_guard else ""
    print(
        f"wrote {len(rows)} rows ({generated} generated) to {args.output} in {time.perf_counter() - started:.1f}s"
        f"{guard_note}",
        file=sys.stderr,
    )
    return 0


def _feature_note(feature: Any) -> dict[str, Any]:
    """The label feature in a line of the manifest (its class names are in the dataset's own info)."""
    inner = getattr(feature, "feature", None)
    names = getattr(inner if inner is not None else feature, "names", None)
    return {"type": type(feature).__name__, **({"of": type(inner).__name__} if inner is not None else {}),
            **({"classes": len(names)} if names else {})}


def _output_format(args: argparse.Namespace) -> str:
    """``--format``, else the output's extension (``hf`` is always named: its output is a folder)."""
    from augment_core.io import output_format

    return args.format if args.format is not None else output_format(args.output)


def _user_rows(args: argparse.Namespace, run: Any, dataset: Any) -> tuple[Any, Any]:
    """The output schema (input columns, then provenance) and the rows shaped to it."""
    from augment_core.user_schema import output_schema, provenance_of, user_rows

    schema = output_schema(dataset.columns, provenance_of(run.columns, dataset.mapping.label_column),
                           args.provenance_prefix)
    return schema, user_rows(run.rows, dataset, schema)


def _write_hf(args: argparse.Namespace, run: Any, dataset: Any, ratios: tuple[float, float, float], folder: Any) -> None:
    """The DatasetDict and its manifest into ``folder`` (the temporary output folder)."""
    from augment_core import hf
    from augment_core.dataset import content_hash
    from augment_core.io import read_input

    schema, shaped = _user_rows(args, run, dataset)
    shaped = list(shaped)
    labels_by_id = {r.id: r.labels for r in dataset.records}
    ddict = hf.dataset_dict(shaped, schema.columns, [r["split"] for r in run.rows],
                            [labels_by_id[str(r["parent_id"])] for r in run.rows], dataset.mapping.label_column)
    source = Path(args.input)
    manifest = {
        "format": 1,
        "tool": "augment-review",
        "input": {"name": source.name, "sha256": None if source.is_dir() else content_hash(read_input(source, "input"))},
        "mapping": dataset.mapping.to_json(),
        "split": {"column": args.split_column, "ratios": None if args.split_column else list(ratios), "seed": args.seed},
        "tags_file": Path(args.tags).name,
        "run": run.params,
        "schema": schema.to_json(),
        "hf": {"splits": {k: len(v) for k, v in ddict.items()}, "label_feature": _feature_note(ddict["train"].features[dataset.mapping.label_column])},
    }
    hf.save(ddict, folder, manifest)


def augmenter_settings(args: argparse.Namespace) -> Any:
    """The augmenters' settings from the flags (checked)."""
    from augment_core.registry import AugmenterSettings

    settings = AugmenterSettings(
        max_swaps=args.max_swaps, min_agreement=args.min_agreement, engine=args.engine, model=args.model,
        aug_p=args.aug_p, aug_max=args.aug_max, top_k=args.top_k, device=args.device, precision=args.precision,
        protect=tuple(args.protect), batch_size=args.batch_size,
    )
    settings.check()
    return settings


def column_mapping(args: argparse.Namespace) -> Any:
    from augment_core.dataset import ColumnMapping

    return ColumnMapping(
        text_columns=tuple(args.text_column), label_column=args.label_column, label_sep=args.label_sep,
        split_column=args.split_column, id_column=args.id_column,
    )


def load_tags(path: str) -> Any:
    """The alias table, its warnings printed (one line each)."""
    from augment_core.aliases import load_alias_table

    tags = load_alias_table(path)
    for warning in tags.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return tags


def _run(args: argparse.Namespace, names: list[str], ratios: tuple[float, float, float]) -> tuple[Any, Any]:
    """Read, split, augment and score: the run's output and the split dataset."""
    from augment_core.dataset import TableStream, build_dataset
    from augment_core.run import augment
    from augment_core.splitting import assign_splits

    settings = augmenter_settings(args)
    table = TableStream.from_path(args.input)  # rows parsed straight into records, no table held
    mapping = column_mapping(args)
    dataset = assign_splits(build_dataset(table, mapping), ratios, args.seed)
    if dataset.empty_text_ids:
        shown = ", ".join(dataset.empty_text_ids[:10]) + (" ..." if len(dataset.empty_text_ids) > 10 else "")
        print(f"warning: {len(dataset.empty_text_ids)} rows have empty text and are not augmented (ids: {shown})",
              file=sys.stderr)
    tags = load_tags(args.tags)
    quality = quality_settings(args)
    with progress_bars() as progress:
        out = augment(dataset, tags, names, settings, n_per_original=args.n_per_original,
                      keep_original=args.keep_original, seed=args.seed, quality=quality, progress=progress)
    return out, dataset


def quality_settings(args: argparse.Namespace) -> Any:
    """The run's quality settings from the flags (every runner reads them here); None with --no-quality."""
    from augment_core.run import QualitySettings

    return None if args.no_quality else QualitySettings(args.low_similarity, args.leak_threshold, args.ambiguous_below)


class progress_bars:
    """A tqdm bar per phase (loading models, generating, scoring quality) on stderr,
    shown only on a terminal (tqdm's own check)."""

    def __enter__(self) -> Any:
        from tqdm import tqdm

        self._bars: dict[str, Any] = {}
        labels = {"model": "loading models", "generate": "augmenting", "quality": "scoring quality"}
        units = {"model": "model", "generate": "row", "quality": "text", "evaluating": "fit"}

        def update(phase: str, done: int, total: int) -> None:
            bar = self._bars.get(phase)
            if bar is None:
                for other in self._bars.values():
                    other.close()
                bar = self._bars[phase] = tqdm(total=total, unit=units.get(phase, "it"), desc=labels.get(phase, phase),
                                               file=sys.stderr, disable=None, mininterval=0.5, leave=False)
            bar.total = total
            bar.n = done
            bar.refresh()

        return update

    def __exit__(self, *exc: object) -> None:
        for bar in self._bars.values():
            bar.close()


def _evaluate(args: argparse.Namespace) -> int:
    """Read the augment output, run the experiment, print the report (and write JSON)."""
    from augment_core.aliases import load_alias_table
    from augment_core.evaluate import EvalConfig, from_augmented_file, run_evaluation
    from augment_core.evaluate.experiment import train_keywords
    from augment_core.evaluate.report import as_text

    config = EvalConfig(seeds=args.seeds, seed=args.seed, train_fraction=args.train_fraction,
                        bootstrap=args.bootstrap, max_tags=args.max_tags, min_tag_count=args.min_tag_count).check()
    inputs = [("input", args.input), ("tags file", args.tags)]
    if args.output is not None:
        _check_json_output(args.output, inputs)
    if args.use_test:
        print("warning: --use-test scores the test split: look at it once, at the end; choosing by it makes it "
              "a second val split", file=sys.stderr)
    data = from_augmented_file(args.input, args.label_column, args.label_sep, args.variants, args.use_test)
    if args.variants == "auto":
        print(f"variants: {data.variants_source} ({len(data.variants)} rows)", file=sys.stderr)
    aliases = load_alias_table(args.tags)
    with progress_bars() as progress:
        result = run_evaluation(data, train_keywords(aliases, data), config, lambda d, t: progress("evaluating", d, t))
    print(as_text(result))
    if args.output is not None:
        import json

        from augment_core.io import open_output

        with open_output(args.output, inputs, JSON_OUTPUT) as out:
            out.write(json.dumps(result, indent=2, ensure_ascii=False).encode("utf-8"))
        print(f"wrote the result to {args.output}", file=sys.stderr)
    return 0


JSON_OUTPUT = {".json": "json"}
"""evaluate's --output: one JSON object."""


def _check_json_output(path: str, inputs: list[tuple[str, str]]) -> None:
    """Before any work: a .json name in an existing folder, not an input, not read-only."""
    from augment_core.io import check_output_target

    check_output_target(path, inputs, JSON_OUTPUT)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
