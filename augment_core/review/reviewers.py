"""Several reviewers on one dataset: who decided what, where they disagree, how far they
agree, and which decisions an export uses.

Plain functions over ``by_reviewer``: reviewer -> key -> ``"accepted"`` / ``"rejected"``
(what :meth:`augment_core.review.store.Store.decisions_by_reviewer` returns; undecided keys
are absent). A reviewer is the signed-in e-mail address, or ``"local"`` in single-user mode.

Export policies (:class:`Policy`):

- ``reviewer``: one reviewer's decisions, as they are (the default with one reviewer: the
  export is exactly that reviewer's work, as before reviewers existed);
- ``unanimous``: accepted only where every reviewer of the candidates accepted it (a variant
  one of them has not decided is not unanimous); rejected where any of them rejected it;
- ``majority``: accepted where more of the reviewers who decided it accepted it than rejected
  it, rejected where more rejected it; a tie is left undecided (and out of the export).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Collection, Iterable, Mapping

from augment_core.review.schema import LOCAL_REVIEWER

ByReviewer = Mapping[str, Mapping[str, str]]
POLICY_KINDS = ("reviewer", "unanimous", "majority")
DECISIONS = ("accepted", "rejected")


@dataclass(frozen=True)
class Policy:
    """How an export turns several reviewers' decisions into one decision per candidate."""

    kind: str
    reviewer: str | None = None
    """The reviewer whose decisions a ``reviewer`` policy uses."""

    def __post_init__(self) -> None:
        if self.kind not in POLICY_KINDS:
            raise ValueError(f"policy must be one of {POLICY_KINDS}, not {self.kind!r}")
        if (self.kind == "reviewer") != (self.reviewer is not None):
            raise ValueError("a reviewer policy names one reviewer; the others name none")

    def describe(self) -> str:
        if self.kind == "reviewer":
            return f"{self.reviewer}'s decisions"
        if self.kind == "unanimous":
            return "unanimous accept (every reviewer accepted it)"
        return "majority (more reviewers accepted it than rejected it; a tie is left out)"

    def as_manifest(self) -> dict[str, Any]:
        return {"kind": self.kind, "reviewer": self.reviewer, "description": self.describe()}


@dataclass(frozen=True)
class Agreement:
    """Two reviewers' agreement over the candidates both decided."""

    a: str
    b: str
    both: int
    """Candidates both decided."""
    agree: int
    """Of those, the ones they decided alike."""
    kappa: float | None
    """Cohen's kappa; None when there is nothing to compare or it is undefined (both gave
    one and the same decision to everything)."""

    def describe(self) -> str:
        if self.both == 0:
            return f"{self.a} and {self.b}: no candidate decided by both yet"
        k = "undefined (one decision throughout)" if self.kappa is None else f"{self.kappa:.2f}"
        return f"{self.a} and {self.b}: kappa {k} over {self.both:,} both decided ({self.agree:,} alike)"


def restricted(by_reviewer: ByReviewer, keys: Collection[str] | None) -> dict[str, dict[str, str]]:
    """``by_reviewer`` with only these keys (None: all); reviewers left with none dropped."""
    out: dict[str, dict[str, str]] = {}
    for reviewer, decisions in by_reviewer.items():
        mine = dict(decisions) if keys is None else {k: d for k, d in decisions.items() if k in keys}
        if mine:
            out[reviewer] = mine
    return out


def reviewers_of(by_reviewer: ByReviewer) -> list[str]:
    """The reviewers with at least one decision, in name order."""
    return sorted(r for r, d in by_reviewer.items() if d)


def is_team(by_reviewer: ByReviewer, me: str = LOCAL_REVIEWER) -> bool:
    """Whether anyone but ``me`` has decided something: only then do the pages show reviewers."""
    return any(r != me for r in reviewers_of(by_reviewer))


def decisions_on(by_reviewer: ByReviewer, key: str) -> dict[str, str]:
    """reviewer -> decision on one candidate (those who decided it)."""
    return {r: d[key] for r, d in sorted(by_reviewer.items()) if key in d}


def conflicts(by_reviewer: ByReviewer) -> dict[str, dict[str, str]]:
    """The candidates reviewers decided differently: key -> reviewer -> decision."""
    tables = [d for _, d in sorted(by_reviewer.items())]
    keys: set[str] = set()
    for decisions in tables:
        keys.update(decisions)
    return {key: decisions_on(by_reviewer, key) for key in sorted(keys)
            if len({d[key] for d in tables if key in d}) > 1}


def decided_by_keys(by_reviewer: ByReviewer, reviewer: str) -> frozenset[str]:
    return frozenset(by_reviewer.get(reviewer, {}))


def agreement(by_reviewer: ByReviewer, a: str, b: str) -> Agreement:
    """Cohen's kappa (scikit-learn's) between ``a`` and ``b`` over the candidates both decided."""
    da, db = by_reviewer.get(a, {}), by_reviewer.get(b, {})
    both = sorted(set(da) & set(db))
    ya, yb = [da[k] for k in both], [db[k] for k in both]
    agree = sum(1 for x, y in zip(ya, yb) if x == y)
    return Agreement(a, b, len(both), agree, kappa(ya, yb))


def kappa(ya: list[str], yb: list[str]) -> float | None:
    """Cohen's kappa of two reviewers' decisions on the same candidates; None when there are
    none or it is undefined."""
    if not ya:
        return None
    import numpy as np
    from sklearn.metrics import cohen_kappa_score

    code = {d: i for i, d in enumerate(DECISIONS)}  # integer labels: strings make scikit-learn 50x slower
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one label throughout: undefined, reported as None
        value = float(cohen_kappa_score(np.array([code[d] for d in ya]), np.array([code[d] for d in yb]),
                                        labels=[0, 1], replace_undefined_by=math.nan))
    return None if math.isnan(value) else value


def pairwise_agreement(by_reviewer: ByReviewer) -> list[Agreement]:
    """Every pair of reviewers' agreement, in name order."""
    names = reviewers_of(by_reviewer)
    return [agreement(by_reviewer, a, b) for i, a in enumerate(names) for b in names[i + 1 :]]


def default_policy(by_reviewer: ByReviewer, me: str = LOCAL_REVIEWER) -> Policy:
    """One reviewer (or none yet): that reviewer's (or ``me``'s) decisions, as before reviewers
    existed; several: majority."""
    names = reviewers_of(by_reviewer)
    if len(names) > 1:
        return Policy("majority")
    return Policy("reviewer", names[0] if names else me)


def policy_choices(by_reviewer: ByReviewer, me: str = LOCAL_REVIEWER) -> list[Policy]:
    """What an export can apply: each reviewer's decisions, then unanimous and majority when
    there are several reviewers."""
    names = reviewers_of(by_reviewer) or [me]
    out = [Policy("reviewer", r) for r in names]
    if len(names) > 1:
        out += [Policy("unanimous"), Policy("majority")]
    return out


def resolve(by_reviewer: ByReviewer, policy: Policy) -> dict[str, str]:
    """One decision per candidate under ``policy`` (undecided keys absent)."""
    if policy.kind == "reviewer":
        return dict(by_reviewer.get(policy.reviewer or "", {}))
    names = reviewers_of(by_reviewer)
    keys: set[str] = set()
    for decisions in by_reviewer.values():
        keys.update(decisions)
    tables = list(by_reviewer.values())
    out: dict[str, str] = {}
    for key in keys:
        on = [d[key] for d in tables if key in d]
        n_acc = on.count("accepted")
        n_rej = len(on) - n_acc
        if policy.kind == "unanimous":
            if n_rej:
                out[key] = "rejected"
            elif n_acc == len(names):
                out[key] = "accepted"
        elif n_acc > n_rej:
            out[key] = "accepted"
        elif n_rej > n_acc:
            out[key] = "rejected"
    return out


def reviewer_counts(by_reviewer: ByReviewer) -> dict[str, dict[str, int]]:
    """reviewer -> {"accepted", "rejected", "decided"} counts, in name order."""
    out: dict[str, dict[str, int]] = {}
    for r in reviewers_of(by_reviewer):
        acc = sum(1 for d in by_reviewer[r].values() if d == "accepted")
        out[r] = {"accepted": acc, "rejected": len(by_reviewer[r]) - acc, "decided": len(by_reviewer[r])}
    return out


def manifest_entry(by_reviewer: ByReviewer, policy: Policy) -> dict[str, Any]:
    """The export manifest's record of the reviewers (with their counts), the policy applied,
    the conflicts and the agreement, over the exported candidates' decisions."""
    return {
        "policy": policy.as_manifest(),
        "reviewers": reviewer_counts(by_reviewer),
        "conflicts": len(conflicts(by_reviewer)),
        "agreement": [
            {"reviewers": [p.a, p.b], "both_decided": p.both, "alike": p.agree, "cohen_kappa": p.kappa}
            for p in pairwise_agreement(by_reviewer)
        ],
    }


def others_line(by_reviewer: ByReviewer, key: str) -> str:
    """Each reviewer's decision on a candidate, for its row: ``alice@x accepted · bob@y rejected``."""
    return " · ".join(f"{r} {d}" for r, d in decisions_on(by_reviewer, key).items())


def filter_keys(by_reviewer: ByReviewer, decided_by: str | None, only_conflicts: bool) -> frozenset[str] | None:
    """The keys the Review page's team filters keep: those ``decided_by`` decided (None: any),
    and of those only the conflicts with ``only_conflicts``; None: no restriction."""
    keys: frozenset[str] | None = None if decided_by is None else decided_by_keys(by_reviewer, decided_by)
    if only_conflicts:
        clashes = frozenset(conflicts(by_reviewer))
        keys = clashes if keys is None else keys & clashes
    return keys


def restrict_items(items: Iterable[Any], keys: Collection[str] | None) -> list[Any]:
    """The items whose key is in ``keys`` (None: all), in their order."""
    return list(items) if keys is None else [it for it in items if it.key in keys]
