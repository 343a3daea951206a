"""Whether a variant altered one of its original's protected keywords.

Outside augmenters (plug-ins, adapters, imported files) do not know the tag keywords, so
their variants are checked after the fact: a change that touches a keyword sets the
``keyword_changed`` flag, and the variant is kept for the reviewer to decide. A case-only
change ("PyTorch" -> "pytorch") leaves the keyword, and so the tag, as it was; a change
beside a keyword that makes it part of a longer one ("Node" -> "Node classification") does not.
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
    if any(_altered(original, span, placed) for span in spans):
        # Confirm on lower-cased texts: there a case-only change is no change at all, whatever
        # alignment the given changes happen to use.
        low_original, low_variant = original.lower(), variant.lower()
        if len(low_original) != len(original) or len(low_variant) != len(variant):
            return True  # lower() moved positions (a few scripts): the given changes decide
        placed = original_spans(diff_changes(low_original, low_variant))
        if any(_altered(low_original, span, placed) for span in spans):
            return True
    return _absorbed(variant, spans, placed, protector)


def _absorbed(variant: str, spans: Sequence[Span], placed: list[tuple[int, int, Change]], protector: Protector) -> bool:
    """Whether a keyword whose own text the changes left alone became part of a longer
    keyword through a change beside it (``Node`` + `` classification``: the tag
    ``node-classification``, no longer ``node-js``). Only keywords with a change within one
    character of their edges are looked up again in the variant."""
    near = [sp for sp in spans if any(s <= sp.end + 1 and e >= sp.start - 1 for s, e, _ in placed)]
    if not near:
        return False
    found = {(sp.start, sp.end, sp.surface.casefold()) for sp in protector.spans(variant)}
    for sp in near:
        start = sp.start + sum(len(c.after) - (e - s) for s, e, c in placed if e <= sp.start)
        if (start, start + len(sp.surface), sp.surface.casefold()) not in found:
            return True
    return False


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
