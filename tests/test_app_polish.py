"""Issue 15 in the pages: progress that tells the truth, settings that stay, fresh counts,
a guide to the next step."""

from __future__ import annotations

import time

import pytest
from helpers import APP, ROOT, app_ok, sample_rows
from streamlit.testing.v1 import AppTest

import augment_core.runners.run as core_run
from augment_core.data.dataset import content_hash
from augment_core.review.store import Store

pytestmark = pytest.mark.app


@pytest.fixture(scope="module")
def small_csv() -> bytes:
    return sample_rows(40)


def _open(small_csv: bytes, page: str | None = "pages/augment.py") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.file_uploader(key="data_upload").upload("small.csv", small_csv, "text/csv")
    at.run()
    if page:
        at.switch_page(page).run()
    app_ok(at)
    return at


def _texts(at: AppTest) -> list[str]:
    return [e.value for e in (*at.caption, *at.text, *at.markdown, *at.success, *at.info)]


# --- item 2: one run function, per-phase progress -------------------------------------------


def test_the_page_runs_the_core_run_and_shows_each_phase_with_counts(app_data_dir, small_csv, monkeypatch):
    lines: list[tuple[float, str, str]] = []
    real_line = core_run.PhaseClock.line

    def spy(self, phase, done, total):
        out = real_line(self, phase, done, total)
        lines.append((time.monotonic(), phase, out[1]))
        return out

    calls: list[dict] = []
    real_augment = core_run.augment

    def slow_augment(*args, progress=None, **kwargs):
        calls.append(kwargs)
        # a model that takes 3 s to load and reports nothing meanwhile: the page must
        # still say that time passes
        progress("model", 0, 1)
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            time.sleep(0.05)
        progress("model", 1, 1)
        return real_augment(*args, progress=progress, **kwargs)

    monkeypatch.setattr(core_run.PhaseClock, "line", spy)
    monkeypatch.setattr(core_run, "augment", slow_augment)
    at = _open(small_csv)
    at.button(key="augment_run").click().run()
    app_ok(at)
    assert len(calls) == 1 and calls[0]["n_per_original"] == 2
    phases = [p for _, p, _ in lines]
    assert phases.index("model") < phases.index("generate") < phases.index("quality")
    model = [(t, text) for t, p, text in lines if p == "model"]
    gaps = [b[0] - a[0] for a, b in zip(model, model[1:])]
    assert len(model) >= 4 and max(gaps) < 2.0, gaps  # redrawn at least every 2 s while loading
    assert any("s so far" in text for _, text in model)
    summary = " ".join(c.value for c in at.caption)
    assert "Generating: 28 / 28 originals" in summary and "Scoring quality:" in summary
    assert "texts scored" in summary
    assert at.success[0].value.startswith("Run 1:")


def test_the_page_builds_nothing_itself():
    source = (ROOT / "pages" / "augment.py").read_text(encoding="utf-8")
    for own in ("AliasSwap", "make_contextual", "score_rows", "run_augmentation", "quality."):
        assert own not in source, own
    assert "from augment_core.runners.run import" in source and "PhaseClock" in source


# --- item 6: the form is kept per dataset ------------------------------------------------------


def test_the_augment_form_survives_leaving_the_page_and_a_new_session(app_data_dir, small_csv):
    at = _open(small_csv)
    at.number_input(key="augment_n_per_original").set_value(4).run()
    at.number_input(key="augment_seed").set_value(9).run()
    at.multiselect(key="augment_augmenters").set_value(["alias_swap", "contextual_insert"]).run()
    at.text_input(key="augment_contextual_insert.model").set_value("my/model").run()
    at.number_input(key="augment_contextual_insert.aug_p").set_value(0.5).run()
    at.switch_page("pages/data.py").run()
    at.switch_page("pages/review.py").run()
    at.switch_page("pages/augment.py").run()
    app_ok(at)
    assert at.number_input(key="augment_n_per_original").value == 4
    assert at.number_input(key="augment_seed").value == 9
    assert at.multiselect(key="augment_augmenters").value == ["alias_swap", "contextual_insert"]
    assert at.text_input(key="augment_contextual_insert.model").value == "my/model"
    assert at.number_input(key="augment_contextual_insert.aug_p").value == 0.5

    # a run keeps its settings: a new session (a reload) offers them again
    at.multiselect(key="augment_augmenters").set_value(["alias_swap"]).run()
    at.number_input(key="augment_alias_swap.max_swaps").set_value(2).run()
    at.checkbox(key="augment_quality").set_value(False)
    at.button(key="augment_run").click().run()
    app_ok(at)
    h = content_hash(small_csv)
    assert Store(app_data_dir).runs(h)[0].params["n_per_original"] == 4
    again = AppTest.from_file(APP, default_timeout=60)
    again.query_params["dataset"] = h
    again.run()
    again.switch_page("pages/augment.py").run()
    app_ok(again)
    assert again.number_input(key="augment_n_per_original").value == 4
    assert again.number_input(key="augment_seed").value == 9
    assert again.number_input(key="augment_alias_swap.max_swaps").value == 2
    assert again.checkbox(key="augment_quality").value is False


# --- item 7: fresh counts ------------------------------------------------------------------------


def test_the_header_counts_the_run_just_made_and_originals_without_variants(app_data_dir, small_csv):
    at = _open(small_csv)
    assert any(t.value.endswith(" 0 run(s)") for t in at.text)
    before = [c.value for c in at.caption if "no keyword an alias swap can replace" in c.value]
    assert len(before) == 1 and before[0].split(" of the ")[0].isdigit()
    at.checkbox(key="augment_quality").set_value(False)
    at.button(key="augment_run").click().run()
    app_ok(at)
    assert any(t.value.endswith(" 1 run(s)") for t in at.text), [t.value for t in at.text]
    after = [c.value for c in at.caption if "got no variant" in c.value]
    h = content_hash(small_csv)
    run = Store(app_data_dir).runs(h)[0]
    n = run.params["originals_without_variant"]
    assert n >= int(before[0].split(" of the ")[0]) and after == [f"{n:,} of the 28 train originals got no variant."]


# --- item 7: tags per split ----------------------------------------------------------------------


def test_tags_per_split_reads_train_val_test_total(app_data_dir, small_csv):
    at = _open(small_csv, page=None)
    tables = [d.value for d in at.dataframe if "total" in d.value.columns]
    assert len(tables) == 1
    table = tables[0]
    assert list(table.columns) == ["tag", "train", "val", "test", "total"]
    assert (table["total"] > 0).all() and (table["total"] == table[["train", "val", "test"]].sum(axis=1)).all()
    assert table["tag"].str.strip().astype(bool).all()


# --- item 10: a guide, and the next step one click away --------------------------------------------


def _links(at: AppTest) -> list[tuple[str, str]]:
    return [(e.proto.page, e.proto.label) for e in at.get("page_link")]


def test_the_data_page_says_the_workflow_and_every_page_links_the_next_step(app_data_dir, small_csv):
    at = _open(small_csv, page=None)
    guide = next(m.value for m in at.markdown if m.value.startswith("**Workflow:**"))
    lines = guide.split("  \n")
    assert len(lines) == 2
    for step in ("upload", "mapping", "Augment", "Review", "Export", "Evaluate"):
        assert step in lines[0], step
    assert "Save mapping" in lines[1] and "needed only to change" in lines[1]
    expected = {
        None: "augment", "pages/augment.py": "review", "pages/review.py": "export",
        "pages/evaluate.py": "export", "pages/export.py": "evaluate",
    }
    for page, target in expected.items():
        if page:
            at.switch_page(page).run()
            app_ok(at)
        links = _links(at)
        assert any(target in p and label.startswith(("Next:", "Also:")) for p, label in links), (page, links)


# --- item 6: Review's view in the URL ---------------------------------------------------------------


def _params(at: AppTest) -> dict[str, list[str]]:
    return {k: (v if isinstance(v, list) else [v]) for k, v in at.query_params.items()}


def _view(at: AppTest) -> dict:
    return {
        "status": at.selectbox(key="review_status").value, "sort": at.selectbox(key="review_sort").value,
        "tags": at.multiselect(key="review_tags").value, "search": at.text_input(key="review_search").value,
        "augmenters": at.multiselect(key="review_augmenters").value,
    }


def test_the_review_view_round_trips_through_the_url(app_data_dir, small_csv):
    from augment_core.review import filters

    at = _open(small_csv)
    at.checkbox(key="augment_quality").set_value(False)
    at.button(key="augment_run").click().run()
    at.switch_page("pages/review.py").run()
    app_ok(at)
    assert set(_params(at)) == {"dataset"}  # the default view adds nothing
    tag = at.multiselect(key="review_tags").options[0]
    at.selectbox(key="review_status").set_value(filters.STATUSES[1]).run()
    at.selectbox(key="review_sort").set_value(filters.SORTS[-1]).run()
    at.multiselect(key="review_tags").set_value([tag]).run()
    at.multiselect(key="review_augmenters").set_value(["alias_swap"]).run()
    at.text_input(key="review_search").set_value("learning").run()
    app_ok(at)
    shown = _view(at)
    params = _params(at)
    assert params["status"] == [filters.STATUSES[1]] and params["sort"] == [filters.SORTS[-1]]
    assert params["tag"] == [tag] and params["q"] == ["learning"] and params["augmenter"] == ["alias_swap"]

    # a shared link (or a reload: a new session) opens the same view
    link = AppTest.from_file(APP, default_timeout=60)
    for k, v in params.items():
        link.query_params[k] = v
    link.switch_page("pages/review.py").run()
    app_ok(link)
    assert _view(link) == shown
    assert _params(link) == params

    # leaving the page and coming back keeps it too
    at.switch_page("pages/export.py").run()
    at.switch_page("pages/review.py").run()
    app_ok(at)
    assert _view(at) == shown

    # a link naming what is not there opens the default view, not an error
    odd = AppTest.from_file(APP, default_timeout=60)
    odd.query_params["dataset"] = params["dataset"]
    for k, v in {"tag": "no-such-tag", "status": "bogus", "page": "-3", "similarity": "nan,2",
                 "agreement_below": "x"}.items():
        odd.query_params[k] = v
    odd.switch_page("pages/review.py").run()
    app_ok(odd)
    assert odd.multiselect(key="review_tags").value == [] and odd.selectbox(key="review_status").value == filters.STATUSES[0]
    assert "tag" not in _params(odd) and "status" not in _params(odd)


def test_the_review_page_number_is_in_the_url(app_data_dir):
    at = _open(sample_rows(120))
    at.checkbox(key="augment_quality").set_value(False)
    at.button(key="augment_run").click().run()
    at.switch_page("pages/review.py").run()
    at.button(key="review_next").click().run()
    app_ok(at)
    assert _params(at)["page"] == ["2"]
    link = AppTest.from_file(APP, default_timeout=60)
    for k, v in _params(at).items():
        link.query_params[k] = v
    link.switch_page("pages/review.py").run()
    app_ok(link)
    assert any(t.value.startswith("Page 2 of") for t in link.text)
