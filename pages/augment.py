"""Augment: choose augmenters and parameters, run with per-phase progress, keep every run.

The run itself is ``augment_core.runners.run.augment`` (the CLI's too), described by an
``augment_core.job.Augmentation`` built from the form; this page lays out its settings and shows its phases (model load, generation, quality scoring) with counts, rate
and time left. The form comes back as it was last used for this dataset: this session's
values, else the latest run's.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

import pandas as pd
import streamlit as st

import app_common as common
from app_support import access, loaders, run_review, variant_upload
from app_support.markup import markdown_escape, show_error
from augment_core.augment.params import Param, settings_dict
from augment_core.augment.quality import QualitySettings
from augment_core.augment.registry import registered, settings_from_params
from augment_core.errors import InputError
from augment_core.job import Augmentation, Policy, joiner_warning
from augment_core.review.facts import store_run
from augment_core.runners.run import PhaseClock, augment_with
from augment_core.serve.policy import Action
from augment_core.serve.server_paths import model_location

store, hash, dataset = common.start_page("Augment")
# the settings a run is made from are read once, and kept with the run
run_settings = store.dataset(hash).settings
dataset = loaders.load_dataset_as(store, hash, run_settings)
runs = store.runs(hash)


def show_runs() -> None:
    """The dataset's runs, each with its parameters (every role sees them)."""
    st.subheader("Runs")
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
                        "originals without variant": r.params.get("originals_without_variant"),
                        "quality": bool(r.params.get("quality")),
                        "loaded from": (r.params.get("imported") or {}).get("path", ""),
                        "reviewed by sample": bool((r.params.get("imported") or {}).get("sampled")),
                    }
                    for r in runs
                ]
            ),
            hide_index=True,
            width="stretch",
        )
        with st.expander("Every run's parameters"):
            st.json({str(r.id): r.params for r in runs}, expanded=False)


if not access.reviewer_note(Action.RUN_AUGMENTATION, "run augmentations or load runs"):
    show_runs()
    st.stop()


MEMORY = "augment_form"  # session key: dataset hash -> the form's values as last used in this session
TICK = 0.5  # seconds between progress updates while a run works (at most 2)


def param_key(name: str, param: str) -> str:
    return f"augment_{name}.{param}"


def widget_value(p: Param, value: Any) -> Any:
    """A setting as its widget holds it (a list as lines, a missing text as empty)."""
    if p.type is tuple:
        return "\n".join(value or ())
    if p.type is str and p.choices is None:
        return value or ""
    return value


def setting_value(p: Param, value: Any) -> Any:
    """A widget's value as the setting (lines as a list, an empty optional text as None)."""
    if p.type is tuple:
        return tuple(w.strip() for w in str(value).splitlines() if w.strip())
    if p.type is str and p.choices is None:
        text = str(value).strip()
        return None if p.nullable and not text else text
    return value


def form_defaults() -> dict[str, Any]:
    """The form as the dataset's latest run left it (a new dataset: the usual defaults)."""
    latest = runs[-1].params if runs else {}
    names, last = settings_from_params(latest.get("augmenters", []))
    out = {
        "augment_augmenters": names or ["alias_swap"],
        "augment_n_per_original": int(latest.get("n_per_original", 2)),
        "augment_seed": int(latest.get("seed", 0)),
        "augment_keep_original": bool(latest.get("keep_original", True)),
        "augment_quality": bool(latest.get("quality", True)),
    }
    for name, spec in specs.items():
        values = settings_dict(last.get(name))
        for p in spec.params():
            out[param_key(name, p.name)] = widget_value(p, values.get(p.name, p.default))
    return out


def param_widget(name: str, p: Param, where: Any) -> None:
    """The widget a parameter's declaration asks for. A plug-in's names and help are its
    author's text, not this app's: shown literally."""
    key, words = param_key(name, p.name), p.name.replace("_", " ")
    if p.type is bool:
        where.checkbox(markdown_escape(words), key=key, help=markdown_escape(p.help) if p.help else None)
    elif p.choices is not None:
        where.selectbox(markdown_escape(words), list(p.choices), key=key,
                        help=markdown_escape(p.help) if p.help else None)
    elif p.type in (int, float):
        step = 1 if p.type is int else 0.05
        cast = p.type
        where.number_input(markdown_escape(words), min_value=None if p.min is None else cast(p.min),
                           max_value=None if p.max is None else cast(p.max), step=cast(step), key=key,
                           help=markdown_escape(p.help) if p.help else None,
                           placeholder="not set" if p.nullable else None)
    elif p.type is tuple:
        where.text_area(markdown_escape(f"{words} (one per line)"), key=key,
                        help=markdown_escape(p.help) if p.help else None, height=80)
    else:
        where.text_input(markdown_escape(words), key=key, help=markdown_escape(p.help) if p.help else None,
                         placeholder="not set" if p.nullable else "")


specs = registered()
# Streamlit forgets (or keeps stale) a widget's value once its page is left: the values
# are kept per dataset and put back when the page is entered.
remembered = {**form_defaults(), **st.session_state.setdefault(MEMORY, {}).get(hash, {})}
for key, value in remembered.items():
    if common.page_entered() or key not in st.session_state:
        st.session_state[key] = value

chosen = st.multiselect("Augmenters", list(specs), key="augment_augmenters",
                        help="Built-ins and installed plug-ins (`augment-review augmenters` lists them with their "
                        "parameters)")
c1, c2, c3 = st.columns(3)
n_per_original = c1.number_input("Variants per original", 1, 50, key="augment_n_per_original")
seed = c2.number_input("Seed", 0, 2**31 - 1, key="augment_seed")
keep_original = c3.checkbox("Keep original train rows in the run", key="augment_keep_original")

for name in chosen:
    params = specs[name].params()
    if not params:
        continue
    with st.container(border=True):
        st.markdown(f"**{markdown_escape(name)}**" + (f" · {markdown_escape(specs[name].help)}" if specs[name].help else ""))
        cols = st.columns(3)
        for i, p in enumerate(params):
            param_widget(name, p, cols[i % 3])
score = st.checkbox("Compute quality signals (similarity, flags, held-out leaks)", key="augment_quality",
                    help="Loads a sentence encoder (all-MiniLM-L6-v2, shipped offline)")
st.session_state[MEMORY][hash] = {key: st.session_state[key] for key in remembered if key in st.session_state}

form = st.session_state[MEMORY][hash]
settings = {name: {p.name: setting_value(p, form[param_key(name, p.name)]) for p in specs[name].params()}
            for name in chosen}
job = Augmentation(augmenters=tuple(chosen), settings=settings, policy=Policy(int(n_per_original), bool(keep_original)),
                   seed=int(seed), quality=QualitySettings() if score else None)

no_keyword, n_train = loaders.load_without_swappable(store, hash)
st.caption(f"{n_train:,} train originals will be augmented; val/test rows are never augmented.")
if "alias_swap" in chosen and no_keyword:
    st.caption(f"{no_keyword:,} of the {n_train:,} train originals have no keyword an alias swap can replace, "
               "so alias swap gives them no variant (the Data page's alias table lists the keywords).")


class Worker(threading.Thread):
    """The run, off the page's thread, so the page can redraw the progress every ``TICK``."""

    def __init__(self, clock: PhaseClock, **kwargs: Any) -> None:
        super().__init__(daemon=True)
        self.clock = clock
        self.kwargs = kwargs
        self.counts: dict[str, tuple[int, int]] = {}
        """phase -> (done, total) as last reported, phases in the order they ran."""
        self.lines: dict[str, str] = {}
        """phase -> its line when last reported (a phase shorter than a tick is kept too)."""
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = augment_with(**self.kwargs, progress=self.report)
        except BaseException as exc:  # noqa: BLE001 - re-raised on the page's thread
            self.error = exc

    def report(self, phase: str, done: int, total: int) -> None:
        self.counts[phase] = (done, total)
        self.lines[phase] = self.clock.line(phase, done, total)[1]  # the phase's clock starts with it


def confined(typed: dict[str, Any]) -> dict[str, Any]:
    """Every model path of the settings (a parameter named model or ..._model) kept inside
    the server folders."""
    out = {}
    for name, s in typed.items():
        paths = {f.name: model_location(access.server_dirs(), v) for f in dataclasses.fields(s) if s is not None
                 and (f.name == "model" or f.name.endswith("_model")) and isinstance(v := getattr(s, f.name), str) and v}
        out[name] = dataclasses.replace(s, **paths) if paths else s
    return out


def run_with_progress() -> tuple[Any, list[str]]:
    """The run's output and each phase's last progress line; the bar moves meanwhile."""
    bar = st.progress(0.0, text="Starting…")
    clock = PhaseClock()
    worker = Worker(
        clock, dataset=dataset, tags=loaders.load_aliases(store, hash), keywords=loaders.load_train_keywords(store, hash),
        spec=job,
    )
    worker.start()
    try:
        while True:
            worker.join(TICK)
            if worker.counts:
                phase = list(worker.counts)[-1]
                fraction, text = clock.line(phase, *worker.counts[phase])  # time passes between reports too
                bar.progress(fraction, text=text)
            if not worker.is_alive():
                break
    finally:
        bar.empty()
    if worker.error is not None:
        raise worker.error
    return worker.result, list(worker.lines.values())


if st.button("Run augmentation", type="primary", key="augment_run", disabled=not chosen):
    started = time.monotonic()
    try:
        access.authorize(Action.RUN_AUGMENTATION)
        job = dataclasses.replace(job, settings=confined(job.typed_settings()))
        out, phases = run_with_progress()
    except InputError as exc:  # ModelUnavailable included
        show_error(exc, prefix="The run failed: ")
    except ImportError as exc:
        show_error(f"a component is not available: {exc}", prefix="The run failed: ")
    except Exception as exc:  # noqa: BLE001 - the page stays usable; nothing stored is touched
        show_error(f"{type(exc).__name__}: {exc}", prefix="The run failed unexpectedly: ")
    else:
        run_params = {
            **out.params,
            "settings": run_settings,
            "originals_without_variant": out.without_variant,
            "seconds": round(time.monotonic() - started, 2),
        }
        run_id = store_run(store, hash, run_params, out.rows, run_settings)
        st.session_state["augment_last_result"] = {
            "run": run_id, "variants": run_params["variants"], "n_train": n_train,
            "without_variant": out.without_variant, "seconds": run_params["seconds"], "phases": phases,
            "crossing": out.crossing,
        }
        st.rerun()  # draw the page again with the new run counted (the header, the runs table)

last = st.session_state.get("augment_last_result")
if last:
    st.success(f"Run {last['run']:d}: {last['variants']:,} variants from {last['n_train']:,} train originals "
               f"in {last['seconds']:.1f} s.")
    if last["without_variant"]:
        st.caption(f"{last['without_variant']:,} of the {last['n_train']:,} train originals got no variant.")
    for warning in joiner_warning(last.get("crossing", 0)):
        st.warning(markdown_escape(warning))
    st.caption(" · ".join(last["phases"]))
    st.page_link("pages/review.py", label="Next: review them", icon=":material/fact_check:")

run_review.load_run_section(store, hash)
variant_upload.variants_upload_section(store, hash, dataset)

show_runs()
