"""HTML for a variant beside its original, with the changed words highlighted.

Text from an upload is untrusted, so every piece of text that goes into the HTML passes
through :func:`html.escape` here; the app renders the result with ``st.html`` (which does
not read Markdown). Nothing else builds HTML from user text. The classes used here
(``ar-*``) are styled by the app (``app_support.markup.CSS``): this module knows no UI.

Changes are the spans over the variant that the augmenters report
(:class:`augment_core.augment.changes.Change`): a substitution is shown as the new words (the old
ones in the tooltip and, in the original, struck through), an insertion as the inserted
words, a deletion as the deleted words struck through where they stood.
"""

from __future__ import annotations

import html
from typing import Iterable, Sequence

from augment_core.augment.changes import Change, changes_from_json
from augment_core.augment.changes import original_spans as _original_spans

KIND_CLASSES = {"substitute": "ar-sub", "insert": "ar-ins", "delete": "ar-del"}
KIND_LABELS = {"substitute": "substitution", "insert": "insertion", "delete": "deletion"}
KIND_COLOURS = {"substitute": "#fde68a", "insert": "#bbf7d0", "delete": "#fecaca"}



def esc(text: object) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def _wrap(text: str, open_tag: str, close_tag: str) -> str:
    """``text`` escaped and wrapped in the tags, its leading and trailing whitespace left
    outside them: an inserted " word" is highlighted as "word", never as a sliver of
    colour at a line's end. A span of whitespace only is left unhighlighted."""
    core = text.strip()
    if not core:
        return esc(text)
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()) :]
    return f"{esc(lead)}{open_tag}{esc(core)}{close_tag}{esc(trail)}"


def _parse(changes: Sequence[Change] | str | list | None) -> list[Change]:
    if changes is None or isinstance(changes, (str, list)):
        parsed = changes_from_json(changes)
    else:
        parsed = tuple(changes)
    return sorted(parsed, key=lambda c: (c.start, c.end))


def variant_html(text: str, changes: Sequence[Change] | str | list | None) -> str:
    """The variant with each change wrapped in a span of its kind's class."""
    out: list[str] = []
    pos = 0
    for ch in _parse(changes):
        if ch.start < pos or ch.end > len(text):
            continue  # spans that do not fit the text are shown unhighlighted
        out.append(esc(text[pos : ch.start]))
        cls = KIND_CLASSES.get(ch.kind, "ar-sub")
        if ch.kind == "delete" or (not ch.after and ch.before):
            out.append(_wrap(ch.before, '<del class="ar-del" title="deleted">', "</del>"))
        elif ch.kind == "insert":
            out.append(_wrap(text[ch.start : ch.end], f'<ins class="{cls}" title="inserted">', "</ins>"))
        else:
            title = f'title="was: {esc(ch.before.strip())}"'
            out.append(_wrap(text[ch.start : ch.end], f'<mark class="{cls}" {title}>', "</mark>"))
        pos = ch.end
    out.append(esc(text[pos:]))
    return f'<p class="ar-text">{"".join(out)}</p>'


def original_spans(changes: Sequence[Change] | str | list | None) -> list[tuple[int, int, Change]]:
    """Where each change's ``before`` stood in the original text (changes as stored or parsed)."""
    return _original_spans(_parse(changes))


def original_marks(original: str, variant_changes: Iterable[Sequence[Change] | str | list | None],
                   merge: bool = True) -> list[tuple[int, int, str]]:
    """``(start, end, "old" | "old-delete")`` over the original: the words these variants'
    changes replaced or deleted, where the original still reads so. ``merge``: one mark over
    overlapping or touching words (a group's original, marking all its variants); else a
    delete keeps its own kind and overlaps are dropped (one variant beside its original)."""
    marks: list[tuple[int, int, str]] = []
    for changes in variant_changes:
        try:
            spans = original_spans(changes)
        except (ValueError, TypeError, KeyError):
            continue
        for start, end, ch in spans:
            if 0 <= start < end <= len(original) and original[start:end] == ch.before:
                marks.append((start, end, "old-delete" if ch.kind == "delete" and not merge else "old"))
    out: list[tuple[int, int, str]] = []
    for start, end, kind in sorted(marks):
        if out and (start <= out[-1][1] if merge else start < out[-1][1]):
            if merge:
                out[-1] = (out[-1][0], max(out[-1][1], end), out[-1][2])
            continue
        out.append((start, end, kind))
    return out


def original_html(original: str, changes: Sequence[Change] | str | list | None = None) -> str:
    """The original, with the words a variant replaced or deleted marked."""
    out: list[str] = []
    pos = 0
    for start, end, ch in original_spans(changes):
        if start < pos or end > len(original) or original[start:end] != ch.before:
            continue
        out.append(esc(original[pos:start]))
        if end > start:
            cls = "ar-del" if ch.kind == "delete" else "ar-old"
            out.append(_wrap(original[start:end], f'<span class="{cls}">', "</span>"))
        pos = end
    out.append(esc(original[pos:]))
    return f'<p class="ar-text">{"".join(out)}</p>'


def legend_html() -> str:
    items = "".join(
        f'<span><span class="{KIND_CLASSES[k]}">{esc(KIND_LABELS[k])}</span></span>' for k in KIND_CLASSES
    )
    return f'<div class="ar-legend">{items}</div>'


BADGE_CLASSES = {"accepted": "ar-accepted", "rejected": "ar-rejected"}


def badge_html(decision: str | None, note: str = "") -> str:
    """The decision as a badge; ``note`` (e.g. "not yet saved") is shown after it."""
    label = decision or "undecided"
    cls = BADGE_CLASSES.get(label, "ar-undecided")
    extra = f' <span class="ar-badge ar-pending">{esc(note)}</span>' if note else ""
    return f'<span class="ar-badge {cls}">{esc(label)}</span>{extra}'


def meta_html(parts: Iterable[object]) -> str:
    return '<span class="ar-meta">' + " · ".join(esc(p) for p in parts if p not in (None, "")) + "</span>"


def candidate_block_html(
    text: str,
    changes: Sequence[Change] | str | list | None,
    decision: str | None = None,
    meta: Iterable[object] = (),
    note: str = "",
) -> str:
    """One variant: its decision badge (and ``note``), metadata line and highlighted text."""
    body = f"<div>{badge_html(decision, note)} {meta_html(meta)}</div>" + variant_html(text, changes)
    return f'<div class="ar-cand">{body}</div>'


def group_original_html(original: str, variant_changes: Iterable[Sequence[Change] | str | list | None] = ()) -> str:
    """The original of a group, marking the words any of its variants (their changes)
    replaced or deleted."""
    merged = original_marks(original, variant_changes)
    out: list[str] = []
    pos = 0
    for start, end, _ in merged:
        out.append(esc(original[pos:start]))
        out.append(_wrap(original[start:end], '<span class="ar-old">', "</span>"))
        pos = end
    out.append(esc(original[pos:]))
    return f'<p class="ar-text">{"".join(out)}</p>'
