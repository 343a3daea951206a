"""The alias swap: replace tag keywords with aliases from the tag vocabulary.

As in the Made With ML lesson (``gan`` <-> ``generative adversarial networks``), but with
one regex pass per text instead of one per key, replacements that keep the grammatical
number (only in attested forms) and the case of what they replace, and variants that are
distinct by construction: with one swap per variant every (occurrence, replacement) pair
is enumerated and sampled without replacement, so ``n_per_original=5`` gives five
different texts when five exist, and fewer (never a duplicate) when they do not.

Each swap records how often the replaced keyword means its tag in the train split
(``agreement``, ``support``: see :mod:`augment_core.augment.agreement`); ``min_agreement`` leaves
keywords that too often mean something else alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Mapping, Sequence

from augment_core.augment.agreement import MIN_SUPPORT, Agreement
from augment_core.augment.aliases import AliasTable, KeywordMatch, match_case
from augment_core.augment.augmenter import Progress
from augment_core.augment.changes import Candidate, Change, Edit, apply_edits
from augment_core.augment.text_cache import remember
from augment_core.rng import row_rng

# With several swaps per variant the space is sampled, not enumerated: this many draws
# per wanted variant before settling for fewer.
_DRAWS_PER_VARIANT = 8
_ENUMERATE_LIMIT = 4096


@dataclass(frozen=True)
class AliasSwap:
    table: AliasTable
    max_swaps: int = 1
    name: str = "alias_swap"
    agreement: Mapping[str, Agreement] = field(default_factory=dict)
    """key -> its agreement in the train split (:func:`augment_core.augment.agreement.fit_to_train`)."""
    min_agreement: float | None = None
    """Keywords below this agreement (with enough support) are not swapped."""
    _spelled: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict, init=False, repr=False,
                                                              compare=False)
    _one_swaps: dict[str, tuple[list[tuple[KeywordMatch, str]], list[Candidate | None]]] = field(
        default_factory=dict, init=False, repr=False, compare=False)
    """text -> its (match, alias) pairs and their candidates, made as drawn (:meth:`_one_swap_variants`)."""

    def __post_init__(self) -> None:
        if self.max_swaps < 1:
            raise ValueError("max_swaps must be at least 1")
        if self.min_agreement is not None and not 0.0 <= self.min_agreement <= 1.0:
            raise ValueError("min_agreement must be between 0 and 1")

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"max_swaps": self.max_swaps, "tags_sha256": self.table.source_sha256}
        if self.min_agreement is not None:
            out["min_agreement"] = self.min_agreement
        return out

    def _allowed(self, m: KeywordMatch) -> bool:
        if self.min_agreement is None:
            return True
        a = self.agreement.get(m.key)
        return a is None or a.support < MIN_SUPPORT or (a.agreement or 0.0) >= self.min_agreement

    def generate(
        self,
        texts: Sequence[str],
        row_ids: Sequence[str],
        n_per_original: int,
        seed: int,
        progress: Progress | None = None,
    ) -> list[list[Candidate]]:
        out = []
        for i, (text, row_id) in enumerate(zip(texts, row_ids)):
            out.append(self.variants(text, row_id, n_per_original, seed))
            if progress is not None and (i + 1) % 1024 == 0:
                progress(1024)
        if progress is not None and len(texts) % 1024:
            progress(len(texts) % 1024)
        return out

    def variants(self, text: str, row_id: str, n: int, seed: int) -> list[Candidate]:
        if n <= 0:
            return []
        if self.max_swaps == 1:
            return self._one_swap_variants(text, row_id, n, seed)
        return self._general_variants(text, row_id, n, seed)

    def _general_variants(self, text: str, row_id: str, n: int, seed: int) -> list[Candidate]:
        matches = [m for m in self.table.swappable(text) if self._allowed(m)]
        if not matches:
            return []
        rng = row_rng(seed, self.name, row_id)
        swaps = min(self.max_swaps, len(matches))
        options = [[(m, alt) for alt in self._replacements(m)] for m in matches]
        seen = {text}
        out: list[Candidate] = []

        def add(choice: Sequence[tuple[KeywordMatch, str]]) -> None:
            cand = apply_edits(text, [self._edit(m, alt) for m, alt in choice])
            if cand.text not in seen:
                seen.add(cand.text)
                out.append(cand)

        space = _space_size(options, swaps)
        if space <= _ENUMERATE_LIMIT:
            everything = [
                combo
                for idx in combinations(range(len(matches)), swaps)
                for combo in _product([options[i] for i in idx])
            ]
            for combo in rng.sample(everything, len(everything)):
                add(combo)
                if len(out) == n:
                    break
        else:
            for _ in range(n * _DRAWS_PER_VARIANT):
                idx = sorted(rng.sample(range(len(matches)), swaps))
                add([rng.choice(options[i]) for i in idx])
                if len(out) == n:
                    break
        return out

    def _edit(self, m: KeywordMatch, replacement: str) -> Edit:
        a = self.agreement.get(m.key)
        if a is None:
            return Edit(m.start, m.end, replacement, "substitute")
        return Edit(m.start, m.end, replacement, "substitute", agreement=a.agreement, support=a.support)

    def _one_swap_variants(self, text: str, row_id: str, n: int, seed: int) -> list[Candidate]:
        """The default, one swap per variant: the variants of the general path below (its
        1-tuples drawn in the same order), from the text's (match, alias) pairs and their
        candidates, which depend on the text alone and are kept for the texts seen last
        (corpora repeat texts). Only the draw is the row's own."""
        entry = self._one_swaps.get(text)
        if entry is None:
            pairs = [(m, alt) for m in self.table.swappable(text) if self._allowed(m) for alt in self._replacements(m)]
            if len(pairs) > _ENUMERATE_LIMIT:  # too many to enumerate: drawn one by one
                return self._general_variants(text, row_id, n, seed)
            blank: list[Candidate | None] = [None] * len(pairs)  # each made when first drawn
            entry = remember(self._one_swaps, text, (pairs, blank))
        pairs, cands = entry
        if not pairs:
            return []
        rng = row_rng(seed, self.name, row_id)
        seen = {text}
        out: list[Candidate] = []
        for j in rng.sample(range(len(pairs)), len(pairs)):  # the draws of sampling the pairs themselves
            cand = cands[j]
            if cand is None:
                cand = cands[j] = self._swap(text, *pairs[j])
            if cand.text not in seen:
                seen.add(cand.text)
                out.append(cand)
                if len(out) == n:
                    break
        return out

    def _swap(self, text: str, m: KeywordMatch, replacement: str) -> Candidate:
        """``apply_edits(text, [self._edit(m, replacement)])``, written out: one swap is the
        default, made for every variant of a run (millions), and the general path builds an
        :class:`Edit` and sorts a list of one on the way."""
        a = self.agreement.get(m.key)
        start = m.start
        change = Change(start, start + len(replacement), m.surface, replacement, "substitute",
                        *((a.agreement, a.support) if a is not None else ()))
        return Candidate(text[:start] + replacement + text[m.end:], (change,))

    def _replacements(self, m: KeywordMatch) -> tuple[str, ...]:
        # a pure function of (key, surface): spelled once per run, not once per occurrence
        hit = self._spelled.get((m.key, m.surface))
        if hit is None:
            hit = self._spelled[(m.key, m.surface)] = tuple(
                spell(self.table, m.surface, alt) for alt in self.table.alternatives[m.key])
        return hit


def spell(table: AliasTable, surface: str, replacement: str) -> str:
    """``replacement`` written as the text writes ``surface``, and as the dataset writes the
    replacement where it uses a mixed-case name (``PyTorch``, ``GANs``); an acronym made
    from a plural keeps its ``s`` lower case (``Gaussian Processes`` -> ``GPs``)."""
    if any(c.isupper() for c in surface) and replacement in table.written_as:
        return table.written_as[replacement]
    out = match_case(surface, replacement)
    if replacement in table.acronym_plurals and out.isupper():
        out = out[:-1] + "s"
    return out


def _space_size(options: list[list[Any]], swaps: int) -> int:
    if swaps == 1:
        return sum(len(o) for o in options)
    total = 0
    for idx in combinations(range(len(options)), swaps):
        size = 1
        for i in idx:
            size *= len(options[i])
        total += size
        if total > _ENUMERATE_LIMIT:
            break
    return total


def _product(lists: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    combos: list[tuple[Any, ...]] = [()]
    for items in lists:
        combos = [c + (x,) for c in combos for x in items]
    return combos
