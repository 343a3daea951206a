"""augment-review: upload a dataset, augment it, review every variant, export a curated split.

Run with ``streamlit run app.py``. Work is kept in SQLite under
``$AUGMENT_REVIEW_DATA_DIR`` (default ``~/.augment-review``); the URL's ``?dataset=<hash>``
names the dataset being worked on, so a reload or a server restart comes back to it.
This script runs on every page: it sets up the store and the current dataset, then runs
the page ``st.navigation`` picked.
"""

from __future__ import annotations

import streamlit as st

import app_common as common

st.set_page_config(page_title="augment-review", page_icon=":material/rule:", layout="wide")

store = common.get_store()
current = common.select_current_dataset(store)

pages = [
    st.Page("pages/data.py", title="Data", icon=":material/table:", url_path="data", default=True),
    st.Page("pages/augment.py", title="Augment", icon=":material/auto_awesome:", url_path="augment"),
    st.Page("pages/review.py", title="Review", icon=":material/fact_check:", url_path="review"),
    st.Page("pages/evaluate.py", title="Evaluate", icon=":material/analytics:", url_path="evaluate"),
    st.Page("pages/export.py", title="Export", icon=":material/download:", url_path="export"),
]
page = st.navigation(pages)

with st.sidebar:
    if current:
        info = store.dataset(current)
        st.text(f"Dataset: {info.name}\nsha256 {current[:12]}…")
    else:
        st.text("No dataset open")

page.run()
