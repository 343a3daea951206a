"""The review page's logic as plain functions over candidate rows and decisions.

Everything here is a pure function of :class:`~augment_core.review.candidates.CandidateRow` s,
a :class:`Filter` and the decisions (``key -> "accepted" | "rejected"``; undecided keys are
absent), so the page only lays out widgets. The decisions passed in are the database's as
the page read them; writes check them again (see :func:`expected_states`).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from augment_core.augment.agreement import MIN_SUPPORT
from augment_core.review.candidates import CandidateRow
from augment_core.review.fields import NO_FLAG

STATUSES = ("all", "undecided", "accepted", "rejected")
SORTS = (
    "original order", "lowest similarity first", "flagged first", "highest similarity first",
    "lowest keyword agreement first",
)


@dataclass(frozen=True)
class Filter:
    """Which candidates to show or act on; an empty set means "any"."""

    augmenters: frozenset[str] = frozenset()
    rules: frozenset[str] = frozenset()
    word_changes: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    flags: frozenset[str] = frozenset()
    runs: frozenset[int] = frozenset()
    similarity: tuple[float, float] | None = None
    agreement_below: float | None = None
    """Only alias swaps of a keyword whose train-split agreement is below this."""
    status: str = "all"
    search: str = ""
    decided_by: str | None = None
    """Several reviewers: only variants this reviewer decided (any decision)."""
    conflicts: bool = False
    """Several reviewers: only variants reviewers decided differently. This and
    ``decided_by`` need every reviewer's decisions: the review index answers them
    (:mod:`augment_core.review.query`), the row functions here, given one reviewer's, do not."""

    def is_empty(self) -> bool:
        return self == Filter(status=self.status)


def matches(item: CandidateRow, flt: Filter, decisions: Mapping[str, str]) -> bool:
    if flt.augmenters and item.augmenter not in flt.augmenters:
        return False
    if flt.runs and item.run_id not in flt.runs:
        return False
    if flt.rules and not flt.rules.intersection(item.rules):
        return False
    if flt.word_changes and not flt.word_changes.intersection(item.word_changes):
        return False
    if flt.agreement_below is not None and (item.agreement is None or item.agreement >= flt.agreement_below):
        return False
    if flt.tags and not flt.tags.intersection(item.tags):
        return False
    if flt.flags:
        flags = item.flags or (NO_FLAG,)
        if not flt.flags.intersection(flags):
            return False
    if flt.similarity is not None:
        sim = item.similarity
        lo, hi = flt.similarity
        if sim is None or sim < lo or sim > hi:
            return False
    if flt.status != "all":
        decision = decisions.get(item.key)
        if flt.status == "undecided":
            if decision is not None:
                return False
        elif decision != flt.status:
            return False
    if flt.search:
        needle = flt.search.lower()
        if needle not in item.text.lower() and needle not in item.original_text.lower():
            return False
    return True


def apply_filter(items: Sequence[CandidateRow], flt: Filter, decisions: Mapping[str, str]) -> list:
    if flt.decided_by is not None or flt.conflicts:
        raise ValueError("the reviewer and conflicts filters need every reviewer's decisions: see review.query")
    if flt.is_empty() and flt.status == "all":
        return list(items)
    return [it for it in items if matches(it, flt, decisions)]


def sort_items(items: Sequence[CandidateRow], order: str = "original order") -> list:
    if order == "lowest similarity first":
        return sorted(items, key=lambda it: (it.similarity is None, it.similarity or 0.0))
    if order == "highest similarity first":
        return sorted(items, key=lambda it: (it.similarity is None, -(it.similarity or 0.0)))
    if order == "lowest keyword agreement first":
        return sorted(items, key=lambda it: (it.agreement is None, it.agreement if it.agreement is not None else 2.0))
    if order == "flagged first":
        return sorted(items, key=lambda it: (not it.flags, it.similarity if it.similarity is not None else 2.0))
    if order != "original order":
        raise ValueError(f"unknown sort order {order!r}")
    return list(items)


@dataclass
class Group:
    parent_id: str
    original_text: str
    items: list[CandidateRow] = field(default_factory=list)


def group_by_original(items: Sequence[CandidateRow]) -> list[Group]:
    """Groups in the order their first item appears; items keep their order.

    An original is its id *and* text: runs made under different id mappings may use one id
    for two different rows, and those stay apart."""
    groups: dict[tuple[str, str], Group] = {}
    for it in items:
        gk = (it.parent_id, it.original_text)
        g = groups.get(gk)
        if g is None:
            g = groups[gk] = Group(it.parent_id, it.original_text)
        g.items.append(it)
    return list(groups.values())


def paginate(seq: Sequence, page: int, per_page: int) -> tuple[list, int, int]:
    """``(the page's items, number of pages, the page actually shown)``; pages from 1."""
    n_pages = max(1, math.ceil(len(seq) / per_page))
    page = min(max(1, int(page)), n_pages)
    start = (page - 1) * per_page
    return list(seq[start : start + per_page]), n_pages, page


def progress_counts(items: Iterable[CandidateRow], decisions: Mapping[str, str]) -> dict[str, int]:
    total = accepted = rejected = 0
    for it in items:
        total += 1
        d = decisions.get(it.key)
        if d == "accepted":
            accepted += 1
        elif d == "rejected":
            rejected += 1
    reviewed = accepted + rejected
    return {"total": total, "reviewed": reviewed, "accepted": accepted, "rejected": rejected, "left": total - reviewed}


def bulk_changes(
    items: Iterable[CandidateRow],
    decisions: Mapping[str, str],
    decision: str,
    only_undecided: bool = True,
) -> dict[str, str]:
    """The decisions a bulk accept/reject of ``items`` would write (unchanged ones left out)."""
    out = {}
    for it in items:
        current = decisions.get(it.key)
        if current == decision or (only_undecided and current is not None):
            continue
        out[it.key] = decision
    return out


def expected_states(keys: Iterable[str], decisions: Mapping[str, str]) -> dict[str, str | None]:
    """What the page showed for each key (None: undecided): a write is made only where the
    database still says the same, so an action never overwrites a decision made meanwhile
    in another tab."""
    return {k: decisions.get(k) for k in keys}


def apply_decisions(decisions: dict[str, str], changes: Mapping[str, str | None]) -> None:
    """Mirror written (or undone) decisions into the in-memory dict."""
    for key, d in changes.items():
        if d is None:
            decisions.pop(key, None)
        else:
            decisions[key] = d


def facets(items: Iterable[CandidateRow]) -> dict[str, Counter]:
    """Value counts for the filter widgets: augmenter, (alias) rule, word change, tag,
    flag, run."""
    names = ("augmenter", "rule", "word_change", "tag", "flag", "run")
    out: dict[str, Counter] = {name: Counter() for name in names}
    for it in items:
        out["augmenter"][it.augmenter] += 1
        out["run"][it.run_id] += 1
        for r in it.rules:
            out["rule"][r] += 1
        for w in it.word_changes:
            out["word_change"][w] += 1
        for t in it.tags:
            out["tag"][t] += 1
        for f in it.flags or (NO_FLAG,):
            out["flag"][f] += 1
    return out


def rule_agreement(items: Iterable[CandidateRow]) -> dict[str, tuple[float, int]]:
    """Alias rule -> (agreement, support) of the keyword it replaces, where recorded."""
    out: dict[str, tuple[float, int]] = {}
    for it in items:
        if it.augmenter != "alias_swap" or it.agreement is None:
            continue
        for ch, rule in zip(it.changes, it.rules):
            if ch.agreement is not None and ch.support is not None:
                out.setdefault(rule, (ch.agreement, ch.support))
    return out


def rules_by_agreement(counts: Mapping[str, int], agreement: Mapping[str, tuple[float, int]]) -> list[str]:
    """Alias rules, the least agreeing keyword first (a reviewer starts with the risky
    ones), then the most frequent: first those with the support to judge, then those
    whose keyword is in too few train rows, then those without a recorded agreement."""
    def key(r: str) -> tuple[bool, bool, float, int, str]:
        a = agreement.get(r)
        return (a is None, a is not None and a[1] < MIN_SUPPORT, a[0] if a else 2.0, -counts[r], r)

    return sorted(counts, key=key)


def rule_label(rule: str, count: int, agreement: tuple[float, int] | None) -> str:
    if agreement is None:
        return f"{rule}  ({count})"
    return f"{rule}  ({count}) · agreement {agreement[0]:.2f} of {agreement[1]} rows"


def has_similarity(items: Iterable[CandidateRow]) -> bool:
    return any(it.similarity is not None for it in items)


def next_undecided(
    items: Sequence[CandidateRow],
    decisions: Mapping[str, str],
    after: str | None = None,
    skipped: Iterable[str] = (),
) -> str | None:
    """The key of the next undecided, unskipped item after ``after`` (wrapping round)."""
    skipped = set(skipped)
    n = len(items)
    if not n:
        return None
    start = 0
    if after is not None:
        for i, it in enumerate(items):
            if it.key == after:
                start = i + 1
                break
    for j in range(n):
        it = items[(start + j) % n]
        if it.key not in decisions and it.key not in skipped:
            return it.key
    return None
