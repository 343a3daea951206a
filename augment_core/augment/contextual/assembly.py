"""Assembly: predicted words become edits on the original, and the edits a variant.

A substituted word takes the case of the word it replaces; an inserted word goes after the
gap's space. An edit that forms a keyword with its neighbours (the tokens either side of a
new word reading as a tag keyword) is reverted, since it would add a tag the row may not
have; :func:`apply_edits` gives the exact change spans.
"""

from __future__ import annotations

from typing import Callable

from augment_core.augment.aliases import match_case
from augment_core.augment.changes import Candidate, Edit, apply_edits
from augment_core.augment.contextual.predict import Job
from augment_core.augment.contextual.words import Slot
from augment_core.augment.protection import Protector, overlaps

EditOf = Callable[[Slot, str], Edit]


def substitute_edit(slot: Slot, choice: str) -> Edit:
    return Edit(slot.start, slot.end, match_case(slot.word, choice), "substitute")


def insert_edit(slot: Slot, choice: str) -> Edit:
    return Edit(slot.start, slot.start, " " + choice, "insert")


def build(text: str, job: Job, edit_of: EditOf, protector: Protector) -> Candidate | None:
    """The variant of ``text`` from a predicted job; None when nothing changed."""
    edits = [edit_of(slot, c) for slot, c in zip(job.slots, job.chosen) if c]
    for _ in range(4):
        if not edits:
            return None
        cand = apply_edits(text, edits)
        guarded = protector.spans(cand.text)
        ordered = sorted(edits, key=lambda e: (e.start, e.end))
        bad = {k for k, ch in enumerate(cand.changes) if overlaps(ch.start, ch.end, guarded)}
        if not bad:
            return cand if cand.text != text else None
        edits = [e for k, e in enumerate(ordered) if k not in bad]
    return None
