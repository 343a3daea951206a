"""Character and word noise: typos from a keyboard, OCR confusions, random character
edits, and random word swaps, deletions and splits, done by nlpaug (``KeyboardAug``,
``OcrAug``, ``RandomCharAug``, ``RandomWordAug``, ``SplitAug``) on the row's word tokens,
never on a tag keyword (see :mod:`.nlpaug_tokens`); a crop of a stretch of words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from augment_core.augment.changes import Edit
from augment_core.augment.nlpaug_tokens import TOKEN_IO, NlpaugTokens, deletion
from augment_core.augment.params import setting
from augment_core.augment.protection import Protector
from augment_core.augment.rows import Row, RowAugmenter
from augment_core.rng import row_rng

CHAR_ACTIONS = ("insert", "substitute", "swap", "delete")


@dataclass(frozen=True)
class CharNoiseSettings:
    aug_word_p: float = setting(0.3, "share of a text's words that get noise", min=0.01, max=1.0)
    aug_word_max: int = setting(10, "at most this many words changed per variant", min=1)
    aug_char_p: float = setting(0.3, "share of a chosen word's characters changed", min=0.01, max=1.0)
    aug_char_max: int = setting(2, "at most this many characters changed per word", min=1)
    min_char: int = setting(4, "words shorter than this are left alone", min=1)


@dataclass(frozen=True)
class CharRandomSettings(CharNoiseSettings):
    action: str = setting("any", "what is done to a character; any: one of the four, drawn per variant",
                        choices=("any", *CHAR_ACTIONS))


@dataclass(frozen=True)
class WordNoiseSettings:
    aug_p: float = setting(0.3, "share of a text's words affected", min=0.01, max=1.0)
    aug_max: int = setting(10, "at most this many words affected per variant", min=1)


@dataclass(frozen=True)
class WordSplitSettings(WordNoiseSettings):
    min_char: int = setting(4, "words shorter than this are not split", min=2)


def _char_args(s: CharNoiseSettings) -> dict[str, Any]:
    return dict(aug_word_p=s.aug_word_p, aug_word_max=s.aug_word_max, aug_char_p=s.aug_char_p,
                aug_char_max=s.aug_char_max, min_char=s.min_char, **TOKEN_IO)


class _CharNoise(NlpaugTokens):
    """An nlpaug character augmenter (``nlpaug.augmenter.char.<nlpaug_class>``)."""

    nlpaug_class = ""

    def __init__(self, settings: CharNoiseSettings = CharNoiseSettings(), protector: Protector | None = None) -> None:
        super().__init__(settings, protector)

    def build(self, action: str) -> Any:
        import nlpaug.augmenter.char as nac

        extra = {"action": action} if action else {}
        return getattr(nac, self.nlpaug_class)(**extra, **_char_args(self.settings))


class CharKeyboard(_CharNoise):
    """Typos: a character becomes one next to it on an English keyboard."""

    name = "char_keyboard"
    nlpaug_class = "KeyboardAug"


class CharOcr(_CharNoise):
    """OCR errors: a character becomes one it is often misread as (0/o, 1/l, 5/s ...)."""

    name = "char_ocr"
    nlpaug_class = "OcrAug"


class CharRandom(_CharNoise):
    """Random characters inserted, substituted, swapped with a neighbour or deleted."""

    name = "char_random"
    nlpaug_class = "RandomCharAug"

    def __init__(self, settings: CharRandomSettings = CharRandomSettings(), protector: Protector | None = None) -> None:
        super().__init__(settings, protector)

    def action(self, seed: int) -> str:
        chosen = self.settings.action
        return row_rng(seed, "action").choice(CHAR_ACTIONS) if chosen == "any" else chosen


class _RandomWord(NlpaugTokens):
    """nlpaug ``RandomWordAug`` doing one action."""

    word_action = ""

    def __init__(self, settings: WordNoiseSettings = WordNoiseSettings(), protector: Protector | None = None) -> None:
        super().__init__(settings, protector)

    def build(self, action: str) -> Any:
        import nlpaug.augmenter.word as naw

        return naw.RandomWordAug(action=self.word_action, aug_p=self.settings.aug_p, aug_max=self.settings.aug_max,
                                 **TOKEN_IO)


class WordSwap(_RandomWord):
    """Words swapped with a neighbour."""

    name = "word_swap"
    word_action = "swap"


class WordDelete(_RandomWord):
    """Random words deleted."""

    name = "word_delete"
    word_action = "delete"


class WordCrop(RowAugmenter):
    """One contiguous stretch of words deleted (``aug_p`` of the words, at most
    ``aug_max``), never across a keyword. By hand: nlpaug 1.1.11's crop wraps around the
    text's end when it crops leftwards (negative indices), deleting scattered words."""

    name = "word_crop"

    def __init__(self, settings: WordNoiseSettings = WordNoiseSettings(), protector: Protector | None = None) -> None:
        super().__init__(settings, protector)

    def attempt(self, row: Row, seed: int) -> list[Edit] | None:
        runs = free_runs(row)
        if not runs:
            return None
        size = min(self.settings.aug_max, max(1, int(self.settings.aug_p * len(row.words))), max(len(r) for r in runs))
        starts = [run[k] for run in runs for k in range(len(run) - size + 1)]
        first = row_rng(seed, "crop").choice(starts)
        start, end = _whole_chunks(row.text, row.words[first][0], row.words[first + size - 1][1])
        return [deletion(row.text, start, end, [])]


def _whole_chunks(text: str, start: int, end: int) -> tuple[int, int]:
    """[start, end) widened to whole whitespace-separated chunks, so no stray bracket is left
    (``(EHR)``), less a closing run of sentence punctuation (``health.`` keeps its ``.``)."""
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    while end < len(text) and not text[end].isspace():
        end += 1
    while end > start and text[end - 1] in ".,;:!?":
        end -= 1
    return start, end


def free_runs(row: Row) -> list[list[int]]:
    """The word indices in maximal runs of consecutive unprotected words."""
    runs: list[list[int]] = []
    for i, protected in enumerate(row.protected):
        if protected:
            continue
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


class WordSplit(NlpaugTokens):
    """Words split in two at a random point (``learning`` -> ``lear ning``)."""

    name = "word_split"

    def __init__(self, settings: WordSplitSettings = WordSplitSettings(), protector: Protector | None = None) -> None:
        super().__init__(settings, protector)

    def build(self, action: str) -> Any:
        import nlpaug.augmenter.word as naw

        s = self.settings
        return naw.SplitAug(aug_p=s.aug_p, aug_max=s.aug_max, min_char=s.min_char, **TOKEN_IO)
