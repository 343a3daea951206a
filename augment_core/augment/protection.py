"""Protected spans: the parts of a text a contextual augmenter must leave exactly as they are.

The tags of a row are decided by its keywords, so every keyword the alias table finds
(tags, aliases, inflected forms, multi-word) is protected, plus the words a user names
with ``--protect``. Spans are character ranges on the original text; the augmenters work
on the original's words, so a span never has to be re-found after tokenization.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property
from typing import Sequence

from augment_core.augment.aliases import AliasTable, compile_keyword_pattern, normalize_key


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    surface: str


def fold(text: str) -> str:
    """Case- and accent-insensitive form, for comparing a candidate word with the words
    around it ("Resume" and "résumé" are the same word to a reader)."""
    return "".join(c for c in unicodedata.normalize("NFD", text.casefold()) if not unicodedata.combining(c))


@dataclass(frozen=True)
class Protector:
    """Finds the protected spans of a text."""

    table: AliasTable | None = None
    words: tuple[str, ...] = ()

    @cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        """User words matched as the alias table matches keys: whole words, any case,
        spaces and dashes alike, longest first."""
        keys = {normalize_key(w) for w in self.words if w and w.strip()}
        return compile_keyword_pattern(keys) if keys else None

    def spans(self, text: str) -> list[Span]:
        """Sorted, merged protected spans of ``text``."""
        raw: list[tuple[int, int]] = []
        if self.table is not None:
            raw.extend((m.start, m.end) for m in self.table.find(text))
        if self._pattern is not None:
            raw.extend((m.start(), m.end()) for m in self._pattern.finditer(text))
        return [Span(s, e, text[s:e]) for s, e in merge_spans(raw)]

    def is_keyword(self, word: str) -> bool:
        """Whether ``word`` (a candidate replacement) is itself protected: using it would
        add a keyword, i.e. possibly a tag the row does not have."""
        w = word.strip().lower()
        if not w:
            return False
        if self.table is not None and w in self.table.keywords:
            return True
        return bool(self._pattern is not None and self._pattern.fullmatch(w))


def merge_spans(spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged]


def overlaps(start: int, end: int, spans: Sequence[Span]) -> bool:
    return any(start < sp.end and sp.start < end for sp in spans)


def strictly_inside(pos: int, spans: Sequence[Span]) -> bool:
    """Whether an insertion at ``pos`` would split a protected span."""
    return any(sp.start < pos < sp.end for sp in spans)
