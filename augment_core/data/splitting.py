"""Seeded, stratified train/val/test splits, made before any augmentation.

Multi-label rows are split by iterative stratification (Sechidis, Tsoumakas & Vlahavas,
2011): labels are taken rarest first and each of their rows goes to the split that still
wants that label most, so every tag's share in val/test stays close to train's. For
single-label data the same procedure is ordinary per-class stratification.

It is written here rather than taken from scikit-multilearn because that package is
unmaintained, pulls in scipy sparse matrices and a per-row Python loop over them, and
costs seconds of import and run time on the CLI's hot path; this is about 60 lines of
plain Python with a heap, linear in the number of (row, label) pairs.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import Counter
from typing import Any, Mapping, Sequence

from augment_core.data.dataset import SPLITS, Dataset
from augment_core.errors import InputError

DEFAULT_RATIOS = (0.70, 0.15, 0.15)


def parse_ratios(text: str) -> tuple[float, float, float]:
    try:
        parts = tuple(float(p) for p in text.split(","))
    except ValueError:
        raise InputError(f"split ratios must be three numbers like 0.7,0.15,0.15, not {text!r}") from None
    return check_ratios(parts)


def check_ratios(ratios: Sequence[float]) -> tuple[float, float, float]:
    """Three finite ratios >= 0 (train > 0) that sum to 1. NaN is tested for by name: every
    comparison with it is false, so ``r < 0`` and ``abs(sum - 1) > eps`` both let it through."""
    if (
        len(ratios) != 3
        or not all(isinstance(r, (int, float)) and math.isfinite(r) for r in ratios)
        or any(r < 0 for r in ratios)
        or abs(sum(ratios) - 1.0) > 1e-6
        or ratios[0] <= 0
    ):
        shown = ",".join(str(r) for r in ratios)
        raise InputError(f"split ratios must be three finite numbers >= 0 (train > 0) that sum to 1, not {shown}")
    return (float(ratios[0]), float(ratios[1]), float(ratios[2]))


def assign_splits(dataset: Dataset, ratios: Sequence[float] = DEFAULT_RATIOS, seed: int = 0) -> Dataset:
    """Give every row without a split one; rows that have a split keep it."""
    if all(r.split for r in dataset.records):
        check_ratios(ratios)
        return dataset
    return dataset.with_splits(fill_splits([r.split for r in dataset.records], [r.labels for r in dataset.records],
                                           ratios, seed))


def fill_splits(given: Sequence[str | None], labels: Sequence[Sequence[str]], ratios: Sequence[float],
                seed: int) -> list[str]:
    """Each row's split: its own where it has one, else the seeded stratified split of the
    rows without one. Every runner and the run import split through here, from the same
    (split, labels) per row, so a row lands in the same split whoever reads it."""
    ratios = check_ratios(ratios)
    splits = list(given)
    todo = [i for i, s in enumerate(splits) if not s]
    if todo:
        for i, k in zip(todo, iterative_stratify([labels[i] for i in todo], ratios, seed)):
            splits[i] = SPLITS[k]
    return splits  # type: ignore[return-value]


def _label_counts(label_sets: Sequence[Sequence[str]]) -> Counter[str]:
    """Rows per label, labels in the order rows first use them. Rows share a few label
    tuples (a million rows, a few thousand tuples): each distinct tuple is counted once."""
    try:
        per_set = Counter(label_sets)
    except TypeError:  # an unhashable sequence (a list)
        return Counter(label for labels in label_sets for label in set(labels))
    counts: Counter[str] = Counter()
    for labels, n in per_set.items():
        for label in set(labels):
            counts[label] += n
    return counts


def iterative_stratify(label_sets: Sequence[Sequence[str]], ratios: Sequence[float], seed: int) -> list[int]:
    """The index of the split (into ``ratios``) for each row."""
    rng = random.Random(f"split|{seed}")
    n = len(label_sets)
    want_total = [r * n for r in ratios]
    # A label too rare for every split to get one row of it cannot be stratified; letting
    # it steer (rarest first) would pile its rows into train and skew everything else.
    smallest = min(r for r in ratios if r > 0)
    all_counts = _label_counts(label_sets)
    counts = Counter({label: c for label, c in all_counts.items() if c * smallest >= 1})
    kept: dict[Any, tuple[str, ...]] = {}  # rows share label tuples: filter each distinct one once

    def keep(labels: Sequence[str]) -> tuple[str, ...]:
        try:
            hit = kept.get(labels)
        except TypeError:  # an unhashable sequence (a list)
            return tuple(label for label in set(labels) if label in counts)
        if hit is None:
            hit = kept[labels] = tuple(label for label in set(labels) if label in counts)
        return hit

    label_sets = [keep(labels) for labels in label_sets]
    want = [{label: r * c for label, c in counts.items()} for r in ratios]
    rows_of: dict[str, list[int]] = {}
    for i, labels in enumerate(label_sets):
        for label in labels:
            rows_of.setdefault(label, []).append(i)
    left = dict(counts)  # rows not yet assigned, per label
    assigned = [-1] * n
    heap = [(c, rng.random(), label) for label, c in sorted(counts.items())]
    heapq.heapify(heap)
    ks = range(len(ratios))

    def place(i: int, options: list[int]) -> None:
        assign(i, options[0] if len(options) == 1 else rng.choice(options))

    def assign(i: int, k: int) -> None:
        assigned[i] = k
        want_total[k] -= 1
        want_k = want[k]
        for label in label_sets[i]:
            want_k[label] -= 1
            left[label] -= 1

    while heap:
        c, tie, label = heapq.heappop(heap)
        if left[label] == 0:
            continue
        if c != left[label]:  # stale entry: rows of this label went with rarer labels
            heapq.heappush(heap, (left[label], tie, label))
            continue
        rows = [i for i in rows_of[label] if assigned[i] < 0]
        rng.shuffle(rows)
        for i in rows:
            wants = [w[label] for w in want]
            best = max(wants)
            if wants.count(best) == 1:  # most rows: one split wants the label most
                assign(i, wants.index(best))
                continue
            options = [k for k in ks if wants[k] == best]
            top = max(want_total[k] for k in options)
            place(i, [k for k in options if want_total[k] == top])
    unlabeled = [i for i in range(n) if assigned[i] < 0]
    rng.shuffle(unlabeled)
    for i in unlabeled:
        top = max(want_total)
        place(i, [k for k in range(len(ratios)) if want_total[k] == top])
    return assigned


def split_tag_counts(dataset: Dataset) -> list[dict[str, object]]:
    """Rows of (tag, split, count, share): share is the tag's count over the split's rows,
    the figure that should be close across splits."""
    per_split = Counter(r.split for r in dataset.records)
    counts: Counter[tuple[str, str]] = Counter()
    for r in dataset.records:
        for label in set(r.labels):
            counts[(label, r.split or "unsplit")] += 1
    tags = sorted({t for t, _ in counts}, key=lambda t: (-sum(counts[(t, s)] for s in SPLITS), t))
    out: list[dict[str, object]] = []
    splits = [s for s in SPLITS if per_split.get(s)] or ["unsplit"]
    for tag in tags:
        for split in splits:
            c = counts.get((tag, split), 0)
            out.append({"tag": tag, "split": split, "count": c, "share": c / per_split[split] if per_split[split] else 0.0})
    return out


def split_tag_table(counts: Sequence[Mapping[str, object]]) -> list[dict[str, object]]:
    """One row per tag of ``counts`` (:func:`split_tag_counts`' rows, counted once for both):
    its row count in each split present (in train, val, test order) and in total; most
    frequent first, no tag without rows and no blank tag."""
    splits = list(dict.fromkeys(str(c["split"]) for c in counts))
    table: dict[str, dict[str, object]] = {}
    for c in counts:
        tag = str(c["tag"])
        if not tag.strip():
            continue
        row = table.setdefault(tag, {"tag": tag, **{s: 0 for s in splits}, "total": 0})
        row[str(c["split"])] = c["count"]
        row["total"] = int(row["total"]) + int(c["count"])  # type: ignore[call-overload]
    rows = [r for r in table.values() if r["total"]]
    return sorted(rows, key=lambda r: (-int(r["total"]), str(r["tag"])))  # type: ignore[call-overload]
