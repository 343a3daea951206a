"""Export: the curated training split (train originals + accepted variants), a manifest,
and charts of tag counts before/after and acceptance by augmenter and alias rule."""

from __future__ import annotations

import json
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

import app_common as common
from augment_core import export
from augment_core.evaluate.storage import manifest_entry
from augment_core.io import encode_rows

store, hash, dataset = common.start_page("Export")
info = store.dataset(hash)
items = common.load_items(store, hash)
decisions = common.decisions(store, hash)

c1, c2 = st.columns(2)
fmt = c1.radio("Format", ["csv", "jsonl", "parquet"], horizontal=True, key="export_format")
include_eval = c2.checkbox("Also include val/test rows (untouched)", value=False, key="export_include_eval")

rows = export.curated_rows(dataset, items, decisions, include_eval=include_eval)
counts = export.decision_counts(items, decisions)
m = st.columns(5)
m[0].metric("Rows to export", f"{len(rows):,}")
m[1].metric("Train originals", f"{sum(1 for r in dataset.records if r.split == 'train'):,}")
m[2].metric("Accepted variants", f"{counts['accepted']:,}")
m[3].metric("Rejected", f"{counts['rejected']:,}")
m[4].metric("Undecided (left out)", f"{counts['undecided']:,}")

guard = False
if fmt == "csv":
    guard = st.checkbox(
        "Guard against spreadsheet formulas (prefix cells that start with =, +, -, @, tab or CR with ')",
        value=True,
        key="export_csv_guard",
        help="A spreadsheet runs a cell such as =HYPERLINK(...) as a formula (CSV injection). The prefix "
        "stops that but changes the text: for training, download JSONL or Parquet, or this CSV unguarded.",
    )
data, guarded = encode_rows(rows, fmt, formula_guard=guard)
if fmt == "csv":
    if guard:
        st.caption(
            f"Formula guard on: {guarded:,} cell(s) prefixed with ' for spreadsheets. For training, use "
            "JSONL or Parquet (exact text), or untick this for the raw text."
        )
    else:
        st.caption("Formula guard off: the CSV holds the raw text. Open it in a spreadsheet only if you trust it.")

stem = Path(info.name).stem or "dataset"
manifest = export.build_manifest(
    dataset_hash=hash,
    dataset_name=info.name,
    columns=common.load_table(store, hash).columns,
    settings=info.settings,
    tags_name=store.tags(hash)[0],
    runs=[{"id": r.id, "created_at": r.created_at, "params": r.params} for r in store.runs(hash)],
    dataset=dataset,
    candidates=items,
    decisions=decisions,
    exported=rows,
    include_eval=include_eval,
    fmt=fmt,
    csv_formula_guard=guard if fmt == "csv" else None,
    guarded_cells=guarded,
    evaluation=manifest_entry(store.path, hash, [i["key"] for i in items if decisions.get(i["key"]) == "accepted"]),
)
d1, d2 = st.columns(2)
mime = {"csv": "text/csv", "jsonl": "application/jsonl", "parquet": "application/vnd.apache.parquet"}[fmt]
d1.download_button(
    f"Download curated split ({fmt})",
    data=data,
    file_name=f"{stem}-curated.{fmt}",
    mime=mime,
    key="export_download",
    type="primary",
    on_click="ignore",
    icon=":material/download:",
)
d2.download_button(
    "Download manifest (JSON)",
    data=json.dumps(manifest, indent=2, ensure_ascii=False, default=str).encode("utf-8"),
    file_name=f"{stem}-manifest.json",
    mime="application/json",
    key="export_manifest",
    on_click="ignore",
    icon=":material/description:",
)

with st.expander("Manifest"):
    st.json(manifest, expanded=1)

st.subheader("Tag counts, train split: before and after")
labels = common.labels_by_id(dataset)
tag_rows = pd.DataFrame(export.tag_counts_before_after(dataset, rows, labels))
if not tag_rows.empty:
    totals = tag_rows[tag_rows["stage"] == "after"].sort_values("count", ascending=False)
    top = totals["tag"].head(30).tolist()
    st.altair_chart(
        alt.Chart(tag_rows[tag_rows["tag"].isin(top)])
        .mark_bar()
        .encode(
            x=alt.X("count:Q", title="train rows"),
            y=alt.Y("tag:N", sort=top, title=None),
            yOffset=alt.YOffset("stage:N", sort=["before", "after"]),
            color=alt.Color("stage:N", sort=["before", "after"]),
            tooltip=["tag", "stage", "count"],
        )
        .properties(height=max(200, 22 * len(top))),
        width="stretch",
    )

status_colours = alt.Scale(domain=["accepted", "rejected", "undecided"], range=["#16a34a", "#dc2626", "#9ca3af"])
c1, c2 = st.columns(2)
with c1:
    st.subheader("Acceptance by augmenter")
    by_aug = pd.DataFrame(export.acceptance_table(items, decisions, "augmenter"))
    if not by_aug.empty:
        st.altair_chart(
            alt.Chart(by_aug).mark_bar().encode(
                x=alt.X("count:Q"), y=alt.Y("group:N", title=None),
                color=alt.Color("status:N", scale=status_colours), tooltip=["group", "status", "count"],
            ),
            width="stretch",
        )
with c2:
    st.subheader("Acceptance by alias rule (top 30)")
    by_rule = pd.DataFrame(export.acceptance_table(items, decisions, "rule"))
    if not by_rule.empty:
        top_rules = by_rule.groupby("group")["count"].sum().sort_values(ascending=False).head(30).index.tolist()
        st.altair_chart(
            alt.Chart(by_rule[by_rule["group"].isin(top_rules)]).mark_bar().encode(
                x=alt.X("count:Q"), y=alt.Y("group:N", sort=top_rules, title=None),
                color=alt.Color("status:N", scale=status_colours), tooltip=["group", "status", "count"],
            ).properties(height=max(200, 16 * len(top_rules))),
            width="stretch",
        )
