"""Issue 10, point 6, in the app: the Augment page loads a Ray run (shards and manifest) by
sample, Review decides a whole alias rule (and undoes it), Export writes the curated file
from the run's files with the rule applied to every row of the rule."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from helpers import MAPPING, make_runs
from streamlit.testing.v1 import AppTest

from augment_core.augment.changes import changes_from_json
from augment_core.data.dataset import content_hash
from augment_core.review.rule_sample import strata_of
from augment_core.review.store import Store

pytestmark = pytest.mark.app

APP = str(Path(__file__).resolve().parent.parent / "app.py")
RULE_MODE = "By rule (sampled runs)"


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("AUGMENT_REVIEW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AUGMENT_REVIEW_INSTANT", "0")
    monkeypatch.setenv("AUGMENT_REVIEW_SERVER_DIRS", str(tmp_path))  # the runs and outputs are under it
    return tmp_path / "data"


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_load_a_ray_run_by_sample_decide_a_rule_undo_and_export(data_dir, tmp_path):
    made = make_runs(tmp_path / "runs", 120)
    data = made["csv"].read_bytes()
    h = content_hash(data)
    store = Store(data_dir)
    store.add_dataset(h, "in.csv", data, {"mapping": MAPPING, "split_ratios": [0.7, 0.15, 0.15], "split_seed": 0})

    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["dataset"] = h
    at.run()
    at.switch_page("pages/augment.py").run()
    _ok(at)
    at.text_input(key="augment_import_path").set_value(str(tmp_path / "nowhere")).run()
    at.button(key="augment_import_go").click().run()
    _ok(at)
    assert any("The run was not loaded" in e.value and "no such file or folder" in e.value for e in at.error)
    assert store.runs(h) == []

    at.text_input(key="augment_import_path").set_value(str(made["ray"])).run()
    at.selectbox(key="augment_import_how").set_value("sample").run()
    at.number_input(key="augment_import_per_rule").set_value(2).run()
    at.button(key="augment_import_go").click().run()
    _ok(at)
    (run,) = store.runs(h)
    assert run.params["imported"]["sampled"]
    assert any(f"Run {run.id} loaded" in s.value and "by sample" in s.value for s in at.success)

    at.switch_page("pages/review.py").run()
    _ok(at)
    at.selectbox(key="review_mode").set_value(RULE_MODE).run()
    _ok(at)
    rules = store.run_rules(run.id)
    first = rules[0]
    accept = at.button(key=f"review_rules_accept_{run.id}_0_1")
    assert accept.label == f"Accept rule ({first.n_rows:,} rows)"
    accept.click().run()
    _ok(at)
    assert store.rule_decisions(h, run.id) == {first.rule: "accepted"}
    at.button(key="review_rules_undo").click().run()
    _ok(at)
    assert store.rule_decisions(h, run.id) == {}
    at.button(key=f"review_rules_accept_{run.id}_0_1").click().run()
    assert store.rule_decisions(h, run.id) == {first.rule: "accepted"}

    at.switch_page("pages/export.py").run()
    _ok(at)
    # the usual download holds no sampled run (its sample alone would export the wrong rows)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Accepted variants"] == "0" and metrics["Undecided (left out)"] == "0"
    out = tmp_path / "curated.parquet"
    at.text_input(key="export_sampled_path").set_value(str(out)).run()
    at.button(key="export_sampled_go").click().run()
    _ok(at)
    assert any("Wrote" in s.value for s in at.success)
    written = pq.read_table(out).to_pylist()
    variants = {r["aug_id"] for r in written if r["aug_augmenter"] != "original"}
    expected = {r["aug_id"] for r in pq.read_table(made["stream"]).to_pylist()
                if r["aug_augmenter"] != "original" and strata_of("alias_swap", changes_from_json(r["aug_changes"])) == (first.rule,)}
    assert variants == expected and expected
    manifest = json.loads((tmp_path / "curated.parquet.manifest.json").read_text())
    assert manifest["review"]["accepted_by_rule"] == len(expected)
    assert not at.info  # alone: nothing more to say
    # another reviewer decides a rule: the section says whose decisions it writes, and how to get theirs
    from augment_core.review.store import rule_key as _rule_key

    store.decide_many(h, {_rule_key(run.id, rules[-1].rule): "rejected"}, reviewer="bob@crew.example")
    assert store.run_reviewers(h, run.id) == ["bob@crew.example", "local"]
    at.switch_page("pages/export.py").run()
    _ok(at)
    (note,) = [i.value.replace("\\", "").replace("\u200b", "") for i in at.info]  # as shown: escapes read
    assert "writes your decisions only (you review as local)" in note and "bob@crew.example also decided" in note
    assert f"export-run {run.id} --reviewer EMAIL" in note

    # Evaluate trains on what export writes: every row of the accepted rules, not only their samples
    from augment_core.review.store import rule_key

    big = max(rules, key=lambda r: r.n_rows)
    assert big.n_rows > 2 * big.n_sampled
    store.decide_many(h, {rule_key(run.id, big.rule): "accepted"})
    accepted = {r["aug_id"] for r in pq.read_table(made["stream"]).to_pylist() if r["aug_augmenter"] != "original"
                and set(strata_of("alias_swap", changes_from_json(r["aug_changes"]))) <= {first.rule, big.rule}}
    at.switch_page("pages/evaluate.py").run()
    _ok(at)
    at.number_input(key="evaluate_seeds").set_value(1)
    at.button(key="evaluate_run").click().run()
    _ok(at)
    assert not at.error, [e.value for e in at.error]
    result = store.latest_evaluation(h)
    assert result is not None and result["data"]["variants_source"] == "accepted"
    assert len(accepted) // 2 < result["data"]["variants"] <= len(accepted)  # text repeats per original dropped
    assert result["data"]["variants"] > 2 * big.n_sampled
    # under the run's own split (seed 5), not the dataset's current one (seed 0)
    from augment_core.evaluate import from_dataset
    from augment_core.review import rule_export, run_import

    candidates, decisions = rule_export.candidates_with_files(store, h, [run], store.decisions(h))
    as_run = from_dataset(run_import.dataset_as(store, h, run.settings), candidates, decisions)
    as_now = from_dataset(run_import.dataset_as(store, h, store.dataset(h).settings), candidates, decisions)
    assert result["data"]["variants"] == len(as_run.variants) != len(as_now.variants)
    assert result["data"]["train_originals"] == len(as_run.train)

    # a run of the app under the dataset's current split beside it: one mapping at a time
    at.switch_page("pages/augment.py").run()
    at.checkbox(key="augment_quality").set_value(False)
    at.button(key="augment_run").click().run()
    _ok(at)
    at.switch_page("pages/evaluate.py").run()
    _ok(at)
    assert len(at.multiselect(key="evaluate_runs").value) == 2
    assert any("different column mappings or splits" in w.value for w in at.warning)
    assert at.button(key="evaluate_run").disabled
    at.multiselect(key="evaluate_runs").set_value([run.id]).run()
    assert not at.warning and not at.button(key="evaluate_run").disabled
