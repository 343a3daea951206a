"""Issue 10, point 6: a run made by the CLI or on Ray is loaded into the review store, whole
or by a seeded stratified sample per alias rule; a decision on a rule applies to every row
of the rule at export, a decision on a sampled row wins over it, and undo reverts it."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from helpers import MAPPING, make_runs, sample_rows

from augment_core.augment.changes import changes_from_json
from augment_core.cli.commands import main
from augment_core.data.dataset import content_hash
from augment_core.data.manifest import ExportManifest
from augment_core.errors import InputError
from augment_core.review import rule_export, run_import
from augment_core.review.rule_sample import RuleSampler, strata_of
from augment_core.review.store import Store, candidate_key, rule_key

pytestmark = pytest.mark.usefixtures("backend")  # each test on SQLite and on PostgreSQL

SEED = 5
BASE = ["--text-column", "title", "--text-column", "description", "--label-column", "tags", "--id-column", "id",
        "--no-quality", "--seed", str(SEED)]


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict[str, Path]:
    return make_runs(tmp_path_factory.mktemp("runs"))



def _store(tmp_path: Path, made: dict[str, Path], settings: dict | None = None, data: bytes | None = None) -> tuple[Store, str]:
    store = Store(tmp_path / "db")
    data = data if data is not None else made["csv"].read_bytes()
    h = content_hash(data)
    store.add_dataset(h, "in.csv", data, settings or {"mapping": MAPPING, "split_ratios": [0.7, 0.15, 0.15],
                                                      "split_seed": 0})
    return store, h


def _variants(path: Path) -> list[dict]:
    return [r for r in pq.read_table(path).to_pylist() if r["aug_augmenter"] != "original"]


def test_a_streamed_run_is_imported_whole_with_its_own_split_settings(tmp_path, made):
    store, h = _store(tmp_path, made)  # the dataset's split seed is 0, the run's 5: found from the run's params
    result = run_import.import_run(store, h, made["stream"])
    assert not result.sampled and result.settings["split_seed"] == SEED
    variants = _variants(made["stream"])
    stored = store.candidates(h)
    assert [c.row["id"] for c in stored] == [r["aug_id"] for r in variants]
    assert [c.key for c in stored] == [candidate_key(result.run_id, r["aug_id"]) for r in variants]
    first = stored[0].row
    assert first["text"] == variants[0]["aug_text"] and first["tags"] == variants[0]["tags"]
    run = store.runs(h)[0]
    assert run.settings == result.settings and run.params["variants"] == len(variants)
    assert run.params["imported"]["sampled"] is False and run.params["augmenters"][0]["name"] == "alias_swap"
    # the policy as the Augment page's form reads it back, found from the rows without a manifest
    assert (run.params["n_per_original"], run.params["keep_original"], run.params["seed"]) == (5, True, SEED)


def test_a_ray_folder_is_imported_by_a_stratified_seeded_sample(tmp_path, made):
    store, h = _store(tmp_path, made)
    result = run_import.import_run(store, h, made["ray"], max_whole=50, per_rule=3, sample_seed=7)
    assert result.sampled and result.variants == len(_variants(made["stream"]))
    rules = store.run_rules(result.run_id)
    counts: dict[str, int] = {}
    for r in _variants(made["stream"]):
        for s in strata_of("alias_swap", changes_from_json(r["aug_changes"])):
            counts[s] = counts.get(s, 0) + 1
    assert {r.rule: r.n_rows for r in rules} == counts  # every rule, with its count in the whole run
    sampled = store.candidates(h, [result.run_id])
    for rule in rules:  # stratified: min(k, rows) of every rule
        assert rule.n_sampled == min(3, rule.n_rows)
        n = sum(1 for c in sampled if rule.rule in strata_of("alias_swap", changes_from_json(c.row["changes"])))
        assert n >= rule.n_sampled
    assert len(sampled) < result.variants
    # the shards' order does not matter, the seed does: the single file gives the same sample
    again = run_import.import_run(store, h, made["stream"], max_whole=50, per_rule=3, sample_seed=7)
    other = run_import.import_run(store, h, made["stream"], max_whole=50, per_rule=3, sample_seed=8)
    ids = sorted(c.row["id"] for c in sampled)
    assert sorted(c.row["id"] for c in store.candidates(h, [again.run_id])) == ids
    assert sorted(c.row["id"] for c in store.candidates(h, [other.run_id])) != ids
    assert [r.agreement for r in rules] == [r.agreement for r in store.run_rules(again.run_id)]


def test_the_sampler_keeps_k_per_stratum_whatever_the_order():
    rows = [(f"r{i}", "alias_swap" if i % 3 else "contextual_insert") for i in range(300)]

    def sample(order: list) -> list:
        s: RuleSampler[str] = RuleSampler(per_rule=5, seed=1)
        for rid, aug in order:
            s.add(rid, aug, (), rid)
        stats, got = s.result()
        assert {st.rule: st.rows for st in stats} == {"augmenter: alias_swap": 200, "augmenter: contextual_insert": 100}
        return got

    first = sample(rows)
    assert len(first) == 10
    assert sample(list(reversed(rows))) == first


def _ray_manifest(made: dict[str, Path], tmp_path: Path, **change) -> Path:
    folder = tmp_path / "bad"
    folder.mkdir(exist_ok=True)
    manifest = json.loads((made["ray"] / "manifest.json").read_text())
    for name in manifest["files"]:
        (folder / name).write_bytes((made["ray"] / name).read_bytes())
    manifest.update(change)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


@pytest.mark.parametrize("case,message", [
    ("missing", "does not exist"),
    ("not json", "is not valid JSON"),
    ("no files", "is not the manifest of a run"),
    ("lost shard", "which is not in"),
    ("other seed", "rows are in another split than under the run's own split settings"),
    ("other label", "column mapping does not fit this dataset"),
    ("not a run", "is not an augment output"),
])
def test_a_bad_or_mismatched_run_is_one_clear_line_and_stores_nothing(tmp_path, made, case, message):
    store, h = _store(tmp_path, made)
    if case == "missing":
        path = tmp_path / "nowhere"
    elif case == "not json":
        path = tmp_path / "manifest.json"
        path.write_text("{files: [")
    elif case == "no files":
        path = tmp_path / "manifest.json"
        path.write_text(json.dumps({"runner": "ray"}))
    elif case == "lost shard":
        path = _ray_manifest(made, tmp_path)
        (path / "part-00001.parquet").unlink()
    elif case == "other seed":
        path = _ray_manifest(made, tmp_path, seed=SEED + 1)
    elif case == "other label":
        path = _ray_manifest(made, tmp_path, mapping={**MAPPING, "label_column": "labels"})
    else:
        path = made["csv"]
    with pytest.raises(InputError) as err:
        run_import.import_run(store, h, path)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert store.runs(h) == []


@pytest.mark.parametrize("max_whole", [10_000, 50], ids=["stored whole", "sampled"])
def test_a_shard_copied_twice_is_refused_whether_the_run_is_stored_whole_or_sampled(tmp_path, made, max_whole):
    store, h = _store(tmp_path, made)
    path = _ray_manifest(made, tmp_path)
    manifest = json.loads((path / "manifest.json").read_text())
    (path / "part-00003.parquet").write_bytes((path / "part-00001.parquet").read_bytes())
    manifest["files"].append("part-00003.parquet")
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(InputError, match=r"row id '[^']+' appears twice: the files hold more than one run"):
        run_import.import_run(store, h, path, max_whole=max_whole, per_rule=3)
    assert store.runs(h) == []


def test_a_run_of_another_file_is_refused(tmp_path, made):
    rows = list(csv.DictReader(io.StringIO(made["csv"].read_text())))
    rows[10]["title"] = "Something else entirely"
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    store, h = _store(tmp_path, made, data=buf.getvalue().encode())
    with pytest.raises(InputError, match=r"does not belong to this dataset: \d+ rows have another original text"):
        run_import.import_run(store, h, made["ray"])
    assert store.runs(h) == []


def _export(store: Store, h: str, run_id: int, tmp_path: Path, fmt: str = "jsonl", **kw) -> tuple[list[dict], dict]:
    run = next(r for r in store.runs(h) if r.id == run_id)
    out = tmp_path / f"export.{fmt}"
    with open(out, "wb") as fh:
        manifest = rule_export.export_sampled_run(store, h, run, fh, fmt, **kw)
    if fmt == "parquet":
        return pq.read_table(out).to_pylist(), manifest
    return [json.loads(line) for line in out.read_text().splitlines()], manifest


def test_a_rule_decision_applies_to_every_row_of_the_rule_and_a_sampled_rows_decision_wins(tmp_path, made):
    store, h = _store(tmp_path, made)
    result = run_import.import_run(store, h, made["ray"], max_whole=50, per_rule=2)
    big = [r for r in store.run_rules(result.run_id) if r.n_rows > r.n_sampled and r.rule.startswith("machine")][0]
    all_rows = _variants(made["stream"])
    of_rule = [r["aug_id"] for r in all_rows
               if big.rule in strata_of("alias_swap", changes_from_json(r["aug_changes"]))]
    only_rule = [i for i in of_rule if len(strata_of("alias_swap", changes_from_json(
        next(r for r in all_rows if r["aug_id"] == i)["aug_changes"]))) == 1]
    assert len(of_rule) == big.n_rows > 2
    store.decide_many(h, {rule_key(result.run_id, big.rule): "accepted"}, label=f"accept rule {big.rule}", origin="t")
    sampled_of_rule = [c for c in store.candidates(h, [result.run_id]) if c.row["id"] in of_rule]
    override = sampled_of_rule[0]
    store.decide_many(h, {override.key: "rejected"}, label="reject one", origin="t")

    rows, manifest = _export(store, h, result.run_id, tmp_path)
    exported = {r["aug_id"] for r in rows if r["aug_augmenter"] != "original"}
    assert exported == set(only_rule) - {override.row["id"]}  # every row of the rule but the one rejected by hand
    assert sum(1 for r in rows if r["aug_augmenter"] == "original") == sum(
        1 for r in pq.read_table(made["stream"]).to_pylist() if r["aug_augmenter"] == "original" and r["aug_split"] == "train")
    review = manifest["review"]
    assert review["accepted_by_rule"] == len(only_rule) - 1 and review["rejected_individually"] == 1
    assert review["individual_overrode_rule"] == 1 and "takes precedence" in review["policy"]
    entry = next(r for r in review["rules"] if r["rule"] == big.rule)
    assert entry["decision"] == "accepted" and entry["rows"] == big.n_rows

    # undo: the single decision first, then the rule's
    assert store.undo(h, origin="t").label == "reject one"
    assert store.undo(h, origin="t").label == f"accept rule {big.rule}"
    assert store.rule_decisions(h, result.run_id) == {}
    rows, manifest = _export(store, h, result.run_id, tmp_path, "parquet")
    assert [r for r in rows if r["aug_augmenter"] != "original"] == []
    assert manifest["review"]["variants"]["undecided"] == len(all_rows)


def test_evaluate_reads_a_sampled_run_as_export_does_every_variant_its_rules_accept(tmp_path, made):
    from augment_core.evaluate import from_dataset

    store, h = _store(tmp_path, made)
    result = run_import.import_run(store, h, made["ray"], max_whole=50, per_rule=2)
    rules = sorted(store.run_rules(result.run_id), key=lambda r: -r.n_rows)
    store.decide_many(h, {rule_key(result.run_id, r.rule): "accepted" for r in rules[:3]})
    store.decide_many(h, {rule_key(result.run_id, rules[3].rule): "rejected"})
    sampled = store.candidates(h, [result.run_id])
    store.decide_many(h, {sampled[0].key: "rejected", sampled[-1].key: "accepted"})
    run = store.runs(h)[0]

    candidates, decisions = rule_export.candidates_with_files(store, h, [run], store.decisions(h))
    accepted = {c["id"] for c in candidates if decisions.get(c["key"]) == "accepted"}
    rows, _ = _export(store, h, result.run_id, tmp_path)
    assert accepted == {r["aug_id"] for r in rows if r["aug_augmenter"] != "original"}
    assert accepted - {c.row["id"] for c in sampled}  # rows of accepted rules that were not sampled too
    assert len(candidates) == len(_variants(made["stream"]))

    dataset = run_import.dataset_as(store, h, run.settings)
    data = from_dataset(dataset, candidates, decisions, "accepted")
    assert {v.id for v in data.variants} <= accepted
    assert len(data.variants) > len(accepted) // 2  # only text repeats are dropped
    assert len(from_dataset(dataset, candidates, decisions, "all").variants) > len(data.variants)


def test_a_run_without_train_originals_exports_them_from_the_dataset(tmp_path, made):
    store, h = _store(tmp_path, made)
    result = run_import.import_run(store, h, made["variants"], max_whole=10, per_rule=1)
    assert store.runs(h)[0].params["keep_original"] is False
    rule = store.run_rules(result.run_id)[0]
    store.decide_many(h, {rule_key(result.run_id, rule.rule): "accepted"})
    rows, manifest = _export(store, h, result.run_id, tmp_path, "jsonl", include_eval=True)
    train_originals = [r for r in rows if r["aug_augmenter"] == "original" and r["aug_split"] == "train"]
    kept_in_file = [r for r in pq.read_table(made["stream"]).to_pylist()
                    if r["aug_augmenter"] == "original" and r["aug_split"] == "train"]
    assert [r["aug_id"] for r in train_originals] == [r["aug_id"] for r in kept_in_file]
    assert train_originals[0]["title"] == kept_in_file[0]["title"]
    assert "built from the dataset" in manifest["export"]["train_originals"]
    assert manifest["export"]["rows_by_split"]["val"] > 0


def test_the_cli_imports_a_ray_folder_and_exports_it_with_one_line_errors(tmp_path, made, monkeypatch, capsys):
    monkeypatch.setenv("AUGMENT_REVIEW_DATA_DIR", str(tmp_path / "db"))
    # the dataset is not stored yet: the Ray manifest says how it is mapped
    assert main(["import-run", str(made["ray"]), "--dataset", str(made["csv"]), "--store", "sample",
                 "--sample-per-rule", "2", "--sample-seed", "3"]) == 0
    err = capsys.readouterr().err
    assert "loaded run 1 (" in err and "by sample" in err
    store = Store(tmp_path / "db")
    h = content_hash(made["csv"].read_bytes())
    assert store.dataset(h).settings["split_seed"] == SEED
    rule = store.run_rules(1)[0]
    store.decide_many(h, {rule_key(1, rule.rule): "rejected"})
    out = tmp_path / "curated.csv"
    assert main(["export-run", "1", "--dataset", h[:12], "--output", str(out), "--include-val-test"]) == 0
    manifest = json.loads((tmp_path / "curated.csv.manifest.json").read_text())
    assert ExportManifest.from_json(manifest).output_format == "csv" and len(manifest["runs"]) == 1
    assert manifest["review"]["rejected_by_rule"] == rule.n_rows and manifest["review"]["variants"]["accepted"] == 0
    assert set(manifest["export"]["rows_by_split"]) == {"train", "val", "test"}
    with open(out, encoding="utf-8") as fh:
        assert sum(1 for _ in csv.DictReader(fh)) == manifest["export"]["rows"]
    capsys.readouterr()
    # a file without a manifest, for a dataset the store does not have: one line, exit 2
    other = tmp_path / "other.csv"
    other.write_bytes(sample_rows(50))
    assert main(["import-run", str(made["stream"]), "--dataset", str(other)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: other.csv is not in the review store yet") and err.count("\n") == 1
    assert main(["export-run", "7", "--dataset", h, "--output", str(tmp_path / "x.csv")]) == 2
    assert "has no run 7" in capsys.readouterr().err


@pytest.mark.sqlite_only
def test_a_database_made_before_rule_decisions_gets_their_tables_on_open(tmp_path):
    import sqlite3

    from augment_core.review.legacy import TABLES

    tmp_path.mkdir(exist_ok=True)
    with sqlite3.connect(tmp_path / "augment-review.sqlite3") as c:
        for statement in TABLES:
            c.execute(statement)
    store = Store(tmp_path)
    store.add_dataset("h", "a.csv", b"x")
    store.decide_many("h", {rule_key(1, "cv -> computer vision"): "accepted", "1:a": "rejected"}, origin="o")
    assert store.rule_decisions("h", 1) == {"cv -> computer vision": "accepted"}
    assert store.decisions("h") == {"1:a": "rejected"}  # a rule decision is not a row's
    store.undo("h", origin="o")
    assert store.rule_decisions("h", 1) == {} and store.decisions("h") == {}


@pytest.mark.parametrize("seed", [0, SEED])
def test_the_lean_check_sees_the_rows_and_splits_the_app_builds(made, seed):
    """The CLI checks a run without building the dataset's records (a million rows' records
    take gigabytes): its ids, splits and texts are those of the dataset the app builds."""
    from augment_core.data.dataset import TableStream
    from augment_core.data.dataset_settings import build_from_settings

    data = made["csv"].read_bytes()
    settings = {"mapping": MAPPING, "split_ratios": [0.6, 0.2, 0.2], "split_seed": seed}
    lean = run_import.lean_parents(data, "in.csv", settings)
    full = run_import.parents_of(build_from_settings(TableStream(data, "in.csv"), settings))
    assert list(lean.by_id) == list(full.by_id) and lean.columns == full.columns
    assert [s for _, s in lean.by_id.values()] == [s for _, s in full.by_id.values()]
    assert [t for t, _ in lean.by_id.values()] == [run_import.text_digest(t) for t, _ in full.by_id.values()]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_csv_and_jsonl_runs_are_imported_and_exported_as_parquet_runs_are(tmp_path, made, fmt):
    out = tmp_path / f"run.{fmt}"
    assert main(["augment", str(made["csv"]), *BASE, "--keep-original", "--output", str(out)]) == 0
    store, h = _store(tmp_path, made)
    result = run_import.import_run(store, h, out, max_whole=10, per_rule=2)
    reference = run_import.import_run(store, h, made["stream"], max_whole=10, per_rule=2)
    assert [(r.rule, r.n_rows) for r in store.run_rules(result.run_id)] == \
        [(r.rule, r.n_rows) for r in store.run_rules(reference.run_id)]
    rule = store.run_rules(result.run_id)[1]
    store.decide_many(h, {rule_key(result.run_id, rule.rule): "accepted"})
    rows, _ = _export(store, h, result.run_id, tmp_path, "jsonl")
    assert len([r for r in rows if r["aug_augmenter"] != "original"]) == rule.n_rows
    if fmt == "jsonl":
        run = next(r for r in store.runs(h) if r.id == result.run_id)
        with pytest.raises(InputError, match="exports as CSV or JSONL"), open(tmp_path / "x.parquet", "wb") as fh:
            rule_export.export_sampled_run(store, h, run, fh, "parquet")


SECRET = "sk-live-0123456789abcdef"


@pytest.mark.parametrize("case,message", [
    ("absolute shard", "not a relative path inside the run's folder"),
    ("dotdot shard", "not a relative path inside the run's folder"),
    ("symlinked shard", "not a relative path inside the run's folder"),
    ("planted config", "is not the manifest of a run"),
    ("planted manifest", "is not the manifest of a run"),
    ("any json", "a run's manifest is named manifest.json"),
])
def test_a_manifest_reads_only_its_own_folder_and_quotes_nothing_of_a_file_that_is_no_run(tmp_path, made, case,
                                                                                          message):
    """Issue 21, item 7: a manifest's files are relative paths inside the run's folder, and a
    JSON file that is not a run's manifest is refused without quoting what it holds."""
    store, h = _store(tmp_path, made)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "part-00000.parquet").write_bytes((made["ray"] / "part-00000.parquet").read_bytes())
    if case == "absolute shard":
        path = _ray_manifest(made, tmp_path, files=[str(outside / "part-00000.parquet")])
    elif case == "dotdot shard":
        path = _ray_manifest(made, tmp_path, files=["../elsewhere/part-00000.parquet"])
    elif case == "symlinked shard":
        path = _ray_manifest(made, tmp_path, files=["link.parquet"])
        (path / "link.parquet").symlink_to(outside / "part-00000.parquet")
    elif case == "planted config":
        path = tmp_path / "cfg" / "manifest.json"
        path.parent.mkdir()
        path.write_text(json.dumps({"files": [SECRET], "token": SECRET}))
    elif case == "planted manifest":
        path = _ray_manifest(made, tmp_path, files=[SECRET])
    else:
        path = tmp_path / "config.json"
        path.write_text(json.dumps({"files": [SECRET + ".parquet"]}))
    with pytest.raises(InputError) as err:
        run_import.import_run(store, h, path)
    text = str(err.value)
    assert message in text and "\n" not in text
    assert SECRET not in text and "elsewhere" not in text
    assert store.runs(h) == []


@pytest.mark.parametrize("case,message", [
    ("null text", "has no variant text"),
    ("span past the end", "has a change span outside its text"),
    ("negative span", "has a change span outside its text"),
])
def test_a_run_with_null_texts_or_spans_outside_the_text_is_refused(tmp_path, made, case, message):
    import pyarrow as pa

    table = pq.read_table(made["stream"])
    rows = table.to_pylist()
    i = next(i for i, r in enumerate(rows) if r["aug_augmenter"] != "original" and json.loads(r["aug_changes"]))
    if case == "null text":
        rows[i]["aug_text"] = None
    else:
        changes = json.loads(rows[i]["aug_changes"])
        if case == "span past the end":
            changes[0]["end"] = len(rows[i]["aug_text"]) + 5
        else:
            changes[0]["start"] = -3
        rows[i]["aug_changes"] = json.dumps(changes)
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), bad)
    store, h = _store(tmp_path, made)
    with pytest.raises(InputError) as err:
        run_import.import_run(store, h, bad)
    assert message in str(err.value) and repr(rows[i]["aug_id"]) in str(err.value) and "\n" not in str(err.value)
    assert store.runs(h) == []


def test_the_cli_takes_the_database_by_url_and_an_unreachable_one_is_one_line(tmp_path, made, monkeypatch, capsys,
                                                                              backend):
    """``--database-url`` names the store (here: the backend's, given on the command line
    instead of the environment); a database that cannot be opened is one line, exit 2, its
    password never shown."""
    from augment_core.review.database import DATABASE_URL_ENV

    url = os.environ.get(DATABASE_URL_ENV) or f"sqlite:///{tmp_path / 'team.sqlite3'}"
    url = url.replace("postgresql+psycopg://", "postgresql://")  # a libpq URL (as pg_dump takes) will do
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    monkeypatch.setenv("AUGMENT_REVIEW_DATA_DIR", str(tmp_path / "unused"))
    assert main(["import-run", str(made["ray"]), "--dataset", str(made["csv"]), "--store", "sample",
                 "--database-url", url]) == 0
    assert "loaded run 1 (" in capsys.readouterr().err
    store = Store(tmp_path / "elsewhere", database_url=url)
    assert [r.id for r in store.runs(content_hash(made["csv"].read_bytes()))] == [1]
    store.close()
    bad = "postgresql+psycopg://review:s3cret@127.0.0.1:1/review"
    assert main(["import-run", str(made["ray"]), "--dataset", str(made["csv"]), "--database-url", bad]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot open the review database postgresql+psycopg://review:***@127.0.0.1:1/review")
    assert err.count("\n") == 1 and "s3cret" not in err
    assert main(["export-run", "1", "--dataset", str(made["csv"]), "--output", str(tmp_path / "x.csv"),
                 "--database-url", "nonsense://"]) == 2
    assert capsys.readouterr().err.startswith("error: cannot open the review database")
