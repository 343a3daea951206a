"""The page shell: the current dataset, the top of every page and the small helpers every page uses.

Not a page (``app.py`` lists the pages in ``pages/`` with ``st.navigation``). What a page
shares beyond its shell has its own module in ``app_support``: the store (``store``), the
cached loaders (``loaders``), the Review page's cached queries (``review_cache``), decisions
and this tab's pending writes (``writes``), sign-in, roles and server folders (``access``),
and the error box (``markup.show_error``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

import streamlit as st

from app_support.loaders import load_dataset
from app_support.markup import markdown_escape, show_error
from app_support.store import get_store
from augment_core.errors import InputError
from augment_core.review.store import Store, StoreBusy

ROOT = Path(__file__).resolve().parent
SAMPLE_CSV = ROOT / "data" / "projects.csv"
CURRENT = "current_dataset"
MISSING = "app_missing_dataset"
HASH_RE = re.compile(r"^[0-9a-f]{64}$")


def run_through_app() -> None:
    """Make sure this page runs inside ``app.py``.

    A Streamlit server that finds a ``pages/`` folder starts in its old multipage mode
    and, until ``app.py`` has called ``st.navigation`` once, serves a deep link such as
    ``/review?dataset=...`` by running ``pages/review.py`` alone: no store, no current
    dataset, no menu. Each page calls this first (most through ``start_page``); in that
    mode it runs ``app.py`` in its place, in this same script run (so the widget values of
    this run are kept), and stops the page's own lone run.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        import runpy

        runpy.run_path(str(ROOT / "app.py"), run_name="__main__")
        st.stop()


# --- the current dataset -----------------------------------------------------------------


def select_current_dataset(store: Store) -> str | None:
    """From ``?dataset=<hash>``, else this session's choice, else (a new session) the latest
    opened. A ``?dataset=`` that is malformed or names no stored dataset opens nothing: the
    session has no current dataset until the reviewer picks one, and :func:`dataset_notice`
    says why."""
    wanted = st.query_params.get("dataset")
    if wanted is not None:
        if wanted == st.session_state.get(CURRENT):
            pass
        elif HASH_RE.match(wanted) and store.has_dataset(wanted):
            st.session_state[CURRENT] = wanted
            st.session_state.pop(MISSING, None)
            _touch(store, wanted)
        else:
            st.session_state[CURRENT] = None
            st.session_state[MISSING] = wanted
            return None
    current = st.session_state.get(CURRENT)
    if current and not store.has_dataset(current):
        current = None
    if current is None and CURRENT not in st.session_state:
        recent = store.recent_datasets(limit=1)
        current = recent[0].hash if recent else None
    st.session_state[CURRENT] = current
    if current and st.query_params.get("dataset") != current:
        st.query_params["dataset"] = current
    return current


def dataset_notice() -> None:
    """One line when the URL named a dataset that is not here (never a surprise switch)."""
    missing = st.session_state.get(MISSING)
    if missing is None or st.session_state.get(CURRENT):
        return
    shown = missing if len(missing) <= 70 else missing[:70] + "…"
    st.warning(
        f"The link's dataset \"{markdown_escape(shown)}\" "
        f"{'is not a dataset id' if not HASH_RE.match(missing) else 'names no dataset stored here'}, so no dataset is open. "
        "Open one from the Data page (upload it, or pick a recent one).",
        icon=":material/link_off:",
    )


def _touch(store: Store, hash: str) -> None:
    """Mark a dataset as opened; only orders the recent list, so a busy database skips it."""
    try:
        store.touch_dataset(hash)
    except StoreBusy:
        pass


def open_dataset(store: Store, hash: str) -> None:
    _touch(store, hash)
    st.session_state[CURRENT] = hash
    st.session_state.pop(MISSING, None)
    st.query_params["dataset"] = hash
    for key in list(st.session_state):
        if key.startswith(("review_", "export_", "augment_last", "evaluate_")):
            del st.session_state[key]


PAGE = "app_page"
PREVIOUS_PAGE = "app_previous_page"


def note_page(url_path: str) -> None:
    """Remember which page this run shows (app.py, every run) and which the last one did."""
    st.session_state[PREVIOUS_PAGE] = st.session_state.get(PAGE)
    st.session_state[PAGE] = url_path


def page_entered() -> bool:
    """True on the first run of a page after another page (or none) was shown: where a page
    puts back the widget values Streamlit dropped when it was left."""
    return st.session_state.get(PREVIOUS_PAGE) != st.session_state.get(PAGE)


def current_hash() -> str | None:
    return st.session_state.get(CURRENT)


# --- the top of a page and small UI helpers ----------------------------------------------


def require_dataset(store: Store) -> str | None:
    hash = current_hash()
    if hash is None:
        st.info("No dataset yet: upload one or load the bundled sample on the Data page.")
        st.page_link("pages/data.py", label="Go to Data", icon=":material/upload_file:")
    return hash


def require_dataset_ready(store: Store):
    """(hash, dataset) once the current dataset is mapped; else a message and (hash, None)."""
    hash = require_dataset(store)
    if hash is None:
        return None, None
    try:
        dataset = load_dataset(store, hash)
    except InputError as exc:
        show_error(exc, prefix="The dataset's column mapping does not fit the file: ")
        st.page_link("pages/data.py", label="Fix the mapping on the Data page")
        return hash, None
    if dataset is None:
        st.info("Map the dataset's columns on the Data page first.")
        st.page_link("pages/data.py", label="Go to Data")
    return hash, dataset


def start_page(title: str, build: bool = True) -> tuple[Store, str, Any]:
    """The top of every page that works on a mapped dataset: run inside ``app.py``, the
    title, and (store, hash, dataset), or a message pointing to the Data page and a stop.
    ``build=False`` (Review, which reads every candidate with its own run's settings): the
    dataset is only checked to have a mapping, not read (a 500,000-row file takes seconds),
    and ``True`` stands for it."""
    run_through_app()
    store = get_store()
    st.title(title)
    if not build:
        hash = require_dataset(store)
        info = store.dataset(hash) if hash is not None else None
        if info is None or not info.settings:
            if hash is not None:
                st.info("Map the dataset's columns on the Data page first.")
                st.page_link("pages/data.py", label="Go to Data")
            st.stop()
        dataset_caption(store, hash)
        next_step(title)
        return store, hash, True
    hash, dataset = require_dataset_ready(store)
    if dataset is None:
        st.stop()
    dataset_caption(store, hash)
    next_step(title)
    return store, hash, dataset


NEXT_STEPS = {
    "Data": [("pages/augment.py", "Next: augment the train split", ":material/auto_awesome:")],
    "Augment": [("pages/review.py", "Next: review the variants", ":material/fact_check:")],
    "Review": [("pages/export.py", "Next: export the curated split", ":material/download:"),
               ("pages/evaluate.py", "Or: evaluate whether they help", ":material/analytics:")],
    "Evaluate": [("pages/export.py", "Next: export the curated split", ":material/download:")],
    "Export": [("pages/evaluate.py", "Also: evaluate whether the accepted variants help", ":material/analytics:"),
               ("pages/review.py", "Back to review", ":material/fact_check:")],
}
"""Per page, the workflow's next step (upload -> map -> augment -> review -> export, plus
evaluate), one click away at the top of the page."""


def next_step(title: str) -> None:
    links = NEXT_STEPS.get(title, [])
    for column, (page, label, icon) in zip(st.columns(len(links) or 1), links):
        column.page_link(page, label=label, icon=icon)


def dataset_caption(store: Store, hash: str) -> None:
    """The current dataset's name (untrusted: shown as plain text) and hash."""
    info = store.dataset(hash)
    if info is not None:
        st.text(f"Dataset: {info.name}  ·  sha256 {hash[:12]}…  ·  {info.n_runs} run(s)")


def busy_error(exc: StoreBusy, what: str) -> None:
    """One line for a write other than a decision that the database could not take."""
    st.error(f"{markdown_escape(what)} not saved: {markdown_escape(str(exc))}. Nothing else changed; try again in a moment.",
             icon=":material/lock_clock:")


def load_then_rerun(key: str, spinner: str, prefix: str, load: Callable[[], Any]) -> None:
    """A button's import: ``load()`` under a spinner, its result kept in ``st.session_state[key]``
    and the page rerun (so the new run shows everywhere on it); bad input instead gets one
    error box (``prefix`` + the message) and the page stays as it was. The result is shown
    by :func:`loaded_result`."""
    try:
        with st.spinner(spinner):
            result = load()
    except InputError as exc:
        show_error(exc, prefix=prefix)
    else:
        st.session_state[key] = result
        st.rerun()


def loaded_result(store: Store, hash: str, key: str) -> Any:
    """What :func:`load_then_rerun` kept under ``key``, while its run (``run_id``) is still one of
    the dataset's (a run deleted since shows nothing); None otherwise."""
    result = st.session_state.get(key)
    if result is not None and any(r.id == result.run_id for r in store.runs(hash)):
        return result
    return None
