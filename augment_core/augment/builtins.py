"""The built-in augmenters as specs (name, settings class, factory), published the way a
plug-in publishes its own, so the CLI and the app list, configure and build them alike."""

from __future__ import annotations

from typing import Any, Callable

from augment_core.augment.back_translation import BackTranslation, BackTranslationSettings
from augment_core.augment.noise import (
    CharKeyboard,
    CharNoiseSettings,
    CharOcr,
    CharRandom,
    CharRandomSettings,
    WordCrop,
    WordDelete,
    WordNoiseSettings,
    WordSplit,
    WordSplitSettings,
    WordSwap,
)
from augment_core.augment.rows import RowAugmenter
from augment_core.augment.spec import AugmenterSpec, BuildContext
from augment_core.augment.spelling import Spelling, SpellingSettings
from augment_core.augment.tfidf import TfidfSettings, TfidfSubstitute


def _spec(cls: Callable[..., RowAugmenter], settings: type, help: str) -> AugmenterSpec:
    def build(s: Any, context: BuildContext) -> Any:
        return cls(s, context.protector)

    return AugmenterSpec(getattr(cls, "name"), settings, build, help)


def _tfidf(s: Any, context: BuildContext) -> Any:
    """Fitted on the train split's texts only (the context never holds the others)."""
    return TfidfSubstitute(s, context.protector).fit(context.train_texts)


CHAR_KEYBOARD = _spec(CharKeyboard, CharNoiseSettings, "typos: characters become keyboard neighbours")
CHAR_OCR = _spec(CharOcr, CharNoiseSettings, "OCR errors: characters become look-alikes (0/o, 1/l)")
CHAR_RANDOM = _spec(CharRandom, CharRandomSettings, "random characters inserted, substituted, swapped or deleted")
WORD_SWAP = _spec(WordSwap, WordNoiseSettings, "words swapped with a neighbour")
WORD_DELETE = _spec(WordDelete, WordNoiseSettings, "random words deleted")
WORD_CROP = _spec(WordCrop, WordNoiseSettings, "one stretch of words deleted")
SPELLING = _spec(Spelling, SpellingSettings, "common misspellings (nlpaug's English dictionary)")
WORD_SPLIT = _spec(WordSplit, WordSplitSettings, "words split in two")
TFIDF_SUBSTITUTE = AugmenterSpec("tfidf_substitute", TfidfSettings, _tfidf,
                                 "words replaced by TF-IDF draws from the train split's vocabulary")
BACK_TRANSLATION = _spec(BackTranslation, BackTranslationSettings,
                         "the text between keywords translated to a pivot language and back (two MarianMT folders)")

BUILTINS: tuple[AugmenterSpec, ...] = (
    CHAR_KEYBOARD, CHAR_OCR, CHAR_RANDOM, WORD_SWAP, WORD_DELETE, WORD_CROP, SPELLING, WORD_SPLIT, TFIDF_SUBSTITUTE,
    BACK_TRANSLATION,
)
"""In display order; each is meant to be an entry point of the ``augment_review.augmenters``
group (``char_keyboard = "augment_core.augment.builtins:CHAR_KEYBOARD"``, ...)."""
