"""The cached loaders: a dataset's preview, rows, overview and alias table, the candidates of
its runs, and the upload's one parse that primes them.

Cached with ``st.cache_resource`` (no copy per call: the cached objects are treated as
read-only) and keyed by the content hash plus whatever changes them, so a 20,000-row
candidate list is read from the database once, not on every click, and every session shares
one copy. Decisions are never cached here: they are read afresh on every run
(``app_support.writes``).

A dataset's rows are parsed in a worker process (``augment_core.data.parse_worker``), so a
large file never holds the server's interpreter while other reviewers save decisions, and
within the operator's limits (``augment_core.data.limits``). What comes back (the records and
a preview: columns, first rows, row count) is kept in one cache for every session, bounded by
bytes (``app_support.dataset_cache``), never as a table.
"""

from __future__ import annotations

import hashlib
from typing import Any

import streamlit as st

from app_support import access
from app_support.dataset_cache import ByteBudgetCache
from app_support.dataset_overview import DatasetOverview, overview_of
from app_support.store import get_store
from augment_core.augment.aliases import BUNDLED_TAGS
from augment_core.data import limits, parse_worker
from augment_core.data.dataset import TablePreview
from augment_core.data.dataset_settings import settings_key
from augment_core.data.limits import Limits
from augment_core.data.parse_worker import Parsed
from augment_core.errors import InputError
from augment_core.review import candidates as review_candidates
from augment_core.review.store import Store


def upload_limits() -> Limits:
    """The operator's limits on a dataset's rows and decoded bytes (environment, else
    ``[augment_review]`` in the secrets, else the defaults); raises InputError when one is
    malformed."""
    return limits.server_limits(access.app_settings())


@st.cache_resource(show_spinner=False)
def _datasets() -> ByteBudgetCache:
    try:
        budget = limits.cache_budget(access.app_settings())
    except InputError:
        budget = limits.DEFAULT_CACHE_BYTES
    return ByteBudgetCache(budget)


def parse_upload(data: bytes, name: str, tags: bytes | None) -> Parsed:
    """An upload parsed in a worker: its preview, the guessed settings and, when they fit,
    the dataset's overview under the tags file ``tags`` (not its records: the Data page
    shows counts, and the pages that need the rows parse them then); raises InputError
    (over the limits, unreadable)."""
    return parse_worker.parse(data, name, upload_limits(), guess=True, derive=overview_of(tags))


def _parsed(store: Store, hash: str, **how: Any) -> Parsed:
    info = store.dataset(hash)
    return parse_worker.parse(store.dataset_bytes(hash), info.name, upload_limits(), **how)


def load_table(store: Store, hash: str) -> TablePreview:
    """The dataset's columns, first rows and row count (a ``TablePreview``)."""
    def make() -> tuple[Any, int]:
        parsed = _parsed(store, hash, preview_only=True)
        return parsed.preview, parsed.size

    return _datasets().get(("preview", str(store.data_dir), hash), make)


def load_dataset(store: Store, hash: str):
    """The split dataset under its current settings, or None when it has none; raises InputError."""
    info = store.dataset(hash)
    if not info.settings:
        return None
    return load_dataset_as(store, hash, info.settings)


def load_dataset_as(store: Store, hash: str, settings: dict):
    """The split dataset under the given settings (a run's own, say); raises InputError
    (the settings do not fit the file), cached, so saving these settings next finds it built.
    The same parse makes the dataset's overview when it is not cached yet: the pages that
    need the rows (Augment, Evaluate) show the overview's counts and keywords too, and a
    second parse of a large file would cost as long again."""
    cache = _datasets()

    def make() -> tuple[Any, int]:
        _name, tags = store.tags(hash)
        overview_key = _overview_key(store, hash, settings, tags)
        derive = None if overview_key in cache else overview_of(tags)
        parsed = _parsed(store, hash, settings=settings, derive=derive, keep_records=True)
        if parsed.derived is not None:
            cache.put(overview_key, parsed.derived, parsed.derived_size)
        return parsed.dataset, parsed.size

    return cache.get(("dataset", str(store.data_dir), hash, settings_key(settings)), make)


def prime(store: Store, hash: str, parsed: Parsed) -> None:
    """Put what an upload's one parse produced in the cache (its preview, and its overview
    when the dataset's settings and tags file are the ones it was made under), so the page
    that follows does not read and parse the stored file again."""
    info = store.dataset(hash)
    cache = _datasets()
    cache.put(("preview", str(store.data_dir), hash), parsed.preview, parse_worker.approx_size(parsed.preview))
    if parsed.derived is not None and parsed.settings is not None and info.settings == parsed.settings:
        _name, tags = store.tags(hash)
        cache.put(_overview_key(store, hash, parsed.settings, tags), parsed.derived, parsed.derived_size)


def release_upload(upload: Any, key: str) -> None:
    """Drop an upload's bytes from Streamlit once they are stored.

    Streamlit keeps an uploaded file twice over for as long as the widget shows it (the
    session's lifetime, in practice): in its upload manager and as the widget's value in
    session state. That is 150 MB held per large upload for nothing, since the store has
    the bytes. The manager lets go of it as ``st.chat_input`` does; the widget's value is
    cleared, so from the next run on it is None (the file is no longer in the manager),
    which the Data page expects: it acts on new file ids only.
    """
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    remove = getattr(getattr(ctx, "uploaded_file_mgr", None), "remove_file", None)
    if ctx is not None and remove is not None:
        remove(session_id=ctx.session_id, file_id=upload.file_id)
    st.session_state.pop(key, None)


@st.cache_resource(show_spinner=False, max_entries=4)
def _alias_table(tags_key: str, data: bytes | None):
    from augment_core.augment.aliases import load_alias_table

    return load_alias_table(data if data is not None else BUNDLED_TAGS)


def load_aliases(store: Store, hash: str):
    name, data = store.tags(hash)
    return _alias_table(_tags_key(data), data)


def _tags_key(data: bytes | None) -> str:
    return hashlib.sha256(data).hexdigest() if data is not None else "bundled"


def load_overview(store: Store, hash: str, settings: dict | None = None) -> DatasetOverview:
    """The dataset's counts per split and tag, and its alias table fitted to the train split
    (``app_support.dataset_overview``), under ``settings`` (a run's own) or the dataset's,
    which must then have a mapping; computed in a parse worker and cached, so showing them
    never holds the server's interpreter or its records. Raises InputError."""
    _name, tags = store.tags(hash)
    if settings is None:
        settings = store.dataset(hash).settings
    assert settings is not None

    def make() -> tuple[Any, int]:
        parsed = _parsed(store, hash, settings=settings, derive=overview_of(tags))
        return parsed.derived, parsed.derived_size

    return _datasets().get(_overview_key(store, hash, settings, tags), make)


def _overview_key(store: Store, hash: str, settings: dict, tags: bytes | None) -> tuple[str, ...]:
    return ("overview", str(store.data_dir), hash, settings_key(settings), _tags_key(tags))


def load_train_keywords(store: Store, hash: str, settings: dict | None = None):
    """The alias table as the train split attests it, with each keyword's agreement
    (see augment_core.augment.agreement); under ``settings`` (a run's own) or the dataset's, which
    must then have a mapping."""
    return load_overview(store, hash, settings).keywords


def load_without_swappable(store: Store, hash: str) -> tuple[int, int]:
    """(train originals with no keyword an alias swap can replace, train originals), under
    the dataset's current mapping and tags."""
    return load_overview(store, hash).without_swappable


@st.cache_resource(show_spinner=False, max_entries=4)
def _items(data_dir: str, hash: str, run_ids: tuple[int, ...]) -> list[review_candidates.CandidateRow]:
    store = get_store()
    runs = {r.id: r for r in store.runs(hash)}
    fallback = store.dataset(hash).settings
    settings = {rid: (runs[rid].settings if rid in runs and runs[rid].settings else fallback) for rid in run_ids}
    return review_candidates.prepare(store.candidates(hash, run_ids), settings)


def load_items(store: Store, hash: str, run_ids: tuple[int, ...] | None = None) -> list[review_candidates.CandidateRow]:
    """The candidates of the dataset's runs (or of ``run_ids``), each read with its own run's
    settings; a run never changes once stored, so the run ids are the whole cache key."""
    if run_ids is None:
        run_ids = tuple(r.id for r in store.runs(hash))
    return _items(str(store.data_dir), hash, tuple(run_ids))


def labels_by_id(dataset) -> dict[str, tuple[str, ...]]:
    return {r.id: r.labels for r in dataset.records}
