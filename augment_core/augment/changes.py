"""Edits on an original text and the change spans they leave in the variant.

Augmenters describe what they do as :class:`Edit` s on the original; :func:`apply_edits`
builds the variant and the :class:`Change` spans over it, so every augmenter reports
changes the same way and the review page can highlight them without diffing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from json.encoder import encode_basestring as _string
from typing import Iterable, Literal, Sequence, get_args

from augment_core.data.limits import json_loads
from augment_core.errors import InputError

ChangeKind = Literal["substitute", "insert", "delete"]


@dataclass(frozen=True)
class Edit:
    """Replace ``original[start:end]`` by ``replacement`` (start == end: an insertion)."""

    start: int
    end: int
    replacement: str
    kind: ChangeKind
    agreement: float | None = None
    """For an alias swap: how often the replaced keyword means its tag in the train split."""
    support: int | None = None


@dataclass(frozen=True)
class Change:
    """A change as seen in the variant: ``variant[start:end] == after``; ``before`` is what
    stood there in the original (empty for an insertion; ``after`` empty for a deletion)."""

    start: int
    end: int
    before: str
    after: str
    kind: ChangeKind
    agreement: float | None = None
    """Alias swaps: share of the train rows containing the replaced keyword that carry its
    tag (see :mod:`augment_core.augment.agreement`); ``support`` is how many rows contain it."""
    support: int | None = None


@dataclass(frozen=True)
class Candidate:
    """One generated variant of an original text."""

    text: str
    changes: tuple[Change, ...]


def apply_edits(text: str, edits: Iterable[Edit]) -> Candidate:
    ordered = sorted(edits, key=lambda e: (e.start, e.end))
    pieces: list[str] = []
    changes: list[Change] = []
    pos = 0
    out_len = 0
    for edit in ordered:
        if edit.start < pos:
            raise ValueError(f"overlapping edits at {edit.start}")
        kept = text[pos : edit.start]
        pieces.append(kept)
        out_len += len(kept)
        pieces.append(edit.replacement)
        changes.append(
            Change(
                start=out_len,
                end=out_len + len(edit.replacement),
                before=text[edit.start : edit.end],
                after=edit.replacement,
                kind=edit.kind,
                agreement=edit.agreement,
                support=edit.support,
            )
        )
        out_len += len(edit.replacement)
        pos = edit.end
    pieces.append(text[pos:])
    return Candidate(text="".join(pieces), changes=tuple(changes))


def changes_to_json(changes: Sequence[Change]) -> str:
    """The changes as JSON text, exactly as ``json.dumps([...], ensure_ascii=False)`` writes
    them (a test holds it), written by hand: this runs once per variant, millions of times."""
    if not changes:
        return "[]"
    return "[" + ", ".join([_change_text(c) for c in changes]) + "]"


def _change_text(c: Change) -> str:
    text = (f'{{"start": {int(c.start)}, "end": {int(c.end)}, "before": {_string(c.before)}, '
            f'"after": {_string(c.after)}, "kind": {_string(c.kind)}')
    if c.support is not None:
        agreement = "null" if c.agreement is None else _agreement_text(c.agreement)
        support = str(c.support) if c.support.__class__ is int else json.dumps(c.support)
        text += f', "agreement": {agreement}, "support": {support}'
    return text + "}"


@lru_cache(maxsize=4096, typed=True)
def _agreement_text(agreement: float) -> str:
    """An agreement as JSON, rounded: a run has one per keyword, written on each of its
    swaps, and rounding and printing a float take microseconds (typed: ``1`` is not ``1.0``)."""
    return _float(round(agreement, 4))


def _float(x: float) -> str:
    if x.__class__ is float and x == x and x not in (float("inf"), float("-inf")):
        return float.__repr__(x)
    return json.dumps(x)


def changes_from_json(raw: str | list | None) -> tuple[Change, ...]:
    """The change spans a run's ``changes`` cell holds. A cell read from a file is untrusted:
    anything but a list of spans with these field types (an int ``before``, a list nested
    too deeply to parse) is a ValueError, which every reader of the cell handles, so a bad
    span never reaches the highlighter or the review page."""
    if raw is None or raw == "":
        return ()
    try:
        items = json_loads(raw, "the changes") if isinstance(raw, str) else raw
    except InputError as exc:  # nested too deep
        raise ValueError(str(exc)) from None
    if not isinstance(items, list):
        raise ValueError("the changes are not a list")
    return tuple(_change(item) for item in items)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _change(item: object) -> Change:
    if not isinstance(item, dict) or not {"start", "end", "before", "after", "kind"} <= item.keys() \
            or not item.keys() <= {"start", "end", "before", "after", "kind", "agreement", "support"}:
        raise ValueError("a change span is not an object with start, end, before, after and kind")
    start, end, agreement, support = item["start"], item["end"], item.get("agreement"), item.get("support")
    if not (_is_int(start) and _is_int(end)) or not isinstance(item["before"], str) \
            or not isinstance(item["after"], str) or item["kind"] not in get_args(ChangeKind) \
            or not (agreement is None or (isinstance(agreement, (int, float)) and not isinstance(agreement, bool))) \
            or not (support is None or _is_int(support)):
        raise ValueError("a change span has a field of another type")
    return Change(start, end, item["before"], item["after"], item["kind"], agreement, support)


def original_spans(changes: Sequence[Change]) -> list[tuple[int, int, Change]]:
    """Each change as the [start, end) it replaced in the original text: changes carry
    variant positions, and ``before`` says how much of the original they replaced."""
    if len(changes) == 1:  # one swap, the alias swap's default: nothing to sort or shift
        c = changes[0]
        return [(c.start, c.start + len(c.before), c)]
    out = []
    delta = 0  # variant position - original position, left of the current change
    for c in sorted(changes, key=lambda c: (c.start, c.end)):
        start = c.start - delta
        out.append((start, start + len(c.before), c))
        delta += len(c.after) - len(c.before)
    return out
