"""The experiment: seeds x arms, scored on val (and test only when asked).

Each seed draws the same subsample of train originals (``train_fraction``) for both arms,
and arm (b) adds the variants of exactly those originals, so the seeds measure how much
the comparison moves with the training data and the two arms differ only by the variants.
The alias-swapped val rows are made once (one swap per row, seeded, with the table fitted
on the train split) and are only ever scored, never trained on.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass
from types import SimpleNamespace
from typing import Any, Callable, Sequence

import numpy as np

from augment_core.errors import InputError
from augment_core.evaluate import baseline, metrics
from augment_core.evaluate.config import EvalConfig
from augment_core.evaluate.data import EvalData, Example

Progress = Callable[[int, int], None]
"""Called as (fits done, fits in all)."""
ARMS = ("originals", "augmented")
RESULT_FORMAT = 1


def train_keywords(aliases: Any, data: EvalData) -> Any:
    """The alias table fitted to the train originals (:func:`augment_core.augment.agreement.fit_to_train`)."""
    from augment_core.augment.agreement import fit_to_train
    from augment_core.data.dataset import Record

    records = [Record(t.id, t.text, t.labels, "train", None) for t in data.train]
    return fit_to_train(aliases, SimpleNamespace(records=records))


def swap_aliases(keywords: Any, rows: Sequence[Example], seed: int) -> tuple[list[str], np.ndarray]:
    """Each row with one alias swapped where it has a swappable keyword (else unchanged)."""
    from augment_core.augment.alias_swap import AliasSwap

    swap = AliasSwap(keywords.table, agreement=keywords.by_key)
    texts, changed = [], np.zeros(len(rows), dtype=bool)
    for i, r in enumerate(rows):
        out = swap.variants(r.text, r.id, 1, seed)
        texts.append(out[0].text if out else r.text)
        changed[i] = bool(out)
    return texts, changed


@dataclass(frozen=True)
class LabelSpace:
    task: str  # "multi-label" or "single-label"
    tags: tuple[str, ...]
    dropped_tags: int

    def matrix(self, rows: Sequence[Example]) -> np.ndarray:
        at = {t: j for j, t in enumerate(self.tags)}
        y = np.zeros((len(rows), len(self.tags)), dtype=bool)
        for i, r in enumerate(rows):
            for label in r.labels:
                j = at.get(label)
                if j is not None:
                    y[i, j] = True
        return y


def label_space(data: EvalData, config: EvalConfig) -> LabelSpace:
    single = all(len(r.labels) == 1 for r in data.train) and all(len(r.labels) <= 1 for r in data.val)
    counts = Counter(label for r in data.train for label in r.labels)
    if single:
        if len(counts) < 2:
            raise InputError("the train originals have fewer than 2 classes: nothing to classify")
        return LabelSpace("single-label", tuple(sorted(counts)), 0)
    kept = tuple(baseline.frequent_tags(counts, config.min_tag_count, config.max_tags))
    if not kept:
        raise InputError(f"no tag is carried by {config.min_tag_count} or more train originals (--min-tag-count)")
    return LabelSpace("multi-label", kept, len(counts) - len(kept))


def run_evaluation(data: EvalData, keywords: Any, config: EvalConfig = EvalConfig(),
                   progress: Progress | None = None) -> dict[str, Any]:
    """Train both arms under every seed and compare them; a JSON-able result."""
    config.check()
    if not data.variants:
        raise InputError(f"no variants to add ({data.variants_source}): accept some, or use all variants of a run")
    if not data.val:
        raise InputError("no val rows to score on")
    started = time.perf_counter()
    space = label_space(data, config)
    sets = {"val": data.val, **({"test": data.test} if data.test is not None else {})}
    swapped = {name: swap_aliases(keywords, rows, config.seed) for name, rows in sets.items()}
    scored_texts: list[str] = []
    offsets: dict[str, tuple[int, int, np.ndarray]] = {}
    for name, rows in sets.items():
        texts, changed = swapped[name]
        start = len(scored_texts)
        scored_texts += [r.text for r in rows] + [t for t, c in zip(texts, changed) if c]
        offsets[name] = (start, len(rows), changed)
    train_rows = list(data.train) + list(data.variants)
    counts = baseline.count_ngrams([r.text for r in train_rows], scored_texts)
    y_train = space.matrix(train_rows)
    if space.task == "single-label":
        y_train_idx = y_train.argmax(1)
    position = {r.id: i for i, r in enumerate(data.train)}
    parent_of = np.array([position[v.parent_id] for v in data.variants], dtype=np.int64)
    n_train = len(data.train)
    total, done = config.seeds * len(ARMS), 0
    preds: dict[str, dict[str, list[tuple[np.ndarray, np.ndarray]]]] = {n: {a: [] for a in ARMS} for n in sets}
    for k in range(config.seeds):
        seed = config.seed + k
        rng = np.random.default_rng(seed)
        size = max(1, round(config.train_fraction * n_train))
        chosen = np.sort(rng.choice(n_train, size, replace=False)) if size < n_train else np.arange(n_train)
        picked = np.zeros(n_train, dtype=bool)
        picked[chosen] = True
        variant_rows = n_train + np.flatnonzero(picked[parent_of])
        for arm, fit_rows in (("originals", chosen), ("augmented", np.concatenate([chosen, variant_rows]))):
            x, scored = baseline.tfidf_for(counts, fit_rows)
            if space.task == "single-label":
                p = baseline.fit_predict_single(x, y_train_idx[fit_rows], scored, len(space.tags), config.c, seed)
            else:
                p = baseline.fit_predict_multilabel(x, y_train[fit_rows], scored, config.c, seed)
            for name, (start, n, changed) in offsets.items():
                clean = p[start:start + n]
                swapped_p = clean.copy()
                swapped_p[changed] = p[start + n:start + n + int(changed.sum())]
                preds[name][arm].append((clean, swapped_p))
            done += 1
            if progress is not None:
                progress(done, total)
    reports = {
        name: _split_report(space, space.matrix(rows), offsets[name][2], preds[name], config)
        for name, rows in sets.items()
    }
    return {
        "format": RESULT_FORMAT,
        "baseline": f"TF-IDF char_wb {baseline.NGRAMS[0]}-{baseline.NGRAMS[1]}-grams + LogisticRegression"
                    + (" (one-vs-rest)" if space.task == "multi-label" else " (multinomial)"),
        "config": asdict(config),
        "task": space.task,
        "primary_metric": _primary(space),
        "data": {
            "train_originals": len(data.train), "variants": len(data.variants),
            "variants_source": data.variants_source, "val": len(data.val),
            "val_swapped": int(offsets["val"][2].sum()), "tags": list(space.tags),
            "tags_not_scored": space.dropped_tags, "test_used": data.test is not None,
        },
        "splits": reports,
        "seconds": round(time.perf_counter() - started, 2),
    }


def _primary(space: LabelSpace) -> str:
    return "macro_f1" if space.task == "single-label" else "micro_f1"


def _split_report(space: LabelSpace, y: np.ndarray, changed: np.ndarray,
                  preds: dict[str, list[tuple[np.ndarray, np.ndarray]]], config: EvalConfig) -> dict[str, Any]:
    n = len(y)
    one = np.ones((1, n))
    boot = metrics.bootstrap_weights(n, config.bootstrap, config.seed)
    support = y.sum(0)
    mask = support > 0
    point: dict[str, dict[str, list[metrics.Scores]]] = {}
    sampled: dict[str, dict[str, list[metrics.Scores]]] = {}
    flips_point: dict[str, list[float]] = {}
    flips_boot: dict[str, list[np.ndarray]] = {}
    for arm in ARMS:
        point[arm] = {"clean": [], "swapped": []}
        sampled[arm] = {"clean": [], "swapped": []}
        flips_point[arm], flips_boot[arm] = [], []
        for clean, swapped in preds[arm]:
            for cond, p in (("clean", clean), ("swapped", swapped)):
                point[arm][cond].append(metrics.scores(one, y, p, mask))
                sampled[arm][cond].append(metrics.scores(boot, y, p, mask))
            flips_point[arm].append(float(metrics.flip_rate(one, clean, swapped, changed)[0]))
            flips_boot[arm].append(metrics.flip_rate(boot, clean, swapped, changed))
    arms: dict[str, Any] = {}
    for arm in ARMS:
        arms[arm] = {
            cond: {
                "micro_f1": float(np.mean([s.micro[0] for s in point[arm][cond]])),
                "macro_f1": float(np.mean([s.macro[0] for s in point[arm][cond]])),
                "micro_f1_per_seed": [float(s.micro[0]) for s in point[arm][cond]],
                "macro_f1_per_seed": [float(s.macro[0]) for s in point[arm][cond]],
            }
            for cond in ("clean", "swapped")
        }
        arms[arm]["flip_rate"] = float(np.mean(flips_point[arm])) if changed.any() else None
    diffs: dict[str, Any] = {}
    for cond in ("clean", "swapped"):
        for m in ("micro_f1", "macro_f1"):
            attr = m.split("_")[0]
            diffs[f"{cond}_{m}"] = metrics.difference(
                [getattr(s, attr)[0] for s in point["originals"][cond]],
                [getattr(s, attr)[0] for s in point["augmented"][cond]],
                [getattr(s, attr) for s in sampled["originals"][cond]],
                [getattr(s, attr) for s in sampled["augmented"][cond]],
            )
    has_swaps = bool(changed.any())
    if has_swaps:
        diffs["flip_rate"] = metrics.difference(flips_point["originals"], flips_point["augmented"],
                                                flips_boot["originals"], flips_boot["augmented"], lower_is_better=True)
    primary = _primary(space)
    per_tag = []
    for cond in ("clean", "swapped"):
        a = np.mean([s.per_tag[0] for s in point["originals"][cond]], axis=0)
        b = np.mean([s.per_tag[0] for s in point["augmented"][cond]], axis=0)
        boot_d = np.mean([sb.per_tag - sa.per_tag for sa, sb in zip(sampled["originals"][cond],
                                                                   sampled["augmented"][cond])], axis=0)
        lo, hi = np.quantile(boot_d, [0.025, 0.975], axis=0)
        for j, tag in enumerate(space.tags):
            if mask[j]:
                per_tag.append({"tag": tag, "condition": cond, "support": int(support[j]), "f1_originals": float(a[j]),
                                "f1_augmented": float(b[j]), "delta": float(b[j] - a[j]),
                                "ci_low": float(lo[j]), "ci_high": float(hi[j])})
    rates = (arms["originals"]["flip_rate"], arms["augmented"]["flip_rate"]) if has_swaps else None
    return {
        "rows": n, "swapped_rows": int(changed.sum()), "arms": arms, "differences": diffs, "per_tag": per_tag,
        "verdict": metrics.verdict(diffs[f"clean_{primary}"], diffs[f"swapped_{primary}"] if has_swaps else None,
                                   diffs.get("flip_rate"), primary, rates),
    }
