"""Review: every variant beside its original, changed words highlighted; accept or reject
one at a time or in bulk by filter, undo, and a focused mode with keyboard shortcuts.

The list and the one-at-a-time view are the review component (``app_support.review_component``):
a decision shows in the browser at once and is queued there; the browser sends the queue in
order and ``_on_batch`` writes it through ``writes.apply_browser_queue``, each decision checked
against the database, its outcome sent back with the next data. Bulk actions, pages and Undo
are Streamlit buttons; every run of the list reads the decisions from the database, and every
write carries what the page showed, so a write made meanwhile in another tab is never
overwritten unknowingly (``writes.write_decisions``). Undo reverts this tab's own actions only."""

from __future__ import annotations

import dataclasses
import os
import time

import streamlit as st

import app_common as common
from app_support import access, review_cache, run_review, writes
from app_support import review_component as rc
from app_support.markup import CSS, markdown_escape
from app_support.view_state import Field, publish, restore
from augment_core.review import filters as review
from augment_core.review import query, reviewers
from augment_core.review.candidates import CandidateRow
from augment_core.review.highlight import (
    badge_html,
    candidate_block_html,
    group_original_html,
    legend_html,
    meta_html,
    variant_html,
)
from augment_core.review.store import StoreBusy

GROUPS_PER_PAGE = 20
RULE_MODE = "By rule (sampled runs)"  # runs loaded by sample: each rule's sample, decided for the whole rule
# One at a time: the browser gets the matching variants from a few before the first undecided
# one to 200 after it, and walks them without a server round trip.
FOCUS_BEHIND, FOCUS_AHEAD = 20, 200
LAYOUTS = ["Stacked", "Side by side"]
store, hash, _mapped = common.start_page("Review", build=False)
scope = review_cache.review_scope(store, hash)
if not scope.run_ids or not writes.progress_counts(store, hash)["total"]:
    st.info("No variants to review yet: run an augmenter on the Augment page.")
    st.page_link("pages/augment.py", label="Go to Augment", icon=":material/auto_awesome:")
    st.stop()
info = review_cache.load_facets(store, hash)
facets = info["facets"]
st.html(CSS + legend_html())

# --- filters and sorting (a change reruns the page; a decision reruns only the list) -------


def _by_count(counter) -> list:
    return [k for k, _ in counter.most_common()]


# The view (filters, sort, mode, page) lives in the URL: a reload or a shared link shows it.
VIEW = {
    "review_status": Field("status", "one", review.STATUSES[0]),
    "review_sort": Field("sort", "one", review.SORTS[0]),
    "review_mode": Field("mode", "one", "List"),
    "review_search": Field("q", "text", ""),
    "review_augmenters": Field("augmenter", "many", []),
    "review_rules": Field("rule", "many", []),
    "review_tags": Field("tag", "many", []),
    "review_flags": Field("flag", "many", []),
    "review_runs": Field("run", "many", []),
    "review_similarity": Field("similarity", "range", (0.0, 1.0)),
    "review_word_changes": Field("word", "many", []),
    "review_agreement_below": Field("agreement_below", "number", 1.0),
    "review_page": Field("page", "int", 1, hi=1e9),
    "review_layout": Field("layout", "one", LAYOUTS[0]),
}
agreement = info["rule_agreement"]
options = {
    "review_status": review.STATUSES, "review_sort": review.SORTS,
    "review_mode": ["List", "One at a time", *([RULE_MODE] if run_review.sampled_runs(store, hash) else [])],
    "review_augmenters": _by_count(facets["augmenter"]),
    "review_rules": review.rules_by_agreement(facets["rule"], agreement),
    "review_tags": _by_count(facets["tag"]), "review_flags": _by_count(facets["flag"]),
    "review_runs": sorted(facets["run"]), "review_word_changes": _by_count(facets["word_change"]),
    "review_layout": LAYOUTS,
}
restore(VIEW, options, "review_view", common.page_entered())

with st.expander("Filters and sorting", expanded=True):
    c1, c2, c3, c4 = st.columns([1, 1, 1, 2])
    status = c1.selectbox("Status", options["review_status"], key="review_status")
    order = c2.selectbox("Sort", options["review_sort"], key="review_sort")
    mode = c3.selectbox("Mode", options["review_mode"], key="review_mode")
    search = c4.text_input("Text contains", key="review_search")
    c1, c2, c3 = st.columns(3)
    augmenters = c1.multiselect("Augmenter", options["review_augmenters"], key="review_augmenters")
    rules = c2.multiselect(
        "Alias rule (least agreeing keyword first)", options["review_rules"],
        key="review_rules", format_func=lambda r: review.rule_label(r, facets["rule"][r], agreement.get(r)),
        placeholder="e.g. cv -> computer vision",
        help="Agreement: of the train rows containing the replaced keyword, the share that carry its tag. "
        "Low agreement means the keyword often means something else in this data.",
    )
    tags = c3.multiselect("Tag", options["review_tags"], key="review_tags")
    c1, c2, c3 = st.columns(3)
    flags = c1.multiselect("Flag", options["review_flags"], key="review_flags")
    run_ids = c2.multiselect("Run", options["review_runs"], key="review_runs")
    similarity = None
    if info["has_similarity"]:
        lo, hi = c3.slider("Similarity", 0.0, 1.0, step=0.01, key="review_similarity")
        if (lo, hi) != (0.0, 1.0):
            similarity = (lo, hi)
    c1, c2, _ = st.columns(3)
    word_changes = c1.multiselect(
        "Word change (contextual)", options["review_word_changes"], key="review_word_changes",
        format_func=lambda w: f"{w}  ({facets['word_change'][w]})", placeholder="e.g. of -> for",
    )
    agreement_below = None
    if agreement:
        below = c2.slider("Keyword agreement below", 0.0, 1.0, step=0.05, key="review_agreement_below",
                          help="Only alias swaps of keywords whose train-split agreement is below this; 1 shows all.")
        agreement_below = below if below < 1.0 else None

publish(VIEW, "review_view")

flt = review.Filter(
    augmenters=frozenset(augmenters), rules=frozenset(rules), word_changes=frozenset(word_changes),
    tags=frozenset(tags), flags=frozenset(flags), runs=frozenset(run_ids), similarity=similarity,
    agreement_below=agreement_below, status=status, search=search.strip(),
)



# --- several reviewers (shown only once someone else has decided on this dataset) -----------

# this run's decisions of every reviewer (read in _team_view), for the rows' meta line
TEAM: dict = {"by_reviewer": {}}
ANYONE = "anyone"


def _team_view(flt: review.Filter) -> review.Filter:
    """With other reviewers' decisions on the dataset: the conflicts count, each pair's
    agreement (Cohen's kappa) and the reviewer and conflicts filters, added to ``flt``.
    Alone: nothing shown, ``flt`` as it is."""
    me = access.reviewer()
    TEAM["by_reviewer"] = {}
    if not [r for r in store.reviewers(hash) if r != me]:
        return flt
    by_reviewer = store.decisions_by_reviewer(hash, scope.run_ids)
    TEAM["by_reviewer"] = by_reviewer
    names = reviewers.reviewers_of(by_reviewer)
    conflicts = reviewers.conflicts(by_reviewer)
    pairs = reviewers.pairwise_agreement(by_reviewer)
    c1, c2, c3 = st.columns([1, 1, 2], vertical_alignment="bottom")
    by = c1.selectbox("Decided by", [ANYONE, *names], key="review_decided_by",
                      help="Only the variants this reviewer decided (the status and buttons stay your own decisions).")
    only_conflicts = c2.toggle("Conflicts only", key="review_conflicts_only",
                               help="Only the variants reviewers decided differently.")
    m = c3.columns(min(len(pairs), 3) + 1)
    m[0].metric("Conflicts", f"{len(conflicts):,}", help="Variants reviewers decided differently.")
    for col, pair in zip(m[1:], pairs):
        col.metric(markdown_escape(f"Kappa {pair.a} · {pair.b}"),
                   "n/a" if pair.kappa is None else f"{pair.kappa:.2f}", help=markdown_escape(pair.describe()))
    st.caption(markdown_escape(f"You review as {me}. Agreement (Cohen's kappa over the variants both decided): "
                               + "; ".join(p.describe() for p in pairs) + "."))
    return dataclasses.replace(flt, decided_by=None if by == ANYONE else by, conflicts=bool(only_conflicts))


def _queue_scope() -> str:
    """Where the browser keeps this page's queue of unsaved decisions (``localStorage``): per
    dataset, and per reviewer once signed in, so decisions left unsaved by one account are never
    sent by the next one to sign in on the same browser (they would be recorded as that one's)."""
    me = access.reviewer()
    return hash if me == reviewers.LOCAL_REVIEWER else f"{hash}|{me}"


def _meta(it: CandidateRow) -> list:
    parts = [it.augmenter, f"run {it.run_id}"]
    if TEAM["by_reviewer"] and reviewers.decisions_on(TEAM["by_reviewer"], it.key):
        parts.append("reviewers: " + reviewers.others_line(TEAM["by_reviewer"], it.key))
    if it.rules:
        parts.append(", ".join(it.rules))
    if it.agreement is not None:
        parts.append(f"keyword agreement {it.agreement:.2f} of {it.support} rows")
    if it.word_changes:
        parts.append(", ".join(it.word_changes[:6]) + (" ..." if len(it.word_changes) > 6 else ""))
    if it.similarity is not None:
        parts.append(f"similarity {it.similarity:.2f}")
    if it.flags:
        parts.append("flags: " + ", ".join(it.flags))
    return parts


def _progress() -> dict:
    counts = writes.progress_counts(store, hash)
    m = st.columns(5)
    m[0].metric("Candidates", f"{counts['total']:,}")
    m[1].metric("Reviewed", f"{counts['reviewed']:,}")
    m[2].metric("Accepted", f"{counts['accepted']:,}")
    m[3].metric("Rejected", f"{counts['rejected']:,}")
    m[4].metric("Left", f"{counts['left']:,}")
    st.progress(counts["reviewed"] / counts["total"] if counts["total"] else 0.0)
    return counts


def _report(outcome: writes.WriteOutcome, done: str = "") -> None:
    """A warning line (not saved yet, or conflicts) or a toast for what was written."""
    if outcome.message:
        st.session_state["review_warning"] = outcome.message
    elif done:
        st.session_state["review_notice"] = done


def _decide(key: str, decision: str, shown: str | None) -> None:
    outcome = writes.write_decisions(store, hash, {key: decision}, {key: shown}, f"{decision} {key}")
    _report(outcome)


def _bulk(flt: review.Filter, decision: str, only_undecided: bool, seen: float) -> None:
    """A bulk decision over the filter, in SQL, as one undoable action of this tab; variants
    decided since the page read the decisions (``seen``) are left alone."""
    try:
        result = query.bulk(store, scope, flt, decision, only_undecided, origin=writes.tab_origin(), seen=seen)
    except StoreBusy as exc:
        st.session_state["review_warning"] = f"Bulk {decision[:-2]} not made: {exc}. Nothing changed; try again."
        return
    st.session_state["review_notice"] = f"{result.label or 'bulk'}: {result.changed:,} decision(s) written."
    if result.conflicts:
        st.session_state["review_warning"] = (
            f"{result.label or 'bulk'}: {result.conflicts:,} variant(s) left as they are: decided in another tab or "
            "session since this page showed them (the page now shows the saved decisions).")


def _undo() -> None:
    result, line = writes.undo(store, hash)
    if line:
        st.session_state["review_warning"] = line
    if result is not None:
        if not line:
            st.session_state["review_notice"] = f"Undone: {result.label} ({len(result.restored):,} decision(s))."
        if len(result.restored) == 1:
            st.session_state["review_focus_key"] = next(iter(result.restored))


def _on_batch() -> None:
    """Decisions the browser sent: saved in order, checked against the database; their
    outcomes go back with the next data."""
    writes.apply_browser_queue(store, hash, rc.sent_batch())


def _instant() -> bool:
    """The list and one-at-a-time view as the component (decisions shown at once, saved in the
    background); off (``AUGMENT_REVIEW_INSTANT=0``): Streamlit buttons, a round trip a click
    (what the AppTest suite drives, since AppTest runs no browser code)."""
    return os.environ.get("AUGMENT_REVIEW_INSTANT", "1") != "0"


def _layout() -> str:
    return "side" if st.session_state.get("review_layout") == "Side by side" else "stacked"


def _on_page() -> None:
    """``j`` past the page's last variant (or ``k`` before its first) in the component: turn the page."""
    wanted = rc.sent_value("page")
    if isinstance(wanted, dict) and isinstance(wanted.get("to"), int) and wanted["to"] >= 1:
        _set_page(wanted["to"])


def _set_page(page: int) -> None:
    st.session_state["review_page"] = page
    publish({"review_page": VIEW["review_page"]}, "review_view")  # a fragment run: the URL follows


def _notice() -> None:
    writes.review_messages(hash)


def _undo_button(container, key: str, short: bool = False) -> None:
    """Undo reverts this tab's latest action only; its tooltip names the action and its time."""
    what = writes.last_undoable(store, hash)
    label = "Undo (u)" if short else "Undo"
    container.button(label, key=key, on_click=_undo, icon=":material/undo:", width="stretch", disabled=what is None,
                     help=markdown_escape(f"Undo this tab's latest action: {what}") if what else "Nothing of this tab's to undo "
                     "(Undo reverts only what was done in this tab).")


def _layout_choice() -> None:
    if _instant():
        st.segmented_control("Layout", LAYOUTS, key="review_layout", label_visibility="collapsed",
                             help="Side by side: the original left, the variant right, changed words marked on both sides.")
        publish({"review_layout": VIEW["review_layout"]}, "review_view")  # a fragment run: the URL follows


# --- list mode -----------------------------------------------------------------------------


@st.fragment
def review_list(flt: review.Filter, order: str) -> None:
    seen = time.time()
    _notice()
    counts = _progress()
    flt = _team_view(flt)
    matching = review_cache.match_counts(store, hash, flt)

    b1, b2, b3, b4 = st.columns([2, 2, 2, 1], vertical_alignment="center")
    only_undecided = b3.checkbox("Bulk: only undecided", value=True, key="review_bulk_only_undecided")
    n_bulk = query.bulk_counts(matching, only_undecided)
    b1.button(f"Accept {n_bulk['accepted']:,} matching", key="review_bulk_accept", disabled=not n_bulk["accepted"],
              on_click=_bulk, args=(flt, "accepted", only_undecided, seen), width="stretch")
    b2.button(f"Reject {n_bulk['rejected']:,} matching", key="review_bulk_reject", disabled=not n_bulk["rejected"],
              on_click=_bulk, args=(flt, "rejected", only_undecided, seen), width="stretch")
    _undo_button(b4, "review_undo")

    found = query.page(store, scope, flt, order, st.session_state.get("review_page", 1), GROUPS_PER_PAGE,
                       counts=(matching["items"], matching["groups"]), near=st.session_state.get("review_page_mark"))
    st.session_state["review_page_mark"] = found.mark  # Next / Previous then seek from this page
    page, n_pages, shown = found.page, found.n_pages, found.groups
    p1, p2, p3 = st.columns([1, 3, 1], vertical_alignment="center")
    p1.button("← Previous", key="review_prev", disabled=page <= 1, on_click=_set_page, args=(page - 1,))
    p2.text(f"Page {page} of {n_pages} · {found.n_groups:,} originals · {found.n_items:,} variants match")
    p3.button("Next →", key="review_next", disabled=page >= n_pages, on_click=_set_page, args=(page + 1,))
    _layout_choice()
    if not shown:
        st.info("No variants match these filters.")
        return

    decisions = writes.decisions(store, hash, [it.key for g in shown for it in g.items])
    if not _instant():
        _classic_rows(shown, decisions)
        return
    rc.review_view({
        "hash": _queue_scope(), "mode": "list", "layout": _layout(), "epoch": time.time(), "page": page, "n_pages": n_pages,
        "origin": writes.tab_origin(),
        "sig": rc.signature("list", page, _layout(), flt, order, [it.key for g in shown for it in g.items]),
        "decisions": {it.key: decisions.get(it.key) for g in shown for it in g.items},
        "counts": counts, "can_undo": writes.last_undoable(store, hash) is not None,
        "acks": writes.browser_acks(), "groups": [rc.group_payload(g, _meta) for g in shown],
    }, on_batch=_on_batch, on_page=_on_page)


def _classic_rows(shown: list, decisions: dict) -> None:
    """The rows as Streamlit buttons, one server round trip a click (``AUGMENT_REVIEW_INSTANT=0``)."""
    unsaved = writes.unsaved_keys(hash)
    for group in shown:
        with st.container(border=True):
            tags_of = ", ".join(group.items[0].tags)
            st.html(meta_html([f"original {group.parent_id}", tags_of]) + group_original_html(
                group.original_text, [it.changes for it in group.items]))
            for it in group.items:
                key = it.key
                d = decisions.get(key)
                c1, c2, c3 = st.columns([7, 1.2, 1.2], vertical_alignment="center")
                with c1:
                    note = "not yet saved" if key in unsaved else ""
                    st.html(candidate_block_html(it.text, it.changes, d, meta=_meta(it), note=note))
                c2.button("Accept", key=f"review_a_{key}", on_click=_decide, args=(key, "accepted", d),
                          type="primary" if d == "accepted" else "secondary", width="stretch")
                c3.button("Reject", key=f"review_r_{key}", on_click=_decide, args=(key, "rejected", d),
                          type="primary" if d == "rejected" else "secondary", width="stretch")


# --- focused mode ----------------------------------------------------------------------------

KEYS_JS = """<script>
(function () {
  if (window.__augmentReviewKeys) return;
  window.__augmentReviewKeys = true;
  var map = {a: "review_focus_accept", r: "review_focus_reject", s: "review_focus_skip", u: "review_focus_undo"};
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) return;
    var name = map[(e.key || "").toLowerCase()];
    if (!name) return;
    var btn = document.querySelector(".st-key-" + name + " button");
    if (btn && !btn.disabled) { e.preventDefault(); btn.click(); }
  });
})();
</script>"""


def _focus_decide(key: str, decision: str, shown: str | None) -> None:
    _decide(key, decision, shown)
    st.session_state["review_focus_prev"] = key


def _focus_skip(key: str) -> None:
    st.session_state.setdefault("review_focus_skipped", set()).add(key)
    st.session_state["review_focus_prev"] = key
    st.session_state["review_focus_key"] = None


@st.fragment
def review_focus(flt: review.Filter, order: str) -> None:
    _notice()
    counts = _progress()
    flt = _team_view(flt)
    # every variant the filter matches, whatever its status: focus walks the undecided ones
    everything = review.Filter(**{**flt.__dict__, "status": "all"})
    window, n_matching, n_undecided = query.focus_window(store, scope, flt, order, FOCUS_BEHIND, FOCUS_AHEAD,
                                                         counts=review_cache.match_counts(store, hash, everything))
    decisions = writes.decisions(store, hash, [it.key for it in window])
    if _instant():
        c1, c2 = st.columns([4, 1], vertical_alignment="center")
        with c1:
            _layout_choice()
        _undo_button(c2, "review_undo", short=True)
        in_window = sum(1 for it in window if it.key not in decisions)
        rc.review_view({
            "hash": _queue_scope(), "mode": "focus", "layout": _layout(), "epoch": time.time(), "origin": writes.tab_origin(),
            "sig": rc.signature("focus", _layout(), flt, order, [it.key for it in window]),
            "decisions": {it.key: decisions.get(it.key) for it in window},
            "counts": counts, "can_undo": writes.last_undoable(store, hash) is not None,
            "acks": writes.browser_acks(), "items": [rc.item_payload(it, _meta(it)) for it in window],
            "matching": n_matching, "undecided_beyond": n_undecided - in_window,
        }, on_batch=_on_batch)
        return
    visible = window
    st.html(KEYS_JS, unsafe_allow_javascript=True)
    by_key = {it.key: it for it in visible}
    skipped = st.session_state.setdefault("review_focus_skipped", set())
    key = st.session_state.get("review_focus_key")
    if key not in by_key or key in decisions or key in skipped:
        key = review.next_undecided(visible, decisions, after=st.session_state.get("review_focus_prev"), skipped=skipped)
        st.session_state["review_focus_key"] = key
    st.text(f"{n_undecided:,} undecided of {n_matching:,} matching · keys: a accept · r reject · s skip · u undo")
    if key is None:
        st.success("Nothing left to review under these filters." + (" (Some were skipped.)" if skipped else ""))
        c1, c2 = st.columns(2)
        if skipped and c1.button("Review the skipped ones", key="review_focus_unskip"):
            skipped.clear()
            st.rerun(scope="fragment")
        _undo_button(c2, "review_focus_undo", short=True)
        return
    it = by_key[key]
    shown = decisions.get(key)
    with st.container(border=True):
        st.html(meta_html([f"original {it.parent_id}", ", ".join(it.tags)]) +
                group_original_html(it.original_text, [it.changes]))
        st.html(badge_html(shown) + " " + meta_html(_meta(it)) + variant_html(it.text, it.changes))
    c1, c2, c3, c4 = st.columns(4)
    c1.button("Accept (a)", key="review_focus_accept", type="primary", on_click=_focus_decide,
              args=(key, "accepted", shown), width="stretch")
    c2.button("Reject (r)", key="review_focus_reject", on_click=_focus_decide, args=(key, "rejected", shown),
              width="stretch")
    c3.button("Skip (s)", key="review_focus_skip", on_click=_focus_skip, args=(key,), width="stretch")
    _undo_button(c4, "review_focus_undo", short=True)


if mode == "List":
    review_list(flt, order)
elif mode == RULE_MODE:
    run_review.rule_review(store, hash)
else:
    review_focus(flt, order)
if _instant():
    # hidden; the component clicks it for a whole-page rerun when its batch gets no answer
    st.button("Resync", key="review_resync")
