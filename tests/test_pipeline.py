import json
import random

import pytest

from augment_core.augment.alias_swap import AliasSwap
from augment_core.augment.changes import changes_from_json
from augment_core.data.dataset import ColumnMapping, Dataset, build_dataset, read_table
from augment_core.data.io import rows_to_bytes
from augment_core.data.splitting import assign_splits
from augment_core.runners.pipeline import output_columns, run_augmentation


@pytest.fixture(scope="module")
def projects(sample_csv) -> Dataset:
    table = read_table(sample_csv)
    ds = build_dataset(table, ColumnMapping(("title", "description"), "tags", id_column="id"))
    return assign_splits(Dataset(ds.records[:400], ds.mapping), seed=0)


def run(ds, alias_table, seed=0, keep=True, n=5):
    return run_augmentation(ds, [AliasSwap(alias_table)], n, keep, seed)


def test_only_train_rows_are_augmented_and_heldout_rows_pass_untouched(projects, alias_table):
    rows = run(projects, alias_table)
    by_id = {r.id: r for r in projects.records}
    generated = [r for r in rows if r["augmenter"] != "original"]
    assert generated
    assert all(r["split"] == "train" and by_id[r["parent_id"]].split == "train" for r in generated)
    heldout = [r for r in rows if r["split"] in ("val", "test")]
    assert len(heldout) == sum(r.split in ("val", "test") for r in projects.records)
    for r in heldout:
        assert r["augmenter"] == "original" and r["text"] == by_id[r["id"]].text and r["changes"] == "[]"


def test_provenance_columns(projects, alias_table):
    rows = run(projects, alias_table)
    assert len({r["id"] for r in rows}) == len(rows)
    for r in rows:
        assert list(r) == output_columns("tags")
        parent = next(p for p in projects.records if p.id == r["parent_id"])
        assert r["original_text"] == parent.text
        assert r["tags"] == parent.raw_label  # the label cell as the input spelled it
        params = json.loads(r["params"])
        assert params["seed"] == 0
        if r["augmenter"] == "alias_swap":
            assert params["n_per_original"] == 5 and params["max_swaps"] == 1
            changes = changes_from_json(r["changes"])
            assert changes and all(r["text"][c.start : c.end] == c.after for c in changes)


def test_variants_are_distinct_and_capped(projects, alias_table):
    rows = run(projects, alias_table, n=3)
    per_parent: dict[str, list[str]] = {}
    for r in rows:
        if r["augmenter"] == "alias_swap":
            per_parent.setdefault(r["parent_id"], []).append(r["text"])
    for parent_id, texts in per_parent.items():
        assert len(texts) <= 3 and len(set(texts)) == len(texts)
        assert next(p.text for p in projects.records if p.id == parent_id) not in texts


def test_same_seed_same_bytes_other_seed_other_bytes(projects, alias_table):
    a = rows_to_bytes(run(projects, alias_table, seed=1), "csv")
    b = rows_to_bytes(run(projects, alias_table, seed=1), "csv")
    c = rows_to_bytes(run(projects, alias_table, seed=2), "csv")
    assert a == b and a != c


def test_row_order_does_not_change_a_rows_variants(projects, alias_table):
    shuffled = list(projects.records)
    random.Random(4).shuffle(shuffled)
    a = {r["id"]: r["text"] for r in run(projects, alias_table)}
    b = {r["id"]: r["text"] for r in run(Dataset(shuffled, projects.mapping), alias_table)}
    assert a == b


def test_keep_original_false_drops_train_originals_only(projects, alias_table):
    rows = run(projects, alias_table, keep=False)
    assert not [r for r in rows if r["split"] == "train" and r["augmenter"] == "original"]
    assert [r for r in rows if r["split"] == "test"]


def test_empty_texts_are_not_augmented(alias_table):
    from augment_core.data.dataset import Record

    records = [Record("1", "", ("gan",), "train", "gan"), Record("2", "a gan", ("gan",), "train", "gan")]
    ds = Dataset(records, ColumnMapping(("t",), "label"), empty_text_ids=["1"])
    rows = run_augmentation(ds, [AliasSwap(alias_table)], 5, True, 0)
    assert [r["parent_id"] for r in rows if r["augmenter"] != "original"] == ["2"]


def test_unsplit_dataset_is_refused(sample_csv, alias_table):
    from augment_core.errors import InputError

    ds = build_dataset(read_table(sample_csv), ColumnMapping(("title",), "tags"))
    with pytest.raises(InputError, match="split"):
        run(ds, alias_table)


def test_snorkel_policy_gives_the_same_variants_as_the_batch_path(projects, alias_table):
    import pandas as pd
    from snorkel.augmentation import ApplyOnePolicy, PandasTFApplier

    from augment_core.augment.snorkel_tf import alias_swap_tf

    train = [r for r in projects.records if r.split == "train"][:80]
    df = pd.DataFrame({"id": [r.id for r in train], "text": [r.text for r in train]})
    swap = AliasSwap(alias_table)
    tf = alias_swap_tf(swap, n_per_original=5, seed=0)
    out = PandasTFApplier([tf], ApplyOnePolicy(n_per_original=5, keep_original=True)).apply(df, progress_bar=False)
    assert not out.duplicated(subset=["id", "text"]).any()  # nothing for drop_duplicates to do
    snorkel_variants = out[out["text"] != df.set_index("id").loc[out["id"], "text"].values]
    batch = swap.generate(df["text"].tolist(), df["id"].tolist(), 5, 0)
    expected = sorted((rid, c.text) for rid, cands in zip(df["id"], batch) for c in cands)
    assert sorted(zip(snorkel_variants["id"], snorkel_variants["text"])) == expected
    assert expected
