"""``label_drift``: a variant the quick baseline reads as another label than its parent.

An edit that keeps the words of a tag can still move a text to another class in the eyes of
a model (a negation, a swapped domain word). Evaluate's quick baseline
(:mod:`augment_core.evaluate.baseline`), fitted once per run on the train originals only (no
variant shapes it), predicts the labels of every variant and of its parent; where the two
predictions differ, the variant gets the ``label_drift`` flag for the reviewer. Comparing
with the parent's *prediction* rather than its gold labels keeps a parent the baseline
already gets wrong from flagging every one of its variants.

Every run with quality signals computes it (the Augment page's, the CLI's runners, imports).
The fit (:func:`fit_label_baseline`) is the run's, made once; a prediction is a text's own
(its n-grams, then the models), so a streamed run scoring chunk by chunk flags exactly what
the in-memory run flags. What the fit sees is bounded, so a run of any size fits it in
seconds and a streamed run holds no more texts than :data:`BASELINE_TRAIN_MAX`:

* at most :data:`BASELINE_TRAIN_MAX` train originals, a seeded sample (in input order) when
  there are more (:func:`baseline_positions`);
* multi-label, Evaluate's learnable tags (:func:`augment_core.evaluate.baseline.frequent_tags`
  with :class:`EvalConfig`'s ``min_tag_count`` and ``max_tags``): a rarer tag cannot be
  learnt, and each tag is a model to fit (2,500 tags took 45 s on 5,000 rows).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from augment_core.augment.quality import FLAG_LABEL_DRIFT, add_flag
from augment_core.evaluate import baseline
from augment_core.evaluate.config import EvalConfig

ORIGINAL = "original"
BASELINE_TRAIN_MAX = 20_000
"""The most train originals the baseline is fitted on."""

Example = tuple[str, Sequence[str]]
"""A train original as (text, labels)."""


@dataclass(frozen=True)
class LabelBaseline:
    """The quick baseline fitted on a run's train originals: n-gram vocabulary, IDF and
    models. Pickled as it is to the workers that score a run's chunks (Ray's actors)."""

    tags: tuple[str, ...]
    vectorizer: Any
    tfidf: Any
    model: baseline.SingleLabelModel | baseline.MultilabelModel

    def labels(self, texts: Sequence[str]) -> list[frozenset[str]]:
        """The labels it predicts for each of ``texts``."""
        if not texts:
            return []
        p = self.model.predict(self.tfidf.transform(self.vectorizer.transform(list(texts))).tocsr())
        return [frozenset(self.tags[j] for j in np.flatnonzero(row)) for row in p]

    def flag(self, rows: list[dict[str, Any]]) -> int:
        """Add ``label_drift`` to the ``flags`` of each variant row (``augmenter`` not
        ``original``) whose predicted labels differ from its ``original_text``'s; in place.
        The number of variants flagged."""
        variants = [r for r in rows if str(r.get("augmenter", "")) != ORIGINAL]
        texts = list(dict.fromkeys([str(r.get("text", "")) for r in variants]
                                   + [str(r.get("original_text", "")) for r in variants]))
        of = dict(zip(texts, self.labels(texts)))
        flagged = 0
        for r in variants:
            if of[str(r.get("text", ""))] != of[str(r.get("original_text", ""))]:
                add_flag(r, FLAG_LABEL_DRIFT)
                flagged += 1
        return flagged


def baseline_positions(n_train: int, most: int = BASELINE_TRAIN_MAX, seed: int = EvalConfig.seed) -> range | list[int]:
    """Which of a run's ``n_train`` train originals (their positions, in input order) the
    baseline is fitted on: all of them, or a seeded sample of ``most``."""
    if n_train <= most:
        return range(n_train)
    return sorted(int(i) for i in np.random.default_rng(seed).choice(n_train, most, replace=False))


def fit_label_baseline(train: Sequence[Example], c: float = EvalConfig.c,
                       seed: int = EvalConfig.seed) -> LabelBaseline | None:
    """The baseline fitted on ``train`` (the originals at :func:`baseline_positions`);
    single-label when every train row has one label, else one-vs-rest per learnable tag.
    None when there are fewer than two labels to tell apart."""
    single = all(len(labels) == 1 for _, labels in train)
    counts = Counter(t for _, labels in train for t in labels)
    if single:
        tags = sorted(counts)
    else:
        tags = sorted(baseline.frequent_tags(counts, EvalConfig.min_tag_count, EvalConfig.max_tags))
    if len(tags) < 2:
        return None
    at = {t: j for j, t in enumerate(tags)}
    y = np.zeros((len(train), len(tags)), dtype=bool)
    for i, (_, labels) in enumerate(train):
        for t in labels:
            j = at.get(t)
            if j is not None:
                y[i, j] = True
    vectorizer = baseline.ngram_vectorizer()
    counted = vectorizer.fit_transform([t for t, _ in train]).tocsr()
    tfidf = baseline.idf_weighting().fit(counted)
    x = tfidf.transform(counted).tocsr()
    model: baseline.SingleLabelModel | baseline.MultilabelModel
    if single:
        model = baseline.fit_single(x, y.argmax(1), len(tags), c, seed)
    else:
        model = baseline.fit_multilabel(x, y, c, seed)
    return LabelBaseline(tuple(tags), vectorizer, tfidf, model)


def train_examples(dataset: Any) -> list[tuple[str, tuple[str, ...]]]:
    """The train originals of a dataset the baseline is fitted on, as (text, labels)."""
    train = [r for r in dataset.records if r.split == "train"]
    return [(train[i].text, train[i].labels) for i in baseline_positions(len(train))]


def flag_label_drift(rows: list[dict[str, Any]], train: Sequence[Example]) -> int:
    """:meth:`LabelBaseline.flag` with the baseline fitted on ``train`` (a whole run held in
    memory); 0 when the labels leave nothing to tell apart."""
    fitted = fit_label_baseline(train)
    return 0 if fitted is None else fitted.flag(rows)
