"""Whether a variant altered one of its original's protected keywords.

Outside augmenters (plug-ins, adapters, imported files) do not know the tag keywords, so
their variants are checked after the fact: a change that touches a keyword sets the
``keyword_changed`` flag, and the variant is kept for the reviewer to decide. A case-only
change ("PyTorch" -> "pytorch") leaves the keyword, and so the tag, as it was.
"""

from __future__ import annotations

from typing import Sequence

from augment_core.augment.changes import Change, original_spans
from augment_core.augment.diff import diff_changes
from augment_core.augment.protection import Protector, Span, overlaps, strictly_inside


def keyword_changed(original: str, variant: str, changes: Sequence[Change], protector: Protector,
                    spans: Sequence[Span] | None = None) -> bool:
    """True when ``changes`` (variant positions, as :func:`augment_core.augment.diff_changes`
    gives) alter a protected span of ``original`` other than by letter case. ``spans``:
    ``protector.spans(original)`` when the caller has it already (one original, many variants)."""
    if not changes:
        return False
    if spans is None:
        spans = protector.spans(original)
    if not spans:
        return False
    placed = original_spans(changes)
    if not any(_altered(original, span, placed) for span in spans):
        return False  # the changes leave every keyword's text as it was
    # Confirm on lower-cased texts: there a case-only change is no change at all, whatever
    # alignment the given changes happen to use.
    low_original, low_variant = original.lower(), variant.lower()
    if len(low_original) != len(original) or len(low_variant) != len(variant):
        return True  # lower() moved positions (a few scripts): the given changes decide
    placed = original_spans(diff_changes(low_original, low_variant))
    return any(_altered(low_original, span, placed) for span in spans)


def _altered(original: str, span: Span, placed: list[tuple[int, int, Change]]) -> bool:
    touching = [(s, e, c) for s, e, c in placed
                if (overlaps(s, e, [span]) if e > s else strictly_inside(s, [span]))]
    if not touching:
        return False
    # the stretch of the original the keyword and its changes cover, before and after
    lo, hi = min(span.start, touching[0][0]), max(span.end, touching[-1][1])
    pieces, pos = [], lo
    for s, e, c in touching:
        pieces.append(original[pos:s])
        pieces.append(c.after)
        pos = e
    pieces.append(original[pos:hi])
    return "".join(pieces).casefold() != original[lo:hi].casefold()
