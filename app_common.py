"""What every page shares: the store, the current dataset, cached loaders, decisions.

Not a page (``app.py`` lists the pages in ``pages/`` with ``st.navigation``). Loaders are cached
with ``st.cache_resource`` (no copy per call: the cached objects are treated as
read-only) and keyed by the content hash plus whatever changes them, so a 20,000-row
candidate list is read from SQLite once, not on every click.

Decisions are *not* cached: the database is the truth, shared by every tab. Every page run
reads them afresh, and every write (single, bulk, undo) is checked against the database as
it is when the write runs (see :func:`write_decisions`). A write the database cannot take
(locked by another program for longer than the store waits) is kept in this tab as "not yet
saved" and saved at the next chance.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import streamlit as st

from app_support.dataset_cache import ByteBudgetCache
from app_support.dataset_overview import DatasetOverview, overview_of
from app_support.markup import markdown_code, markdown_escape
from augment_core.augment.aliases import BUNDLED_TAGS
from augment_core.data import limits, parse_worker
from augment_core.data.dataset import TablePreview
from augment_core.data.dataset_settings import settings_key
from augment_core.data.limits import Limits
from augment_core.data.parse_worker import Parsed
from augment_core.errors import InputError
from augment_core.review import candidates as review_candidates
from augment_core.review import filters as review
from augment_core.review import query as review_query
from augment_core.review import queue as review_queue
from augment_core.review.client_actions import ACKS_KEPT
from augment_core.review.facts import open_store
from augment_core.review.schema import LOCAL_REVIEWER
from augment_core.review.store import ActionResult, Store, StoreBusy, UndoResult
from augment_core.serve import access, policy, server_paths
from augment_core.serve.policy import Action, User

ROOT = Path(__file__).resolve().parent
SAMPLE_CSV = ROOT / "data" / "projects.csv"
SAMPLE_TAGS = BUNDLED_TAGS
CURRENT = "current_dataset"
MISSING = "app_missing_dataset"
ORIGIN = "app_origin"
PENDING = "app_pending_writes"
HASH_RE = re.compile(r"^[0-9a-f]{64}$")
FLUSH_WAIT = 0.5
"""Seconds a page run waits to save writes kept as not yet saved (the click itself waits longer)."""


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
    return open_store(data_dir)


def get_store() -> Store:
    """The store; raises StoreBusy when a new database cannot be set up (app.py says so)."""
    return _store(os.environ.get("AUGMENT_REVIEW_DATA_DIR"))


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


# --- cached loaders ------------------------------------------------------------------------


# A dataset's rows are parsed in a worker process (augment_core.data.parse_worker), so a large
# file never holds the server's interpreter while other reviewers save decisions, and
# within the operator's limits (augment_core.data.limits). What comes back (the records and a
# preview: columns, first rows, row count) is kept in one cache for every session, bounded
# by bytes (app_support.dataset_cache), never as a table.


def upload_limits() -> Limits:
    """The operator's limits on a dataset's rows and decoded bytes (environment, else
    ``[augment_review]`` in the secrets, else the defaults); raises InputError when one is
    malformed."""
    secrets, _error = _secrets()
    section = secrets.get(APP_SECRETS) or {}
    return limits.server_limits(section if isinstance(section, Mapping) else {})


@st.cache_resource(show_spinner=False)
def _datasets() -> ByteBudgetCache:
    secrets, _error = _secrets()
    section = secrets.get(APP_SECRETS) or {}
    try:
        budget = limits.cache_budget(section if isinstance(section, Mapping) else {})
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


dataset_for = load_dataset_as


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

    return load_alias_table(data if data is not None else SAMPLE_TAGS)


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


# --- the review page: answered in SQL from the review index (augment_core.review.query) ---


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


def decisions_version(store: Store, hash: str) -> tuple:
    """Changes whenever a decision of the dataset does (every write is an action; an undo
    removes one): what counts over decisions are cached under."""
    return tuple(store.read("SELECT MAX(id), COUNT(*) FROM actions WHERE dataset_hash = ?", (hash,))[0])


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
        saved = _progress(str(store.data_dir), hash, run_ids, decisions_version(store, hash), reviewer())
        return {"items": items, "groups": groups, "accepted": saved["accepted"], "rejected": saved["rejected"]}
    return _match_counts(str(store.data_dir), hash, run_ids, repr(flt), decisions_version(store, hash), reviewer(),
                         _flt=flt)


@st.cache_resource(show_spinner=False, max_entries=16)
def _progress(data_dir: str, hash: str, run_ids: tuple[int, ...], version: tuple, me: str) -> dict[str, int]:
    store = get_store()
    return review_query.progress(store, review_scope(store, hash, me))


def progress_counts(store: Store, hash: str) -> dict[str, int]:
    """The counters above the list: the database's (cached until a decision changes), with
    this tab's not-yet-saved decisions laid over them."""
    counts = dict(_progress(str(store.data_dir), hash, store.review_run_ids(hash), decisions_version(store, hash),
                            reviewer()))
    unsaved = unsaved_keys(hash)
    if unsaved:
        saved = store.decisions_of_keys(hash, list(unsaved), reviewer=reviewer())
        shown = decisions(store, hash, unsaved)
        for key in unsaved:
            for d, sign in ((saved.get(key), -1), (shown.get(key), 1)):
                if d in ("accepted", "rejected"):
                    counts[d] += sign
        counts["reviewed"] = counts["accepted"] + counts["rejected"]
        counts["left"] = counts["total"] - counts["reviewed"]
    return counts


def labels_by_id(dataset) -> dict[str, tuple[str, ...]]:
    return {r.id: r.labels for r in dataset.records}


# --- decisions: read from the database on every run; writes checked against it -----------


@dataclass(frozen=True)
class PendingWrite:
    """A write the database could not take yet, kept in this tab until it can."""

    hash: str
    changes: dict[str, str | None]
    expected: dict[str, str | None]
    label: str
    at: float = field(default_factory=time.time)
    reviewer: str = LOCAL_REVIEWER


@dataclass(frozen=True)
class WriteOutcome:
    saved: bool
    """False: kept in this tab as not yet saved."""
    result: ActionResult | None = None
    message: str = ""


def tab_origin() -> str:
    """This browser tab's id: its actions are recorded under it, and Undo reverts only those."""
    if ORIGIN not in st.session_state:
        st.session_state[ORIGIN] = uuid.uuid4().hex
    return st.session_state[ORIGIN]


def _pending() -> list[PendingWrite]:
    return st.session_state.setdefault(PENDING, [])


def pending_writes(hash: str) -> list[PendingWrite]:
    return [p for p in _pending() if p.hash == hash]


def flush_pending(store: Store, wait: float = FLUSH_WAIT) -> list[str]:
    """Save what this tab kept as not yet saved, oldest first; stops at the first that still
    cannot be saved. Returns lines to show about conflicts found on the way."""
    queue = _pending()
    lines: list[str] = []
    while queue:
        p = queue[0]
        try:
            result = store.decide_many(p.hash, p.changes, label=p.label, origin=tab_origin(),
                                       expected=p.expected, wait=wait, reviewer=p.reviewer)
        except StoreBusy:
            break
        queue.pop(0)
        if result.conflicts:
            lines.append(conflict_line(p.label, result))
    return lines


def decisions(store: Store, hash: str, keys: Any = None) -> dict[str, str]:
    """This reviewer's decisions in the database now (of ``keys`` only, when given: a page's),
    with this tab's not-yet-saved ones laid over them."""
    me = reviewer()
    current = (store.decisions(hash, reviewer=me) if keys is None
               else store.decisions_of_keys(hash, list(keys), reviewer=me))
    for p in pending_writes(hash):
        for key, d in p.changes.items():
            if current.get(key) == p.expected.get(key):
                review.apply_decisions(current, {key: d})
    return current


def unsaved_keys(hash: str) -> set[str]:
    return {k for p in pending_writes(hash) for k in p.changes}


def conflict_line(label: str, result: ActionResult) -> str:
    n = len(result.conflicts)
    return (f"{label}: {n:,} variant(s) left as they are: decided differently in another tab or "
            "session since this page showed them (the page now shows the saved decisions).")


def write_decisions(
    store: Store, hash: str, changes: dict[str, str | None], expected: dict[str, str | None], label: str
) -> WriteOutcome:
    """Write decisions as one action of this tab, where the database still has what the page
    showed (``expected``). A busy database keeps the write in this tab, not yet saved; so do
    writes made while older ones still wait, so they are saved in the order they were made."""
    if not changes:
        return WriteOutcome(True, ActionResult(changed={}))
    lines = flush_pending(store, wait=store.write_wait)
    if not pending_writes(hash):
        try:
            result = store.decide_many(hash, changes, label=label, origin=tab_origin(), expected=expected,
                                       reviewer=reviewer())
        except StoreBusy:
            pass
        else:
            if result.conflicts:
                lines.append(conflict_line(label, result))
            return WriteOutcome(True, result, " ".join(lines))
    _pending().append(PendingWrite(hash, dict(changes), dict(expected), label, reviewer=reviewer()))
    return WriteOutcome(False, message=busy_line(hash))


BATCH_WAIT = 1.0
"""Seconds a batch of decisions from the browser waits for a locked database before it is
answered "busy" (the browser keeps the decisions, shows them not yet saved, and sends them again)."""


def apply_browser_queue(store: Store, hash: str, raw: Any) -> list[review_queue.Outcome]:
    """Apply the decisions the review component sent, in order, as this tab's actions, each
    checked against the database (see :mod:`augment_core.review.queue`), and keep their
    outcomes for the page to send back (:func:`browser_acks`). Writes this tab kept as not yet
    saved go first; while some still wait, the batch is answered busy, so order is kept."""
    actions = review_queue.parse_batch(raw)
    if not actions:
        return []
    flush_pending(store, wait=BATCH_WAIT)
    if pending_writes(hash):
        outcomes = [review_queue.Outcome(a.id, "busy", a.key) for a in actions]
    else:
        known = review_query.known_keys(store, review_scope(store, hash), [a.key for a in actions if a.key])
        outcomes = review_queue.apply_queue(store, hash, actions, tab_origin(), known, wait=BATCH_WAIT,
                                            reviewer=reviewer())
    acks = st.session_state.setdefault("review_acks", [])
    acks.extend(o.as_dict() for o in outcomes)
    del acks[:-ACKS_KEPT]
    return outcomes


def browser_acks() -> list[dict[str, Any]]:
    """The outcomes of the browser's latest decisions, to send back with the page's data."""
    return list(st.session_state.get("review_acks", []))


def review_messages(hash: str) -> None:
    """The Review page's messages to this tab: a toast for what was written
    (``review_notice``), one line for what was not (``review_warning``, or the writes this tab
    still holds as not yet saved)."""
    notice = st.session_state.pop("review_notice", None)
    if notice:
        st.toast(markdown_escape(notice))
    warning = st.session_state.pop("review_warning", None)
    if pending_writes(hash):
        warning = busy_line(hash)
    if warning:
        st.warning(markdown_escape(warning), icon=":material/sync_problem:")


def busy_line(hash: str) -> str:
    n = sum(len(p.changes) for p in pending_writes(hash))
    return (f"{n:,} decision(s) not yet saved: the database is locked by another program. "
            "They are kept in this tab and saved at the next chance.")


def last_undoable(store: Store, hash: str) -> str | None:
    """What Undo would revert in this tab, as the button names it; None: nothing."""
    pending = pending_writes(hash)
    if pending:
        p = pending[-1]
        return f"{p.label} ({len(p.changes):,}, not yet saved)"
    action = store.last_action(hash, origin=tab_origin(), reviewer=reviewer())
    if action is None:
        return None
    return f"{action.label} ({action.n_items:,}) at {time.strftime('%H:%M:%S', time.localtime(action.created_at))}"


def undo(store: Store, hash: str) -> tuple[UndoResult | None, str]:
    """Revert this tab's latest action (never another tab's): a not-yet-saved one is just
    dropped; a saved one is reverted where the database still has what it wrote."""
    queue = _pending()
    for i in range(len(queue) - 1, -1, -1):
        if queue[i].hash == hash:
            p = queue.pop(i)
            return UndoResult(p.label, p.at, {k: p.expected.get(k) for k in p.changes}), ""
    try:
        result = store.undo(hash, origin=tab_origin(), reviewer=reviewer())
    except StoreBusy:
        return None, "Undo not made: the database is locked by another program. Try again in a moment."
    if result is None:
        return None, "Nothing of this tab's to undo."
    line = ""
    if result.conflicts:
        line = (f"Undo {result.label}: {len(result.conflicts):,} variant(s) left as they are: "
                "decided again in another tab or session since.")
    return result, line


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


def show_error(exc: BaseException | str, prefix: str = "") -> None:
    """An error box. The message may quote the upload, so it goes in as inline code: shown
    literally (no Markdown, emoji or colour directives read in it) and copied exactly
    (no zero-width spaces, which escaping the colons needed). CLI wording becomes the
    page's (``--model`` -> the Model field)."""
    message = exc.in_app() if isinstance(exc, InputError) else exc
    st.error(prefix + markdown_code(message), icon=":material/error:")


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


# --- sign-in, reviewers and the network ---------------------------------------------------

APP_SECRETS = "augment_review"
"""The app's own section of ``.streamlit/secrets.toml`` (beside Streamlit's ``[auth]``)."""
ALLOW_KEY = "allowed_users"
"""In :data:`APP_SECRETS`: the e-mail addresses and ``@domains`` that may sign in (see
:mod:`augment_core.serve.access`); absent or empty: anyone the identity provider signs in."""


class NotSignedIn(RuntimeError):
    """A decision was about to be written with sign-in configured and nobody signed in."""


def _secrets() -> tuple[Mapping[str, Any], str]:
    """(the secrets, "") or ({}, why they cannot be read). No secrets file at all is no
    error: single-user mode."""
    from streamlit.errors import StreamlitSecretNotFoundError

    try:
        return {k: st.secrets[k] for k in st.secrets}, ""
    except StreamlitSecretNotFoundError as exc:
        if getattr(exc, "error_id", None) == "no-secrets-found":
            return {}, ""
        return {}, str(exc)


def _section(secrets: Mapping[str, Any]) -> Mapping[str, Any]:
    """The app's own section of the secrets ({} when absent); AllowListError when it is not one."""
    section = secrets.get(APP_SECRETS) or {}
    if not isinstance(section, Mapping):
        raise access.AllowListError(f"[{APP_SECRETS}] must be a section of settings")
    return section


def _allow_list(secrets: Mapping[str, Any]) -> tuple[str, ...]:
    """The allow-list in the secrets (empty: none); raises AllowListError when it is malformed."""
    return access.parse_allow_list(_section(secrets).get(ALLOW_KEY))


def _settings_problem(secrets: Mapping[str, Any]) -> str:
    """Why the app's settings cannot be read ("" when they can): a malformed allow-list,
    admins list or server folders keeps a served app closed rather than guessing."""
    try:
        section = _section(secrets)
        if "auth" in secrets:
            access.parse_allow_list(section.get(ALLOW_KEY))
            policy.parse_admins(section.get(policy.ADMINS_KEY))
        server_paths.parse_dirs(section.get(server_paths.DIRS_KEY))
    except (access.AllowListError, server_paths.ServerDirsError) as exc:
        return str(exc)
    return ""


def auth_configured() -> bool:
    """Whether ``.streamlit/secrets.toml`` has an ``[auth]`` section (sign-in required)."""
    secrets, error = _secrets()
    return bool(error) or "auth" in secrets  # an unreadable secrets file keeps the app closed


def signed_in_email() -> str | None:
    """The signed-in user's e-mail address, normalised; None when nobody is signed in."""
    user = st.user
    if not user.get("is_logged_in"):
        return None
    if user.get("email_verified") is False:
        return None
    return access.normalize_email(user.get("email"))


def reviewer() -> str:
    """Whose decisions this session reads and writes: the signed-in e-mail, or ``"local"``
    without sign-in. Pages and callbacks only run past :func:`sign_in_gate`, so with sign-in
    someone allowed is signed in; :class:`NotSignedIn` otherwise (nothing is written)."""
    secrets, error = _secrets()
    if not error and "auth" not in secrets:
        return LOCAL_REVIEWER
    email = signed_in_email()
    if email is None or error:
        raise NotSignedIn("sign in to decide")
    try:
        allow_list = _allow_list(secrets)
    except access.AllowListError as exc:
        raise NotSignedIn(str(exc)) from exc
    if not access.is_allowed(email, allow_list):  # taken off the list while a tab was open
        raise NotSignedIn(f"{email} is not on this server's list of reviewers")
    return email


def _sign_in_page(title: str, lines: list[str], sign_in: bool, sign_out: bool) -> None:
    st.title(title)
    for line in lines:
        st.markdown(line)
    if sign_in and st.button("Sign in", type="primary", icon=":material/login:", key="app_sign_in"):
        from streamlit.errors import StreamlitAuthError

        try:
            st.login()
        except StreamlitAuthError as exc:
            st.error("Sign-in is not set up correctly in .streamlit/secrets.toml: " + markdown_code(str(exc)),
                     icon=":material/error:")
    if sign_out and st.button("Sign out", icon=":material/logout:", key="app_sign_out"):
        st.logout()
    st.stop()


def sign_in_gate() -> User:
    """The user of this session, or a page instead of the app (and a stop).

    Without ``[auth]`` in the secrets: ``"local"`` (an admin), nothing shown (single-user mode). With it:
    a sign-in page until the user signs in (``st.login()``, OpenID Connect); a refusal page
    for an account without a verified e-mail or outside the allow-list; else the signed-in
    e-mail and its role, shown in the sidebar with a sign-out button. A malformed allow-list,
    admins list or ``server_dirs`` closes the app. Runs before any page shows data."""
    secrets, error = _secrets()
    if error:
        _sign_in_page("augment-review is closed", [
            "The secrets file cannot be read, so the app cannot tell who may use it: "
            + markdown_code(error)], sign_in=False, sign_out=False)
    problem = _settings_problem(secrets)
    if problem:
        _sign_in_page("augment-review is closed", [
            f"The settings in .streamlit/secrets.toml ([{APP_SECRETS}]) cannot be read: "
            + markdown_code(problem)], sign_in=False, sign_out=False)
    if "auth" not in secrets:
        return current_user()
    allow_list = _allow_list(secrets)
    if not st.user.get("is_logged_in"):
        _sign_in_page("Sign in to augment-review", [
            "This server keeps its datasets and decisions for signed-in reviewers only.",
            "Every decision is recorded under your e-mail address."], sign_in=True, sign_out=False)
    email = signed_in_email()
    if email is None:
        _sign_in_page("Not allowed", [
            "Your account did not give a verified e-mail address, which every decision here is "
            "recorded under. Sign out and sign in with another account."], sign_in=False, sign_out=True)
    assert email is not None
    if not access.is_allowed(email, allow_list):
        _sign_in_page("Not allowed", [
            f"You are signed in as {markdown_code(email)}, which is not on this server's list of reviewers.",
            "Ask whoever runs it to add your address or domain, or sign out and sign in with another account."],
            sign_in=False, sign_out=True)
    user = current_user()
    with st.sidebar:
        st.text(f"Signed in as {email} ({user.role.value})")
        if st.button("Sign out", icon=":material/logout:", key="app_sign_out"):
            st.logout()
    return user


# --- roles: what this session's user may do ----------------------------------------------


def current_user() -> User:
    """This session's user and role, resolved from the sign-in and the secrets on every call
    (so a role taken away takes effect at the next click, in every open tab): without sign-in
    the local user, an admin; with it the signed-in reviewer, an admin when listed in
    ``admins``. Raises :class:`NotSignedIn` where :func:`reviewer` does."""
    name = reviewer()
    secrets, _ = _secrets()
    if "auth" not in secrets:
        return User(name, policy.role_of(None, (), signed_in=False))
    try:
        admins = policy.parse_admins(_section(secrets).get(policy.ADMINS_KEY))
    except access.AllowListError:  # the gate keeps the app closed; a stray callback gets no more
        admins = ()
    return User(name, policy.role_of(name, admins, signed_in=True))


def can(action: Action) -> bool:
    """Whether this session's user may take ``action``: what a page shows."""
    try:
        return policy.allows(current_user(), action)
    except NotSignedIn:
        return False


def authorize(action: Action) -> User:
    """The user, when allowed to take ``action``; else :class:`augment_core.serve.policy.Forbidden`
    (one line). Every handler that changes something on the server calls it before acting,
    whatever the page showed."""
    try:
        user = current_user()
    except NotSignedIn as exc:
        raise policy.Forbidden(f"not allowed: {exc}") from None
    policy.authorize(user, action)
    return user


def refused(action: Action) -> bool:
    """True after an error box when this session may not take ``action`` (a handler's first
    line: ``if common.refused(Action.X): return``)."""
    try:
        authorize(action)
    except policy.Forbidden as exc:
        show_error(exc)
        return True
    return False


def reviewer_note(action: Action, what: str) -> bool:
    """Whether this session may take ``action``; when not, one line saying what a reviewer
    cannot do here (where the page leaves its controls out)."""
    if can(action):
        return True
    st.caption(f"As a reviewer you cannot {markdown_escape(what)} here: ask an admin of this server.")
    return False


def server_dirs() -> server_paths.ServerDirs:
    """The folders server paths must stay in: ``server_dirs`` in the secrets and
    ``AUGMENT_REVIEW_SERVER_DIRS``, both (union, the secrets' first). Neither set: with sign-in
    none (no server path field is offered), without it the server's working folder and its
    data folder (a relative path lands in the working folder, as it always did)."""
    secrets, _ = _secrets()
    try:
        configured = server_paths.parse_dirs(_section(secrets).get(server_paths.DIRS_KEY))
    except (access.AllowListError, server_paths.ServerDirsError):
        configured = ()  # the gate keeps the app closed
    from_env = server_paths.env_dirs(os.environ.get(server_paths.ENV))
    if configured or from_env:
        return server_paths.ServerDirs.of(configured, from_env)
    if auth_configured():
        return server_paths.ServerDirs()
    return server_paths.ServerDirs.of([Path.cwd(), get_store().data_dir])


def network_warning() -> None:
    """Every page: a warning when the server is reachable from other machines and nobody has
    to sign in (``server.address`` not loopback, no ``[auth]``)."""
    address = st.get_option("server.address")
    if access.is_loopback(address) or auth_configured():
        return
    where = f"on {address}" if address else "on every network interface"
    st.warning(
        f"This server listens {markdown_escape(where)} without sign-in: anyone who can reach it can read "
        "and change all datasets. Configure sign-in ([auth] in .streamlit/secrets.toml) or serve on "
        "localhost (docs/team.md: Serving a team).",
        icon=":material/public:",
    )
