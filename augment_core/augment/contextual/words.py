"""Word choice: which words of a text may be substituted, which gaps may take an inserted
word, and how many and which of them a variant changes.

We work on the words of the *original* text with character offsets, so untouched text
keeps its spacing, case and punctuation. A word is a whitespace chunk without its edge
punctuation; only all-letter words are substituted (``TF2.0``, ``state-of-the-art``,
``don't`` are kept as written). Protected spans are never chosen, and no gap strictly
inside a protected phrase takes an insertion.
"""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass
from typing import Any

from augment_core.augment.protection import Protector, Span, overlaps, strictly_inside

_CHUNK = re.compile(r"\S+")
_LETTERS = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class Slot:
    """A word that may be substituted (``start < end``) or a gap where a word may be
    inserted (``start == end``, the end of the previous chunk). ``tok`` is the first
    token index (insertion: the token index the mask goes in front of), ``tok_end`` the
    end of the word's tokens; ``chunk`` orders slots and tells adjacency."""

    start: int
    end: int
    tok: int
    tok_end: int
    chunk: int
    word: str = ""
    prev_word: str = ""
    next_word: str = ""


@dataclass
class Prepared:
    """A text's tokens with their offsets, its whitespace chunks and protected spans."""

    text: str
    ids: list[int]
    offsets: list[tuple[int, int]]
    starts: list[int]
    chunks: list[tuple[int, int]]
    spans: list[Span]

    def token_range(self, start: int, end: int) -> tuple[int, int] | None:
        """Tokens exactly covering ``text[start:end]``, or None when a token straddles
        its edges (then the word cannot be replaced without touching its neighbours)."""
        a = bisect.bisect_left(self.starts, start)
        if a > 0 and self.offsets[a - 1][1] > start:
            return None
        b = a
        while b < len(self.offsets) and self.offsets[b][0] < end:
            if self.offsets[b][1] > end:
                return None
            b += 1
        if b == a:
            return None
        return a, b

    def first_token_at_or_after(self, pos: int) -> int:
        return bisect.bisect_left(self.starts, pos)

    def words_within(self, fit: int) -> int:
        """Whitespace chunks whose tokens all lie in the first ``fit`` tokens."""
        if fit <= 0:
            return 0
        if fit >= len(self.ids):
            return len(self.chunks)
        limit = self.offsets[fit - 1][1]
        return bisect.bisect_right([c[1] for c in self.chunks], limit)


def prepare(tokenizer: Any, protector: Protector, text: str) -> Prepared | None:
    """Words/gaps of ``text``, their tokens, protected spans; None for an empty text."""
    if not text or not text.strip():
        return None
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    ids: list[int] = list(enc["input_ids"])
    offsets: list[tuple[int, int]] = [(int(o[0]), int(o[1])) for o in enc["offset_mapping"]]
    if not ids:
        return None
    starts = [o[0] for o in offsets]
    chunks = [(m.start(), m.end()) for m in _CHUNK.finditer(text)]
    return Prepared(text, ids, offsets, starts, chunks, protector.spans(text))


def count(aug_p: float, aug_max: int | None, n_words: int, n_slots: int) -> int:
    """Words to change: a share ``aug_p`` of the words, at least one, at most ``aug_max``."""
    if n_slots == 0 or n_words == 0:
        return 0
    k = max(1, int(math.ceil(aug_p * n_words - 1e-9)))
    if aug_max is not None:
        k = min(k, aug_max)
    return min(k, n_slots)


def spread(slots: list[Slot], k: int, rng: Any) -> list[Slot]:
    """``k`` random slots, no two on neighbouring words while that is possible.

    A mask next to another mask is predicted without its neighbour, and needs a second
    pass to see it; words picked apart need one pass and each mask sees real words on both
    sides. Only when ``aug_p`` asks for more words than fit apart do neighbours change
    together (then in two passes)."""
    order = rng.sample(slots, len(slots))
    taken: list[Slot] = []
    used: set[int] = set()
    for slot in order:
        if len(taken) == k:
            return taken
        if slot.chunk - 1 in used or slot.chunk + 1 in used:
            continue
        taken.append(slot)
        used.add(slot.chunk)
    rest = [slot for slot in order if slot.chunk not in used]
    return taken + rest[: k - len(taken)]


def core(text: str, start: int, end: int) -> tuple[int, int]:
    """A chunk without its edge punctuation."""
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    return start, end


def substitute_slots(prep: Prepared, fit: int) -> list[Slot]:
    text = prep.text
    slots: list[Slot] = []
    for ci, (cs, ce) in enumerate(prep.chunks):
        s, e = core(text, cs, ce)
        if s >= e or not _LETTERS.fullmatch(text[s:e]) or overlaps(s, e, prep.spans):
            continue
        rng = prep.token_range(s, e)
        if rng is None or rng[1] > fit:
            continue
        prev_word = text[slice(*core(text, *prep.chunks[ci - 1]))] if ci > 0 else ""
        next_word = text[slice(*core(text, *prep.chunks[ci + 1]))] if ci + 1 < len(prep.chunks) else ""
        slots.append(Slot(s, e, rng[0], rng[1], ci, text[s:e], prev_word, next_word))
    return slots


def insert_slots(prep: Prepared, fit: int) -> list[Slot]:
    """Gaps between words (never before the first word, never inside a protected phrase)."""
    text = prep.text
    slots: list[Slot] = []
    for ci in range(1, len(prep.chunks)):
        gap = prep.chunks[ci - 1][1]
        nxt = prep.chunks[ci][0]
        if strictly_inside(gap, prep.spans) or strictly_inside(nxt, prep.spans):
            continue
        t = prep.first_token_at_or_after(nxt)
        if t >= fit or t >= len(prep.ids):
            continue
        prev_word = text[slice(*core(text, *prep.chunks[ci - 1]))]
        next_word = text[slice(*core(text, *prep.chunks[ci]))]
        slots.append(Slot(gap, gap, t, t, ci, "", prev_word, next_word))
    return slots
