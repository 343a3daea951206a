"""A seeded, stratified sample per alias rule of a run too large to review row by row.

A run of a million variants is reviewed by rule: each alias rule (``"cv -> computer
vision"``, see :func:`augment_core.review.fields.rules_of`) is a stratum; the reviewer sees
``per_rule`` of its rows and decides the whole rule. Variants of other augmenters have no
alias rule: each augmenter is then one stratum (``"augmenter: contextual_substitute"``).
A variant that applied several rules belongs to each of them.

The sample does not depend on the order rows come in (Ray writes its shards in any order)
nor on batching: every (stratum, row id) gets a priority from a keyed hash of the seed, the
stratum and the row id, and a stratum's sample is its ``per_rule`` rows of lowest priority.
The same run and seed therefore always give the same sample, and memory is ``per_rule``
rows per stratum, whatever the run's size.
"""

from __future__ import annotations

import hashlib
import heapq
from dataclasses import dataclass, field
from typing import Any, Generic, Sequence, TypeVar

from augment_core.augment.agreement import MIN_SUPPORT
from augment_core.augment.aliases import normalize_key
from augment_core.augment.changes import Change

DEFAULT_PER_RULE = 20
"""Variants sampled per alias rule, by default."""
MAX_WHOLE = 20_000
"""Variants up to which a run is stored whole (the review list holds its candidates in the
server; the app was measured at 20,000); a larger run is stored by a sample per rule."""
STORE_WHOLE_UP_TO = {"auto": MAX_WHOLE, "whole": 10**15, "sample": 0}
"""How a run is stored (the CLI's ``--store``, the app's choice) as the most variants it
stores whole."""
AUGMENTER_STRATUM = "augmenter: "
"""The stratum of a variant without an alias rule: this, then its augmenter's name."""
P = TypeVar("P")


def strata_of(augmenter: str, changes: Sequence[Change]) -> tuple[str, ...]:
    """The strata a variant belongs to: its alias rules (one per distinct swap, in order),
    or for another augmenter, that augmenter's stratum."""
    if augmenter != "alias_swap":
        return (AUGMENTER_STRATUM + augmenter,)
    out: list[str] = []
    for ch in changes:
        rule = f"{normalize_key(ch.before)} -> {normalize_key(ch.after)}"
        if rule not in out:
            out.append(rule)
    return tuple(out) or (AUGMENTER_STRATUM + augmenter,)


def rule_agreements(augmenter: str, changes: Sequence[Change]) -> dict[str, tuple[float | None, int | None]]:
    """Per alias rule of a variant, the agreement and support of the keyword it replaced."""
    if augmenter != "alias_swap":
        return {}
    return {f"{normalize_key(ch.before)} -> {normalize_key(ch.after)}": (ch.agreement, ch.support) for ch in changes}


def priority(seed: int, stratum: str, row_id: str) -> int:
    """A row's place in its stratum's sample: lowest first (a keyed hash, so independent of
    the order rows are seen in)."""
    digest = hashlib.blake2b(f"{stratum}\x1f{row_id}".encode("utf-8"), digest_size=8,
                             key=str(seed).encode("ascii")[:64]).digest()
    return int.from_bytes(digest, "big")


@dataclass
class RuleStats:
    """A stratum of a run: how many variants it holds, and the agreement of its keyword."""

    rule: str
    rows: int = 0
    agreement: float | None = None
    """The train-split agreement of the keyword the rule replaces (alias rules only)."""
    support: int | None = None
    sampled: int = 0


@dataclass
class RuleSampler(Generic[P]):
    """Feed every variant with :meth:`add`; :meth:`result` gives each stratum's counts and
    the sampled payloads (each once, even when drawn for several rules)."""

    per_rule: int = DEFAULT_PER_RULE
    seed: int = 0
    stats: dict[str, RuleStats] = field(default_factory=dict)
    _heaps: dict[str, list[tuple[int, str, Any]]] = field(default_factory=dict)

    def add(self, row_id: str, augmenter: str, changes: Sequence[Change], payload: P) -> tuple[str, ...]:
        strata = strata_of(augmenter, changes)
        agreements = rule_agreements(augmenter, changes)
        for stratum in strata:
            st = self.stats.get(stratum)
            if st is None:
                st = self.stats[stratum] = RuleStats(stratum)
            st.rows += 1
            agreement, support = agreements.get(stratum, (None, None))
            if agreement is not None and (st.support is None or (support or 0) > st.support):
                st.agreement, st.support = agreement, support
            if self.per_rule <= 0:
                continue
            heap = self._heaps.setdefault(stratum, [])
            item = (-priority(self.seed, stratum, row_id), row_id, payload)
            if len(heap) < self.per_rule:
                heapq.heappush(heap, item)
            elif item[0] > heap[0][0]:  # a lower priority than the worst kept
                heapq.heapreplace(heap, item)
        return strata

    def result(self) -> tuple[list[RuleStats], list[P]]:
        """The strata, least agreeing first (unknown agreement last, then by size), and the
        sampled payloads, stratum by stratum in that order, each row once."""
        stats = sorted(self.stats.values(), key=_rule_order)
        seen: set[str] = set()
        sample: list[P] = []
        for st in stats:
            kept = sorted(self._heaps.get(st.rule, []), key=lambda it: (-it[0], it[1]))
            st.sampled = len(kept)
            for _, row_id, payload in kept:
                if row_id not in seen:
                    seen.add(row_id)
                    sample.append(payload)
        return stats, sample


def _rule_order(st: RuleStats) -> tuple[int, float, int, str]:
    judged = st.agreement is not None and (st.support or 0) >= MIN_SUPPORT
    return (0 if judged else 1, st.agreement if judged and st.agreement is not None else 0.0, -st.rows, st.rule)


def rule_decided(strata: Sequence[str], rule_decisions: dict[str, str]) -> str | None:
    """What the rule decisions say of a variant in ``strata``: rejected when any of its
    rules is rejected, accepted when every one is accepted, else nothing (undecided)."""
    found = [rule_decisions.get(s) for s in strata]
    if "rejected" in found:
        return "rejected"
    if found and all(d == "accepted" for d in found):
        return "accepted"
    return None


def by_stratum(items: Sequence[Any]) -> dict[str, list[Any]]:
    """Sampled candidates (anything with ``augmenter`` and ``changes``) per stratum, in order."""
    out: dict[str, list[Any]] = {}
    for it in items:
        for s in strata_of(it.augmenter, it.changes):
            out.setdefault(s, []).append(it)
    return out
