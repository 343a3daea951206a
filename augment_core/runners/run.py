"""One augmentation run, as the CLI and the Augment page do it: fit the tag vocabulary to
the train split, build the augmenters, load their models, generate, score quality, and
say what was done, reporting each phase's progress as it goes.

Phases (the first argument of ``progress``): ``model`` (models loaded / to load),
``generate`` (originals done / originals x augmenters), ``quality`` (texts encoded / to
encode). The CLI shows them as tqdm bars, the page as a progress bar with counts, rate and
time left (:class:`PhaseClock`).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Mapping, Sequence

from augment_core.augment.agreement import TrainKeywords, fit_to_train
from augment_core.augment.aliases import AliasTable
from augment_core.augment.augmenter import Augmenter
from augment_core.augment.quality import QUALITY_COLUMNS, QualitySettings, score_rows
from augment_core.augment.registry import build_augmenters, checked_settings, run_protector
from augment_core.data.dataset import Dataset
from augment_core.job import Augmentation
from augment_core.runners.pipeline import Dropped, output_columns, run_augmentation

PhaseProgress = Callable[[str, int, int], None]
"""Called as (phase, done, total)."""

PHASE_UNITS = {"model": "models loaded", "generate": "originals", "quality": "texts scored"}


@dataclass
class RunOutput:
    rows: list[dict[str, Any]]
    columns: list[str]
    params: dict[str, Any]
    """What reproduces the run: every augmenter's parameters, the policy, the seed."""
    keywords: TrainKeywords
    augmenters: list[Augmenter] = field(default_factory=list)
    without_variant: int = 0
    """Train originals that got no variant at all (no swappable keyword, say)."""
    crossing: int = 0
    """Variants dropped because their edit crosses the joiner between text columns."""


def augment(
    dataset: Dataset,
    tags: AliasTable,
    names: Sequence[str],
    settings: Mapping[str, Any],
    *,
    n_per_original: int,
    keep_original: bool,
    seed: int,
    quality: QualitySettings | None = QualitySettings(),
    progress: PhaseProgress | None = None,
    keywords: TrainKeywords | None = None,
    protect: Sequence[str] = (),
) -> RunOutput:
    """``keywords``: ``tags`` already fitted to this dataset's train split (the app caches
    that fit), so the run does not fit it again."""

    def report(phase: str, done: int, total: int) -> None:
        if progress is not None:
            progress(phase, done, total)

    if keywords is None:
        keywords = fit_to_train(tags, dataset)
    augmenters = build_augmenters(names, settings, keywords, protect,
                                  train_texts=[r.text for r in dataset.records if r.split == "train"])
    loaders = [a for a in augmenters if hasattr(a, "load")]
    if loaders:
        report("model", 0, len(loaders))
        for k, a in enumerate(loaders, 1):
            a.load()
            report("model", k, len(loaders))
    dropped = Dropped()
    rows = run_augmentation(
        dataset, augmenters, n_per_original, keep_original, seed, lambda d, t: report("generate", d, t),
        run_protector(checked_settings(names, settings), keywords, protect), dropped,
    )
    extra: list[str] = []
    if quality is not None:
        score_rows(
            rows, table=keywords.table, labels_by_id={r.id: r.labels for r in dataset.records},
            heldout_texts=[r.text for r in dataset.records if r.split in ("val", "test")],
            quality=quality, progress=lambda d, t: report("quality", d, t),
        )
        # scikit-learn is imported only by a run with quality signals, never by an alias swap without
        from augment_core.evaluate.drift import flag_label_drift, train_examples

        flag_label_drift(rows, train_examples(dataset))
        extra = list(QUALITY_COLUMNS)
    params = {
        "augmenters": [{"name": a.name, **a.params()} for a in augmenters],
        "n_per_original": n_per_original,
        "keep_original": keep_original,
        "seed": seed,
        "quality": asdict(quality) if quality is not None else None,
        "variants": sum(1 for r in rows if r["augmenter"] != "original"),
    }
    return RunOutput(rows, output_columns(dataset.mapping.label_column, extra), params, keywords, augmenters,
                     originals_without_variant(dataset, rows), dropped.crossing)


def augment_with(dataset: Dataset, tags: AliasTable, spec: Augmentation, *, progress: PhaseProgress | None = None,
                 keywords: TrainKeywords | None = None) -> RunOutput:
    """:func:`augment` as a job describes it (the Augment page's form, the CLI's flags)."""
    return augment(dataset, tags, spec.augmenters, spec.settings, n_per_original=spec.policy.n_per_original,
                   keep_original=spec.policy.keep_original, seed=spec.seed, quality=spec.quality, progress=progress,
                   keywords=keywords, protect=spec.protect)


def without_swappable_keyword(dataset: Dataset, keywords: TrainKeywords) -> tuple[int, int]:
    """(train originals with no keyword an alias swap can replace, train originals): what
    an alias swap will leave without a variant, known before a run."""
    train = [r for r in dataset.records if r.split == "train"]
    return sum(1 for r in train if not keywords.table.swappable(r.text)), len(train)


def originals_without_variant(dataset: Dataset, rows: Sequence[dict[str, Any]]) -> int:
    """Train originals of ``dataset`` that no row of a run is a variant of."""
    parents = {r["parent_id"] for r in rows if r["augmenter"] != "original"}
    return sum(1 for r in dataset.records if r.split == "train" and r.id not in parents)


class PhaseClock:
    """Counts, rate and time left per phase, for a progress line a person reads."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._started: dict[str, float] = {}

    def line(self, phase: str, done: int, total: int) -> tuple[float, str]:
        """(fraction of the phase done, text)."""
        now = self._clock()
        start = self._started.setdefault(phase, now)
        elapsed = now - start
        fraction = min(1.0, done / total) if total else 1.0
        label = {"model": "Loading models", "generate": "Generating", "quality": "Scoring quality"}.get(phase, phase)
        text = f"{label}: {done:,} / {total:,} {PHASE_UNITS.get(phase, '')}".rstrip()
        if done and elapsed > 0 and phase != "model":
            rate = done / elapsed
            left = (total - done) / rate if rate else 0.0
            text += f" · {rate:,.0f}/s · about {left:,.0f} s left"
        elif done < total and elapsed >= 1:
            # a phase with no count yet (a model loading) still shows that time passes
            text += f" · {elapsed:,.0f} s so far"
        elif not done:
            text += " · starting"
        return fraction, text
