from collections import Counter

import pytest

from augment_core.data.dataset import ColumnMapping, Dataset, Record, build_dataset, read_table
from augment_core.data.splitting import assign_splits, parse_ratios, split_tag_counts, split_tag_table
from augment_core.errors import InputError


@pytest.fixture(scope="module")
def projects(sample_csv) -> Dataset:
    table = read_table(sample_csv)
    return build_dataset(table, ColumnMapping(("title", "description"), "tags", id_column="id"))


def test_ratios_are_met(projects):
    split = assign_splits(projects, (0.7, 0.15, 0.15), seed=3)
    counts = Counter(r.split for r in split.records)
    n = len(split.records)
    assert abs(counts["train"] / n - 0.70) < 0.02
    assert abs(counts["val"] / n - 0.15) < 0.02
    assert abs(counts["test"] / n - 0.15) < 0.02


def test_multilabel_tag_shares_stay_close(projects):
    split = assign_splits(projects, seed=0)
    rows = split_tag_counts(split)
    share = {(r["tag"], r["split"]): r["share"] for r in rows}
    common = Counter(t for r in projects.records for t in r.labels).most_common(15)
    for tag, _ in common:
        assert abs(share[(tag, "train")] - share[(tag, "test")]) < 0.06, tag
        assert abs(share[(tag, "train")] - share[(tag, "val")]) < 0.06, tag


def test_stratification_beats_a_shuffle_on_a_rare_tag():
    # 20 rows of a rare class among 480: stratified val/test each get 3, not by luck
    records = [Record(str(i), f"t{i}", ("rare",) if i < 20 else ("common",), None, None) for i in range(500)]
    split = assign_splits(Dataset(records, ColumnMapping(("t",), "l")), seed=1)
    rare = Counter(r.split for r in split.records if r.labels == ("rare",))
    assert rare == {"train": 14, "val": 3, "test": 3}


def test_seeded_and_existing_splits_kept(projects):
    a = [r.split for r in assign_splits(projects, seed=5).records]
    b = [r.split for r in assign_splits(projects, seed=5).records]
    c = [r.split for r in assign_splits(projects, seed=6).records]
    assert a == b and a != c
    fixed = projects.with_splits(["test"] + [None] * (len(projects.records) - 1))
    assert assign_splits(fixed, seed=5).records[0].split == "test"


def test_unlabeled_rows_are_split_too():
    records = [Record(str(i), f"t{i}", (), None, None) for i in range(100)]
    split = assign_splits(Dataset(records, ColumnMapping(("t",), "l")), seed=0)
    assert Counter(r.split for r in split.records) == {"train": 70, "val": 15, "test": 15}


@pytest.mark.parametrize("text", ["0.7,0.3", "a,b,c", "0.5,0.5,0.5", "-0.1,0.6,0.5"])
def test_bad_ratios(text):
    with pytest.raises(InputError):
        parse_ratios(text)


def test_split_tag_counts_has_every_split(projects):
    rows = split_tag_counts(assign_splits(projects, seed=0))
    assert {r["split"] for r in rows} == {"train", "val", "test"}
    code = {r["split"]: r["count"] for r in rows if r["tag"] == "code"}
    assert sum(code.values()) == sum("code" in r.labels for r in projects.records)


def test_split_tag_table_orders_train_val_test_then_total_with_no_empty_rows(projects):
    split = assign_splits(projects, seed=0)
    table = split_tag_table(split_tag_counts(split))
    assert list(table[0]) == ["tag", "train", "val", "test", "total"]
    assert all(r["total"] == r["train"] + r["val"] + r["test"] > 0 and str(r["tag"]).strip() for r in table)
    assert [r["total"] for r in table] == sorted((r["total"] for r in table), reverse=True)
    code = next(r for r in table if r["tag"] == "code")
    assert code["total"] == sum("code" in r.labels for r in projects.records)
    blank = Dataset([Record("1", "a", ("x", " "), "test", None), Record("2", "b", (), "train", None)], projects.mapping)
    assert split_tag_table(split_tag_counts(blank)) == [{"tag": "x", "train": 0, "test": 1, "total": 1}]
