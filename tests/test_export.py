import csv
import io
import json

from augment_core.data.dataset import ColumnMapping, build_dataset, read_table
from augment_core.data.dataset_settings import build_from_settings
from augment_core.data.io import rows_to_bytes
from augment_core.data.splitting import assign_splits
from augment_core.review import candidates, export
from augment_core.review.store import RunInfo, StoredCandidate

CSV = b"""id,text,tags,split
1,cv models,"[""computer-vision""]",train
2,nlp models,"[""natural-language-processing""]",train
3,held out,"[""computer-vision""]",val
4,test row,"[""graphs""]",test
"""


def _dataset():
    table = read_table(CSV, "d.csv")
    return build_dataset(table, ColumnMapping(("text",), "tags", split_column="split", id_column="id"))


def _cands():
    rows = [
        {"id": "1~a~1", "parent_id": "1", "split": "train", "augmenter": "alias_swap",
         "text": "computer vision models", "original_text": "cv models", "tags": '["computer-vision"]',
         "params": "{}", "changes": json.dumps([{"start": 0, "end": 15, "before": "cv", "after": "computer vision", "kind": "substitute"}])},
        {"id": "1~a~1", "parent_id": "1", "split": "train", "augmenter": "alias_swap",
         "text": "computer vision models", "original_text": "cv models", "tags": '["computer-vision"]',
         "params": "{}", "changes": "[]"},
        {"id": "2~a~1", "parent_id": "2", "split": "train", "augmenter": "alias_swap",
         "text": "natural language processing models", "original_text": "nlp models", "tags": '["natural-language-processing"]',
         "params": "{}", "changes": "[]"},
    ]
    stored = [StoredCandidate(1, "1:1~a~1", rows[0]), StoredCandidate(2, "2:1~a~1", rows[1]),
              StoredCandidate(1, "1:2~a~1", rows[2])]
    settings = {"mapping": ColumnMapping(("text",), "tags", split_column="split", id_column="id").to_json()}
    return candidates.prepare(stored, {1: settings, 2: settings})


def test_curated_rows_train_plus_accepted_deduplicated():
    ds = _dataset()
    dec = {"1:1~a~1": "accepted", "2:1~a~1": "accepted", "1:2~a~1": "rejected"}
    rows = export.curated_rows(ds, _cands(), dec)
    assert [(r["id"], r["augmenter"]) for r in rows] == [("1", "original"), ("1~a~1", "alias_swap"), ("2", "original")]
    assert list(rows[0]) == ["id", "parent_id", "split", "augmenter", "text", "original_text", "tags", "params", "changes", "run_id"]
    assert rows[0]["tags"] == '["computer-vision"]'
    with_eval = export.curated_rows(ds, _cands(), dec, include_eval=True)
    assert [r["split"] for r in with_eval] == ["train", "train", "train", "val", "test"]
    back = list(csv.DictReader(io.StringIO(rows_to_bytes(rows, "csv").decode())))
    assert len(back) == 3 and back[1]["text"] == "computer vision models"


def test_curated_rows_from_auto_split():
    table = read_table(b"text,label\n" + b"".join(f"row {i},{'ab'[i % 2]}\n".encode() for i in range(20)), "x.csv")
    ds = assign_splits(build_dataset(table, ColumnMapping(("text",), "label")), seed=1)
    rows = export.curated_rows(ds, [], {})
    assert rows and all(r["split"] == "train" for r in rows)
    assert len(rows) == sum(1 for r in ds.records if r.split == "train")


def test_manifest_and_charts():
    ds = _dataset()
    cands = _cands()
    dec = {"1:1~a~1": "accepted", "1:2~a~1": "rejected"}
    rows = export.curated_rows(ds, cands, dec)
    m = export.build_manifest(
        dataset_hash="abc", dataset_name="d.csv", columns=["id", "text", "tags", "split"], settings={"split_seed": 3},
        tags_name=None, runs=[{"id": 1, "params": {"seed": 0}}], dataset=ds, candidates=cands, decisions=dec,
        exported=rows, include_eval=False, fmt="csv",
    )
    json.dumps(m)
    assert m["dataset"]["sha256"] == "abc" and m["seed"] == 3
    assert m["review"]["accepted"] == 1 and m["review"]["rejected"] == 1 and m["review"]["undecided"] == 1
    assert m["export"]["rows"] == 3 and m["runs"][0]["params"] == {"seed": 0}
    assert "streamlit" in m["versions"] and "python" in m["versions"]
    tags = export.tag_counts_before_after(ds, rows, {r.id: r.labels for r in ds.records})
    cv = {t["stage"]: t["count"] for t in tags if t["tag"] == "computer-vision"}
    assert cv == {"before": 1, "after": 2}
    by_rule = export.acceptance_table(cands, dec, "rule")
    assert {"group": "cv -> computer vision", "status": "accepted", "count": 1} in by_rule
    by_aug = export.acceptance_table(cands, dec, "augmenter")
    assert sum(r["count"] for r in by_aug) == 3


def test_counts_are_the_files_rows():
    ds = _dataset()
    dec = {"1:1~a~1": "accepted", "2:1~a~1": "accepted", "1:2~a~1": "rejected"}
    rows = export.curated_rows(ds, _cands(), dec)
    counts = export.export_counts(rows, _cands(), dec)
    assert (counts.rows, counts.train_originals, counts.variants) == (3, 2, 1)
    assert counts.repeats == 1 and counts.rejected == 1 and counts.undecided == 0
    assert counts.rows == len(list(csv.DictReader(io.StringIO(rows_to_bytes(rows, "csv").decode()))))


SAMPLE = b"id,text,tags\n" + b"".join(
    f'{100 + i},row {i} about cv,"[""{"ab"[i % 2]}""]"\n'.encode() for i in range(30)
)


def test_remap_after_review_moves_nothing():
    """Decisions made under one mapping, then the id column is dropped (row numbers) and the
    split seed changed: export with the runs' own settings keeps every accepted variant under
    its own original, and the runs are grouped by the settings they were made from."""
    table = read_table(SAMPLE, "s.csv")
    made_with = {"mapping": ColumnMapping(("text",), "tags", id_column="id").to_json(), "split_ratios": [0.6, 0.2, 0.2],
                 "split_seed": 0}
    remapped = {**made_with, "mapping": {**made_with["mapping"], "id_column": None}, "split_seed": 7}
    ds = build_from_settings(table, made_with)
    train = [r for r in ds.records if r.split == "train"]
    stored = [
        StoredCandidate(1, f"1:{r.id}~alias_swap~1", {
            "id": f"{r.id}~alias_swap~1", "parent_id": r.id, "split": "train", "augmenter": "alias_swap",
            "text": r.text.replace("cv", "computer vision"), "original_text": r.text, "tags": r.raw_label,
            "params": "{}", "changes": "[]"})
        for r in train
    ]
    items = candidates.prepare(stored, {1: made_with})
    dec = {it.key: "accepted" for it in items}
    runs = [RunInfo(1, "h", {}, len(stored), 0.0, made_with)]
    (basis,) = export.bases(runs, remapped)  # the dataset is remapped since: the run keeps its own
    assert basis.settings == made_with and basis.run_ids == (1,)
    rows = export.curated_rows(build_from_settings(table, basis.settings), items, dec)
    variants = [r for r in rows if r["augmenter"] != "original"]
    assert len(variants) == len(train) == export.export_counts(rows, items, dec).variants
    originals = {r["id"]: r["text"] for r in rows if r["augmenter"] == "original"}
    assert all(originals[v["parent_id"]] == v["original_text"] for v in variants)
    # a new run under the new settings is a second basis; the current settings never adopt old runs
    both = export.bases([*runs, RunInfo(2, "h", {}, 0, 0.0, remapped)], remapped)
    assert [b.run_ids for b in both] == [(1,), (2,)]
    assert export.bases([], remapped) == [export.Basis(remapped, ())]
