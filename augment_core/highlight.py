"""HTML for a variant beside its original, with the changed words highlighted.

Text from an upload is untrusted, so every piece of text that goes into the HTML passes
through :func:`html.escape` here, and the result is rendered with ``st.html`` (which
does not read Markdown). Nothing else in the app builds HTML from user text.

Changes are the spans over the variant that the augmenters report
(:class:`augment_core.changes.Change`): a substitution is shown as the new words (the old
ones in the tooltip and, in the original, struck through), an insertion as the inserted
words, a deletion as the deleted words struck through where they stood.
"""

from __future__ import annotations

import html
from typing import Iterable, Sequence

from augment_core.changes import Change, changes_from_json

KIND_CLASSES = {"substitute": "ar-sub", "insert": "ar-ins", "delete": "ar-del"}
KIND_LABELS = {"substitute": "substitution", "insert": "insertion", "delete": "deletion"}
KIND_COLOURS = {"substitute": "#fde68a", "insert": "#bbf7d0", "delete": "#fecaca"}

CSS = """<style>
.ar-text { white-space: pre-wrap; line-height: 1.6; font-size: 0.95rem; margin: 0; }
.ar-sub { background: #fde68a; border-radius: 3px; padding: 0 2px; }
.ar-ins { background: #bbf7d0; border-radius: 3px; padding: 0 2px; text-decoration: none; }
.ar-del { background: #fecaca; border-radius: 3px; padding: 0 2px; text-decoration: line-through; }
.ar-old { background: #e5e7eb; border-radius: 3px; padding: 0 2px; }
.ar-legend span { margin-right: 0.8rem; }
.ar-meta { color: #6b7280; font-size: 0.8rem; }
.ar-badge { border-radius: 8px; padding: 0 6px; font-size: 0.75rem; }
.ar-accepted { background: #bbf7d0; } .ar-rejected { background: #fecaca; } .ar-undecided { background: #e5e7eb; }
</style>"""


def esc(text: object) -> str:
    return html.escape("" if text is None else str(text), quote=True)


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
            out.append(f'<del class="ar-del" title="deleted">{esc(ch.before)}</del>')
        elif ch.kind == "insert":
            out.append(f'<ins class="{cls}" title="inserted">{esc(text[ch.start:ch.end])}</ins>')
        else:
            out.append(f'<mark class="{cls}" title="was: {esc(ch.before)}">{esc(text[ch.start:ch.end])}</mark>')
        pos = ch.end
    out.append(esc(text[pos:]))
    return f'<p class="ar-text">{"".join(out)}</p>'


def original_spans(changes: Sequence[Change] | str | list | None) -> list[tuple[int, int, Change]]:
    """Where each change's ``before`` stood in the original text."""
    spans = []
    delta = 0  # len(variant so far) - len(original so far)
    for ch in _parse(changes):
        start = ch.start - delta
        spans.append((start, start + len(ch.before), ch))
        delta += len(ch.after) - len(ch.before)
    return spans


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
            out.append(f'<span class="{cls}">{esc(original[start:end])}</span>')
        pos = end
    out.append(esc(original[pos:]))
    return f'<p class="ar-text">{"".join(out)}</p>'


def legend_html() -> str:
    items = "".join(
        f'<span><span class="{KIND_CLASSES[k]}">{esc(KIND_LABELS[k])}</span></span>' for k in KIND_CLASSES
    )
    return f'{CSS}<div class="ar-legend">{items}</div>'


def badge_html(decision: str | None) -> str:
    label = decision or "undecided"
    return f'<span class="ar-badge ar-{esc(label)}">{esc(label)}</span>'


def meta_html(parts: Iterable[object]) -> str:
    return '<span class="ar-meta">' + " · ".join(esc(p) for p in parts if p not in (None, "")) + "</span>"


def candidate_block_html(
    row: dict,
    decision: str | None = None,
    meta: Iterable[object] = (),
    include_css: bool = True,
) -> str:
    """One variant: its decision badge, metadata line and highlighted text."""
    body = (
        f"<div>{badge_html(decision)} {meta_html(meta)}</div>"
        + variant_html(str(row.get("text", "")), row.get("changes"))
    )
    return (CSS if include_css else "") + f'<div class="ar-cand">{body}</div>'


def group_original_html(original: str, variants: Sequence[dict] = (), include_css: bool = True) -> str:
    """The original of a group, marking the words any of its variants replaced or deleted."""
    marks: list[tuple[int, int]] = []
    for v in variants:
        try:
            spans = original_spans(v.get("changes"))
        except (ValueError, TypeError, KeyError):
            continue
        for start, end, ch in spans:
            if 0 <= start < end <= len(original) and original[start:end] == ch.before:
                marks.append((start, end))
    merged: list[list[int]] = []
    for start, end in sorted(marks):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out: list[str] = []
    pos = 0
    for start, end in merged:
        out.append(esc(original[pos:start]))
        out.append(f'<span class="ar-old">{esc(original[start:end])}</span>')
        pos = end
    out.append(esc(original[pos:]))
    return (CSS if include_css else "") + f'<p class="ar-text">{"".join(out)}</p>'


_MD_SPECIAL = set("\\`*_{}[]()#+-.!|$<>~&=\"'^")


def markdown_escape(text: object) -> str:
    """Text that Streamlit's Markdown (``st.error``, ``st.caption``...) shows literally:
    every Markdown punctuation is backslash-escaped, and a zero-width space after each
    colon stops ``:emoji:`` and ``:color[...]`` shortcodes."""
    out = []
    for ch in "" if text is None else str(text):
        if ch in _MD_SPECIAL:
            out.append("\\" + ch)
        elif ch == ":":
            out.append(":\u200b")
        elif ch == "\n":
            out.append("  \n")
        else:
            out.append(ch)
    return "".join(out)


def markdown_code(text: object) -> str:
    """``text`` as one Markdown inline code span: shown literally, with no Markdown,
    ``:emoji:`` or ``:color[...]`` read in it (those are read in text, never in code), and
    with nothing added, so what a user copies from the page is exactly the text.

    The fence is one backtick longer than the longest run of backticks in the text, and one
    space pads each side (CommonMark strips exactly that), so any text fits. Line breaks
    become spaces, as in any inline code.
    """
    body = " ".join(("" if text is None else str(text)).splitlines()) or " "
    longest = run = 0
    for ch in body:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    return f"{fence} {body} {fence}"
