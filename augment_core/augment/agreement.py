"""Keyword-label agreement: does a keyword mean its tag *in this dataset*?

The lesson's alias swap turned "apply for jobs with your CV" into "... with your computer
vision": ``cv`` does not always mean computer vision. The data can say how often it does:
of the train rows that contain a keyword, the share that carry its tag. A keyword that
mostly appears in rows without its tag (``table`` -> tabular, ``node`` -> node-js) is
ambiguous, and a variant that swaps it changes the meaning the label depends on.

Computed on the **train split only**: val and test labels are never read, so the
held-out evaluation stays honest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from augment_core.augment.aliases import AliasTable, KeywordMatch
from augment_core.augment.forms import Member

AMBIGUOUS_BELOW = 0.5
"""A keyword whose agreement is below this is ambiguous (flag ``ambiguous_keyword``)."""
MIN_SUPPORT = 3
"""...when at least this many train rows contain it; fewer rows say too little."""


@dataclass(frozen=True)
class Agreement:
    """``agreeing`` of the ``support`` train rows containing the keyword carry its tag."""

    support: int
    agreeing: int

    @property
    def agreement(self) -> float | None:
        return self.agreeing / self.support if self.support else None

    def is_ambiguous(self, below: float = AMBIGUOUS_BELOW, min_support: int = MIN_SUPPORT) -> bool:
        return is_ambiguous(self.agreement, self.support, below, min_support)


def is_ambiguous(
    agreement: float | None, support: int | None, below: float = AMBIGUOUS_BELOW, min_support: int = MIN_SUPPORT
) -> bool:
    return agreement is not None and support is not None and support >= min_support and agreement < below


def member_agreement(
    table: AliasTable, matches: Sequence[Sequence[KeywordMatch]], label_sets: Sequence[Sequence[str]],
    weights: Sequence[int] | None = None,
) -> dict[Member, Agreement]:
    """Per vocabulary member (a tag or alias, any of its forms), over rows given as each
    row's keyword matches (:meth:`AliasTable.find`) and labels; ``weights``: how many rows
    each stands for (one each by default)."""
    owners: dict[str, list[Member]] = {}
    for member, forms in table.forms.items():
        for form in {member.written, member.derived, *forms.values()} - {""}:
            owners.setdefault(form, []).append(member)
    support: dict[Member, int] = {m: 0 for m in table.members}
    agreeing: dict[Member, int] = {m: 0 for m in table.members}
    for n, (found, labels) in enumerate(zip(matches, label_sets)):
        present = {member for match in found for member in owners.get(match.key, ())}
        label_set = set(labels)
        w = 1 if weights is None else weights[n]
        for member in present:
            support[member] += w
            agreeing[member] += w * (member.tag in label_set)
    return {m: Agreement(support[m], agreeing[m]) for m in table.members}


def key_agreement(by_member: Mapping[Member, Agreement], table: AliasTable) -> dict[str, Agreement]:
    """Per match key: its member's figures (the least agreeing one if two members share it)."""
    out: dict[str, Agreement] = {}
    for member, forms in table.forms.items():
        a = by_member[member]
        for form in {member.written, member.derived, *forms.values()} - {""}:
            held = out.get(form)
            if held is None or (a.agreement or 0.0) < (held.agreement or 0.0):
                out[form] = a
    return out


@dataclass(frozen=True)
class TrainKeywords:
    """The alias table as the train split attests it, with each key's agreement."""

    table: AliasTable
    by_member: Mapping[Member, Agreement]
    by_key: Mapping[str, Agreement]


def fit_to_train(table: AliasTable, dataset: Any) -> TrainKeywords:
    """The forms and the agreement a dataset's train rows attest (``dataset``: a split
    :class:`augment_core.data.dataset.Dataset`)."""
    train = [r for r in dataset.records if r.split == "train"]
    matches = [table.find(r.text) for r in train]  # one pass serves both
    fitted = table.attested_by(matches)
    by_member = member_agreement(fitted, matches, [r.labels for r in train])
    return TrainKeywords(fitted, by_member, key_agreement(by_member, fitted))


def keyword_rows(keywords: TrainKeywords, query: str = "") -> list[dict[str, Any]]:
    """The browsable table: one row per vocabulary member with its forms, tag, what it is
    swapped for, support and agreement; filtered by ``query`` (case-insensitive)."""
    table = keywords.table
    q = query.strip().lower()
    rows = []
    for member, forms in table.forms.items():
        a = keywords.by_member[member]
        alternatives = sorted({alt for form in forms.values() for alt in table.alternatives.get(form, ())})
        row = {
            "keyword": member.written,
            "forms": ", ".join(sorted(set(forms.values()))),
            "tag": member.tag,
            "alternatives": ", ".join(alternatives),
            "support": a.support,
            "agreement": None if a.agreement is None else round(a.agreement, 3),
            "ambiguous": a.is_ambiguous(),
        }
        if not q or any(q in str(row[c]).lower() for c in ("keyword", "forms", "tag", "alternatives")):
            rows.append(row)
    return rows
