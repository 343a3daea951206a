"""``python -m augment_core``: the command-line shell over the library.

Bad input ends with exit status 2 and one line on stderr, and leaves no output file.
Ctrl-C (SIGINT) and SIGTERM end with 130 and 143 and one line, and leave neither a
temporary file nor a changed output behind: SIGTERM is turned into an exception like
Ctrl-C, so the output's cleanup (:func:`augment_core.data.io.open_output`) runs for both,
and a signal whose exception Python dropped still stops the output's commit
(:mod:`augment_core.interrupts`).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from contextlib import nullcontext
from pathlib import Path
from typing import Any, NoReturn, Sequence

from augment_core import interrupts
from augment_core.augment.aliases import BUNDLED_TAGS, load_alias_table
from augment_core.augment.quality import QualitySettings
from augment_core.cli.augmenters import (
    add_augmenters_parser,
    add_registry_args,
    augmenters_cmd,
    default_of,
    settings_from_args,
)
from augment_core.cli.runs import add_parsers, export_run_cmd, import_run_cmd
from augment_core.data.dataset import ColumnMapping
from augment_core.data.io import check_output_target, open_output
from augment_core.data.sources import DEFAULT_CHUNK_ROWS
from augment_core.data.splitting import DEFAULT_RATIOS, parse_ratios
from augment_core.errors import InputError
from augment_core.evaluate.config import EvalConfig
from augment_core.interrupts import Terminated
from augment_core.job import DEFAULT_AUGMENTERS, Augmentation, Job, Output, Policy, RunnerOptions, joiner_warning
from augment_core.runners import run_job

_ratios = ",".join(f"{r:g}" for r in DEFAULT_RATIOS)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not usage + message
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    command = "augment-review" if Path(sys.argv[0]).name == "augment-review" else "python -m augment_core"
    parser = _Parser(prog=command, description="Augment a text-classification dataset with provenance.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    policy, qs = Policy(), QualitySettings()  # the defaults, from their one home
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
    p.add_argument("--split-ratios", default=_ratios, metavar="TRAIN,VAL,TEST",
                   help=f"ratios for the seeded stratified split when there is no split column (default {_ratios})")
    p.add_argument("--tags", default=str(BUNDLED_TAGS), metavar="TAGS_JSON",
                   help="tag vocabulary: a JSON list of {\"tag\", \"aliases\"} (default: the bundled Made With ML tags)")
    add_registry_args(p, DEFAULT_AUGMENTERS)
    p.add_argument("--n-per-original", type=int, default=policy.n_per_original, metavar="N",
                   help=f"up to N distinct variants per train row, per augmenter (default {policy.n_per_original})")
    p.add_argument("--keep-original", action="store_true", help="also write the train originals")
    p.add_argument("--max-swaps", type=int, default=None, metavar="K",
                   help=f"alias swaps per variant (default {default_of('max_swaps')}; = --set alias_swap.max_swaps=K)")
    p.add_argument("--min-agreement", type=float, default=None, metavar="X",
                   help="alias swap: leave alone keywords whose agreement with their tag in the train split is below X "
                   "(0-1; keywords in fewer than 3 train rows are always swapped)")
    p.add_argument("--seed", type=int, default=Augmentation.seed, metavar="S",
                   help="random seed: same input + parameters + seed = same bytes")
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
    r = p.add_argument_group("runners (see docs/scale-out.md)")
    r.add_argument("--runner", choices=("local", "stream", "ray"), default=RunnerOptions.name,
                   help="local (default): this machine, in chunks, constant memory (in memory only for --format hf, "
                   "a .json list or a Hugging Face folder input); stream: the old name of local; "
                   "ray: Ray Data, on a cluster or a local Ray (--output is then a folder of Parquet shards)")
    r.add_argument("--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS, metavar="N",
                   help=f"--runner local: input rows per chunk (default {DEFAULT_CHUNK_ROWS:,}); --runner ray: rows per batch")
    r.add_argument("--ray-address", default=None, metavar="ADDR",
                   help="--runner ray: the cluster to join (default $RAY_ADDRESS, else a local Ray started in-process)")
    r.add_argument("--workers", type=int, default=None, metavar="N",
                   help="--runner local: worker processes for the augment pass (default 1); --runner ray: parallel tasks or actors (default: what the cluster's CPUs allow)")
    g = p.add_argument_group("contextual augmenters (each flag sets the parameter of that name on every chosen "
                             "augmenter that has one, e.g. --aug-p also sets word_swap.aug_p; --set wins)")
    g.add_argument("--engine", choices=("native", "nlpaug"), default=None,
                   help="native (batched transformers masked LM, default) or nlpaug's ContextualWordEmbsAug")
    g.add_argument("--model", default=None, metavar="NAME_OR_PATH",
                   help="masked LM: a local path or a Hugging Face name (default $AUGMENT_REVIEW_MODEL or distilbert-base-uncased)")
    g.add_argument("--aug-p", type=float, default=None, metavar="P",
                   help=f"share of words changed (default {default_of('aug_p')})")
    g.add_argument("--aug-max", type=int, default=None, metavar="N", help="at most N words changed per variant")
    g.add_argument("--top-k", type=int, default=None, metavar="K",
                   help=f"sample replacements among the top K (default {default_of('top_k')})")
    g.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None, help="auto picks cuda when available")
    g.add_argument("--protect", action="append", default=[], metavar="WORD",
                   help="never change this word or phrase, whatever the augmenter (repeatable); tag keywords are "
                   "always protected")
    g.add_argument("--precision", choices=("auto", "fp32", "bf16"), default=None,
                   help="native engine: auto uses bf16 where the GPU or CPU computes it natively (AMX, AVX512-BF16), else fp32")
    g.add_argument("--batch-size", type=int, default=None, metavar="N",
                   help=f"sentences per forward pass (default {default_of('batch_size')})")
    q = p.add_argument_group("quality signals")
    q.add_argument("--no-quality", action="store_true",
                   help="skip similarity, flags and the leakage guard (they load a sentence-embedding model)")
    q.add_argument("--low-similarity", type=float, default=qs.low_similarity, metavar="T",
                   help=f"flag variants below this similarity (default {qs.low_similarity})")
    q.add_argument("--leak-threshold", type=float, default=qs.leak_threshold, metavar="T",
                   help=f"flag variants this similar to a val/test row (default {qs.leak_threshold})")
    q.add_argument("--ambiguous-below", type=float, default=qs.ambiguous_below, metavar="X",
                   help="flag ambiguous_keyword on alias swaps of keywords whose train-split agreement is below X "
                   f"(default {qs.ambiguous_below}; needs at least 3 train rows)")
    _add_evaluate(sub)
    add_parsers(sub)
    add_augmenters_parser(sub)
    return parser


def _add_evaluate(sub: Any) -> None:
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


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    in_main_thread = threading.current_thread() is threading.main_thread()
    try:
        with interrupts.handled() if in_main_thread else nullcontext():
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
    status = main()
    if status in (128 + signal.SIGINT, 128 + signal.SIGTERM):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    sys.exit(status)


def _command(args: argparse.Namespace) -> int:
    commands = {"augment": _augment, "evaluate": _evaluate, "import-run": import_run_cmd, "export-run": export_run_cmd,
                "augmenters": augmenters_cmd}
    return commands[args.command](args)


STREAM_RENAMED = "note: --runner stream is now --runner local (which streams); the old name goes in a later release"


def job_from_args(args: argparse.Namespace) -> Job:
    """The ``augment`` command's flags as a job (not yet checked: :meth:`Job.check`)."""
    quality = None if args.no_quality else QualitySettings(args.low_similarity, args.leak_threshold, args.ambiguous_below)
    names = tuple(dict.fromkeys(args.augmenter or DEFAULT_AUGMENTERS))
    augmentation = Augmentation(
        augmenters=names, settings=settings_from_args(args, names),
        policy=Policy(args.n_per_original, args.keep_original), seed=args.seed, quality=quality,
        protect=tuple(args.protect),
    )
    mapping = ColumnMapping(text_columns=tuple(args.text_column), label_column=args.label_column,
                            label_sep=args.label_sep, split_column=args.split_column, id_column=args.id_column)
    return Job(
        input=args.input, mapping=mapping,
        output=Output(args.output, args.format, args.provenance_prefix, args.csv_formula_guard),
        augmentation=augmentation, split_ratios=parse_ratios(args.split_ratios), tags=args.tags,
        runner=RunnerOptions("local" if args.runner == "stream" else args.runner, args.chunk_rows, args.workers,
                             args.ray_address),
    )


def _augment(args: argparse.Namespace) -> int:
    job = job_from_args(args).check()
    with progress_bars() as progress:
        report = run_job(job, progress)
    if args.runner == "stream":  # after the run: an error stays one line
        print(STREAM_RENAMED, file=sys.stderr)
    for warning in (*report.warnings, *joiner_warning(report.crossing)):
        print(f"warning: {warning}", file=sys.stderr)
    print(report.line(), file=sys.stderr)
    return 0


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
    from augment_core.evaluate import from_augmented_file, run_evaluation
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
        with open_output(args.output, inputs, JSON_OUTPUT) as out:
            out.write(json.dumps(result, indent=2, ensure_ascii=False).encode("utf-8"))
        print(f"wrote the result to {args.output}", file=sys.stderr)
    return 0


JSON_OUTPUT = {".json": "json"}
"""evaluate's --output: one JSON object."""


def _check_json_output(path: str, inputs: list[tuple[str, str]]) -> None:
    """Before any work: a .json name in an existing folder, not an input, not read-only."""
    check_output_target(path, inputs, JSON_OUTPUT)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
