"""Spelling mistakes: words replaced by common misspellings of them (``because`` ->
``becuase``), from the English dictionary bundled with nlpaug (``SpellingAug``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from augment_core.augment.nlpaug_tokens import TOKEN_IO, NlpaugTokens
from augment_core.augment.params import setting
from augment_core.augment.protection import Protector


@dataclass(frozen=True)
class SpellingSettings:
    aug_p: float = setting(0.3, "share of a text's words misspelt (only words the dictionary knows)", min=0.01, max=1.0)
    aug_max: int = setting(10, "at most this many words misspelt per variant", min=1)


def bundled_dictionary() -> str:
    """nlpaug's English misspelling list (word, then its misspellings, per line)."""
    import nlpaug

    return str(Path(nlpaug.__file__).parent / "res" / "word" / "spelling" / "spelling_en.txt")


class Spelling(NlpaugTokens):
    name = "spelling"

    def __init__(self, settings: SpellingSettings = SpellingSettings(), protector: Protector | None = None) -> None:
        super().__init__(settings, protector)

    def build(self, action: str) -> Any:
        import nlpaug.augmenter.word as naw

        aug = naw.SpellingAug(dict_path=bundled_dictionary(), aug_p=self.settings.aug_p, aug_max=self.settings.aug_max,
                              **TOKEN_IO)
        for misspellings in aug.model.dict.values():
            misspellings.sort()  # nlpaug dedupes them through a set: hash-seed order, not reproducible
        return aug
