"""Issue 10, point 1: the fast paths of the streamed run give exactly what the plain code
gives: the change JSON written by hand, the fit from pass 1's keyword signatures, and
Parquet row groups built column by column."""

from __future__ import annotations

import json
import math

import pytest

from augment_core.augment.agreement import fit_to_train
from augment_core.augment.alias_swap import AliasSwap
from augment_core.augment.changes import Change, changes_to_json
from augment_core.data.dataset import ColumnMapping, Dataset, build_dataset, read_table
from augment_core.data.splitting import assign_splits


@pytest.mark.parametrize("agreement,support", [
    (None, None), (None, 3), (0.5, 10), (1 / 3, 7), (1.0, 1), (0, 2), (1, 2), (math.nan, 4), (1e-7, 9),
])
def test_change_json_is_json_dumps(agreement, support):
    tricky = ['"quoted"', "back\\slash", "new\nline\ttab\r", "\x00\x1f ctrl", "café ✓ 𝔘", "\u2028\u2029", "", "a/b"]
    changes = [Change(k, k + 3, b, a, "substitute", agreement, support) for k, (b, a) in
               enumerate(zip(tricky, reversed(tricky)))]
    expected = []
    for c in changes:
        item: dict = {"start": c.start, "end": c.end, "before": c.before, "after": c.after, "kind": c.kind}
        if c.support is not None:
            item["agreement"] = None if c.agreement is None else round(c.agreement, 4)
            item["support"] = c.support
        expected.append(item)
    assert changes_to_json(changes) == json.dumps(expected, ensure_ascii=False)
    assert changes_to_json([]) == json.dumps([])


@pytest.fixture(scope="module")
def split_sample(sample_csv) -> Dataset:
    table = read_table(sample_csv)
    ds = build_dataset(table, ColumnMapping(("title", "description"), "tags", id_column="id"))
    return assign_splits(ds, seed=3)


def test_fit_from_signatures_is_the_fit_from_texts(split_sample, alias_table, sample_csv):
    from augment_core.data.sources import FileSource
    from augment_core.runners.core import fit_keys, scan_keys

    expected = fit_to_train(alias_table, split_sample)
    # small chunks: signatures and counts cross chunk boundaries
    keys = scan_keys(FileSource(sample_csv, chunk_rows=97), split_sample.mapping, (0.7, 0.15, 0.15), 3,
                     tags=alias_table)
    assert keys.splits == [r.split for r in split_sample.records]
    got, with_text = fit_keys(alias_table, keys)
    assert got.table.written_as == expected.table.written_as and got.table.written_as
    assert got.table.corpus_forms == expected.table.corpus_forms and got.table.corpus_forms
    assert dict(got.by_member) == dict(expected.by_member)
    assert dict(got.by_key) == dict(expected.by_key)
    assert with_text == sum(1 for r in split_sample.records if r.split == "train" and r.text.strip())


def test_one_swap_equals_the_general_path(split_sample, alias_table):
    """The default (one swap per variant) draws among the text's pairs, kept per text; the
    same candidates, changes (agreement and support included) and order as the general path
    (every 1-tuple applied through an Edit), for a text seen first and again in another row."""
    fitted = fit_to_train(alias_table, split_sample)
    swaps = [AliasSwap(fitted.table, agreement=fitted.by_key), AliasSwap(alias_table)]
    checked = 0
    for r in split_sample.records[:400]:
        for swap in swaps:
            for row_id in (r.id, r.id + "-again"):  # the second: the text's pairs already kept
                got = swap.variants(r.text, row_id, 5, 11)
                assert got == swap._general_variants(r.text, row_id, 5, 11)
                checked += len(got)
    assert checked > 1000
    assert any(change.support is not None for r in split_sample.records[:50]
               for cand in swaps[0].variants(r.text, r.id, 5, 11) for change in cand.changes)


def test_written_as_ties_go_to_the_first_train_spelling(alias_table, tmp_path):
    """Two spellings of one key, as often each: the one the train rows use first wins, in
    the fit from texts and in the fit from signatures alike."""
    from augment_core.data.sources import FileSource
    from augment_core.runners.core import fit_keys, scan_keys

    src = tmp_path / "in.csv"
    src.write_text("id,text,tags,split\n1,about PyTorch,pytorch,train\n2,about Pytorch,pytorch,train\n"
                   "3,about PyTorch,pytorch,val\n4,about PyTORCH,pytorch,train\n5,about PyTORCH,pytorch,train\n"
                   "6,about PyTorch,pytorch,train\n", encoding="utf-8")
    mapping = ColumnMapping(("text",), "tags", split_column="split", id_column="id")
    ds = build_dataset(read_table(src), mapping)
    expected = fit_to_train(alias_table, ds)
    got, _ = fit_keys(alias_table, scan_keys(FileSource(src, chunk_rows=2), mapping, (0.7, 0.15, 0.15), 0,
                                             tags=alias_table))
    assert got.table.written_as == expected.table.written_as
    assert got.table.written_as.get("pytorch") == "PyTorch"


@pytest.mark.parametrize("keep_original", [True, False])
def test_row_groups_built_by_column_equal_the_shaped_rows(tmp_path, alias_table, keep_original):
    """Columns whose cells are of mixed kinds (an int beside a string, a list beside a
    string), a missing text cell, numbers, lists: each column as the row-by-row shaping
    types it, whichever rows the chunk writes."""
    import pyarrow as pa

    from augment_core.augment.registry import build_augmenters
    from augment_core.data.dataset import RecordBuilder, is_empty_text
    from augment_core.data.user_schema import user_rows
    from augment_core.runners.core import arrow_chunk, arrow_table, output_arrow_schema, run_schema
    from augment_core.runners.pipeline import RowPlan, augment_records, plan_rows

    cells = [
        {"id": "1", "title": "GANs for CV", "body": "a gan model", "tags": ["gan"], "n": 1, "mixed": "x", "lst": [1]},
        {"id": "2", "title": "NLP", "body": None, "tags": ["nlp"], "n": 2, "mixed": 3, "lst": ["a"]},
        {"id": "3", "title": "transformers in nlp", "body": "bert", "tags": ["nlp"], "n": None, "mixed": [1],
         "lst": None},
        {"id": "4", "title": "computer vision", "body": "cnn and gans", "tags": [], "n": 4, "mixed": None,
         "lst": [2, 3]},
        {"id": "5", "title": "plain", "body": "nothing here", "tags": ["other"], "n": 5, "mixed": "y", "lst": []},
    ]
    columns = list(cells[0])
    rows = [tuple(c[k] for k in columns) for c in cells]
    mapping = ColumnMapping(("title", "body"), "tags", id_column="id")
    builder = RecordBuilder(columns, mapping)
    records = [builder.record(i, row, split) for i, (row, split) in
               enumerate(zip(rows, ["train", "train", "val", "train", "train"]))]
    keywords = fit_to_train(alias_table, Dataset(records, mapping, columns=tuple(columns)))
    augmenters = build_augmenters(["alias_swap"], {}, keywords)
    schema = run_schema(columns, "tags", None)
    from augment_core.data.io import arrow_column
    from augment_core.runners.core import _column_type

    types = {c: _column_type([arrow_column([r[j] for r in rows]).type]) for j, c in enumerate(columns)}
    arrow_schema = output_arrow_schema(schema, types, mapping.text_columns)
    empty = {r.id for r in records if is_empty_text(r.text)}
    text_is = [1, 2]
    row_plan = RowPlan(augmenters, "tags", 3, keep_original, 7, text_indices=text_is)
    out = augment_records(records, row_plan, empty)
    assert any(r["augmenter"] != "original" for r in out)
    ds = Dataset(records, mapping, columns=tuple(columns))
    expected = arrow_table(list(user_rows(out, ds, schema)), arrow_schema)
    plan = plan_rows(records, row_plan, empty)
    got = arrow_chunk(records, plan, 7, text_is, schema, arrow_schema)
    assert isinstance(got, pa.Table)
    assert got.equals(expected), (got.to_pylist(), expected.to_pylist())


def test_one_change_splits_as_the_general_path():
    """``split_variant`` of one change (the alias swap's default) takes a short cut; it gives
    what the general path gives for the same change beside a no-op insertion at the end."""
    from augment_core.data.user_schema import split_variant

    cells = ["ab", "", "cde f"]
    text = " ".join(cells)
    tried = refused = 0
    for start in range(len(text) + 1):
        for end in range(start, len(text) + 1):
            for after in ("", "X", "YZW"):
                kind = "insert" if start == end else "substitute"
                change = Change(start, start + len(after), text[start:end], after, kind)
                variant_len = len(text) - (end - start) + len(after)
                noop = Change(variant_len, variant_len, "", "", "insert")
                got = split_variant(cells, [change])
                assert got == split_variant(cells, [change, noop])
                tried += 1
                refused += got is None
    assert tried > 100 and 0 < refused < tried


def test_a_text_cache_keeps_the_newest_texts_and_stays_bounded(monkeypatch):
    """Keyword matches and alias-swap candidates are kept per text in a long-lived process
    (the app): the cache never grows past its bound, and the newest texts stay."""
    from augment_core.augment import text_cache

    monkeypatch.setattr(text_cache, "TEXTS_KEPT", 4)
    cache: dict[str, int] = {}
    for i in range(9):
        assert text_cache.remember(cache, f"t{i}", i) == i
        assert len(cache) <= 4
    assert "t8" in cache and "t0" not in cache
