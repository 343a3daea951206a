"""Issue 21, item 3: nothing from a file is Markdown. Every Streamlit call that reads its text
as Markdown gets file-derived text only through ``app_support.markup`` (escaped, or inline
code); a static check over the app's sources holds that. What Streamlit's own renderer makes
of payload files on every page is checked in a browser (``test_browser_payloads.py``)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted([ROOT / "app.py", ROOT / "app_common.py", *(ROOT / "app_support").glob("*.py"),
                  *(ROOT / "pages").glob("*.py")])

MARKDOWN_CALLS = {
    "warning", "error", "info", "success", "caption", "markdown", "metric", "toast", "expander", "title",
    "header", "subheader", "button", "download_button", "checkbox", "toggle", "radio", "text_input", "text_area",
    "number_input", "selectbox", "multiselect", "slider", "select_slider", "file_uploader", "tabs", "popover",
    "form_submit_button", "link_button", "page_link", "status", "spinner", "pills", "segmented_control",
    "date_input", "color_picker", "progress", "write",
}
"""Streamlit calls whose label, body, help or text Streamlit renders as Markdown."""
MARKDOWN_KEYWORDS = ("label", "body", "help", "text", "captions")
FIRST_ARG_IS_NOT_TEXT = {"page_link", "progress"}
"""Their first argument is a page or a number; the text goes by keyword."""
ESCAPERS = {"markdown_escape", "markdown_code", "len"}

REVIEWED = {
    ("app_common.py", "title"): "page titles: the constants each page passes to start_page",
    ("app_support/access.py", "title"): "the sign-in page's titles: constants",
    ("app_common.py", "label"): "NEXT_STEPS' constant labels",
    ("app_common.py", "spinner"): "load_then_rerun: every caller's spinner text is a constant",
    ("app_support/access.py", "line"): "the sign-in page's lines: constants, with the e-mail and errors as markdown_code",
    ("pages/data.py", "msg"): "one of two constant sentences set by _open_bytes",
    ("pages/data.py", "mapping_msg"): "the constant \"Mapping saved.\"",
    ("pages/review.py", "label"): "\"Undo\" or \"Undo (u)\"",
    ("app_support/markup.py", "prefix + markdown_code(message)"): "show_error: every caller's prefix is a constant",
    ("pages/augment.py", "text"): "PhaseClock.line: a phase's name and its counts",
    ("pages/augment.py", "' · '.join(last['phases'])"): "PhaseClock.line's, as the run left them",
}
"""Arguments that are not escaped because every value they take is the app's own text."""


def _safe(node: ast.expr) -> bool:
    """Whether ``node`` can only be the app's own text or text escaped by ``app_support.markup``."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Call):
        f = node.func
        return (f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None) in ESCAPERS
    if isinstance(node, ast.JoinedStr):  # a format spec (`{n:,}`) is a number's
        return all(isinstance(v, ast.Constant) or (isinstance(v, ast.FormattedValue)
                                                   and (v.format_spec is not None or _safe(v.value)))
                   for v in node.values)
    if isinstance(node, ast.BinOp):
        return _safe(node.left) and _safe(node.right)
    if isinstance(node, ast.IfExp):
        return _safe(node.body) and _safe(node.orelse)
    if isinstance(node, (ast.List, ast.Tuple)):
        return all(_safe(e) for e in node.elts)
    return False


def _markdown_arguments(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        name, receiver = node.func.attr, node.func.value
        if name not in MARKDOWN_CALLS:
            continue
        if name == "write" and not (isinstance(receiver, ast.Name) and receiver.id == "st"):
            continue  # a file handle's write, not st.write
        args = [] if name in FIRST_ARG_IS_NOT_TEXT else node.args[:1]
        args += [k.value for k in node.keywords if k.arg in MARKDOWN_KEYWORDS]
        for arg in args:
            yield node.lineno, name, arg


def test_every_markdown_call_gets_escaped_or_own_text():
    unescaped = []
    for path in SOURCES:
        rel = path.relative_to(ROOT).as_posix()
        for line, name, arg in _markdown_arguments(path):
            if _safe(arg) or (rel, ast.unparse(arg)) in REVIEWED:
                continue
            unescaped.append(f"{rel}:{line}: {name}({ast.unparse(arg)[:80]})")
    assert unescaped == [], "pass file-derived text through app_support.markup:\n" + "\n".join(unescaped)


def test_the_check_sees_an_unescaped_f_string(tmp_path):
    page = tmp_path / "page.py"
    page.write_text('import streamlit as st\nfor w in warnings:\n    st.warning(w)\n'
                    'st.caption(f"Tags file: {name}")\nst.caption(f"{n:,} rows")\n'
                    'st.caption(f"Tags file: {markdown_escape(name)}")\n')
    flagged = [ast.unparse(arg) for _, _, arg in _markdown_arguments(page) if not _safe(arg)]
    assert sorted(flagged) == ["f'Tags file: {name}'", "w"]

