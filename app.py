"""augment-review: upload a dataset, augment it, review every variant, export a curated split.

Run with ``streamlit run app.py``. Work is kept in SQLite under
``$AUGMENT_REVIEW_DATA_DIR`` (default ``~/.augment-review``); the URL's ``?dataset=<hash>``
names the dataset being worked on, so a reload or a server restart comes back to it.
This script runs on every page: with sign-in configured (``[auth]`` in
``.streamlit/secrets.toml``) it shows nothing but the sign-in or refusal page until an allowed
reviewer is signed in; it warns when the server is reachable from other machines without
sign-in; then it sets up the store and the current dataset, saves what this tab kept as not
yet saved, and runs the page ``st.navigation`` picked.
"""

from __future__ import annotations

import streamlit as st

import app_common as common
from app_support import access, writes
from app_support.markup import markdown_escape
from app_support.store import get_store
from augment_core.review.store import StoreBusy

# The icon ships with the app: a ":material/...:" page icon is fetched from Google's font
# server, which an offline machine cannot reach (no favicon, console errors).
st.set_page_config(page_title="augment-review", page_icon=str(common.ROOT / "app_support" / "icon.png"), layout="wide")
access.sign_in_gate()  # before anything reads the store: a page or a stop for anyone not allowed
access.network_warning()

try:
    store = get_store()
    current = common.select_current_dataset(store)
    conflicts = writes.flush_pending(store)
except StoreBusy as exc:  # only a database still being created or upgraded gets here
    st.error(f"The database is busy: {markdown_escape(str(exc))}. Reload the page in a moment.",
             icon=":material/lock_clock:")
    st.stop()

pages = [
    st.Page("pages/data.py", title="Data", icon=":material/table:", url_path="data", default=True),
    st.Page("pages/augment.py", title="Augment", icon=":material/auto_awesome:", url_path="augment"),
    st.Page("pages/review.py", title="Review", icon=":material/fact_check:", url_path="review"),
    st.Page("pages/evaluate.py", title="Evaluate", icon=":material/analytics:", url_path="evaluate"),
    st.Page("pages/export.py", title="Export", icon=":material/download:", url_path="export"),
]
page = st.navigation(pages)
common.note_page(page.url_path)

with st.sidebar:
    if current:
        info = store.dataset(current)
        st.text(f"Dataset: {info.name}\nsha256 {current[:12]}…")
    else:
        st.text("No dataset open")

common.dataset_notice()
for line in conflicts:
    st.warning(markdown_escape(line), icon=":material/sync_problem:")
try:
    page.run()
except StoreBusy as exc:  # a write other than a decision (those are kept as not yet saved)
    common.busy_error(exc, "This change was")
