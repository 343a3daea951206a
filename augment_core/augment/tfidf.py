"""TF-IDF substitution (nlpaug ``TfIdfAug``, as in UDA): words with a low TF-IDF score in
their text are the likelier to be replaced, by words drawn from the vocabulary.

The model is fitted on the train split only (:meth:`TfidfSubstitute.fit`): fitted on all
rows, the replacement vocabulary would carry words of the held-out rows into train
variants, a leak. Keyword occurrences are left out of the fit, so a replacement is never a
tag keyword (a multi-word one formed by a replacement is caught by the protection check).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Sequence

from augment_core.augment.nlpaug_tokens import TOKEN_IO, NlpaugTokens
from augment_core.augment.params import setting
from augment_core.augment.protection import Protector
from augment_core.augment.rows import prepare
from augment_core.errors import InputError


@dataclass(frozen=True)
class TfidfSettings:
    aug_p: float = setting(0.3, "share of a text's words replaced (only words seen in train)", min=0.01, max=1.0)
    aug_max: int = setting(10, "at most this many words replaced per variant", min=1)
    top_k: int = setting(5, "a replacement is drawn from this many sampled vocabulary words", min=1)


class TfidfSubstitute(NlpaugTokens):
    name = "tfidf_substitute"

    def __init__(self, settings: TfidfSettings = TfidfSettings(), protector: Protector | None = None) -> None:
        super().__init__(settings, protector)
        self._model: Any = None
        self._fitted: dict[str, Any] = {}

    def fit(self, train_texts: Sequence[str]) -> TfidfSubstitute:
        """Fit the TF-IDF statistics on the train split's texts (their unprotected words)."""
        from nlpaug.model.word_stats import TfIdf

        docs = [words for words in (prepare(t, self.protector).free_tokens for t in train_texts) if words]
        if not docs:
            raise InputError("tfidf_substitute has no words to fit on: the train split is empty")
        model = TfIdf()
        model.train(docs)
        digest = hashlib.sha256("\n".join(train_texts).encode("utf-8")).hexdigest()
        self._model = model
        self._built.clear()
        self._fitted = {"fitted_rows": len(train_texts), "vocabulary": len(model.tokens), "train_sha256": digest}
        return self

    def params(self) -> dict[str, Any]:
        return {**super().params(), **self._fitted}

    def build(self, action: str) -> Any:
        import nlpaug.augmenter.word as naw

        if self._model is None:
            raise RuntimeError("tfidf_substitute: call fit(train_texts) before generate")
        model = self._model

        class Fitted(naw.TfIdfAug):
            """``TfIdfAug`` using the model fitted here, not one read from a folder."""

            def get_model(self, force_reload: bool = False) -> Any:
                return model

        s = self.settings
        return Fitted(aug_p=s.aug_p, aug_max=s.aug_max, top_k=s.top_k, **TOKEN_IO)
