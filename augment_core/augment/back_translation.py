"""Back-translation through two local MarianMT checkpoints: the text into a pivot
language and back.

Written by hand rather than with nlpaug's ``BackTranslationAug``, which translates the
whole text greedily (every variant of a row the same, keywords free to be reworded) and
loads its models its own way. Here the stretches of text *between* the protected keywords
are translated (each in one batch per row and attempt), so every keyword stays byte for
byte and each stretch's change is one exact span; the forward pass samples (``top_k``,
``temperature``) under a torch seed from (seed, augmenter, row id, attempt), so variants
differ from each other and reproduce from the seed; the backward pass is greedy.
Checkpoints load through :func:`augment_core.augment.models.load_translation_model`: a missing
path or an unreachable hub name is one line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from augment_core.augment.changes import Edit
from augment_core.augment.params import setting
from augment_core.augment.protection import Protector
from augment_core.augment.rows import Row, RowAugmenter
from augment_core.errors import InputError

_CORE = re.compile(r"\w.*\w|\w", re.DOTALL)
"""The part of a stretch between keywords that is translated: first to last letter/digit
(the spacing and punctuation around it, next to the keywords, stay)."""
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class BackTranslationSettings:
    forward_model: str = setting("", "local MarianMT checkpoint (folder) from the texts' language to the pivot language")
    backward_model: str = setting("", "local MarianMT checkpoint (folder) from the pivot language back")
    top_k: int = setting(20, "the forward pass samples each token among this many likeliest", min=1)
    temperature: float = setting(1.0, "sampling temperature of the forward pass (higher: freer)", min=0.05, max=5.0)
    max_length: int = setting(256, "longest translation of one stretch, in tokens", min=4)
    device: str = setting("auto", "where the models run", choices=("auto", "cpu", "cuda"))


def stretches(row: Row) -> list[tuple[int, int]]:
    """[start, end) of each translatable stretch: the text between protected spans,
    trimmed to its first and last letter or digit."""
    out = []
    bounds = [0, *[p for sp in row.spans for p in (sp.start, sp.end)], len(row.text)]
    for start, end in zip(bounds[::2], bounds[1::2]):
        m = _CORE.search(row.text, start, end)
        if m is not None:
            out.append((m.start(), m.end()))
    return out


def fitting(text: str, where: list[tuple[int, int]], fits: Callable[[str], bool]) -> list[tuple[int, int]]:
    """The stretches ``where``, each one that does not fit the model split into its
    sentences; a sentence still too long is left as it is (not translated), since a
    truncated input would come back as a translation of its first part only."""
    out: list[tuple[int, int]] = []
    for start, end in where:
        if fits(text[start:end]):
            out.append((start, end))
            continue
        bounds = [start, *[p for m in _SENTENCE_END.finditer(text, start, end) for p in (m.start(), m.end())], end]
        for s, e in zip(bounds[::2], bounds[1::2]):
            m = _CORE.search(text, s, e)
            if m is not None and fits(m.group()):
                out.append((m.start(), m.end()))
    return out


class BackTranslation(RowAugmenter):
    name = "back_translation"

    def __init__(self, settings: BackTranslationSettings = BackTranslationSettings(),
                 protector: Protector | None = None) -> None:
        super().__init__(settings, protector)
        if not settings.forward_model or not settings.backward_model:
            raise InputError("back_translation needs two local MarianMT checkpoints: "
                             "--set back_translation.forward_model=PATH --set back_translation.backward_model=PATH")
        self._models: tuple[Any, Any] | None = None

    def load(self) -> tuple[Any, Any]:
        """Load both checkpoints now (a run reports it as its own phase)."""
        if self._models is None:
            from augment_core.augment.models import load_translation_model

            s = self.settings
            self._models = (load_translation_model(s.forward_model, s.device),
                            load_translation_model(s.backward_model, s.device))
        return self._models

    def _translate(self, loaded: Any, texts: list[str], sample: bool) -> list[str]:
        import torch

        s = self.settings
        limit = _limit(loaded, s.max_length)
        enc = loaded.tokenizer(texts, return_tensors="pt", padding=True, truncation=True, max_length=limit)
        enc = {k: v.to(loaded.device) for k, v in enc.items()}
        extra: dict[str, Any] = {"do_sample": True, "top_k": s.top_k, "temperature": s.temperature} if sample else {
            "do_sample": False}
        with torch.inference_mode():
            out = loaded.model.generate(**enc, max_new_tokens=limit - 1, num_beams=1, **extra)
        return [t.strip() for t in loaded.tokenizer.batch_decode(out, skip_special_tokens=True)]

    def attempt(self, row: Row, seed: int) -> list[Edit] | None:
        import torch

        where = stretches(row)
        if not where:
            return None
        forward, backward = self.load()
        limit = _limit(forward, self.settings.max_length)
        where = fitting(row.text, where, lambda t: len(forward.tokenizer(t)["input_ids"]) <= limit)
        if not where:
            return None
        torch.manual_seed(seed)
        pivot = self._translate(forward, [row.text[s:e] for s, e in where], sample=True)
        back = self._translate(backward, pivot, sample=False)
        return [Edit(s, e, b, "substitute") for (s, e), b in zip(where, back)
                if _CORE.search(b) and b != row.text[s:e]]


def _limit(loaded: Any, max_length: int) -> int:
    """Tokens per input and per output: ``max_length``, at most the model's positions (the
    decoder's start token takes one, hence ``limit - 1`` new tokens)."""
    positions = loaded.max_tokens
    return min(max_length, positions) if positions else max_length
