"""The app's one store, opened once per server process.

Its own module because everything below the pages needs it (the cached loaders, the review
page's queries, the server folders' default) and the page shell needs those: kept apart, the
store is at the bottom of the app's imports and no module has to import the shell.
"""

from __future__ import annotations

import os

import streamlit as st

from augment_core.review.facts import open_store
from augment_core.review.store import Store


@st.cache_resource(show_spinner=False)
def _store(data_dir: str | None) -> Store:
    return open_store(data_dir)


def get_store() -> Store:
    """The store; raises StoreBusy when a new database cannot be set up (app.py says so)."""
    return _store(os.environ.get("AUGMENT_REVIEW_DATA_DIR"))
