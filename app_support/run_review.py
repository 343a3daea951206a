"""The pages' parts for runs made by the CLI or on Ray: loading one (Augment), reviewing a
sampled one rule by rule (Review), and exporting it from its files (Export).

Kept apart from the pages so each page only calls one function here; the work is
:mod:`augment_core.review.run_import`, :mod:`augment_core.review.rule_sample` and
:mod:`augment_core.review.rule_export`. Session-state keys start with the page's prefix.
"""

from __future__ import annotations

import html
from typing import Any

import streamlit as st

import app_common as common
from app_support import access, loaders, writes
from app_support.markup import markdown_escape, show_error
from app_support.store import get_store
from augment_core.data.io import manifest_path
from augment_core.errors import InputError
from augment_core.review import rule_export, run_import
from augment_core.review.highlight import badge_html, candidate_block_html, meta_html
from augment_core.review.rule_sample import (
    DEFAULT_PER_RULE,
    MAX_WHOLE,
    STORE_WHOLE_UP_TO,
    by_stratum,
    rule_decided,
    strata_of,
)
from augment_core.review.store import RunInfo, Store, rule_key
from augment_core.serve.policy import Action

STORE_CHOICES = {"auto": "whole up to {n:,} variants, else by sample", "whole": "whole", "sample": "by sample"}
RULES_PER_PAGE = 10


def _dataset_for(store: Store, hash: str) -> Any:
    return lambda settings: loaders.load_dataset_as(store, hash, dict(settings))


def sampled_runs(store: Store, hash: str) -> list[RunInfo]:
    return [r for r in store.runs(hash) if run_import.is_sampled(r.params)]


# --- Augment: load a run ---------------------------------------------------------------------


def server_path_offered(action: Action, what: str) -> bool:
    """Whether to show a field taking a path on the server: only to whom may ``action``, and
    only when there are server folders to keep it in (else one line saying why not)."""
    if not access.reviewer_note(action, what):
        return False
    if not access.server_dirs():
        st.caption(f"To {markdown_escape(what)}, the operator lists the server folders it may use: server_dirs in the "
                   "[augment_review] section of .streamlit/secrets.toml, or AUGMENT_REVIEW_SERVER_DIRS.")
        return False
    return True


def load_run(store: Store, hash: str, path: str, **options: Any) -> run_import.ImportResult:
    """Import the run at ``path`` for an admin, the path kept inside the server folders
    (InputError, one line, nothing read, otherwise)."""
    access.authorize(Action.LOAD_RUN)
    where = access.server_dirs().confine(path, must_exist=True)
    return run_import.import_run(store, hash, where, dataset_for=_dataset_for(store, hash), **options)


def load_run_section(store: Store, hash: str) -> None:
    """A path on this machine (a Ray folder, its manifest.json, or a CLI output file), how to
    store it, and the button; the result or one error line."""
    st.subheader("Load a run from the CLI / Ray")
    if not server_path_offered(Action.LOAD_RUN, "load a run from the server's disk"):
        return
    st.caption("A run made with `augment-review augment` (`--runner local`, `stream` or `ray`) on this dataset: "
               "a Ray output folder or its manifest.json, or a CSV, JSONL or Parquet output file. The path is read on "
               "the machine the app runs on. The run is checked against this dataset row by row. A run too large to "
               "review one by one is stored by sample (a seeded sample per alias rule) and reviewed rule by rule. "
               + markdown_escape(f"The path must lie in the server folders: {access.server_dirs().describe()}."))
    path = st.text_input("Run folder, manifest.json or output file", key="augment_import_path",
                         placeholder="/data/runs/augmented/ or out/augmented.parquet")
    c1, c2, c3 = st.columns(3)
    how = c1.selectbox("Store the run", list(STORE_CHOICES), key="augment_import_how",
                       format_func=lambda k: STORE_CHOICES[k].format(n=MAX_WHOLE))
    per_rule = c2.number_input("Sampled variants per rule", 1, 1000, DEFAULT_PER_RULE, key="augment_import_per_rule")
    seed = c3.number_input("Sample seed", 0, 2**31 - 1, 0, key="augment_import_seed")
    if st.button("Load run", key="augment_import_go", disabled=not path.strip()):
        max_whole = STORE_WHOLE_UP_TO[how]
        common.load_then_rerun("augment_import_result", "Reading and checking the run…", "The run was not loaded: ",
                               lambda: load_run(store, hash, path.strip(), max_whole=max_whole,
                                                per_rule=int(per_rule), sample_seed=int(seed)))
    result = common.loaded_result(store, hash, "augment_import_result")
    if result is not None:
        how_stored = (f"stored by sample: {result.candidates:,} variants over {result.rules:,} rules; review it rule "
                      "by rule (Review, mode \"By rule (sampled runs)\")" if result.sampled else "stored whole")
        st.success(f"Run {result.run_id:d} loaded: {result.rows:,} rows, {result.variants:,} variants; "
                   f"{markdown_escape(how_stored)}.")
        st.page_link("pages/review.py", label="Next: review it", icon=":material/fact_check:")


# --- Review: rule by rule ----------------------------------------------------------------


def _rule_write(store: Store, hash: str, run_id: int, rule: str, decision: str | None, shown: str | None,
                n: int) -> None:
    label = f"{decision or 'clear'} rule {rule} ({n:,} rows, run {run_id})"
    outcome = writes.write_decisions(store, hash, {rule_key(run_id, rule): decision}, {rule_key(run_id, rule): shown},
                                     label)
    if outcome.message:
        st.session_state["review_warning"] = outcome.message
    else:
        st.session_state["review_notice"] = f"{label}: written."


def _row_write(store: Store, hash: str, key: str, decision: str, shown: str | None) -> None:
    outcome = writes.write_decisions(store, hash, {key: decision}, {key: shown}, f"{decision} {key}")
    if outcome.message:
        st.session_state["review_warning"] = outcome.message


def _set_rule_page(page: int) -> None:
    st.session_state["review_rules_page"] = page


def rule_review(store: Store, hash: str) -> None:
    """Each rule of a sampled run: its count, keyword agreement, decision, sampled variants
    (each decidable), and Accept rule / Reject rule for every row of the rule."""
    runs = sampled_runs(store, hash)
    if not runs:
        st.info("No run reviewed by sample: load a large run from the CLI or Ray on the Augment page.")
        return
    by_id = {r.id: r for r in runs}
    run_id = st.selectbox("Sampled run", list(by_id), index=len(runs) - 1, key="review_rules_run",
                          format_func=lambda i: f"run {i}: {by_id[i].params.get('variants', 0):,} variants")
    run = by_id[run_id]
    info = run_import.imported(run.params) or {}
    st.text(f"Run {run.id}: {info.get('rows', 0):,} rows, {run.params.get('variants', 0):,} variants, from "
            f"{info.get('path')}; {info.get('per_rule')} sampled per rule (seed {info.get('sample_seed')}).")
    st.caption("A decision on a rule applies to every variant of the rule in the run (the export reads the run's "
               "files again); a decision on a sampled variant takes precedence over its rule's. A variant with "
               "several rules is accepted when all its rules are, rejected when one is. The filters above do not "
               "apply here.")
    rules = store.run_rules(run.id)
    c1, c2 = st.columns([3, 1])
    text = c1.text_input("Rule contains", key="review_rules_search").strip().lower()
    only_open = c2.checkbox("Only undecided rules", key="review_rules_open")
    decided = store.rule_decisions(hash, run.id, reviewer=access.reviewer())
    shown_rules = [r for r in rules if (not text or text in r.rule.lower()) and not (only_open and r.rule in decided)]
    n_rows = sum(r.n_rows for r in rules)
    done = sum(r.n_rows for r in rules if r.rule in decided)
    m = st.columns(4)
    m[0].metric("Rules", f"{len(rules):,}")
    m[1].metric("Rules decided", f"{len(decided):,}")
    m[2].metric("Rows under a decided rule", f"{done:,}")
    m[3].metric("Rows under an open rule", f"{n_rows - done:,}")
    _notice_and_undo(store, hash)
    n_pages = max(1, -(-len(shown_rules) // RULES_PER_PAGE))
    page = min(max(1, int(st.session_state.get("review_rules_page", 1))), n_pages)
    p1, p2, p3 = st.columns([1, 3, 1], vertical_alignment="center")
    p1.button("← Previous rules", key="review_rules_prev", disabled=page <= 1, on_click=_set_rule_page, args=(page - 1,))
    p2.text(f"Page {page} of {n_pages} · {len(shown_rules):,} rules")
    p3.button("Next rules →", key="review_rules_next", disabled=page >= n_pages, on_click=_set_rule_page,
              args=(page + 1,))
    sample = by_stratum(loaders.load_items(store, hash, (run.id,)))
    decisions = writes.decisions(store, hash)
    for i, rule in enumerate(shown_rules[(page - 1) * RULES_PER_PAGE : page * RULES_PER_PAGE]):
        current = decided.get(rule.rule)
        with st.container(border=True):
            agreement = (f"keyword agreement {rule.agreement:.2f} of {rule.support} rows" if rule.agreement is not None
                         else "")
            st.html(f"<b>{html.escape(rule.rule)}</b> " + badge_html(current) + " " + meta_html(
                [f"{rule.n_rows:,} rows in the run", f"{rule.n_sampled} sampled", agreement]))
            b1, b2, b3 = st.columns(3)
            b1.button(f"Accept rule ({rule.n_rows:,} rows)", key=f"review_rules_accept_{run.id}_{i}_{page}",
                      type="primary" if current == "accepted" else "secondary", disabled=current == "accepted",
                      on_click=_rule_write, args=(store, hash, run.id, rule.rule, "accepted", current, rule.n_rows),
                      width="stretch")
            b2.button(f"Reject rule ({rule.n_rows:,} rows)", key=f"review_rules_reject_{run.id}_{i}_{page}",
                      type="primary" if current == "rejected" else "secondary", disabled=current == "rejected",
                      on_click=_rule_write, args=(store, hash, run.id, rule.rule, "rejected", current, rule.n_rows),
                      width="stretch")
            b3.button("Clear rule decision", key=f"review_rules_clear_{run.id}_{i}_{page}", disabled=current is None,
                      on_click=_rule_write, args=(store, hash, run.id, rule.rule, None, current, rule.n_rows),
                      width="stretch")
            for it in sample.get(rule.rule, []):
                d = decisions.get(it.key)
                ruled = rule_decided(strata_of(it.augmenter, it.changes), decided)
                note = f"{ruled} by its rule{'s' if len(it.rules) > 1 else ''}" if d is None and ruled else ""
                c1, c2, c3 = st.columns([7, 1.2, 1.2], vertical_alignment="center")
                with c1:
                    st.html(candidate_block_html(it.text, it.changes, d, meta=[f"original {it.parent_id}", *it.tags],
                                                 note=note))
                c2.button("Accept", key=f"review_rules_a_{it.key}_{i}", on_click=_row_write,
                          args=(store, hash, it.key, "accepted", d), type="primary" if d == "accepted" else "secondary",
                          width="stretch")
                c3.button("Reject", key=f"review_rules_r_{it.key}_{i}", on_click=_row_write,
                          args=(store, hash, it.key, "rejected", d), type="primary" if d == "rejected" else "secondary",
                          width="stretch")


def _undo() -> None:
    store = get_store()
    hash = common.current_hash()
    if hash is None:
        return
    result, line = writes.undo(store, hash)
    if line:
        st.session_state["review_warning"] = line
    elif result is not None:
        st.session_state["review_notice"] = f"Undone: {result.label}."


def _notice_and_undo(store: Store, hash: str) -> None:
    writes.review_messages(hash)
    what = writes.last_undoable(store, hash)
    st.button("Undo", key="review_rules_undo", on_click=_undo, icon=":material/undo:", disabled=what is None,
              help=markdown_escape(f"Undo this tab's latest action: {what}") if what else "Nothing of this tab's to undo.")


# --- Export: from the run's files ------------------------------------------------------------


def sampled_export_section(store: Store, hash: str) -> None:
    """Runs reviewed by sample are exported from their files, streamed, to a path on this
    machine (they can be far larger than a download), with the manifest beside the file."""
    runs = sampled_runs(store, hash)
    if not runs:
        return
    st.subheader("Runs reviewed by sample")
    st.caption("These runs were loaded from the CLI or Ray and reviewed rule by rule: their export reads the run's "
               "files again, applies each rule's decision to every variant of the rule (a decision on a sampled "
               "variant wins) and writes the curated file on this machine, with its manifest beside it. They are "
               "not in the download above.")
    if not server_path_offered(Action.WRITE_SERVER_FILE, "write a curated file on the server"):
        return
    by_id = {r.id: r for r in runs}
    run_id = st.selectbox("Run", list(by_id), index=len(runs) - 1, key="export_sampled_run",
                          format_func=lambda i: f"run {i}: {by_id[i].params.get('variants', 0):,} variants")
    c1, c2 = st.columns([3, 1])
    out = c1.text_input("Write to (a .csv, .jsonl or .parquet path on this machine)", key="export_sampled_path",
                        placeholder="out/curated.parquet")
    include_eval = c2.checkbox("Also val/test rows", key="export_sampled_eval")
    me = access.reviewer()
    others = [r for r in store.run_reviewers(hash, run_id) if r != me]
    if others:
        st.info(markdown_escape(
            f"This writes your decisions only (you review as {me}). {', '.join(others)} also decided on this run: "
            "a run reviewed by sample offers no unanimous or majority export, since a rule's decision stands for "
            "rows nobody looked at one by one; to export another reviewer's decisions, run "
            f"`augment-review export-run {run_id} --reviewer EMAIL`."), icon=":material/group:")
    if st.button("Write the curated file", key="export_sampled_go", disabled=not out.strip(), type="primary"):
        try:
            manifest = write_sampled_export(store, hash, by_id[run_id], out.strip(), include_eval)
        except InputError as exc:
            show_error(exc, prefix="Not written: ")
        else:
            r = manifest["review"]
            st.success(f"Wrote {manifest['export']['rows']:,} rows to {markdown_escape(out.strip())} ({r['variants']['accepted']:,} "
                       f"accepted variants: {r['accepted_by_rule']:,} by their rule, {r['accepted_individually']:,} "
                       f"one by one; {r['variants']['undecided']:,} undecided left out) and its manifest beside it.")


def write_sampled_export(store: Store, hash: str, run: RunInfo, out: str, include_eval: bool) -> dict[str, Any]:
    """The curated file and ``<file>.manifest.json`` beside it, as a pair, neither of them an input,
    for an admin, both inside the server folders (InputError, one line, nothing written, otherwise)."""
    access.authorize(Action.WRITE_SERVER_FILE)
    dirs = access.server_dirs()
    out = str(dirs.confine(out))
    dirs.confine(manifest_path(out))
    return rule_export.write_sampled_export(store, hash, run, out, include_eval=include_eval,
                                            reviewer=access.reviewer(), dataset_for=_dataset_for(store, hash))
