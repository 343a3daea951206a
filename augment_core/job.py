"""An augmentation job: what a run is made from, typed, each default held here once.

The CLI builds a :class:`Job` from its flags (:func:`augment_core.cli.commands.job_from_args`), the
Augment page builds the part its form sets (:class:`Augmentation`: augmenters, their
settings, the policy, the seed, quality); a runner (:mod:`augment_core.runners`) takes a
job and returns a :class:`Report`, which the caller prints. :meth:`Job.check` gives the
one-line errors of values a job cannot have, before any file is read; what needs the
file system (the input exists, the output folder is writable) the runner checks.

Small frozen dataclasses, as Snorkel describes an augmentation by its transformation
functions and a policy: whoever builds a job cannot leave it half-checked or change it
under a running runner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from augment_core.augment.aliases import BUNDLED_TAGS
from augment_core.augment.quality import QualitySettings
from augment_core.augment.registry import checked_settings
from augment_core.data.dataset import ColumnMapping
from augment_core.data.io import output_format
from augment_core.data.sources import DEFAULT_CHUNK_ROWS
from augment_core.data.splitting import DEFAULT_RATIOS, check_ratios
from augment_core.errors import InputError

DEFAULT_AUGMENTERS: tuple[str, ...] = ("alias_swap",)
RUNNERS = ("local", "ray")
"""The runners a job names (``stream``, the old name of the streaming local runner, is
read as ``local`` by the CLI)."""


@dataclass(frozen=True)
class Policy:
    """How many variants per train original, and whether the original is written too
    (Snorkel's ``ApplyAllPolicy(n_per_original, keep_original)``)."""

    n_per_original: int = 5
    keep_original: bool = False

    def check(self) -> Policy:
        if self.n_per_original < 0:
            raise InputError("--n-per-original must be >= 0")
        return self


@dataclass(frozen=True)
class Augmentation:
    """What to generate from a split dataset: the part of a job the Augment page's form
    and the CLI's flags share."""

    augmenters: tuple[str, ...] = DEFAULT_AUGMENTERS
    """Registered names (``augment-review augmenters``) or adapter references
    (``snorkel:MODULE:ATTR``, ``nlpaug:CLASS``)."""
    settings: Mapping[str, Any] = field(default_factory=dict)
    """Augmenter name -> its settings instance (its declared settings class); one not
    named here runs with its defaults."""
    protect: tuple[str, ...] = ()
    """Words or phrases no augmenter may change (tag keywords always are protected)."""
    policy: Policy = field(default_factory=Policy)
    seed: int = 0
    """Seeds the variants, and the split of rows without one."""
    quality: QualitySettings | None = field(default_factory=QualitySettings)
    """None: no quality signals (no sentence encoder loaded)."""

    def check(self) -> Augmentation:
        self.typed_settings()
        self.policy.check()
        if self.quality is not None:
            self.quality.check()
        return self

    def typed_settings(self) -> dict[str, Any]:
        """Every augmenter's settings, checked against its declaration (defaults filled in)."""
        return checked_settings(self.augmenters, self.settings)


@dataclass(frozen=True)
class Output:
    """Where and how the rows are written."""

    path: str
    format: str | None = None
    """csv, jsonl, parquet or hf; None: the path's extension says."""
    provenance_prefix: str | None = None
    formula_guard: bool = False
    """CSV for spreadsheets: cells that would run as formulas are prefixed with '."""

    @property
    def fmt(self) -> str:
        """The format written (``hf`` is always named: its output is a folder)."""
        return self.format if self.format is not None else output_format(self.path)


@dataclass(frozen=True)
class RunnerOptions:
    name: str = "local"
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    """Input rows per chunk (the local runner), rows per batch (Ray)."""
    workers: int | None = None
    """Worker processes (local, default 1) or parallel tasks/actors (Ray, default: the CPUs)."""
    ray_address: str | None = None

    def check(self) -> RunnerOptions:
        if self.name not in RUNNERS:
            raise InputError(f"unknown runner {self.name!r}: use {', '.join(RUNNERS)}")
        if self.chunk_rows < 1:
            raise InputError("--chunk-rows must be at least 1")
        if self.workers is not None and self.workers < 1:
            raise InputError("--workers must be at least 1")
        return self


@dataclass(frozen=True)
class Job:
    """One augmentation run from a file: input and its mapping, split, tags, what to
    generate, output, runner."""

    input: str
    mapping: ColumnMapping
    output: Output
    augmentation: Augmentation = field(default_factory=Augmentation)
    split_ratios: tuple[float, float, float] = DEFAULT_RATIOS
    """For the rows without a split (no ``mapping.split_column``), seeded by the job's seed."""
    tags: str = str(BUNDLED_TAGS)
    """The tag vocabulary's file."""
    runner: RunnerOptions = field(default_factory=RunnerOptions)

    @property
    def seed(self) -> int:
        return self.augmentation.seed

    @property
    def inputs(self) -> list[tuple[str, str]]:
        """The files the run reads (the output may be none of them)."""
        return [("input", self.input), ("tags file", self.tags)]

    def check(self) -> Job:
        """Every value checked, one line for the first that is wrong; the job itself back."""
        self.augmentation.policy.check()
        if self.augmentation.quality is not None:
            self.augmentation.quality.check()
        self.runner.check()
        check_ratios(self.split_ratios)
        out = self.output
        if self.runner.name == "ray":
            if out.format not in (None, "parquet"):
                raise InputError(f"--runner ray writes a folder of Parquet shards, not --format {out.format}: "
                                 "use --runner local for that format")
            if not self.mapping.id_column:
                raise InputError("--runner ray needs --id-column (a distributed reader does not number rows)")
            if out.formula_guard:
                raise InputError("--csv-formula-guard applies to .csv output only (--runner ray writes Parquet shards)")
        else:
            fmt = out.fmt
            if fmt != "hf" and out.format is not None and output_format(out.path) != fmt:
                raise InputError(f"--format {fmt} does not match the output's extension ({out.path})")
            if out.formula_guard and fmt != "csv":
                raise InputError("--csv-formula-guard applies to .csv output only (JSONL and Parquet cells are never "
                                 "run as formulas)")
        self.augmentation.check()
        return self


@dataclass(frozen=True)
class Report:
    """What a runner did, for the caller to print (:meth:`lines`)."""

    rows: int
    generated: int
    output: str
    seconds: float
    guarded: int | None = None
    """Cells the formula guard prefixed (None: no guard)."""
    shards: int | None = None
    """Parquet shards written (Ray)."""
    warnings: tuple[str, ...] = ()
    crossing: int = 0
    """Variants dropped because their edit crosses the joiner between text columns
    (:func:`joiner_warning` says so)."""

    def line(self) -> str:
        """The closing line every runner's run ends with."""
        where = f" as {self.shards} Parquet shards and manifest.json" if self.shards is not None else ""
        guard = f"; the formula guard prefixed {self.guarded} cells with '" if self.guarded is not None else ""
        return (f"wrote {self.rows} rows ({self.generated} generated) to {self.output}{where} in "
                f"{self.seconds:.1f}s{guard}")


def joiner_warning(crossing: int) -> tuple[str, ...]:
    """The warning for variants dropped at the joiner, as the CLI and the Augment page give it:
    without it, an augmenter that rewrites the whole text (a paraphraser) on title +
    description writes no variant at all and says nothing of why."""
    if not crossing:
        return ()
    return (f"{crossing:,} variants dropped because their edit crosses the space joining two text columns, so they "
            "cannot be written back column by column (a keyword running from one column into the next; every "
            "variant of an augmenter that rewrites the whole text): augment one text column (--text-column on the "
            "command line, Text columns on the Data page) or use an augmenter that edits words in place",)


def empty_text_warning(ids: Sequence[str]) -> tuple[str, ...]:
    """The warning for rows whose text is empty (kept, never augmented), as every runner gives it."""
    if not ids:
        return ()
    shown = ", ".join(ids[:10]) + (" ..." if len(ids) > 10 else "")
    return (f"{len(ids)} rows have empty text and are not augmented (ids: {shown})",)
