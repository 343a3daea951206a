"""Spelling mistakes: words replaced by common misspellings of them (``because`` ->
``becuase``), from the English dictionary bundled with nlpaug (``SpellingAug``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from augment_core.augment.builtin_settings import param
from augment_core.augment.nlpaug_tokens import TOKEN_IO, NlpaugTokens


@dataclass(frozen=True)
class SpellingSettings:
    aug_p: float = param(0.3, "share of a text's words misspelt (only words the dictionary knows)", min=0.01, max=1.0)
    aug_max: int = param(10, "at most this many words misspelt per variant", min=1)


def bundled_dictionary() -> str:
    """nlpaug's English misspelling list (word, then its misspellings, per line)."""
    import nlpaug

    return str(Path(nlpaug.__file__).parent / "res" / "word" / "spelling" / "spelling_en.txt")


class Spelling(NlpaugTokens):
    name = "spelling"

    def __init__(self, settings: SpellingSettings = SpellingSettings(), **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)

    def build(self, action: str) -> Any:
        import nlpaug.augmenter.word as naw

        return naw.SpellingAug(dict_path=bundled_dictionary(), aug_p=self.settings.aug_p, aug_max=self.settings.aug_max,
                               **TOKEN_IO)
