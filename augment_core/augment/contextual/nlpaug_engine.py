"""The lesson's augmenter, nlpaug ``ContextualWordEmbsAug``, behind the same protocol.

Kept for parity and for the benchmark, not as the default: it runs one forward pass per
masked word and returns re-tokenized lower-case text. We make it as controllable as it can
be made from outside:

* Protected words (keywords found in each text, ``--protect`` words) are passed as
  nlpaug stopwords, per text, matched case-insensitively (nlpaug lower-cases the stopword
  list for "uncased" model paths but matches its regex case-sensitively, so capitalised
  keywords would otherwise slip through).
* Determinism: python ``random``, numpy and torch are seeded from ``row_seed(seed, name,
  row_id, variant)`` before each call, and each text is augmented on its own, so a row's
  output does not depend on the other rows.
* Changes: nlpaug reports none, so we align the original's word tokens with the output's
  (difflib, case- and accent-insensitive) and re-apply only the differing stretches to
  the original with :func:`apply_edits`. The variant therefore keeps the original's case
  and spacing outside the changes (nlpaug's own output is lower-cased and re-spaced), and
  the change spans are exact. Any change touching a protected span is dropped.
* DistilBERT checkpoints use ``model_type="bert"``: nlpaug 1.1.11's ``distilbert``
  substitute path raises ``UnboundLocalError``.
"""

from __future__ import annotations

import difflib
import random
import re
from typing import Any, Sequence

from augment_core.augment.aliases import match_case
from augment_core.augment.augmenter import Progress
from augment_core.augment.changes import Candidate, Edit, apply_edits
from augment_core.augment.contextual.settings import MAX_ROUNDS, Action, ContextualSettings
from augment_core.augment.protection import fold, overlaps
from augment_core.errors import InputError, ModelUnavailable
from augment_core.rng import row_seed

_TOKEN = re.compile(r"\w+|[^\w\s]")
_CHUNK = re.compile(r"\S+")


def _model_type(config_type: str) -> str:
    if config_type in ("roberta", "xlm-roberta", "camembert", "longformer"):
        return "roberta"
    if config_type == "bart":
        return "bart"
    return "bert"  # bert, distilbert (its own path is broken in 1.1.11), squeezebert, electra


def _nlpaug_model(mlm: Any, model_type: str, top_k: int, batch_size: int) -> Any:
    """nlpaug's own model class (``Bert`` or ``Roberta``: the two its word augmenter drives)
    around the model our loader already loaded and checked: built the usual way, it would
    load the checkpoint a second time."""
    import nlpaug.model.lang_models as nml
    from nlpaug.model.lang_models import LanguageModels

    if model_type not in ("bert", "roberta"):
        raise ModelUnavailable(f"nlpaug's contextual augmenter drives BERT- and RoBERTa-type models, not {model_type!r}")
    cls = nml.Roberta if model_type == "roberta" else nml.Bert
    model = cls.__new__(cls)
    LanguageModels.__init__(model, mlm.device, temperature=1.0, top_k=top_k, top_p=None, batch_size=batch_size, silence=True)
    model.model_path = mlm.source
    model.tokenizer = mlm.tokenizer
    model.mask_id = model.token2id(cls.MASK_TOKEN)
    model.pad_id = model.token2id(cls.PAD_TOKEN)
    model.model = mlm.model
    return model


def _preloaded(base: type) -> type:
    """``ContextualWordEmbsAug`` taking its language model instead of loading one."""

    class Preloaded(base):
        def __init__(self, lm: Any, **kwargs: Any) -> None:
            self._lm = lm
            super().__init__(**kwargs)

        def get_model(self, *args: Any, **kwargs: Any) -> Any:
            return self._lm

    return Preloaded


class NlpaugContextual(ContextualSettings):
    """nlpaug ``ContextualWordEmbsAug`` with protected words, seeds and change spans."""

    engine = "nlpaug"

    def __init__(self, action: Action = "substitute", **settings: Any) -> None:
        if action not in ("substitute", "insert"):
            raise InputError(f"unknown contextual action {action!r}: use substitute or insert")
        super().__init__(**settings)
        self.action: Action = action
        self.name = f"contextual_{action}"
        self._aug: Any = None

    def load(self) -> None:
        """Load the model now (a run reports it as its own phase)."""
        self._ensure()

    def _ensure(self) -> Any:
        if self._aug is not None:
            return self._aug
        from augment_core.augment.models import load_masked_lm, quiet_transformers

        # Our loader first: a bad path, an offline hub name or a checkpoint without a
        # masked-LM head then fails with our one-line message, not nlpaug's traceback or
        # nonsense output; and nlpaug is handed the model it loaded, not a second copy.
        mlm = load_masked_lm(self.model_name, self.device)
        model_type = _model_type(getattr(mlm.model.config, "model_type", "bert"))
        try:
            import nlpaug.augmenter.word as naw
        except ImportError:
            raise ModelUnavailable("the nlpaug engine needs the nlpaug package (pip install nlpaug==1.1.11); use --engine native") from None
        try:
            with quiet_transformers():
                self._aug = _preloaded(naw.ContextualWordEmbsAug)(
                    _nlpaug_model(mlm, model_type, top_k=self.top_k, batch_size=self.batch_size),
                    model_path=mlm.source,
                    model_type=model_type,
                    action=self.action,
                    top_k=self.top_k,
                    aug_p=self.aug_p,
                    aug_max=self.aug_max if self.aug_max is not None else 10,
                    device=mlm.device,
                    batch_size=self.batch_size,
                )
        except ModelUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001
            raise ModelUnavailable(f"nlpaug could not use {mlm.source!r}: {' '.join(str(exc).split())[:200]}") from None
        return self._aug

    def _set_stopwords(self, aug: Any, words: list[str]) -> None:
        if words:
            ordered = sorted({w.lower() for w in words}, key=len, reverse=True)
            aug.stopwords = ordered
            aug._build_stop_words(ordered)
            aug.stopword_reg = re.compile(aug.stopword_reg.pattern, re.IGNORECASE)
        else:
            aug.stopwords = None
            aug.stopword_reg = None
            aug.reserve_word_reg = None

    def generate(
        self,
        texts: Sequence[str],
        row_ids: Sequence[str],
        n_per_original: int,
        seed: int,
        progress: Progress | None = None,
    ) -> list[list[Candidate]]:
        results: list[list[Candidate]] = [[] for _ in texts]
        if n_per_original < 1 or not texts:
            return results
        aug = self._ensure()
        for i, (text, row_id) in enumerate(zip(texts, row_ids)):
            if text and text.strip():
                spans = self.protector.spans(text)
                self._set_stopwords(aug, [sp.surface for sp in spans])
                seen = {text}
                for v in range(n_per_original * MAX_ROUNDS):
                    if len(results[i]) >= n_per_original:
                        break
                    out = self._augment_once(aug, text, row_seed(seed, self.name, row_id, v))
                    cand = align(text, out, spans) if out else None
                    if cand is not None and cand.text not in seen:
                        seen.add(cand.text)
                        results[i].append(cand)
            if progress:
                progress(1)
        return results

    @staticmethod
    def _augment_once(aug: Any, text: str, seed: int) -> str | None:
        import numpy as np
        import torch

        random.seed(seed)
        np.random.seed(seed % (2**32))
        torch.manual_seed(seed)
        out = aug.augment(text, n=1)
        if isinstance(out, list):
            out = out[0] if out else None
        return out


def _word_bounds(text: str) -> tuple[set[int], set[int], set[int]]:
    """Starts and ends of the all-letter words (whitespace chunks without their edge
    punctuation), and the positions between chunks where a word may be inserted."""
    starts: set[int] = set()
    ends: set[int] = set()
    gaps: set[int] = {0, len(text)}
    for m in _CHUNK.finditer(text):
        gaps.update((m.start(), m.end()))
        s, e = m.start(), m.end()
        while s < e and not text[s].isalnum():
            s += 1
        while e > s and not text[e - 1].isalnum():
            e -= 1
        if s < e and text[s:e].isalpha():
            starts.add(s)
            ends.add(e)
    return starts, ends, gaps


def _clean(edit: Edit, new: str, starts: set[int], ends: set[int], gaps: set[int]) -> bool:
    """The rules the native engine keeps by construction: a new word has a letter or digit,
    only whole all-letter words are replaced, and insertions go between words."""
    word = new.strip()
    if word and (not any(c.isalnum() for c in word) or (len(word) == 1 and not word.isascii())):
        return False
    if edit.kind == "insert":
        return edit.start in gaps
    if edit.kind == "substitute":
        return edit.start in starts and edit.end in ends
    return True


def align(original: str, output: str, protected: Sequence[Any] = ()) -> Candidate | None:
    """``original`` with the word-level differences between it and ``output`` applied.

    Word tokens (``\\w+`` or one punctuation mark) are compared case- and
    accent-insensitively, so nlpaug's lower-casing and re-spacing are not changes. A
    differing stretch becomes one edit on the original: a substitution (or deletion)
    of the original's stretch, or an insertion after the previous token.
    """
    a = [(m.start(), m.end()) for m in _TOKEN.finditer(original)]
    b = [(m.start(), m.end()) for m in _TOKEN.finditer(output)]
    word_starts, word_ends, gaps = _word_bounds(original)
    a_keys = [fold(original[s:e]) for s, e in a]
    b_keys = [fold(output[s:e]) for s, e in b]
    edits: list[Edit] = []
    matcher = difflib.SequenceMatcher(a=a_keys, b=b_keys, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        new = output[b[j1][0] : b[j2 - 1][1]] if j2 > j1 else ""
        if op == "insert":
            if i1 == 0:
                start = a[0][0] if a else 0
                edit = Edit(start, start, new + " ", "insert")
            else:
                pos = a[i1 - 1][1]
                glued = i1 < len(a) and a[i1][0] == pos  # "(EHR": keep the new word apart
                edit = Edit(pos, pos, " " + new + (" " if glued else ""), "insert")
        elif op == "delete":
            start, end = a[i1][0], a[i2 - 1][1]
            # take one neighbouring space with the words, so no double space is left
            if end < len(original) and original[end] == " ":
                end += 1
            elif start > 0 and original[start - 1] == " ":
                start -= 1
            edit = Edit(start, end, "", "delete")
        else:  # nlpaug lower-cases: give the new words the case of the ones they replace
            edit = Edit(a[i1][0], a[i2 - 1][1], match_case(original[a[i1][0] : a[i2 - 1][1]], new), "substitute")
        if not _clean(edit, new, word_starts, word_ends, gaps):
            continue  # nlpaug splits "TF2.0" and inserts lone marks: keep only whole-word edits
        if protected and (
            overlaps(edit.start, edit.end, protected)
            if edit.start < edit.end
            else any(sp.start < edit.start < sp.end for sp in protected)
        ):
            continue
        edits.append(edit)
    if not edits:
        return None
    cand = apply_edits(original, edits)
    return cand if cand.text != original else None
