"""Augment: choose augmenters and parameters, run with a progress bar, keep every run."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

import app_common as common
from augment_core.errors import InputError
from augment_core.pipeline import run_augmentation

store, hash, dataset = common.start_page("Augment")
# the settings a run is made from are read once, and kept with the run
run_settings = store.dataset(hash).settings
dataset = common.load_dataset_as(store, hash, run_settings)

AUGMENTERS = ["alias_swap", "contextual_substitute", "contextual_insert"]
n_train = sum(1 for r in dataset.records if r.split == "train")

chosen = st.multiselect("Augmenters", AUGMENTERS, default=["alias_swap"], key="augment_augmenters")
c1, c2, c3 = st.columns(3)
n_per_original = c1.number_input("Variants per original", 1, 50, 2, key="augment_n_per_original")
seed = c2.number_input("Seed", 0, 2**31 - 1, 0, key="augment_seed")
keep_original = c3.checkbox("Keep original train rows in the run", value=True, key="augment_keep_original")

params: dict[str, dict] = {}
if "alias_swap" in chosen:
    with st.container(border=True):
        st.markdown("**Alias swap**")
        a1, a2 = st.columns(2)
        params["alias_swap"] = {
            "max_swaps": a1.number_input("Swaps per variant (at most)", 1, 10, 1, key="augment_max_swaps"),
            "min_agreement": a2.number_input(
                "Minimum keyword agreement", 0.0, 1.0, 0.0, 0.05, key="augment_min_agreement",
                help="Leave alone keywords that carry their tag in fewer than this share of the train rows that "
                "contain them (with at least 3 such rows); 0 swaps every keyword. See the Data page's alias table.",
            ),
        }
contextual = [a for a in chosen if a.startswith("contextual_")]
if contextual:
    with st.container(border=True):
        st.markdown("**Contextual (masked language model)**")
        k1, k2, k3 = st.columns(3)
        engine = k1.selectbox("Engine", ["native", "nlpaug"], key="augment_engine")
        model = k2.text_input("Model (hub name or local path)", value="", key="augment_model",
                              placeholder="default: distilbert-base-uncased or $AUGMENT_REVIEW_MODEL")
        device = k3.selectbox("Device", ["auto", "cpu", "cuda"], key="augment_device")
        k1, k2 = st.columns(2)
        aug_p = k1.slider("aug_p (share of words changed)", 0.05, 1.0, 0.3, 0.05, key="augment_aug_p")
        top_k = k2.number_input("top_k", 1, 500, 50, key="augment_top_k")
        protect = st.text_area("Protected words (one per line; tag keywords are always protected)",
                               key="augment_protect", height=80)
        for name in contextual:
            params[name] = {
                "engine": engine, "model": model.strip() or None, "device": device, "aug_p": float(aug_p),
                "top_k": int(top_k), "protect_words": [w.strip() for w in protect.splitlines() if w.strip()],
            }
score = st.checkbox("Compute quality signals (similarity, flags, held-out leaks)", value=True,
                    key="augment_quality", help="Loads a sentence encoder (all-MiniLM-L6-v2, shipped offline)")

st.caption(f"{n_train:,} train originals will be augmented; val/test rows are never augmented.")


def build_augmenters() -> list:
    keywords = common.load_train_keywords(store, hash)
    aliases = keywords.table
    out = []
    for name in chosen:
        p = params[name]
        if name == "alias_swap":
            from augment_core.alias_swap import AliasSwap

            out.append(AliasSwap(aliases, max_swaps=int(p["max_swaps"]), agreement=keywords.by_key,
                                 min_agreement=float(p["min_agreement"]) or None))
        else:
            from augment_core.contextual import make_contextual

            kwargs = {k: v for k, v in p.items() if k != "engine"}
            out.append(make_contextual(name.split("_", 1)[1], p["engine"], protected_table=aliases, **kwargs))
    return out


if st.button("Run augmentation", type="primary", key="augment_run", disabled=not chosen):
    bar = st.progress(0.0, text="Starting…")
    started = time.monotonic()

    def progress(done: int, total: int) -> None:
        elapsed = time.monotonic() - started
        left = elapsed / done * (total - done) if done else 0.0
        bar.progress(min(1.0, done / total) if total else 1.0,
                     text=f"{done:,} / {total:,} originals · {elapsed:.0f} s elapsed · about {left:.0f} s left")

    try:
        augmenters = build_augmenters()
        rows = run_augmentation(dataset, augmenters, int(n_per_original), bool(keep_original), int(seed), progress)
        if score:
            from augment_core import quality

            bar.progress(1.0, text="Scoring quality…")
            heldout = [r.text for r in dataset.records if r.split in ("val", "test")]
            table = common.load_train_keywords(store, hash).table
            quality.score_rows(rows, table=table, labels_by_id=common.labels_by_id(dataset), heldout_texts=heldout)
    except InputError as exc:  # ModelUnavailable included
        bar.empty()
        common.show_error(exc, prefix="The run failed: ")
    except ImportError as exc:
        bar.empty()
        common.show_error(f"a component is not available: {exc}", prefix="The run failed: ")
    except Exception as exc:  # noqa: BLE001 - the page stays usable; nothing stored is touched
        bar.empty()
        common.show_error(f"{type(exc).__name__}: {exc}", prefix="The run failed unexpectedly: ")
    else:
        run_params = {
            "augmenters": [{"name": a.name, **a.params()} for a in augmenters],
            "n_per_original": int(n_per_original),
            "keep_original": bool(keep_original),
            "seed": int(seed),
            "quality": bool(score),
            "settings": run_settings,
            "variants": sum(1 for r in rows if r["augmenter"] != "original"),
            "seconds": round(time.monotonic() - started, 2),
        }
        run_id = store.add_run(hash, run_params, rows, settings=run_settings)
        bar.progress(1.0, text=f"Done in {run_params['seconds']:.1f} s")
        st.session_state["augment_last_run"] = run_id
        st.success(f"Run {run_id}: {run_params['variants']:,} variants from {n_train:,} train originals.")
        st.page_link("pages/review.py", label="Review them", icon=":material/fact_check:")

st.subheader("Runs")
runs = store.runs(hash)
if not runs:
    st.info("No runs yet.")
else:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "run": r.id,
                    "created": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.created_at)),
                    "augmenters": ", ".join(a["name"] for a in r.params.get("augmenters", [])),
                    "variants per original": r.params.get("n_per_original"),
                    "seed": r.params.get("seed"),
                    "variants": r.params.get("variants"),
                    "quality": r.params.get("quality"),
                }
                for r in runs
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    with st.expander("Every run's parameters"):
        st.json({str(r.id): r.params for r in runs}, expanded=False)
