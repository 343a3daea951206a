"""Evaluate: does the curated augmentation help a quick baseline? Val only, test on request."""

from __future__ import annotations

import time

import altair as alt
import pandas as pd
import streamlit as st

import app_common as common
from app_support import access, loaders, writes
from app_support.markup import markdown_escape, show_error
from augment_core.errors import InputError
from augment_core.evaluate import EvalConfig, from_dataset, run_evaluation
from augment_core.evaluate.manifest import variants_fingerprint
from augment_core.evaluate.report import summary_rows, tag_delta_rows
from augment_core.review import export
from augment_core.review.rule_export import candidates_with_files

store, hash, dataset = common.start_page("Evaluate")
st.caption(
    "Trains a quick baseline (TF-IDF character n-grams + logistic regression) on (a) the train originals and "
    "(b) the originals plus the variants, over several seeds, and scores both on val, on val with its aliases "
    "swapped, and by how often predictions flip. A quick baseline, not your model."
)
runs = store.runs(hash)
if not runs:
    st.info("No runs yet: generate variants on the Augment page first.")
    st.stop()

c1, c2 = st.columns(2)
run_ids = c1.multiselect("Runs", [r.id for r in runs], default=[r.id for r in runs], key="evaluate_runs",
                         format_func=lambda i: f"run {i}")
source = c2.radio("Variants arm (b) adds", ["accepted", "all"], horizontal=True, key="evaluate_source",
                  format_func=lambda s: "accepted variants" if s == "accepted" else "all variants of these runs")
c1, c2, c3 = st.columns(3)
seeds = c1.number_input("Seeds", 1, 20, EvalConfig.seeds, key="evaluate_seeds")
seed = c2.number_input("First seed", 0, 2**31 - 1, EvalConfig.seed, key="evaluate_seed")
fraction = c3.number_input("Train fraction per seed", 0.1, 1.0, EvalConfig.train_fraction, 0.05,
                           key="evaluate_train_fraction")
use_test = st.checkbox("Also score on the test split", value=False, key="evaluate_use_test")
bases = export.bases([r for r in runs if r.id in run_ids], store.dataset(hash).settings)
if len(bases) > 1:
    st.warning("These runs were made under different column mappings or splits: a variant is evaluated with the "
               "dataset as its run saw it, so choose runs of one mapping.", icon=":material/warning:")
if use_test:
    st.warning("Test rows will be read. Look at test once, at the end: choosing a split by its test score "
               "turns test into a second val split.", icon=":material/warning:")

if st.button("Run evaluation", type="primary", key="evaluate_run", disabled=not run_ids or len(bases) > 1):
    bar = st.progress(0.0, text="Starting…")
    started = time.monotonic()

    def progress(done: int, total: int) -> None:
        bar.progress(done / total, text=f"{done:,} / {total:,} fits · {time.monotonic() - started:.0f} s")

    try:
        candidates, decisions = candidates_with_files(store, hash, [r for r in runs if r.id in run_ids],
                                                      writes.decisions(store, hash), access.reviewer())
        settings = bases[0].settings
        data = from_dataset(loaders.load_dataset_as(store, hash, settings), candidates, decisions, source, use_test)
        config = EvalConfig(seeds=int(seeds), seed=int(seed), train_fraction=float(fraction))
        result = run_evaluation(data, loaders.load_train_keywords(store, hash, settings), config, progress)
    except InputError as exc:
        bar.empty()
        show_error(exc, prefix="The evaluation could not run: ")
    else:
        used = [c["key"] for c in candidates if source == "all" or decisions.get(c["key"]) == "accepted"]
        result["runs"] = list(run_ids)
        result["variants_sha256"] = variants_fingerprint(used)
        store.save_evaluation(hash, result)
        bar.progress(1.0, text=f"Done in {result['seconds']:.1f} s")

result = store.latest_evaluation(hash)
if result is None:
    st.info("No evaluation yet for this dataset.")
    st.stop()

data = result["data"]
st.subheader("Latest result")
st.text(
    f"{result['created_at']} · runs {', '.join(map(str, result.get('runs', [])))} · "
    f"{data['train_originals']:,} originals + {data['variants']:,} variants ({data['variants_source']}) · "
    f"{result['config']['seeds']} seeds · {result['task']}, {len(data['tags'])} tags scored"
)
for split, rep in result["splits"].items():
    st.markdown(f"**{markdown_escape(split)}** · {rep['rows']:,} rows, {rep['swapped_rows']:,} with an alias swapped")
    verdict = rep["verdict"]
    box = st.success if verdict["clean"] != "loss" and verdict["robustness"] in ("gain", "none") else st.warning
    if verdict["clean"] == "none" and verdict["robustness"] == "none":
        box = st.info
    box(markdown_escape(verdict["summary"]))
    st.dataframe(pd.DataFrame(summary_rows(result, split)), hide_index=True, width="stretch",
                 column_config={k: st.column_config.NumberColumn(format="%.3f")
                                for k in ("originals", "augmented", "difference", "ci_low", "ci_high")})
    tags = pd.DataFrame(tag_delta_rows(result, split))
    if not tags.empty:
        st.markdown("Per-tag F1 difference (augmented - originals), mean over seeds, with 95% intervals")
        order = (tags[tags["condition"] == "clean val"].sort_values("delta")["tag"].tolist())
        y = alt.Y("tag:N", sort=order, title=None, axis=alt.Axis(labelOverlap=False, labelLimit=180))
        base = alt.Chart().encode(y=y)
        chart = alt.layer(
            # bars, not rules: a bar sits in the middle of its tag's band, as the point does
            base.mark_bar(height=2, color="#9ca3af").encode(x=alt.X("ci_low:Q", title="F1 difference"), x2="ci_high:Q"),
            base.mark_point(filled=True, size=60).encode(
                x="delta:Q", color=alt.Color("delta:Q", scale=alt.Scale(scheme="redblue", domainMid=0), legend=None),
                tooltip=["tag", "condition", "support", alt.Tooltip("f1_originals:Q", format=".3f"),
                         alt.Tooltip("f1_augmented:Q", format=".3f"), alt.Tooltip("delta:Q", format="+.3f"),
                         alt.Tooltip("ci_low:Q", format="+.3f"), alt.Tooltip("ci_high:Q", format="+.3f")],
            ),
            data=tags,
        ).properties(height=max(200, 20 * len(order)), width=300).facet(
            column=alt.Column("condition:N", title=None, sort=["clean val", "alias-swapped val"])
        )
        st.altair_chart(chart)
st.caption("Stored with the dataset; the export manifest includes it.")
