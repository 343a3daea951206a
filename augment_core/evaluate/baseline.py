"""The quick baseline: TF-IDF character n-grams + logistic regression.

The Made With ML baseline family, tuned for speed rather than score, because it is run
ten times (five seeds, two arms) while someone waits:

* character n-grams (``char_wb``, 2-5) are counted once for every text; each fit then takes
  its own rows, keeps the n-grams they contain and fits its own IDF on them, which is exactly
  a ``TfidfVectorizer`` fitted on those rows, without re-tokenising;
* multi-label: one binary ``LogisticRegression`` per tag (one-vs-rest; liblinear's dual
  solver, the fastest for many more n-grams than rows); single-label: one multinomial
  ``LogisticRegression``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from sklearn.linear_model import LogisticRegression

NGRAMS = (2, 5)


@dataclass(frozen=True)
class Counts:
    """Character n-gram counts of the training texts (whose n-grams make the vocabulary:
    nothing of val or test shapes the features) and of the texts to score."""

    train: sp.csr_matrix
    scored: sp.csr_matrix


def ngram_vectorizer() -> CountVectorizer:
    """The baseline's features: character n-grams within word boundaries, lowercased."""
    return CountVectorizer(analyzer="char_wb", ngram_range=NGRAMS, lowercase=True, dtype=np.float64)


def idf_weighting() -> TfidfTransformer:
    """The baseline's weighting of the n-gram counts (fitted on the training rows)."""
    return TfidfTransformer(sublinear_tf=True)


def frequent_tags(counts: Mapping[str, int], min_count: int, most: int) -> list[str]:
    """Multi-label: the tags a quick baseline can learn, most carried first (ties by name):
    carried by ``min_count`` or more train originals, at most ``most`` of them. A rarer tag
    cannot be learnt, and each kept tag costs a model of its own."""
    frequent = [t for t, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if n >= min_count]
    return frequent[:most]


def count_ngrams(train_texts: Sequence[str], scored_texts: Sequence[str]) -> Counts:
    vec = ngram_vectorizer()
    train = vec.fit_transform(train_texts).tocsr()
    scored = vec.transform(scored_texts).tocsr() if len(scored_texts) else sp.csr_matrix((0, train.shape[1]))
    return Counts(train, scored)


def tfidf_for(counts: Counts, rows: np.ndarray) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """TF-IDF of ``rows`` of the training texts and of every scored text, fitted on those
    rows alone (n-grams absent from them dropped, as a vectorizer fitted on them would)."""
    x = counts.train[rows]
    cols = np.flatnonzero(np.diff(x.tocsc().indptr))
    x = x[:, cols]
    tfidf = idf_weighting().fit(x)
    return tfidf.transform(x).tocsr(), tfidf.transform(counts.scored[:, cols]).tocsr()


@dataclass(frozen=True)
class MultilabelModel:
    """One-vs-rest: per tag, its binary model, or its constant answer (a tag every, or no,
    training row carries)."""

    per_tag: tuple[Any, ...]

    def predict(self, scored: sp.csr_matrix) -> np.ndarray:
        """Tag j where its model's probability passes 0.5."""
        out = np.zeros((scored.shape[0], len(self.per_tag)), dtype=bool)
        for j, model in enumerate(self.per_tag):
            if isinstance(model, bool):
                out[:, j] = model
            elif scored.shape[0]:
                out[:, j] = model.decision_function(scored) > 0
        return out


@dataclass(frozen=True)
class SingleLabelModel:
    """A multinomial model, or the one class the training rows have."""

    n_classes: int
    model: Any

    def predict(self, scored: sp.csr_matrix) -> np.ndarray:
        """The predicted class as a one-hot row."""
        out = np.zeros((scored.shape[0], self.n_classes), dtype=bool)
        if isinstance(self.model, int):
            out[:, self.model] = True
        elif scored.shape[0]:
            out[np.arange(scored.shape[0]), self.model.classes_[self.model.predict_proba(scored).argmax(axis=1)]] = True
        return out


def fit_multilabel(x: sp.csr_matrix, y: np.ndarray, c: float, seed: int) -> MultilabelModel:
    """One binary ``LogisticRegression`` per tag (liblinear's dual solver)."""
    per_tag: list[Any] = []
    for j in range(y.shape[1]):
        col = y[:, j]
        positives = int(col.sum())
        if positives in (0, len(col)):
            per_tag.append(positives > 0)
            continue
        model = LogisticRegression(solver="liblinear", dual=True, C=c, random_state=seed, max_iter=1000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a non-converged quick baseline is still a baseline
            model.fit(x, col)
        per_tag.append(model)
    return MultilabelModel(tuple(per_tag))


def fit_single(x: sp.csr_matrix, y: np.ndarray, n_classes: int, c: float, seed: int) -> SingleLabelModel:
    """Multinomial logistic regression over the classes of ``y`` (indices below ``n_classes``)."""
    present = np.unique(y)
    if len(present) == 1:
        return SingleLabelModel(n_classes, int(present[0]))
    model = LogisticRegression(C=c, max_iter=1000, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(x, y)
    return SingleLabelModel(n_classes, model)


def fit_predict_multilabel(x: sp.csr_matrix, y: np.ndarray, scored: sp.csr_matrix, c: float, seed: int) -> np.ndarray:
    """One-vs-rest: tag j is predicted where its own model's probability passes 0.5; a tag
    every (or no) training row carries is predicted always (never)."""
    return fit_multilabel(x, y, c, seed).predict(scored)


def fit_predict_single(x: sp.csr_matrix, y: np.ndarray, scored: sp.csr_matrix, n_classes: int, c: float,
                       seed: int) -> np.ndarray:
    """Multinomial logistic regression; the predicted class as a one-hot row."""
    return fit_single(x, y, n_classes, c, seed).predict(scored)
