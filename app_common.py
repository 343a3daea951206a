"""What every page shares: the store, the current dataset, cached loaders, decisions.

Not a page (``app.py`` lists the pages in ``pages/`` with ``st.navigation``). Loaders are cached
with ``st.cache_resource`` (no copy per call: the cached objects are treated as
read-only) and keyed by the content hash plus whatever changes them, so a 20,000-row
candidate list is read from SQLite once, not on every click.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import streamlit as st

from augment_core import review
from augment_core.aliases import BUNDLED_TAGS
from augment_core.errors import InputError
from augment_core.highlight import markdown_code
from augment_core.store import Store, build_from_settings

ROOT = Path(__file__).resolve().parent
SAMPLE_CSV = ROOT / "data" / "projects.csv"
SAMPLE_TAGS = BUNDLED_TAGS
CURRENT = "current_dataset"
DECISIONS = "review_decisions"


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


@st.cache_resource(show_spinner=False)
def _store(data_dir: str | None) -> Store:
    return Store(data_dir)


def get_store() -> Store:
    import os

    return _store(os.environ.get("AUGMENT_REVIEW_DATA_DIR"))


# --- the current dataset -----------------------------------------------------------------


def select_current_dataset(store: Store) -> str | None:
    """From ``?dataset=<hash>``, else this session's choice, else the latest opened."""
    wanted = st.query_params.get("dataset")
    current = st.session_state.get(CURRENT)
    if wanted and wanted != current and store.has_dataset(wanted):
        current = wanted
        store.touch_dataset(wanted)
    if current and not store.has_dataset(current):
        current = None
    if current is None:
        recent = store.recent_datasets(limit=1)
        current = recent[0].hash if recent else None
    st.session_state[CURRENT] = current
    if current and st.query_params.get("dataset") != current:
        st.query_params["dataset"] = current
    return current


def open_dataset(store: Store, hash: str) -> None:
    store.touch_dataset(hash)
    st.session_state[CURRENT] = hash
    st.query_params["dataset"] = hash
    for key in list(st.session_state):
        if key.startswith(("review_", "export_", "augment_last", "evaluate_")):
            del st.session_state[key]


def current_hash() -> str | None:
    return st.session_state.get(CURRENT)


# --- cached loaders ------------------------------------------------------------------------


# A dataset's rows are streamed from the stored bytes into its records, never held as a
# table: the caches hold the records and a preview (columns, first rows, row count). For a
# 150 MB CSV that is the difference between a few hundred MB held by the server and
# several gigabytes.


def _stored(hash: str) -> tuple[bytes, str]:
    store = get_store()
    return store.dataset_bytes(hash), store.dataset(hash).name


@st.cache_resource(show_spinner=False, max_entries=8)
def _preview(data_dir: str, hash: str, name: str, _ready: Any = None):
    from augment_core.dataset import scan

    return _ready if _ready is not None else scan(*_stored(hash))


def load_table(store: Store, hash: str):
    """The dataset's columns, first rows and row count (a ``TablePreview``)."""
    info = store.dataset(hash)
    return _preview(str(store.data_dir), hash, info.name)


@st.cache_resource(show_spinner=False, max_entries=8)
def _dataset(data_dir: str, hash: str, name: str, settings_json: str, _ready: Any = None):
    from augment_core.dataset import TableStream

    if _ready is not None:
        return _ready
    return build_from_settings(TableStream(*_stored(hash)), json.loads(settings_json))


def _settings_key(settings: dict) -> str:
    return json.dumps(settings, sort_keys=True)


def load_dataset(store: Store, hash: str):
    """The split dataset, or None when it has no settings; raises InputError."""
    info = store.dataset(hash)
    if not info.settings:
        return None
    return _dataset(str(store.data_dir), hash, info.name, _settings_key(info.settings))


def dataset_for(store: Store, hash: str, settings: dict):
    """The dataset under ``settings`` (raises InputError when they do not fit the file),
    cached, so saving these settings next finds it built."""
    info = store.dataset(hash)
    return _dataset(str(store.data_dir), hash, info.name, _settings_key(settings))


def prime(store: Store, hash: str, preview: Any, dataset: Any = None, settings: dict | None = None) -> None:
    """Put what an upload's one parse produced in the caches, so the page that follows
    does not read and parse the stored file again."""
    info = store.dataset(hash)
    _preview(str(store.data_dir), hash, info.name, _ready=preview)
    if dataset is not None and settings is not None and info.settings == settings:
        _dataset(str(store.data_dir), hash, info.name, _settings_key(settings), _ready=dataset)


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
    from augment_core.aliases import load_alias_table

    return load_alias_table(data if data is not None else SAMPLE_TAGS)


def load_aliases(store: Store, hash: str):
    name, data = store.tags(hash)
    import hashlib

    key = hashlib.sha256(data).hexdigest() if data is not None else "bundled"
    return _alias_table(key, data)


@st.cache_resource(show_spinner=False, max_entries=4)
def _train_keywords(data_dir: str, hash: str, tags_key: str, settings_json: str):
    from augment_core.agreement import fit_to_train

    store = get_store()
    return fit_to_train(load_aliases(store, hash), load_dataset(store, hash))


def load_train_keywords(store: Store, hash: str):
    """The alias table as the train split attests it, with each keyword's agreement
    (see augment_core.agreement); the dataset must have a mapping."""
    import hashlib

    _name, data = store.tags(hash)
    tags_key = hashlib.sha256(data).hexdigest() if data is not None else "bundled"
    info = store.dataset(hash)
    return _train_keywords(str(store.data_dir), hash, tags_key, json.dumps(info.settings, sort_keys=True))


@st.cache_resource(show_spinner=False, max_entries=4)
def _items(data_dir: str, hash: str, run_ids: tuple[int, ...], labels_key: str) -> list[dict]:
    store = get_store()
    rows = store.candidates(hash, run_ids)
    dataset = load_dataset(store, hash)
    labels = {r.id: r.labels for r in dataset.records} if dataset is not None else {}
    return review.prepare(rows, labels)


def load_items(store: Store, hash: str) -> list[dict]:
    """Every candidate of the dataset's runs, prepared for the review filters."""
    run_ids = tuple(r.id for r in store.runs(hash))
    info = store.dataset(hash)
    return _items(str(store.data_dir), hash, run_ids, json.dumps(info.settings, sort_keys=True))


@st.cache_resource(show_spinner=False, max_entries=4)
def _facets(data_dir: str, hash: str, run_ids: tuple[int, ...], labels_key: str) -> dict:
    items = _items(data_dir, hash, run_ids, labels_key)
    return {"facets": review.facets(items), "has_similarity": review.has_similarity(items)}


def load_facets(store: Store, hash: str) -> dict:
    run_ids = tuple(r.id for r in store.runs(hash))
    info = store.dataset(hash)
    return _facets(str(store.data_dir), hash, run_ids, json.dumps(info.settings, sort_keys=True))


def labels_by_id(dataset) -> dict[str, tuple[str, ...]]:
    return {r.id: r.labels for r in dataset.records}


# --- decisions: a dict in session state, mirrored to SQLite on every write ------------


def decisions(store: Store, hash: str) -> dict[str, str]:
    held = st.session_state.get(DECISIONS)
    if not held or held.get("hash") != hash:
        held = {"hash": hash, "map": store.decisions(hash)}
        st.session_state[DECISIONS] = held
    return held["map"]


def decide(store: Store, hash: str, key: str, decision: str | None) -> None:
    store.decide(hash, key, decision)
    review.apply_decisions(decisions(store, hash), {key: decision})


def decide_many(store: Store, hash: str, changes: dict[str, str], label: str) -> int:
    n = store.decide_many(hash, changes, label=label)
    review.apply_decisions(decisions(store, hash), changes)
    return n


def undo(store: Store, hash: str):
    result = store.undo(hash)
    if result is not None:
        review.apply_decisions(decisions(store, hash), result.restored)
    return result


# --- small UI helpers --------------------------------------------------------------------


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


def start_page(title: str) -> tuple[Store, str, Any]:
    """The top of every page that works on a mapped dataset: run inside ``app.py``, the
    title, and (store, hash, dataset), or a message pointing to the Data page and a stop."""
    run_through_app()
    store = get_store()
    st.title(title)
    hash, dataset = require_dataset_ready(store)
    if dataset is None:
        st.stop()
    dataset_caption(store, hash)
    return store, hash, dataset


def dataset_caption(store: Store, hash: str) -> None:
    """The current dataset's name (untrusted: shown as plain text) and hash."""
    info = store.dataset(hash)
    if info is not None:
        st.text(f"Dataset: {info.name}  ·  sha256 {hash[:12]}…  ·  {info.n_runs} run(s)")


def show_error(exc: BaseException | str, prefix: str = "") -> None:
    """An error box. The message may quote the upload, so it goes in as inline code: shown
    literally (no Markdown, emoji or colour directives read in it) and copied exactly
    (no zero-width spaces, which escaping the colons needed). CLI wording becomes the
    page's (``--model`` -> the Model field)."""
    message = exc.in_app() if isinstance(exc, InputError) else exc
    st.error(prefix + markdown_code(message), icon=":material/error:")
