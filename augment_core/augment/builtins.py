"""The built-in augmenters as specs (name, settings class, factory), published the way a
plug-in publishes its own (entry points in ``pyproject.toml``), so the CLI and the app
list, configure and build them alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from augment_core.augment.alias_swap import AliasSwap
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
from augment_core.augment.params import setting
from augment_core.augment.rows import RowAugmenter
from augment_core.augment.spec import AugmenterSpec, BuildContext
from augment_core.augment.spelling import Spelling, SpellingSettings
from augment_core.augment.tfidf import TfidfSettings, TfidfSubstitute


@dataclass(frozen=True)
class AliasSwapSettings:
    max_swaps: int = setting(1, "alias swaps per variant (at most)", min=1, max=10)
    min_agreement: float | None = setting(
        None, "leave alone keywords whose agreement with their tag in the train split is below this "
        "(0-1; keywords in fewer than 3 train rows are always swapped)", min=0.0, max=1.0)


@dataclass(frozen=True)
class ContextualParams:
    """The contextual augmenters' parameters (both engines); checked again, with the
    model, by :class:`augment_core.augment.contextual.ContextualSettings`."""

    engine: str = setting("native", "native (batched masked LM) or nlpaug's ContextualWordEmbsAug",
                          choices=("native", "nlpaug"))
    model: str | None = setting(None, "masked LM: a local path or a Hugging Face name "
                                "(default $AUGMENT_REVIEW_MODEL or distilbert-base-uncased)")
    aug_p: float = setting(0.3, "share of words changed", min=0.01, max=1.0)
    aug_max: int | None = setting(None, "at most this many words changed per variant", min=1)
    top_k: int = setting(50, "sample replacements among the top K", min=1)
    device: str = setting("auto", "where the model runs (auto picks cuda when available)",
                          choices=("auto", "cpu", "cuda"))
    precision: str = setting("auto", "native engine: auto uses bf16 where the hardware computes it natively",
                             choices=("auto", "fp32", "bf16"))
    protect: tuple[str, ...] = setting((), "words or phrases never changed (tag keywords always are)")
    batch_size: int = setting(32, "sentences per forward pass", min=1)


def _alias_swap(s: AliasSwapSettings, context: BuildContext) -> Any:
    keywords = context.keywords
    if keywords is None:
        raise ValueError("alias_swap needs the train split's keywords")
    return AliasSwap(keywords.table, max_swaps=s.max_swaps, agreement=keywords.by_key, min_agreement=s.min_agreement)


def _contextual(action: str) -> Callable[[ContextualParams, BuildContext], Any]:
    def build(s: ContextualParams, context: BuildContext) -> Any:
        # imported here: the contextual engines pull in torch, which a run without them never loads
        from augment_core.augment.contextual import make_contextual

        native: dict[str, Any] = {"precision": s.precision} if s.engine == "native" else {}
        protector = context.protector
        words = tuple(dict.fromkeys([*s.protect, *(protector.words if protector is not None else ())]))
        table = context.keywords.table if context.keywords is not None else None
        return make_contextual(
            action, s.engine, model=s.model, aug_p=s.aug_p, aug_max=s.aug_max, top_k=s.top_k,  # type: ignore[arg-type]
            device=s.device, protected_table=table, protect_words=words, batch_size=s.batch_size, **native,
        )

    return build


def _spec(cls: Callable[..., RowAugmenter], settings: type, help: str) -> AugmenterSpec:
    def build(s: Any, context: BuildContext) -> Any:
        return cls(s, context.protector)

    return AugmenterSpec(getattr(cls, "name"), settings, build, help)


def _tfidf(s: Any, context: BuildContext) -> Any:
    """Fitted on the train split's texts only (the context never holds the others)."""
    return TfidfSubstitute(s, context.protector).fit(context.train_texts)


ALIAS_SWAP = AugmenterSpec("alias_swap", AliasSwapSettings, _alias_swap,
                           "a tag keyword replaced by another alias of the same tag")
CONTEXTUAL_SUBSTITUTE = AugmenterSpec("contextual_substitute", ContextualParams, _contextual("substitute"),
                                      "words replaced by a masked language model's guesses")
CONTEXTUAL_INSERT = AugmenterSpec("contextual_insert", ContextualParams, _contextual("insert"),
                                  "words inserted by a masked language model")
CHAR_KEYBOARD = _spec(CharKeyboard, CharNoiseSettings, "typos: characters become keyboard neighbours")
CHAR_OCR = _spec(CharOcr, CharNoiseSettings, "OCR errors: characters become look-alikes (0/o, 1/l)")
CHAR_RANDOM = _spec(CharRandom, CharRandomSettings, "random characters inserted, substituted, swapped or deleted")
WORD_SWAP = _spec(WordSwap, WordNoiseSettings, "words swapped with a neighbour")
WORD_DELETE = _spec(WordDelete, WordNoiseSettings, "random words deleted")
WORD_CROP = _spec(WordCrop, WordNoiseSettings, "one stretch of words deleted")
SPELLING = _spec(Spelling, SpellingSettings, "common misspellings (nlpaug's English dictionary)")
WORD_SPLIT = _spec(WordSplit, WordSplitSettings, "words split in two")
TFIDF_SUBSTITUTE = AugmenterSpec("tfidf_substitute", TfidfSettings, _tfidf,
                                 "words replaced by TF-IDF draws from the train split's vocabulary", fits_train=True)
BACK_TRANSLATION = _spec(BackTranslation, BackTranslationSettings,
                         "the text between keywords translated to a pivot language and back (two MarianMT folders)")

BUILTINS: tuple[AugmenterSpec, ...] = (
    CHAR_KEYBOARD, CHAR_OCR, CHAR_RANDOM, WORD_SWAP, WORD_DELETE, WORD_CROP, SPELLING, WORD_SPLIT, TFIDF_SUBSTITUTE,
    BACK_TRANSLATION,
)
"""In display order; each is an entry point of the ``augment_review.augmenters`` group
(``char_keyboard = "augment_core.augment.builtins:CHAR_KEYBOARD"``, ...), and listed here
too so that a source checkout that was never installed still has them."""

EVERY_BUILTIN: tuple[AugmenterSpec, ...] = (ALIAS_SWAP, CONTEXTUAL_SUBSTITUTE, CONTEXTUAL_INSERT, *BUILTINS)
"""The three first augmenters, then the ten of :data:`BUILTINS`: the registry's display order."""
