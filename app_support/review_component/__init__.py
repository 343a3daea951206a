"""The review list and the one-at-a-time view as one Streamlit component (components v2: no
iframe). Decisions show in the browser at once and are queued (in ``localStorage`` too) and
sent in order, batched when they come fast, as the trigger value ``batch``; the page applies
them with :func:`augment_core.review.queue.apply_queue` and answers with their outcomes in
the next data (``acks``). See ``review.js`` for the browser side: it builds every piece of
untrusted text with ``textContent``, never ``innerHTML``.

What is sent to the browser is plain data: texts and their change spans, checked here to
fit the text they mark.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import streamlit as st

from augment_core.augment.changes import Change
from augment_core.review import highlight
from augment_core.review.candidates import CandidateRow
from augment_core.review.filters import Group

HERE = Path(__file__).resolve().parent
KEY = "review_component"

_component = st.components.v2.component(
    "augment_review.review",
    html="",
    css=(HERE / "review.css").read_text(encoding="utf-8"),
    js=(HERE / "review.js").read_text(encoding="utf-8"),
    isolate_styles=False,
)


def variant_spans(text: str, changes: Sequence[Change]) -> list[list[Any]]:
    """``[start, end, kind, before]`` over the variant, in order; spans that do not fit are dropped."""
    out: list[list[Any]] = []
    pos = 0
    for ch in sorted(changes, key=lambda c: (c.start, c.end)):
        if ch.start < pos or ch.end > len(text) or ch.start < 0:
            continue
        kind = "delete" if ch.kind == "delete" or (not ch.after and ch.before) else ch.kind
        out.append([ch.start, ch.end, kind if kind in ("delete", "insert") else "substitute", ch.before])
        pos = ch.end
    return out


def original_marks(original: str, changes: Iterable[Sequence[Change]], merge: bool = True) -> list[list[Any]]:
    """``[start, end, "old" | "old-delete", ""]`` over the original, as the browser draws spans
    (see :func:`augment_core.review.highlight.original_marks`)."""
    return [[start, end, kind, ""] for start, end, kind in highlight.original_marks(original, changes, merge)]


def item_payload(it: CandidateRow, meta: list[str]) -> dict[str, Any]:
    return {
        "key": it.key, "parent": it.parent_id, "text": it.text, "original": it.original_text,
        "tags": ", ".join(it.tags), "meta": meta, "spans": variant_spans(it.text, it.changes),
        "ospans": original_marks(it.original_text, [it.changes], merge=False),
    }


def group_payload(group: Group, meta_of: Callable[[CandidateRow], list[str]]) -> dict[str, Any]:
    return {
        "parent": group.parent_id, "original": group.original_text,
        "tags": ", ".join(group.items[0].tags) if group.items else "",
        "omarks": original_marks(group.original_text, [it.changes for it in group.items]),
        "items": [item_payload(it, meta_of(it)) for it in group.items],
    }


def signature(*parts: object) -> str:
    """What the browser rebuilds its rows for (a new page, filter, layout or mode); a rerun
    with the same signature only refreshes decisions, counters and marks."""
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:16]


def review_view(data: dict[str, Any], on_batch: Callable[[], None], on_page: Callable[[], None] | None = None) -> Any:
    """Mount the component; ``on_batch`` runs (before the rerun) when the browser sends
    decisions, ``on_page`` when it asks for another page (``j`` past the last variant)."""
    callbacks: dict[str, Callable[[], None]] = {"on_batch_change": on_batch}
    if on_page is not None:
        callbacks["on_page_change"] = on_page
    return _component(key=KEY, data=data, height="content", **callbacks)


def sent_value(name: str) -> Any:
    """The trigger value ``name`` the browser just sent (in its callback), or None."""
    value = st.session_state.get(KEY)
    if value is None:
        return None
    try:
        return value.get(name)
    except AttributeError:
        return getattr(value, name, None)


def sent_batch() -> Any:
    """The batch the browser just sent (in ``on_batch``), or None."""
    return sent_value("batch")
