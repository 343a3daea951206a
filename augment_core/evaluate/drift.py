"""``label_drift``: a variant the quick baseline reads as another label than its parent.

An edit that keeps the words of a tag can still move a text to another class in the eyes of
a model (a negation, a swapped domain word). Evaluate's quick baseline
(:mod:`augment_core.evaluate.baseline`), fitted once per run on the train originals only (no
variant shapes it), predicts the labels of every variant and of its parent; where the two
predictions differ, the variant gets the ``label_drift`` flag for the reviewer. Comparing
with the parent's *prediction* rather than its gold labels keeps a parent the baseline
already gets wrong from flagging every one of its variants.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from augment_core.augment.quality import FLAG_LABEL_DRIFT, add_flag
from augment_core.evaluate import baseline
from augment_core.evaluate.config import EvalConfig

ORIGINAL = "original"


def predicted_labels(train: Sequence[tuple[str, Sequence[str]]], texts: Sequence[str],
                     c: float = EvalConfig.c, seed: int = EvalConfig.seed) -> list[frozenset[str]] | None:
    """The baseline's labels for each of ``texts``, fitted once on ``train`` (text, labels);
    single-label when every train row has one label, else one-vs-rest per tag. None when the
    train rows carry fewer than two labels (nothing to tell apart)."""
    tags = sorted({t for _, labels in train for t in labels})
    if len(tags) < 2 or not texts:
        return None
    at = {t: j for j, t in enumerate(tags)}
    y = np.zeros((len(train), len(tags)), dtype=bool)
    for i, (_, labels) in enumerate(train):
        for t in labels:
            y[i, at[t]] = True
    counts = baseline.count_ngrams([t for t, _ in train], list(texts))
    x, scored = baseline.tfidf_for(counts, np.arange(len(train)))
    if all(len(labels) == 1 for _, labels in train):
        p = baseline.fit_predict_single(x, y.argmax(1), scored, len(tags), c, seed)
    else:
        p = baseline.fit_predict_multilabel(x, y, scored, c, seed)
    return [frozenset(tags[j] for j in np.flatnonzero(row)) for row in p]


def train_examples(dataset: Any) -> list[tuple[str, tuple[str, ...]]]:
    """The train originals of a dataset as (text, labels): what the baseline is fitted on."""
    return [(r.text, r.labels) for r in dataset.records if r.split == "train"]


def flag_label_drift(rows: list[dict[str, Any]], train: Sequence[tuple[str, Sequence[str]]]) -> int:
    """Add ``label_drift`` to the ``flags`` of each variant row (``augmenter`` not
    ``original``) whose predicted labels differ from its ``original_text``'s; in place. The
    number of variants flagged."""
    variants = [r for r in rows if str(r.get("augmenter", "")) != ORIGINAL]
    texts = list(dict.fromkeys([str(r.get("text", "")) for r in variants]
                               + [str(r.get("original_text", "")) for r in variants]))
    predicted = predicted_labels(train, texts)
    if predicted is None:
        return 0
    of = dict(zip(texts, predicted))
    flagged = 0
    for r in variants:
        if of[str(r.get("text", ""))] != of[str(r.get("original_text", ""))]:
            add_flag(r, FLAG_LABEL_DRIFT)
            flagged += 1
    return flagged
