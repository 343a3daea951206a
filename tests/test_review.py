import dataclasses
import json

import pytest

from augment_core.augment.changes import Change, changes_to_json
from augment_core.review import candidates, fields
from augment_core.review import filters as review
from augment_core.review.store import StoredCandidate

pytestmark = pytest.mark.usefixtures("backend")  # each test on SQLite and on PostgreSQL

LABELS = {"1": '["computer-vision"]', "2": '["natural-language-processing"]', "3": '["computer-vision", "graphs"]'}
ORIGINALS = {"1": "CV thing", "2": "nlp thing", "3": "graph thing"}
SETTINGS = {"mapping": {"text_columns": ["text"], "label_column": "tags", "label_format": "auto", "label_sep": ","}}


def _row(key, parent, augmenter="alias_swap", before="cv", after="computer vision", sim=None, flags=None, run=1):
    changes = changes_to_json([Change(0, len(after), before, after, "substitute")]) if before else "[]"
    row = {"id": key.split(":", 1)[1], "parent_id": parent, "split": "train", "augmenter": augmenter,
           "text": f"{after} thing", "original_text": ORIGINALS[parent], "tags": LABELS[parent], "changes": changes}
    if sim is not None:
        row["similarity"] = sim
    if flags is not None:
        row["flags"] = json.dumps(flags)
    return StoredCandidate(run, key, row)


def _items():
    return candidates.prepare(
        [
            _row("1:a", "1", sim=0.9),
            _row("1:b", "1", before="CV", after="Vision", sim=0.5, flags=["keyword_lost"]),
            _row("1:c", "2", before="nlp", after="natural language processing", sim=0.7),
            _row("2:d", "3", augmenter="contextual_substitute", before="graph", after="network", sim=0.99, run=2),
        ],
        {1: SETTINGS, 2: SETTINGS},
    )


def test_prepare_rules_tags_flags():
    items = _items()
    assert items[0].rules == ("cv -> computer vision",)
    assert items[1].rules == ("cv -> vision",)
    assert items[1].flags == ("keyword_lost",) and items[0].flags == ()
    assert items[3].tags == ("computer-vision", "graphs")
    assert items[2].similarity == 0.7
    assert items[0].key == "1:a" and items[0].row["id"] == "a"
    with pytest.raises(dataclasses.FrozenInstanceError):
        items[0].tags = ()
    insert = json.dumps([{"start": 0, "end": 3, "before": "", "after": "new", "kind": "insert"}])
    assert fields.word_changes_of(insert, "contextual_insert") == ("+ new",)
    assert fields.flags_of(float("nan")) == () and fields.flags_of("oops") == ("oops",)


def test_tags_read_with_each_runs_own_mapping():
    """The same stored row under a run whose label column is another one: tags from that run's
    mapping, so a later remap of the dataset cannot re-label a candidate."""
    stored = _row("3:e", "3", run=3)
    other = {"mapping": {"label_column": "tags", "label_format": "delimited", "label_sep": ";"}}
    (row,) = candidates.prepare([stored], {3: other})
    assert row.tags == ('["computer-vision", "graphs"]',)
    assert candidates.prepare([stored], {})[0].tags == ()


def test_filters():
    items = _items()
    dec = {"1:a": "accepted", "1:c": "rejected"}
    keys = lambda flt: [it.key for it in review.apply_filter(items, flt, dec)]
    assert keys(review.Filter()) == ["1:a", "1:b", "1:c", "2:d"]
    assert keys(review.Filter(rules=frozenset({"cv -> vision"}))) == ["1:b"]
    assert keys(review.Filter(augmenters=frozenset({"contextual_substitute"}))) == ["2:d"]
    assert keys(review.Filter(tags=frozenset({"computer-vision"}))) == ["1:a", "1:b", "2:d"]
    assert keys(review.Filter(flags=frozenset({"keyword_lost"}))) == ["1:b"]
    assert keys(review.Filter(flags=frozenset({review.NO_FLAG}))) == ["1:a", "1:c", "2:d"]
    assert keys(review.Filter(similarity=(0.6, 0.95))) == ["1:a", "1:c"]
    assert keys(review.Filter(status="undecided")) == ["1:b", "2:d"]
    assert keys(review.Filter(status="rejected")) == ["1:c"]
    assert keys(review.Filter(runs=frozenset({2}))) == ["2:d"]
    assert keys(review.Filter(search="NATURAL")) == ["1:c"]


def test_sorting_and_grouping():
    items = _items()
    assert [it.key for it in review.sort_items(items, "lowest similarity first")] == ["1:b", "1:c", "1:a", "2:d"]
    assert [it.key for it in review.sort_items(items, "flagged first")][0] == "1:b"
    assert [it.key for it in review.sort_items(items, "highest similarity first")][0] == "2:d"
    groups = review.group_by_original(review.sort_items(items, "lowest similarity first"))
    assert [(g.parent_id, [i.key for i in g.items]) for g in groups] == [
        ("1", ["1:b", "1:a"]), ("2", ["1:c"]), ("3", ["2:d"])]
    assert groups[0].original_text == "CV thing"


def test_paginate_clamps():
    assert review.paginate(list(range(45)), 3, 20) == ([40, 41, 42, 43, 44], 3, 3)
    assert review.paginate(list(range(45)), 9, 20)[2] == 3
    assert review.paginate([], 0, 20) == ([], 1, 1)


def test_progress_bulk_and_apply():
    items = _items()
    dec = {"1:a": "accepted", "1:c": "rejected"}
    assert review.progress_counts(items, dec) == {"total": 4, "reviewed": 2, "accepted": 1, "rejected": 1, "left": 2}
    assert review.bulk_changes(items, dec, "rejected") == {"1:b": "rejected", "2:d": "rejected"}
    assert review.bulk_changes(items, dec, "rejected", only_undecided=False) == {
        "1:a": "rejected", "1:b": "rejected", "2:d": "rejected"}
    assert review.expected_states(["1:a", "1:b"], dec) == {"1:a": "accepted", "1:b": None}
    review.apply_decisions(dec, {"1:a": None, "2:d": "accepted"})
    assert dec == {"1:c": "rejected", "2:d": "accepted"}


def test_facets_and_next_undecided():
    items = _items()
    f = review.facets(items)
    assert f["rule"]["cv -> computer vision"] == 1 and f["augmenter"]["alias_swap"] == 3
    assert f["flag"][review.NO_FLAG] == 3 and f["run"][2] == 1
    assert review.has_similarity(items)
    dec = {"1:b": "accepted"}
    assert review.next_undecided(items, dec) == "1:a"
    assert review.next_undecided(items, dec, after="1:a") == "1:c"
    assert review.next_undecided(items, dec, after="1:c", skipped={"2:d"}) == "1:a"
    assert review.next_undecided(items, {i.key: "accepted" for i in items}) is None


def test_same_id_different_original_stays_apart():
    """Runs made under different id mappings may give two rows one id: two groups."""
    a = _row("1:a", "1")
    b = StoredCandidate(2, "2:b", {**_row("2:b", "1").row, "original_text": "another row"})
    groups = review.group_by_original(candidates.prepare([a, b], {}))
    assert [(g.parent_id, g.original_text) for g in groups] == [("1", "CV thing"), ("1", "another row")]


def test_alias_rules_are_alias_swaps_only_and_word_changes_their_own_facet():
    items = _items()
    assert items[3].augmenter == "contextual_substitute"
    assert items[3].rules == () and items[3].word_changes == ("graph -> network",)
    assert items[0].word_changes == ()
    facets = review.facets(items)
    assert "graph -> network" not in facets["rule"] and facets["word_change"]["graph -> network"] == 1
    only = review.apply_filter(items, review.Filter(word_changes=frozenset({"graph -> network"})), {})
    assert [it.key for it in only] == ["2:d"]


def _swap(key, parent, before, after, agreement, support):
    change = {"start": 0, "end": len(after), "before": before, "after": after, "kind": "substitute",
              "agreement": agreement, "support": support}
    row = {"id": key.split(":", 1)[1], "parent_id": parent, "split": "train", "augmenter": "alias_swap",
           "text": f"{after} thing", "original_text": ORIGINALS[parent], "tags": LABELS[parent],
           "changes": json.dumps([change])}
    return StoredCandidate(1, key, row)


def test_filter_and_sort_by_keyword_agreement():
    items = candidates.prepare(
        [_swap("1:a", "1", "cv", "computer vision", 0.9, 20), _swap("1:b", "2", "nlp", "nlproc", 0.25, 8),
         _swap("1:c", "3", "graph", "graphs", 0.4, 2), _row("1:d", "1")],
        {1: SETTINGS},
    )
    assert items[1].agreement == 0.25 and items[1].support == 8
    assert items[3].agreement is None
    low = review.apply_filter(items, review.Filter(agreement_below=0.5), {})
    assert [it.key for it in low] == ["1:b", "1:c"]
    ordered = review.sort_items(items, "lowest keyword agreement first")
    assert [it.key for it in ordered] == ["1:b", "1:c", "1:a", "1:d"]
    agreement = review.rule_agreement(items)
    assert agreement["nlp -> nlproc"] == (0.25, 8)
    counts = review.facets(items)["rule"]
    # judged (support >= 3) first, least agreeing first; then too little support; then unknown
    assert review.rules_by_agreement(counts, agreement) == [
        "nlp -> nlproc", "cv -> computer vision", "graph -> graphs"]
    assert review.rule_label("nlp -> nlproc", 1, (0.25, 8)) == "nlp -> nlproc  (1) · agreement 0.25 of 8 rows"
