"""Export: the curated training split (train originals + accepted variants), a manifest,
and charts of tag counts before/after and acceptance by augmenter and alias rule.

Variants are exported with the dataset as their runs saw it (the runs' own mapping, ids,
split and seed), one set of settings at a time (``export.Basis``). The file and the manifest
are built from the database when the download is clicked, so a tab left open exports what
is decided now; the page's counts are those of the same rows.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

import app_common as common
from app_support import access, loaders, run_review
from app_support.markup import markdown_escape, show_error
from augment_core.augment.quality import FLAG_LABEL_DRIFT
from augment_core.data.dataset_settings import settings_key
from augment_core.errors import InputError
from augment_core.evaluate.manifest import manifest_entry
from augment_core.review import export, reviewers
from augment_core.review.run_import import is_sampled

store, hash, current_dataset = common.start_page("Export")
info = store.dataset(hash)
runs = [r for r in store.runs(hash) if not is_sampled(r.params)]  # runs reviewed by sample: their own section
bases = export.bases(runs, info.settings)


def _describe(b: export.Basis) -> str:
    m = b.settings.get("mapping", {})
    runs_txt = ("runs " + ", ".join(map(str, b.run_ids))) if b.run_ids else "no runs"
    split = f"split column {m.get('split_column')}" if m.get("split_column") else f"split seed {b.settings.get('split_seed')}"
    current = " (the current mapping)" if b.key == settings_key(info.settings) else ""
    return f"{runs_txt} · id column {m.get('id_column') or '(row number)'} · {split}{current}"


basis = bases[-1]
if len(bases) > 1:
    st.info("The runs were made under different column mappings or splits. Each variant is exported with "
            "the dataset as its run saw it, so an export covers one mapping at a time.", icon=":material/info:")
    by_key = {b.key: b for b in bases}
    basis_names = {b.key: _describe(b) for b in bases}
    choice = st.selectbox("Runs to export", list(by_key), index=len(bases) - 1,
                          format_func=basis_names.__getitem__, key="export_basis")
    basis = by_key[choice]
try:
    dataset = loaders.load_dataset_as(store, hash, basis.settings)
except InputError as exc:
    show_error(exc, prefix="These runs' mapping no longer fits the file: ")
    st.stop()
items = loaders.load_items(store, hash, basis.run_ids)
item_keys = frozenset(it.key for it in items)


def _policy() -> reviewers.Policy:
    """The export policy: alone, your own decisions (as before reviewers existed) and no
    choice shown; with other reviewers' decisions, chosen here (default majority)."""
    me = access.reviewer()
    by_reviewer = reviewers.restricted(store.decisions_by_reviewer(hash), item_keys)
    if not reviewers.is_team(by_reviewer, me):
        return reviewers.default_policy(by_reviewer, me)
    choices = {p.describe(): p for p in reviewers.policy_choices(by_reviewer, me)}
    names = list(choices)
    default = reviewers.default_policy(by_reviewer, me).describe()
    choice = st.selectbox("Decisions to export", names, index=names.index(default), key="export_policy",
                          help="Several reviewers decided these variants: export one reviewer's decisions, only "
                          "the variants every reviewer accepted, or the majority's decision. The manifest records it.")
    return choices[choice]


policy = _policy()

c1, c2 = st.columns(2)
fmt = c1.radio("Format", list(export.FORMATS), horizontal=True, key="export_format",
               format_func=lambda f: "Hugging Face (zip)" if f == "hf" else f,
               help="Every column of your file under its own name, provenance columns beside them. Hugging Face: "
               "a DatasetDict (train/validation/test, save_to_disk) with the manifest, zipped: unzip, then "
               "datasets.load_from_disk.")
include_eval = c2.checkbox("Also include val/test rows (untouched)", value=False, key="export_include_eval")


def snapshot() -> tuple[list[dict], dict[str, str]]:
    """The rows to export from the decisions in the database now, under the policy."""
    decisions = reviewers.resolve(reviewers.restricted(store.decisions_by_reviewer(hash), item_keys), policy)
    return export.curated_rows(dataset, items, decisions, include_eval=include_eval), decisions


def build_manifest(rows: list[dict], decisions: dict[str, str], guarded: int) -> dict:
    team = reviewers.manifest_entry(reviewers.restricted(store.decisions_by_reviewer(hash), item_keys), policy)
    return export.build_manifest(
        dataset_hash=hash,
        dataset_name=info.name,
        columns=loaders.load_table(store, hash).columns,
        settings=basis.settings,
        tags_name=store.tags(hash)[0],
        runs=[{"id": r.id, "created_at": r.created_at, "params": r.params, "settings": r.settings}
              for r in runs if r.id in basis.run_ids],
        dataset=dataset,
        candidates=items,
        decisions=decisions,
        exported=rows,
        include_eval=include_eval,
        fmt=fmt,
        csv_formula_guard=guard if fmt == "csv" else None,
        guarded_cells=guarded,
        evaluation=manifest_entry(store.latest_evaluation(hash), [it.key for it in items if decisions.get(it.key) == "accepted"]),
        reviewers=team,
    )


def file_bytes() -> bytes:
    rows, decisions = snapshot()
    manifest = build_manifest(rows, decisions, 0) if fmt == "hf" else None
    return export.encode_export(rows, dataset, fmt, formula_guard=guard, manifest=manifest, name=f"{stem}-curated")[0]


def manifest_bytes() -> bytes:
    rows, decisions = snapshot()
    guarded = export.encode_export(rows, dataset, fmt, formula_guard=guard)[1] if guard else 0
    return json.dumps(build_manifest(rows, decisions, guarded), indent=2, ensure_ascii=False, default=str).encode("utf-8")


COUNTS_EVERY = 5  # seconds between refreshes of the counts, so they stay the rows a download would give


@st.fragment(run_every=COUNTS_EVERY)
def live_counts() -> None:
    """The counts of the rows a download gives now (decisions from other tabs included)."""
    rows, decisions = snapshot()
    counts = export.export_counts(rows, items, decisions)
    m = st.columns(5)
    m[0].metric("Rows to export", f"{counts.rows:,}")
    m[1].metric("Train originals", f"{counts.train_originals:,}")
    m[2].metric("Accepted variants", f"{counts.variants:,}")
    m[3].metric("Rejected", f"{counts.rejected:,}")
    m[4].metric("Undecided (left out)", f"{counts.undecided:,}")
    notes = [f"as decided at {time.strftime('%H:%M:%S')} (refreshed every {COUNTS_EVERY} s; the download reads "
             "the decisions again when clicked)"]
    if counts.repeats:
        notes.append(f"{counts.repeats:,} accepted variant(s) repeat the text of their original or of another "
                     "accepted variant and are exported once")
    if any(b is not basis and b.run_ids for b in bases):
        notes.append("variants of runs under another mapping are in the other export (choose above)")
    st.caption(markdown_escape("; ".join(notes) + "."))


live_counts()
rows, decisions = snapshot()
stem = Path(info.name).stem or "dataset"

guard = False
if fmt == "csv":
    guard = st.checkbox(
        "Guard against spreadsheet formulas (prefix cells that start with =, +, -, @, tab or CR with ')",
        value=True,
        key="export_csv_guard",
        help="A spreadsheet runs a cell such as =HYPERLINK(...) as a formula (CSV injection). The prefix "
        "stops that but changes the text: for training, download JSONL or Parquet, or this CSV unguarded.",
    )
_, guarded = export.encode_export(rows, dataset, fmt, formula_guard=guard) if guard else (b"", 0)
if fmt == "csv":
    if guard:
        st.caption(
            f"Formula guard on: {guarded:,} cell(s) prefixed with ' for spreadsheets. For training, use "
            "JSONL or Parquet (exact text), or untick this for the raw text."
        )
    else:
        st.caption("Formula guard off: the CSV holds the raw text. Open it in a spreadsheet only if you trust it.")

manifest = build_manifest(rows, decisions, guarded)
d1, d2 = st.columns(2)
mime = {"csv": "text/csv", "jsonl": "application/jsonl", "parquet": "application/vnd.apache.parquet",
        "hf": "application/zip"}[fmt]
d1.download_button(
    f"Download curated split ({'Hugging Face, zip' if fmt == 'hf' else markdown_escape(fmt)})",
    data=file_bytes,
    file_name=f"{stem}-curated.{'zip' if fmt == 'hf' else fmt}",
    mime=mime,
    key="export_download",
    type="primary",
    on_click="ignore",  # a rerun would replace the deferred file while it is being fetched
    icon=":material/download:",
)
d2.download_button(
    "Download manifest (JSON)",
    data=manifest_bytes,
    file_name=f"{stem}-manifest.json",
    mime="application/json",
    key="export_manifest",
    on_click="ignore",
    icon=":material/description:",
)

with st.expander("Manifest"):
    st.json(manifest, expanded=1)

run_review.sampled_export_section(store, hash)

st.subheader("Tag counts, train split: before and after")
labels = loaders.labels_by_id(dataset)
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
                x=alt.X("count:Q"), y=alt.Y("group:N", title=None, axis=alt.Axis(labelLimit=0, labelOverlap=False)),
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
                x=alt.X("count:Q"), y=alt.Y("group:N", sort=top_rules, title=None, axis=alt.Axis(labelLimit=0, labelOverlap=False)),
                color=alt.Color("status:N", scale=status_colours), tooltip=["group", "status", "count"],
            ).properties(height=max(200, 22 * len(top_rules))),
            width="stretch",
        )

st.subheader("label_drift by augmenter")
drift = pd.DataFrame(export.flag_share(items, FLAG_LABEL_DRIFT))
if not drift.empty:
    st.caption("Share of each augmenter's variants that the quick baseline, trained on the train originals, reads as "
               "other labels than their parent (computed with the quality signals).")
    st.altair_chart(
        alt.Chart(drift).mark_bar().encode(
            x=alt.X("share:Q", title="share flagged label_drift", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
            y=alt.Y("augmenter:N", title=None, axis=alt.Axis(labelLimit=0, labelOverlap=False)),
            tooltip=["augmenter", "flagged", "variants", alt.Tooltip("share:Q", format=".0%")],
        ),
        width="stretch",
    )
