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
from typing import Sequence

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


def count_ngrams(train_texts: Sequence[str], scored_texts: Sequence[str]) -> Counts:
    vec = CountVectorizer(analyzer="char_wb", ngram_range=NGRAMS, lowercase=True, dtype=np.float64)
    train = vec.fit_transform(train_texts).tocsr()
    scored = vec.transform(scored_texts).tocsr() if len(scored_texts) else sp.csr_matrix((0, train.shape[1]))
    return Counts(train, scored)


def tfidf_for(counts: Counts, rows: np.ndarray) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """TF-IDF of ``rows`` of the training texts and of every scored text, fitted on those
    rows alone (n-grams absent from them dropped, as a vectorizer fitted on them would)."""
    x = counts.train[rows]
    cols = np.flatnonzero(np.diff(x.tocsc().indptr))
    x = x[:, cols]
    tfidf = TfidfTransformer(sublinear_tf=True).fit(x)
    return tfidf.transform(x).tocsr(), tfidf.transform(counts.scored[:, cols]).tocsr()


def fit_predict_multilabel(x: sp.csr_matrix, y: np.ndarray, scored: sp.csr_matrix, c: float, seed: int) -> np.ndarray:
    """One-vs-rest: tag j is predicted where its own model's probability passes 0.5; a tag
    every (or no) training row carries is predicted always (never)."""
    out = np.zeros((scored.shape[0], y.shape[1]), dtype=bool)
    for j in range(y.shape[1]):
        col = y[:, j]
        positives = int(col.sum())
        if positives in (0, len(col)):
            out[:, j] = positives > 0
            continue
        model = LogisticRegression(solver="liblinear", dual=True, C=c, random_state=seed, max_iter=1000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a non-converged quick baseline is still a baseline
            model.fit(x, col)
        if scored.shape[0]:
            out[:, j] = model.decision_function(scored) > 0
    return out


def fit_predict_single(x: sp.csr_matrix, y: np.ndarray, scored: sp.csr_matrix, n_classes: int, c: float,
                       seed: int) -> np.ndarray:
    """Multinomial logistic regression; the predicted class as a one-hot row."""
    out = np.zeros((scored.shape[0], n_classes), dtype=bool)
    present = np.unique(y)
    if len(present) == 1:
        out[:, present[0]] = True
        return out
    model = LogisticRegression(C=c, max_iter=1000, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(x, y)
    if scored.shape[0]:
        out[np.arange(scored.shape[0]), model.classes_[model.predict_proba(scored).argmax(axis=1)]] = True
    return out
