"""The Review page's cached queries: its scope, facet counts, match counts and progress.

Answered in SQL from the review index (``augment_core.review.query``) and cached per server,
each under everything that changes it: a stored run never changes, so the run ids, the
reviewer and, for counts over decisions, :meth:`Store.decisions_version` are the whole key. Apart
from the loaders because these read decisions, not the dataset's file; ``app_support.writes``
builds on them (the scope a browser batch is checked against, the saved counts it lays this
tab's unsaved decisions over).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from app_support.access import reviewer
from app_support.store import get_store
from augment_core.review import query as review_query
from augment_core.review.store import Store


@st.cache_resource(show_spinner=False, max_entries=8)
def _scope(data_dir: str, hash: str, run_ids: tuple[int, ...], reviewer: str) -> review_query.Scope:
    return review_query.scope_of(get_store(), hash, reviewer)


def review_scope(store: Store, hash: str, me: str | None = None) -> review_query.Scope:
    """The runs the review shows with their settings, and whose decisions it reads (this
    session's reviewer); a stored run never changes, so the run ids and the reviewer are the
    whole cache key."""
    return _scope(str(store.data_dir), hash, store.review_run_ids(hash), me or reviewer())


@st.cache_resource(show_spinner=False, max_entries=4)
def _facets(data_dir: str, hash: str, run_ids: tuple[int, ...]) -> dict:
    store = get_store()
    return review_query.facets(store, review_scope(store, hash))


def load_facets(store: Store, hash: str) -> dict:
    """Facet counts (augmenter, rule, word change, tag, flag, run), whether any variant has
    a similarity, and each alias rule's agreement."""
    return _facets(str(store.data_dir), hash, store.review_run_ids(hash))


@st.cache_resource(show_spinner=False, max_entries=64)
def _match_counts(data_dir: str, hash: str, run_ids: tuple[int, ...], flt_key: str, version: tuple, me: str,
                  _flt: Any = None) -> dict[str, int]:
    store = get_store()
    return review_query.match_counts(store, review_scope(store, hash, me), _flt)


@st.cache_resource(show_spinner=False, max_entries=64)
def _sizes(data_dir: str, hash: str, run_ids: tuple[int, ...], flt_key: str, _flt: Any = None) -> tuple[int, int]:
    store = get_store()
    return review_query.count(store, review_scope(store, hash), _flt)


def match_counts(store: Store, hash: str, flt: Any) -> dict[str, int]:
    """Variants and originals matching ``flt``, and how many of them are accepted and
    rejected (cached until a decision changes). Without any filter (the usual view while
    deciding) only the progress counters are counted again after a decision: the sizes do
    not depend on decisions, and the decided ones are all of them."""
    run_ids = store.review_run_ids(hash)
    if flt.is_empty() and flt.status == "all":
        items, groups = _sizes(str(store.data_dir), hash, run_ids, repr(flt), _flt=flt)
        saved = _progress(str(store.data_dir), hash, run_ids, store.decisions_version(hash), reviewer())
        return {"items": items, "groups": groups, "accepted": saved["accepted"], "rejected": saved["rejected"]}
    return _match_counts(str(store.data_dir), hash, run_ids, repr(flt), store.decisions_version(hash), reviewer(),
                         _flt=flt)


@st.cache_resource(show_spinner=False, max_entries=16)
def _progress(data_dir: str, hash: str, run_ids: tuple[int, ...], version: tuple, me: str) -> dict[str, int]:
    store = get_store()
    return review_query.progress(store, review_scope(store, hash, me))


def saved_progress(store: Store, hash: str) -> dict[str, int]:
    """The counters above the list as the database has them (cached until a decision
    changes); ``writes.progress_counts`` lays this tab's not-yet-saved decisions over them."""
    return _progress(str(store.data_dir), hash, store.review_run_ids(hash), store.decisions_version(hash), reviewer())
