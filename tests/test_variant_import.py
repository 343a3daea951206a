"""Variants made elsewhere (an nlpaug file in the dataset's own columns) imported, flagged,
reviewed and exported like the product's own runs; ``label_drift`` from the quick baseline."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from helpers import RUN_BASE, cli, nlpaug_variants, sample_rows

from augment_core.augment.changes import changes_from_json
from augment_core.augment.diff import rebuild
from augment_core.augment.quality import FLAG_LABEL_DRIFT
from augment_core.data.dataset import content_hash, read_table
from augment_core.data.dataset_settings import build_from_settings
from augment_core.data.splitting import DEFAULT_RATIOS
from augment_core.data.user_schema import USER_CELLS
from augment_core.evaluate.drift import flag_label_drift
from augment_core.review import export
from augment_core.review.candidates import candidate_row
from augment_core.review.run_import import dataset_as
from augment_core.review.runs import StoredCandidate
from augment_core.review.store import Store

MAPPING_FLAGS = [f for f in RUN_BASE if f != "--no-quality"]
SEED = int(MAPPING_FLAGS[MAPPING_FLAGS.index("--seed") + 1])
SETTINGS = {"mapping": {"text_columns": ["title", "description"], "label_column": "tags", "label_sep": ",",
                        "label_format": "auto", "split_column": None, "id_column": "id"},
            "split_ratios": list(DEFAULT_RATIOS), "split_seed": SEED}


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("variants")
    data = sample_rows(120)
    (folder / "in.csv").write_bytes(data)
    expected = nlpaug_variants(data, SETTINGS, folder / "nlpaug.csv")
    return {"folder": folder, "data": data, "expected": expected}


def _import(made: dict, data_dir: Path, *extra: str):
    return cli(str(made["folder"] / "nlpaug.csv"), "--dataset", str(made["folder"] / "in.csv"), "--data-dir",
               str(data_dir), "--parent-column", "parent", "--augmenter-column", "tool", *MAPPING_FLAGS, *extra,
               command="import-run")


def test_an_nlpaug_file_is_imported_with_every_row_counted_and_each_variant_rebuilt_from_its_spans(made, tmp_path):
    result = _import(made, tmp_path)
    assert result.returncode == 0, result.stderr
    out, exp = result.stdout, made["expected"]
    h = content_hash(made["data"])
    assert f"{exp['rows']} rows read; {exp['stored']} variants stored as run 1" in out
    assert f"refused {exp['refused']} variants of {exp['refused']} parents outside train" in out
    assert f"dropped {exp['unchanged']} unchanged (identical to their parent), {exp['duplicates']} duplicates" in out
    assert "unknown parent 'no-such-row-1'" in out and "unknown parent 'no-such-row-2'" in out
    assert f"{exp['unknown']} variants name an unknown parent" in out
    assert "label_drift: " in out and "not computed" not in out
    assert f"dataset sha256: {h}" in out and f"/review?dataset={h}" in out
    store = Store(tmp_path)
    rows = store.run_rows(1)
    assert len(rows) == exp["stored"]
    assert {r["augmenter"] for r in rows} == {"nlpaug.RandomWordAug", "nlpaug.KeyboardAug"}
    for r in rows:
        assert rebuild(r["original_text"], changes_from_json(r["changes"])) == r["text"]
        assert r["split"] == "train" and isinstance(json.loads(r["flags"]), list)
        assert r["similarity"] is not None  # quality signals computed as for the product's own runs


def test_the_export_writes_an_imported_rows_own_cells_byte_for_byte(made, tmp_path):
    assert _import(made, tmp_path, "--no-quality").returncode == 0
    store = Store(tmp_path)
    h = content_hash(made["data"])
    info = store.dataset(h)
    dataset = dataset_as(store, h, info.settings)
    items = [candidate_row(c, info.settings) for c in store.candidates(h)]
    decisions = {it.key: "accepted" for it in items}
    rows = export.curated_rows(dataset, items, decisions)
    data, _ = export.encode_export(rows, dataset, "csv")
    exported = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    given = list(csv.reader(io.StringIO((made["folder"] / "nlpaug.csv").read_text(encoding="utf-8"))))
    n_cols = len(dataset.columns)
    wanted = [row[:n_cols] for row in given[1:made["expected"]["stored"] + 1]]
    got = [row[:n_cols] for row in exported[1:] if row[exported[0].index("aug_augmenter")] != "original"]
    assert got == wanted  # every cell as the file had it, the id column included
    assert USER_CELLS not in exported[0]


def test_import_run_with_mapping_flags_stores_and_splits_as_augment_does(made, tmp_path):
    assert _import(made, tmp_path / "store", "--no-quality").returncode == 0
    out = tmp_path / "aug.csv"
    result = cli(str(made["folder"] / "in.csv"), *MAPPING_FLAGS, "--no-quality", "--keep-original", "--output", str(out))
    assert result.returncode == 0, result.stderr
    augment_splits = {r["aug_id"]: r["aug_split"] for r in csv.DictReader(out.open(encoding="utf-8"))
                      if r["aug_augmenter"] == "original"}
    store = Store(tmp_path / "store")
    h = content_hash(made["data"])
    stored = {r.id: r.split for r in dataset_as(store, h, store.dataset(h).settings).records}
    assert {i for i, s in stored.items() if s == "train"} == {i for i, s in augment_splits.items() if s == "train"}
    assert all(stored[i] == s for i, s in augment_splits.items())
    data_page = build_from_settings(read_table(made["data"], "in.csv"), store.dataset(h).settings)
    assert {r.id: r.split for r in data_page.records} == stored


def test_mapping_flags_for_a_dataset_stored_another_way_are_one_line(made, tmp_path):
    assert _import(made, tmp_path, "--no-quality").returncode == 0
    other = [f if f != str(SEED) else str(SEED + 1) for f in MAPPING_FLAGS]
    result = cli(str(made["folder"] / "nlpaug.csv"), "--dataset", str(made["folder"] / "in.csv"), "--data-dir",
                 str(tmp_path), "--parent-column", "parent", *other, "--no-quality", command="import-run")
    assert result.returncode == 2 and result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "another mapping or split" in result.stderr


@pytest.mark.parametrize("given, refused", [(["--seed", str(SEED + 1)], True), (["--seed", str(SEED)], False),
                                             (["--split-ratios", "0.8,0.1,0.1"], True)])
def test_a_split_flag_alone_is_checked_against_the_stored_split(made, tmp_path, given, refused):
    """--seed (or --split-ratios) without the mapping flags, for a dataset stored already: a
    split other than the stored one is refused, not silently replaced by the stored one."""
    assert _import(made, tmp_path, "--no-quality").returncode == 0
    result = cli(str(made["folder"] / "nlpaug.csv"), "--dataset", str(made["folder"] / "in.csv"), "--data-dir",
                 str(tmp_path), "--parent-column", "parent", *given, "--no-quality", command="import-run")
    if refused:
        assert result.returncode == 2 and result.stderr.count("\n") == 1 and "another mapping or split" in result.stderr
    else:
        assert result.returncode == 0, result.stderr
    assert len(Store(tmp_path).runs(content_hash(made["data"]))) == (1 if refused else 2)


def test_variants_go_to_the_database_url_given(made, tmp_path):
    """--database-url (the team's database) is where the variants are stored, as for a run of augment."""
    url = f"sqlite:///{tmp_path / 'team.sqlite3'}"
    assert _import(made, tmp_path / "local", "--no-quality", "--database-url", url).returncode == 0
    h = content_hash(made["data"])
    assert len(Store(tmp_path / "elsewhere", database_url=url).runs(h)) == 1
    assert Store(tmp_path / "local").dataset(h) is None


def test_a_dataset_not_stored_and_no_mapping_flags_is_one_line_naming_the_flags(made, tmp_path):
    result = cli(str(made["folder"] / "nlpaug.csv"), "--dataset", str(made["folder"] / "in.csv"), "--data-dir",
                 str(tmp_path), "--parent-column", "parent", "--no-quality", command="import-run")
    assert result.returncode == 2 and result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "--text-column and --label-column" in result.stderr and "manifest" not in result.stderr
    assert Store(tmp_path).dataset(content_hash(made["data"])) is None


def test_label_drift_flags_a_variant_that_flips_the_baseline_and_not_a_harmless_one():
    train = [(f"{w} graph network layers training {k}", ("graph",)) for k, w in enumerate(["gnn", "graph", "nodes"] * 4)]
    train += [(f"{w} image pixels convolution vision {k}", ("vision",)) for k, w in enumerate(["cnn", "image", "camera"] * 4)]
    parent = "graph network layers for nodes"
    rows = [
        {"augmenter": "x", "original_text": parent, "text": "image pixels convolution for vision camera", "flags": "[]"},
        {"augmenter": "x", "original_text": parent, "text": "graph network layer for nodes", "flags": "[]"},
    ]
    assert flag_label_drift(rows, train) == 1
    assert FLAG_LABEL_DRIFT in json.loads(rows[0]["flags"])
    assert FLAG_LABEL_DRIFT not in json.loads(rows[1]["flags"])
    assert export.flag_share([candidate_row(StoredCandidate(1, f"1:{k}", {**r, "id": str(k)}), None) for k, r in enumerate(rows)], FLAG_LABEL_DRIFT) == [
        {"augmenter": "x", "flagged": 1, "variants": 2, "share": 0.5}]

