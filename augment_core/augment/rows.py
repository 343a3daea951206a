"""What every built-in augmenter does around its own edit: per-row seeds, keyword
protection, distinct variants, progress.

An augmenter supplies one *attempt*: given a row (its text, word tokens and protected
spans) and a seed, the edits of one variant (or None). The loop here asks for up to
``ATTEMPTS_PER_VARIANT`` attempts per wanted variant, seeded by (seed, augmenter, row id,
attempt number) only, so a row's variants never depend on the other rows or on batching;
it keeps a variant only when every protected keyword is still there byte for byte and no
change forms a new keyword (which could add a tag the row does not have), and drops
unchanged and duplicate texts.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from augment_core.augment.augmenter import Progress
from augment_core.augment.changes import Candidate, Edit, apply_edits
from augment_core.augment.function import ATTEMPTS_PER_VARIANT, run_rows
from augment_core.augment.params import params_of, settings_dict
from augment_core.augment.protection import Protector, Span, overlaps, strictly_inside
from augment_core.errors import InputError
from augment_core.rng import row_seed

WORD = re.compile(r"\w+(?:[-'’.]\w+)*")
"""A word token: letters/digits, with inner hyphens, apostrophes and dots (``TF2.0``,
``state-of-the-art``); punctuation between words is never a token, so it stays put."""


@dataclass(frozen=True)
class Row:
    """One original text as the augmenters see it."""

    text: str
    words: tuple[tuple[int, int], ...]
    """[start, end) of each word token."""
    protected: tuple[bool, ...]
    """Per word: does it overlap a protected keyword (then it is never changed)."""
    spans: tuple[Span, ...]

    @property
    def tokens(self) -> list[str]:
        return [self.text[s:e] for s, e in self.words]

    @property
    def free_tokens(self) -> list[str]:
        """The words an augmenter may change, in order."""
        return [self.text[s:e] for (s, e), p in zip(self.words, self.protected) if not p]

    @property
    def free(self) -> int:
        return self.protected.count(False)


def prepare(text: str, protector: Protector) -> Row:
    spans = tuple(protector.spans(text))
    words = tuple((m.start(), m.end()) for m in WORD.finditer(text))
    return Row(text, words, tuple(overlaps(s, e, spans) for s, e in words), spans)


def keep_keywords(row: Row, edits: Sequence[Edit], protector: Protector) -> Candidate | None:
    """The variant, if no edit touches a protected span and the variant's keywords are the
    original's (none lost, none formed by a change); else None."""
    if not edits:
        return None
    for e in edits:
        if overlaps(e.start, e.end, row.spans) if e.start < e.end else strictly_inside(e.start, row.spans):
            return None
    cand = apply_edits(row.text, edits)
    if cand.text == row.text:
        return None
    after = protector.spans(cand.text)
    for c in cand.changes:
        if overlaps(c.start, c.end, after) if c.start < c.end else strictly_inside(c.start, after):
            return None
    if Counter(sp.surface for sp in after) != Counter(sp.surface for sp in row.spans):
        return None
    return cand


def seed_globals(seed: int) -> None:
    """Seed the generators nlpaug draws from (Python's ``random``, NumPy's global one).
    Global state: one augmenter runs at a time per process."""
    import numpy as np

    random.seed(seed)
    np.random.seed(seed % (2**32))


Attempt = Callable[[Row, int], "Sequence[Edit] | None"]


def generate_rows(
    name: str,
    texts: Sequence[str],
    row_ids: Sequence[str],
    n_per_original: int,
    seed: int,
    protector: Protector,
    attempt: Attempt,
    progress: Progress | None = None,
) -> list[list[Candidate]]:
    """Up to ``n_per_original`` distinct, keyword-safe variants per text (see the module)."""

    def one_row(text: str, row_id: str) -> list[Candidate]:
        out: list[Candidate] = []
        row = prepare(text, protector)
        if n_per_original < 1 or not row.free:
            return out
        seen = {text}
        for k in range(n_per_original * ATTEMPTS_PER_VARIANT):
            edits = attempt(row, row_seed(seed, name, row_id, k))
            cand = keep_keywords(row, edits, protector) if edits else None
            if cand is not None and cand.text not in seen:
                seen.add(cand.text)
                out.append(cand)
                if len(out) == n_per_original:
                    break
        return out

    return run_rows(texts, row_ids, n_per_original, progress, one_row)


class RowAugmenter:
    """A built-in: its name, its settings (checked, recorded with the protected words) and
    :meth:`attempt`; :func:`generate_rows` does the rest."""

    name = ""

    def __init__(self, settings: Any, protector: Protector | None = None) -> None:
        for p in params_of(type(settings)):
            try:
                p.check(getattr(settings, p.name))
            except InputError as e:
                raise InputError(f"{self.name}: {e}") from None
        self.settings = settings
        self.protector = protector or Protector()

    def params(self) -> dict[str, Any]:
        return {**settings_dict(self.settings), "protect": list(self.protector.words)}

    def attempt(self, row: Row, seed: int) -> Sequence[Edit] | None:
        """The edits of one variant of ``row``, drawn from ``seed`` alone."""
        raise NotImplementedError

    def generate(
        self,
        texts: Sequence[str],
        row_ids: Sequence[str],
        n_per_original: int,
        seed: int,
        progress: Progress | None = None,
    ) -> list[list[Candidate]]:
        return generate_rows(self.name, texts, row_ids, n_per_original, seed, self.protector, self.attempt, progress)
