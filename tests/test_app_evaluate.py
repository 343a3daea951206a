"""The Evaluate page through streamlit.testing.v1.AppTest: no variants is a message, a run
is stored with the dataset, shown with its verdict and charts, and reaches the manifest."""

from __future__ import annotations

import json

import pytest
from helpers import APP, app_ok, sample_rows
from streamlit.testing.v1 import AppTest

from augment_core.data.dataset import content_hash
from augment_core.review.store import Store

pytestmark = pytest.mark.app


@pytest.fixture(scope="module")
def sample_200() -> bytes:
    return sample_rows(200)


def test_evaluate_page_runs_stores_and_exports(app_data_dir, sample_200):
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.file_uploader(key="data_upload").upload("sample.csv", sample_200, "text/csv")
    at.run()
    app_ok(at)
    h = content_hash(sample_200)
    store = Store(app_data_dir)

    at.switch_page("pages/evaluate.py").run()
    app_ok(at)
    assert any("No runs yet" in i.value for i in at.info)

    at.switch_page("pages/augment.py").run()
    at.checkbox(key="augment_quality").set_value(False)
    at.button(key="augment_run").click().run()
    app_ok(at)
    assert at.success and at.success[0].value.startswith("Run 1:")

    # nothing accepted yet: arm b would equal arm a, and the page says so
    at.switch_page("pages/evaluate.py").run()
    app_ok(at)
    assert any("No evaluation yet" in i.value for i in at.info)
    at.button(key="evaluate_run").click().run()
    app_ok(at)
    assert any("no variants to add" in e.value for e in at.error), [e.value for e in at.error]
    assert store.latest_evaluation(h) is None

    at.switch_page("pages/review.py").run()
    at.button(key="review_bulk_accept").click().run()
    app_ok(at)
    accepted = sum(1 for d in store.decisions(h).values() if d == "accepted")
    assert accepted > 10

    at.switch_page("pages/evaluate.py").run()
    at.checkbox(key="evaluate_use_test").check().run()
    assert any("Test rows will be read" in w.value for w in at.warning)
    at.checkbox(key="evaluate_use_test").uncheck()
    at.number_input(key="evaluate_seeds").set_value(2)
    at.button(key="evaluate_run").click().run()
    app_ok(at)
    assert not at.error, [e.value for e in at.error]
    result = store.latest_evaluation(h)
    assert result is not None and result["config"]["seeds"] == 2 and result["runs"] == [1]
    assert result["data"]["variants_source"] == "accepted" and result["data"]["variants"] > 0
    assert set(result["splits"]) == {"val"}  # test untouched unless asked
    verdict = result["splits"]["val"]["verdict"]["summary"]
    boxes = [b.value for b in (*at.success, *at.warning, *at.info)]
    assert any(verdict.split(" ")[0] in b for b in boxes), boxes
    summary = next(d.value for d in at.dataframe if "figure" in d.value.columns)
    assert "flip rate, alias-swapped rows (lower is better)" in set(summary["figure"])
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")

    # a fresh session (a reload) shows the stored result without running anything
    fresh = AppTest.from_file(APP, default_timeout=120)
    fresh.query_params["dataset"] = h
    fresh.run()
    fresh.switch_page("pages/evaluate.py").run()
    app_ok(fresh)
    assert not any("No evaluation yet" in i.value for i in fresh.info)

    at.switch_page("pages/export.py").run()
    app_ok(at)
    manifest = json.loads(at.json[0].value)
    evaluation = manifest["evaluation"]
    assert evaluation["id"] == result["id"] and evaluation["matches_export"] is True
    assert evaluation["verdict"]["summary"] == verdict
