"""One typed manifest per kind (augment_core.data.manifest): each round-trips through JSON,
the previous release's keys still read (runs made before keep importing), a manifest in the
new shape imports, and a wrong key is one line naming it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cogapp import Cog
from helpers import MAPPING, cli, make_runs, one_line_error

from augment_core.data.dataset import content_hash
from augment_core.data.manifest import MANIFEST_VERSION, ExportManifest, RunManifest, key_table
from augment_core.errors import InputError
from augment_core.review.run_import import import_run, locate_run
from augment_core.review.store import Store

PAGE = Path(__file__).resolve().parent.parent / "docs" / "manifests.md"

RUN = RunManifest(
    runner="ray", output_format="parquet", files=("part-00000.parquet",), columns=("id", "title", "aug_id"), rows=12,
    generated=8, mapping=MAPPING, augmenters=("alias_swap",), augmenter_params={"alias_swap": {"p": 0.5}},
    n_per_original=2, keep_original=True, seed=4, split_ratios=(0.8, 0.1, 0.1), schema={"provenance_prefix": "aug_"},
    input="in.csv", tags="tags.json", quality={"leak_threshold": 0.95}, splits={"train": 10, "val": 1, "test": 1},
    runner_options={"workers": 2}, created_at="2026-01-02T03:04:05Z", versions={"python": "3.11.9"},
)
EXPORT = ExportManifest(
    output_format="csv", dataset={"sha256": "abc", "name": "d.csv"}, runs=({"id": 1, "params": {"seed": 0}},),
    review={"accepted": 1}, export={"rows": 3}, seed=3, created_at="2026-01-02T03:04:05Z", versions={}, platform="linux",
)


@pytest.mark.parametrize("manifest", [RUN, EXPORT], ids=["run", "export"])
def test_each_manifest_round_trips_through_json_with_one_version_key_and_one_format_key(manifest):
    data = json.loads(json.dumps(manifest.to_json()))
    assert type(manifest).from_json(data) == manifest
    assert data["manifest_version"] == MANIFEST_VERSION and "format" not in data and "created" not in data
    assert isinstance(data["output_format"], str)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    return make_runs(tmp_path_factory.mktemp("runs"), 120)


def test_the_previous_releases_ray_manifest_reads_in_the_new_keys(made):
    old = json.loads((made["ray"] / "manifest.json").read_text())
    assert old["format"] == "parquet shards" and "created" in old  # as the previous release wrote it
    m = RunManifest.from_json(old)
    assert (m.manifest_version, m.runner, m.output_format, m.created_at) == (MANIFEST_VERSION, "ray", "parquet", "x")
    assert m.runner_options == old["ray"] and m.files == tuple(old["files"]) and m.tags == old["tags"]
    assert m.settings() == {"mapping": MAPPING, "split_ratios": [0.7, 0.15, 0.15], "split_seed": old["seed"]}


def test_the_previous_releases_hf_and_export_manifests_read_in_the_new_keys():
    hf = {"format": 1, "tool": "augment-review", "input": {"name": "in.csv", "sha256": "f00"}, "mapping": MAPPING,
          "split": {"column": None, "ratios": [0.8, 0.1, 0.1], "seed": 7}, "tags_file": "tags.json",
          "run": {"augmenters": [{"name": "alias_swap", "p": 0.5}], "n_per_original": 3, "keep_original": False,
                  "seed": 7, "quality": None, "variants": 30},
          "schema": {}, "hf": {"splits": {"train": 30}, "label_feature": {"type": "ClassLabel"}}}
    m = RunManifest.from_json(hf)
    assert (m.runner, m.output_format, m.input, m.input_sha256, m.tags) == ("local", "hf", "in.csv", "f00", "tags.json")
    assert (m.seed, m.split_ratios, m.n_per_original, m.keep_original, m.generated) == (7, (0.8, 0.1, 0.1), 3, False, 30)
    assert m.augmenters == ("alias_swap",) and m.augmenter_params == {"alias_swap": {"p": 0.5}}
    sampled = {"format": 1, "created_at": "2026-01-02T03:04:05Z", "dataset": {"sha256": "abc"}, "run": {"id": 4},
               "review": {}, "export": {"format": "jsonl", "rows": 2}}
    e = ExportManifest.from_json(sampled)
    assert (e.manifest_version, e.output_format, e.runs, e.export) == (MANIFEST_VERSION, "jsonl", ({"id": 4},), {"rows": 2})


def test_a_ray_folder_with_a_manifest_in_the_new_shape_imports(tmp_path, made):
    run = tmp_path / "ray-new"
    shutil.copytree(made["ray"], run)
    new = RunManifest.from_json(json.loads((run / "manifest.json").read_text())).to_json()
    assert new["manifest_version"] == MANIFEST_VERSION and new["output_format"] == "parquet" and "format" not in new
    (run / "manifest.json").write_text(json.dumps(new))
    assert locate_run(run).manifest == RunManifest.from_json(new)
    store, old_store = Store(tmp_path / "new"), Store(tmp_path / "old")
    results = []
    for s, folder in ((store, run), (old_store, made["ray"])):
        h = _add_dataset(s, made["csv"])
        results.append(import_run(s, h, folder, max_whole=10))
        stored = s.runs(h)[-1].params["imported"]["manifest"]
        assert RunManifest.from_json(stored).output_format == "parquet" and stored["manifest_version"] == MANIFEST_VERSION
        s.close()
    assert (results[0].rows, results[0].variants) == (results[1].rows, results[1].variants)


def _add_dataset(store: Store, csv: Path) -> str:
    data = csv.read_bytes()
    h = content_hash(data)
    store.add_dataset(h, csv.name, data, None)
    return h


@pytest.mark.parametrize("change, message", [
    ({"manifest_version": 2, "runner": "ray", "output_format": 3}, "\"output_format\" must be a string, not a whole number"),
    ({"manifest_version": 2, "output_format": "parquet", "runner": None}, "\"runner\" is missing"),
    ({"files": "part-00000.parquet"}, "not the manifest of a run"),
    ({"split_ratios": ["a", 1, 2]}, "\"split_ratios\" must be a list of numbers"),
    ({"n_per_original": -1}, "\"n_per_original\" must be 0 or more"),
], ids=["format a number", "no runner", "files a string", "ratios of strings", "negative n"])
def test_a_wrong_key_is_one_line_naming_it(tmp_path, made, change, message):
    run = tmp_path / "run"
    shutil.copytree(made["ray"], run)
    (run / "manifest.json").write_text(json.dumps({**json.loads((run / "manifest.json").read_text()), **change}))
    with pytest.raises(InputError, match=r"manifest\.json"):
        locate_run(run)
    one_line_error(cli(str(run), "--dataset", str(made["csv"]), "--data-dir", str(tmp_path / "db"), command="import-run"),
                   message)


def test_a_manifest_that_is_no_object_is_one_line():
    for cls in (RunManifest, ExportManifest):
        with pytest.raises(InputError, match="must be a JSON object, not a list"):
            cls.from_json([])


def test_the_key_tables_list_every_key_once_and_the_docs_page_shows_them():
    for cls in (RunManifest, ExportManifest):
        table = key_table(cls)
        keys = [line.split("`")[1] for line in table.splitlines()[2:]]
        assert len(keys) == len(set(keys)) and "manifest_version" in keys and "output_format" in keys
        assert "format" not in keys and "created" not in keys
    assert Cog().main(["cog", "--check", str(PAGE)]) == 0, f"{PAGE} is stale: run  cog -r {PAGE}"
