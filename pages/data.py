"""Data: open a dataset (upload, bundled sample, or a recent one), map its columns,
see per-split tag counts, choose the tags file and browse the alias table."""

from __future__ import annotations

import time

import altair as alt
import pandas as pd
import streamlit as st

import app_common as common
from app_support import access, loaders
from app_support.markup import markdown_escape, show_error
from app_support.store import get_store
from augment_core.augment.agreement import keyword_rows
from augment_core.data.dataset import content_hash
from augment_core.data.dataset_settings import RemapImpact, default_settings, remap_impact, settings_key
from augment_core.data.splitting import DEFAULT_RATIOS
from augment_core.errors import InputError
from augment_core.review import export
from augment_core.serve.policy import Action

common.run_through_app()
store = get_store()

st.title("Data")
st.markdown(
    "**Workflow:** upload a file (or pick the sample) → check the column mapping → **Augment** the train "
    "split → **Review** each variant → **Export** the curated split; **Evaluate** tells whether the accepted "
    "variants help.  \n"
    "**Save mapping** is needed only to change the mapping: one guessed from the file is saved with it when it "
    "fits, and the other pages use it."
)

# --- open a dataset ------------------------------------------------------------------------

may_add = access.reviewer_note(Action.ADD_DATASET, "add datasets, change a mapping or a tags file")
source = st.radio(
    "Source",
    ["Upload a file", "Bundled sample (Made With ML projects + tags)"],
    horizontal=True,
    key="data_source",
) if may_add else None



def _open_bytes(data: bytes, name: str) -> bool:
    """Store an upload under its content hash (never touching another dataset) and open it.

    The file is parsed in a worker process, within the operator's limits on rows and
    decoded bytes (refused before anything is stored), while the server goes on answering
    every other session. Its preview and overview (counts, fitted keywords; not the records)
    go into the dataset cache, so the page that follows parses nothing again. Returns False (after an error box) when the file
    cannot be read or is over the limits, or this user may not add datasets.
    """
    if access.refused(Action.ADD_DATASET):
        return False
    h = content_hash(data)
    _tags_name, tags = store.tags(h)  # the dataset's own tags file when this content is stored already
    try:
        parsed = loaders.parse_upload(data, name, tags)
    except InputError as exc:
        show_error(exc, prefix="Cannot read this file: ")
        return False
    is_new = store.add_dataset(h, name, data, parsed.settings)
    loaders.prime(store, h, parsed)
    common.open_dataset(store, h)
    st.session_state["data_opened_msg"] = ("Stored a new dataset." if is_new else "Opened the stored dataset (same content as before: its runs and decisions are back).")
    return True


if source == "Upload a file":
    upload = st.file_uploader(
        "Dataset file (CSV, JSON, JSONL or Parquet)",
        type=["csv", "tsv", "json", "jsonl", "parquet"],
        key="data_upload",
    )
    if upload is not None and st.session_state.get("data_last_upload") != upload.file_id:
        st.session_state["data_last_upload"] = upload.file_id
        opened = _open_bytes(upload.getvalue(), upload.name)
        loaders.release_upload(upload, "data_upload")  # stored, or refused: nothing kept either way
        if opened:
            st.rerun()  # so the sidebar and every widget below show the dataset just opened
elif may_add:
    if st.button("Load the bundled sample", key="data_load_sample", type="primary"):
        if _open_bytes(common.SAMPLE_CSV.read_bytes(), common.SAMPLE_CSV.name):
            st.rerun()

recent = store.recent_datasets(limit=10)
if recent:
    with st.expander(f"Recent datasets ({len(recent)})", expanded=common.current_hash() is None):
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "name": d.name,
                        "sha256": d.hash[:12],
                        "runs": d.n_runs,
                        "last opened": time.strftime("%Y-%m-%d %H:%M", time.localtime(d.last_opened)),
                    }
                    for d in recent
                ]
            ),
            hide_index=True,
            width="stretch",
        )
        names = {d.hash: f"{d.name} · {d.hash[:12]}" for d in recent}
        choice = st.selectbox("Open a recent dataset", list(names), format_func=names.get, key="data_recent_choice")
        if st.button("Open", key="data_open_recent") and choice:
            common.open_dataset(store, choice)
            st.rerun()

msg = st.session_state.pop("data_opened_msg", None)
if msg:
    st.success(msg)

hash = common.current_hash()
if hash is None:
    st.stop()

info = store.dataset(hash)
common.dataset_caption(store, hash)
if info.settings:
    common.next_step("Data")
else:
    st.caption("Next: map the columns below and save the mapping; then augment.")
try:
    table = loaders.load_table(store, hash)
except InputError as exc:
    show_error(exc, prefix="Cannot read the stored file: ")
    st.stop()

st.subheader("Preview")
st.dataframe(pd.DataFrame(table.rows[:200], columns=table.columns), hide_index=True, height=240)
st.caption(f"{table.n_rows:,} rows · {len(table.columns)} columns · {markdown_escape(table.fmt)}")

# --- column mapping ------------------------------------------------------------------------

st.subheader("Column mapping")
settings = info.settings or default_settings(table)
mapping = settings["mapping"]
cols = table.columns
NO_SPLIT = "(split for me)"
NO_ID = "(row number)"
if info.n_runs:
    st.caption(
        f"This dataset has {info.n_runs:,} run(s). Each keeps the mapping, ids, split and seed it was made "
        "from, and its decisions stay with it; a new mapping is used by new runs."
    )
may_map = access.can(Action.CHANGE_MAPPING)
if not may_map:
    m = mapping
    st.text(f"Text columns: {', '.join(m['text_columns'])} · label column: {m['label_column']} · split column: "
            f"{m.get('split_column') or '(split for me)'} · id column: {m.get('id_column') or '(row number)'}")
saved = False
if may_map:
    with st.form("data_mapping_form"):
        text_columns = st.multiselect(
            "Text columns (joined with a space)",
            cols,
            default=[c for c in mapping["text_columns"] if c in cols],
            key="data_text_columns",
        )
        c1, c2, c3 = st.columns(3)
        label_column = c1.selectbox(
            "Label column", cols, index=cols.index(mapping["label_column"]) if mapping["label_column"] in cols else 0,
            key="data_label_column",
        )
        formats = ["auto", "json", "delimited", "single"]
        label_format = c2.selectbox(
            "Label format", formats, index=formats.index(mapping.get("label_format", "auto")), key="data_label_format",
            help="auto: a JSON list if the cell looks like one, else split on the separator",
        )
        label_sep = c3.text_input("Label separator", value=mapping.get("label_sep", ","), key="data_label_sep")
        c1, c2 = st.columns(2)
        split_options = [NO_SPLIT, *cols]
        split_column = c1.selectbox(
            "Split column", split_options,
            index=split_options.index(mapping["split_column"]) if mapping.get("split_column") in cols else 0,
            key="data_split_column",
        )
        id_options = [NO_ID, *cols]
        id_column = c2.selectbox(
            "Id column", id_options,
            index=id_options.index(mapping["id_column"]) if mapping.get("id_column") in cols else 0,
            key="data_id_column",
        )
        st.markdown("Split for me (rows without a split column), stratified by tag:")
        r1, r2, r3, r4 = st.columns(4)
        ratios = settings.get("split_ratios") or list(DEFAULT_RATIOS)
        train_r = r1.number_input("Train", 0.0, 1.0, float(ratios[0]), 0.05, key="data_ratio_train")
        val_r = r2.number_input("Val", 0.0, 1.0, float(ratios[1]), 0.05, key="data_ratio_val")
        test_r = r3.number_input("Test", 0.0, 1.0, float(ratios[2]), 0.05, key="data_ratio_test")
        split_seed = r4.number_input("Split seed", 0, 2**31 - 1, int(settings.get("split_seed") or 0), key="data_split_seed")
        saved = st.form_submit_button("Save mapping", type="primary")



def _impact(new_settings: dict) -> tuple[RemapImpact, int]:
    """How the decided originals of every run made under other settings fare under
    ``new_settings``, and how many decisions those runs hold."""
    decided = {k for mine in store.decisions_by_reviewer(hash).values() for k in mine}  # any reviewer's
    total = RemapImpact(0, 0, 0, 0, 0)
    n_decisions = 0
    if not decided:
        return total, 0
    new = loaders.load_dataset_as(store, hash, new_settings)
    for basis in export.bases(store.runs(hash), info.settings):
        if basis.key == settings_key(new_settings) or not basis.run_ids:
            continue
        keys = [it for it in loaders.load_items(store, hash, basis.run_ids) if it.key in decided]
        if not keys:
            continue
        n_decisions += len(keys)
        one = remap_impact(loaders.load_dataset_as(store, hash, basis.settings), new, {it.parent_id for it in keys})
        total = RemapImpact(*(a + b for a, b in zip(total.__dict__.values(), one.__dict__.values())))
    return total, n_decisions


def _save(new_settings: dict) -> None:
    if access.refused(Action.CHANGE_MAPPING):
        return
    store.save_settings(hash, new_settings)
    st.session_state.pop("data_remap_pending", None)
    st.session_state["data_mapping_msg"] = "Mapping saved."


if saved and not access.refused(Action.CHANGE_MAPPING):
    new_settings = {
        "mapping": {
            "text_columns": list(text_columns),
            "label_column": label_column,
            "label_sep": label_sep,
            "label_format": label_format,
            "split_column": None if split_column == NO_SPLIT else split_column,
            "id_column": None if id_column == NO_ID else id_column,
        },
        "split_ratios": [train_r, val_r, test_r],
        "split_seed": int(split_seed),
    }
    st.session_state.pop("data_remap_pending", None)
    try:
        loaders.load_overview(store, hash, new_settings)  # checked (in a worker) and cached for the page below
        impact, n_decisions = _impact(new_settings)
    except InputError as exc:
        show_error(exc, prefix="This mapping does not fit the file: ")
    else:
        if impact.changed:
            st.session_state["data_remap_pending"] = (new_settings, impact, n_decisions)
        else:
            _save(new_settings)
        info = store.dataset(hash)

pending = st.session_state.get("data_remap_pending")
if pending:
    new_settings, impact, n_decisions = pending
    st.warning(markdown_escape(
        f"Not saved yet: under this mapping {impact.changed:,} of the {impact.decided:,} originals that have "
        f"decided variants ({n_decisions:,} decisions) would change: {impact.new_id:,} get another id, "
        f"{impact.left_train:,} leave the train split, {impact.relabelled:,} get other labels. "
        "Their decisions are kept with the runs they were made in: Review and Export go on using those runs' "
        "own mapping, ids and split, so no decision moves to another row or is dropped (Export offers the "
        "runs of each mapping separately). Only new runs use the new mapping."
    ), icon=":material/warning:")
    c1, c2 = st.columns(2)
    if c1.button("Save this mapping", key="data_remap_confirm", type="primary"):
        _save(new_settings)
        st.rerun()
    if c2.button("Keep the current mapping", key="data_remap_cancel"):
        st.session_state.pop("data_remap_pending", None)
        st.rerun()

mapping_msg = st.session_state.pop("data_mapping_msg", None)
if mapping_msg:
    st.success(mapping_msg)

if not info.settings:
    st.info("The guessed mapping does not fit this file: choose the columns above and save.")
    if len(cols) < 2:
        st.warning("This file has one column: a dataset needs a text column and a separate label column.")
    st.stop()

try:
    overview = loaders.load_overview(store, hash)
except InputError as exc:
    show_error(exc, prefix="The saved mapping does not fit the file: ")
    st.stop()

if overview.n_empty_text:
    st.warning(f"{overview.n_empty_text:,} row(s) have no text and will not be augmented.")

# --- counts -------------------------------------------------------------------------------

st.subheader("Tags per split")
counts = pd.DataFrame(overview.tag_counts)
if counts.empty:
    st.info("No labels found in the label column.")
else:
    st.caption(markdown_escape(" · ".join(f"{s}: {n:,} rows" for s, n in overview.rows_per_split.items())))
    table = overview.tag_table
    left, right = st.columns([2, 3])
    left.dataframe(
        pd.DataFrame(table), hide_index=True, height=min(400, 38 + 35 * len(table)),
        column_config={"tag": st.column_config.TextColumn("tag", width="medium")},
    )
    top = [str(r["tag"]) for r in table[:30]]
    chart = (
        alt.Chart(counts[counts["tag"].isin(top)])
        .mark_bar()
        .encode(
            x=alt.X("count:Q", title="rows"),
            y=alt.Y("tag:N", sort=top, title=None),
            color=alt.Color("split:N", sort=["train", "val", "test"]),
            tooltip=["tag", "split", "count", alt.Tooltip("share:Q", format=".1%")],
        )
        .properties(height=max(200, 14 * len(top)), title="Top 30 tags by split")
    )
    right.altair_chart(chart, width="stretch")

# --- tags file and alias table -------------------------------------------------------------

st.subheader("Tags and aliases")
tags_name, _ = store.tags(hash)
st.text(f"Tags file: {tags_name or 'bundled vocabulary (data/tags.json)'}")
may_tag = access.can(Action.CHANGE_TAGS)
tags_upload = st.file_uploader("Upload a tags file (JSON list of {tag, aliases})", type=["json"],
                               key="data_tags_upload") if may_tag else None
if (tags_upload is not None and st.session_state.get("data_last_tags") != tags_upload.file_id
        and not access.refused(Action.CHANGE_TAGS)):
    st.session_state["data_last_tags"] = tags_upload.file_id
    from augment_core.augment.aliases import load_alias_table

    try:
        load_alias_table(tags_upload.getvalue())
    except InputError as exc:
        show_error(exc)
    else:
        store.save_tags(hash, tags_upload.name, tags_upload.getvalue())
        st.rerun()
if (may_tag and tags_name and st.button("Use the bundled vocabulary instead", key="data_tags_bundled")
        and not access.refused(Action.CHANGE_TAGS)):
    store.save_tags(hash, None, None)
    st.rerun()

keywords = overview.keywords
for warning in keywords.table.warnings:
    st.warning(markdown_escape(warning), icon=":material/warning:")  # tag names: the tags file's text
st.caption(
    "**Agreement**: of the train rows containing a keyword, the share that carry its tag (val and test are "
    "never read). Swaps of a keyword below 0.5 with support of at least 3 rows are flagged `ambiguous_keyword`: "
    "the keyword often means something else in this data. Click a column header to sort."
)
query = st.text_input("Search the alias table", key="data_alias_search", placeholder="e.g. cv, nlp, gan")
rows = keyword_rows(keywords, query)
n_swappable = sum(1 for r in rows if r["alternatives"])
st.caption(f"{n_swappable:,} swappable keywords · {len(rows):,} keywords shown")
st.dataframe(
    pd.DataFrame(rows, columns=["keyword", "forms", "tag", "alternatives", "support", "agreement", "ambiguous"]),
    hide_index=True, height=300, width="stretch",
    column_config={"agreement": st.column_config.ProgressColumn("agreement", min_value=0.0, max_value=1.0, format="%.2f")},
)
