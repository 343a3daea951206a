"""Streamlit-side presentation: the CSS for the review HTML that ``augment_core.review.highlight``
builds, escaping for the text Streamlit reads as Markdown, and the error box that shows bad
input's one line (the message may quote the file, so it is escaped here too).

Kept out of ``augment_core`` (which has no UI): which classes look how, and what Streamlit's
Markdown dialect does with ``:emoji:`` shortcodes, are the app's concerns.
"""

from __future__ import annotations

import streamlit as st

from augment_core.errors import InputError

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
.ar-pending { background: #fef3c7; border: 1px dashed #d97706; }
</style>"""

_MD_SPECIAL = set("\\`*_{}[]()#+-.!|$<>~&=\"'^")


def markdown_escape(text: object) -> str:
    """Text that Streamlit's Markdown (``st.error``, ``st.caption``...) shows literally:
    every Markdown punctuation is backslash-escaped, and a zero-width space stops what an
    escape does not: after each colon, ``:emoji:`` and ``:color[...]`` shortcodes and
    ``http://`` autolinks; after ``@`` and between ``www`` and its dot, GFM's e-mail and
    ``www.`` autolinks (found in the text after the escapes are read).

    The one helper for every message that can quote a file (a tag name, a column, a path,
    an error's text): ``tests/test_markdown_escape.py`` checks that the pages pass such text
    through it or :func:`markdown_code`."""
    raw = "" if text is None else str(text)
    out = []
    for i, ch in enumerate(raw):
        if ch == "." and raw[max(0, i - 3):i].lower() == "www":
            out.append("\u200b\\.")
        elif ch in _MD_SPECIAL:
            out.append("\\" + ch)
        elif ch in ":@":
            out.append(ch + "\u200b")
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


def show_error(exc: BaseException | str, prefix: str = "") -> None:
    """An error box. The message may quote the upload, so it goes in as inline code: shown
    literally (no Markdown, emoji or colour directives read in it) and copied exactly
    (no zero-width spaces, which escaping the colons needed). CLI wording becomes the
    page's (``--model`` -> the Model field)."""
    message = exc.in_app() if isinstance(exc, InputError) else exc
    st.error(prefix + markdown_code(message), icon=":material/error:")
