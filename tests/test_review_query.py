"""The review page's SQL path (augment_core.review.query over the review index) gives the same
answers as the functions over rows (augment_core.review.filters) it replaced, on the bundled
sample: filters, sort orders, pages, counts, facets, the one-at-a-time window and bulk
actions; and a database from before the index is indexed when opened."""

from __future__ import annotations

import json
import random
import sqlite3

import pytest

from augment_core.augment.agreement import fit_to_train
from augment_core.augment.registry import build_augmenters
from augment_core.data.dataset import content_hash, read_table
from augment_core.data.dataset_settings import build_from_settings, default_settings
from augment_core.review import filters as review
from augment_core.review import query
from augment_core.review.candidates import prepare
from augment_core.review.facts import open_store, store_run
from augment_core.review.store import Store
from augment_core.runners.pipeline import run_augmentation

pytestmark = pytest.mark.usefixtures("backend")  # each test on SQLite and on PostgreSQL


@pytest.fixture(scope="module")
def sample_runs(sample_csv, alias_table):
    """Two runs on the sample: an alias swap with similarity (ties on purpose: one decimal)
    and flags, and the same rows presented as a contextual run (word changes)."""
    data = sample_csv.read_bytes()
    table = read_table(data, "projects.csv")
    settings = default_settings(table)
    dataset = build_from_settings(table, settings)
    keywords = fit_to_train(alias_table, dataset)
    augmenters = build_augmenters(["alias_swap"], {}, keywords)
    rows = run_augmentation(dataset, augmenters, 3, True, 7)
    rnd = random.Random(3)
    for r in rows:
        if r["augmenter"] != "original":
            r["similarity"] = None if rnd.random() < 0.1 else round(rnd.random(), 1)
            r["flags"] = json.dumps(rnd.choice([[], [], ["low_similarity"], ["keyword_lost", "low_similarity"]]))
    other = [dict(r, augmenter="contextual_substitute") if r["augmenter"] != "original" else r
             for r in rows[: len(rows) // 3]]
    return data, settings, rows, other


@pytest.fixture()
def db(tmp_path, sample_runs):
    data, settings, rows, other = sample_runs
    store = Store(tmp_path)
    h = content_hash(data)
    store.add_dataset(h, "projects.csv", data, settings)
    store_run(store, h, {"n": 1}, rows, settings)
    store_run(store, h, {"n": 2}, other, settings)
    yield store, h, settings
    store.close()


def _old(store, h, settings):
    runs = store.runs(h)
    return prepare(store.candidates(h), {r.id: r.settings or settings for r in runs})


def _old_page(items, decisions, flt, order, page, per_page=20):
    visible = review.sort_items(review.apply_filter(items, flt, decisions), order)
    groups = review.group_by_original(visible)
    shown, n_pages, page = review.paginate(groups, page, per_page)
    return ([[it.key for it in g.items] for g in shown], n_pages, page, len(visible), len(groups))


def _filters(items):
    facets = review.facets(items)
    rule = facets["rule"].most_common(3)[2][0]
    tag = facets["tag"].most_common(2)[1][0]
    word = facets["word_change"].most_common(1)[0][0]
    return [
        review.Filter(),
        review.Filter(status="undecided"),
        review.Filter(status="accepted"),
        review.Filter(status="rejected", flags=frozenset({"keyword_lost"})),
        review.Filter(rules=frozenset({rule})),
        review.Filter(tags=frozenset({tag}), status="undecided"),
        review.Filter(word_changes=frozenset({word}), runs=frozenset({2})),
        review.Filter(flags=frozenset({review.NO_FLAG})),
        review.Filter(similarity=(0.2, 0.6), augmenters=frozenset({"alias_swap"})),
        review.Filter(agreement_below=0.8),
        review.Filter(search="LEARN"),
        review.Filter(search="é"),
    ]


def test_pages_counts_and_facets_match_the_row_functions(db):
    store, h, settings = db
    items = _old(store, h, settings)
    assert len(items) > 1500
    rnd = random.Random(5)
    decided = {it.key: rnd.choice(["accepted", "rejected"]) for it in items if rnd.random() < 0.3}
    store.decide_many(h, decided, label="setup")
    decisions = store.decisions(h)
    scope = query.scope_of(store, h)

    assert query.progress(store, scope) == review.progress_counts(items, decisions)
    sql_facets = query.facets(store, scope)
    assert sql_facets["facets"] == review.facets(items)
    assert sql_facets["has_similarity"] is True
    assert sql_facets["rule_agreement"] == review.rule_agreement(items)
    assert sql_facets["rule_agreement"], "the sample's alias swaps record agreement"

    for flt in _filters(items):
        for order in review.SORTS:
            want = _old_page(items, decisions, flt, order, 1)
            n_pages = want[1]
            for page_no in sorted({1, 2, n_pages, n_pages + 3}):
                want = _old_page(items, decisions, flt, order, page_no)
                got = query.page(store, scope, flt, order, page_no, 20)
                assert ([[it.key for it in g.items] for g in got.groups], got.n_pages, got.page, got.n_items,
                        got.n_groups) == want, (flt, order, page_no)
            # the same rows as the row path builds (what the page draws)
            got = query.page(store, scope, flt, order, 1, 20)
            by_key = {it.key: it for it in items}
            for g in got.groups:
                assert all(by_key[it.key] == it and it.tags == by_key[it.key].tags for it in g.items)
                assert (g.parent_id, g.original_text) == (g.items[0].parent_id, g.items[0].original_text)
            for decision in ("accepted", "rejected"):
                for only in (True, False):
                    visible = review.apply_filter(items, flt, decisions)
                    assert query.bulk_count(store, scope, flt, decision, only) == len(
                        review.bulk_changes(visible, decisions, decision, only))


def test_next_and_previous_from_a_page_mark_are_the_pages_offset_gives(db):
    """A page change seeks from the page shown (its mark) instead of walking past every
    original before it; walking all pages forward then back that way gives each page as
    OFFSET does, for every order and for filters that marks hold for. A mark never carries
    over to another filter, order or set of runs, nor to a filter on decisions."""
    store, h, settings = db
    items = _old(store, h, settings)
    rnd = random.Random(9)
    store.decide_many(h, {it.key: rnd.choice(["accepted", "rejected"]) for it in items if rnd.random() < 0.3})
    scope = query.scope_of(store, h)

    def keys(pg):
        return (pg.page, [[it.key for it in g.items] for g in pg.groups])

    filters = [f for f in _filters(items) if f.status == "all"]
    per_page = 21  # three pages or more for every filter but one search, 37 for all rows: 36 marks each way
    # every order on all rows (ties, no similarity, both runs), and each filter in one order (they
    # rotate): a filter only narrows what the seek passes over, in whichever order
    walks = [(filters[0], order) for order in review.SORTS]
    walks += [(flt, review.SORTS[i % len(review.SORTS)]) for i, flt in enumerate(filters[1:])]
    for flt, order in walks:
        plain = query.page(store, scope, flt, order, 1, per_page)
        n_pages = plain.n_pages
        assert n_pages >= 2 or flt.search, (flt, order)
        mark, seen = plain.mark, [keys(plain)]
        for page_no in range(2, n_pages + 1):  # Next, Next, ...
            pg = query.page(store, scope, flt, order, page_no, per_page, near=mark)
            assert keys(pg) == keys(query.page(store, scope, flt, order, page_no, per_page)), (flt, order, page_no)
            mark = pg.mark
            seen.append(keys(pg))
        for page_no in range(n_pages - 1, 0, -1):  # then Previous back to the first
            pg = query.page(store, scope, flt, order, page_no, per_page, near=mark)
            assert keys(pg) == seen[page_no - 1], (flt, order, page_no)
            mark = pg.mark
        assert keys(query.page(store, scope, flt, order, 1, per_page, near=mark)) == seen[0]  # the same page again

    flt, order = review.Filter(), review.SORTS[1]
    second = query.page(store, scope, flt, order, 2, 7)
    for other_flt, other_order in [(review.Filter(status="undecided"), order), (flt, review.SORTS[0]),
                                   (next(f for f in filters if f.rules), order)]:
        want = query.page(store, scope, other_flt, other_order, 3, 7)
        assert keys(query.page(store, scope, other_flt, other_order, 3, 7, near=second.mark)) == keys(want)
    assert query.page(store, scope, review.Filter(status="undecided"), order, 1, 7).mark is None
    # a decision-free filter's mark holds across decisions: what comes before it cannot move
    store.decide_many(h, {it.key: "accepted" for it in items[:50]})
    assert keys(query.page(store, scope, flt, order, 3, 7, near=second.mark)) == keys(
        query.page(store, scope, flt, order, 3, 7))


def test_focus_window_matches_the_row_functions(db):
    store, h, settings = db
    items = _old(store, h, settings)
    scope = query.scope_of(store, h)
    first = [it.key for it in items[:50]]
    store.decide_many(h, {k: "accepted" for k in first}, label="setup")
    decisions = store.decisions(h)
    for flt in (review.Filter(), review.Filter(flags=frozenset({"low_similarity"}))):
        for order in ("original order", "lowest similarity first", "lowest keyword agreement first"):
            visible = review.sort_items(review.apply_filter(items, flt, decisions), order)
            undecided = [i for i, it in enumerate(visible) if it.key not in decisions]
            start = max(0, (undecided[0] if undecided else len(visible)) - 20)
            want = [it.key for it in visible[start : start + 220]]
            window, matching, left = query.focus_window(store, scope, flt, order, 20, 200)
            assert [it.key for it in window] == want
            assert (matching, left) == (len(visible), len(undecided))


def test_bulk_over_a_filter_is_one_undoable_action_in_sql(db):
    store, h, settings = db
    items = _old(store, h, settings)
    scope = query.scope_of(store, h)
    rule = review.facets(items)["rule"].most_common(1)[0][0]
    flt = review.Filter(rules=frozenset({rule}))
    some = [it.key for it in items if rule in it.rules][:5]
    store.decide(h, some[0], "rejected", origin="other")
    seen = __import__("time").time()
    want = review.bulk_changes(review.apply_filter(items, flt, store.decisions(h)), store.decisions(h), "accepted")
    result = query.bulk(store, scope, flt, "accepted", True, origin="tab", seen=seen)
    assert result.changed == len(want) and result.conflicts == 0
    assert result.label == f"bulk accept {len(want):,}"
    decisions = store.decisions(h)
    assert all(decisions[k] == "accepted" for k in want) and decisions[some[0]] == "rejected"
    assert store.last_action(h, origin="tab").n_items == len(want)
    # decided in another tab after the page read the decisions: left alone, counted
    store.decide(h, some[1], "rejected", origin="other")
    result = query.bulk(store, scope, flt, "accepted", False, origin="tab", seen=seen)
    assert result.conflicts == 1 and store.decisions(h)[some[1]] == "rejected"
    assert result.changed == 1  # some[0], decided before the page read them: overwritten
    store.undo(h, origin="tab")
    store.undo(h, origin="tab")
    after = store.decisions(h)
    assert after == {some[0]: "rejected", some[1]: "rejected"}


@pytest.mark.sqlite_only
def test_a_database_from_before_the_index_is_indexed_on_open(tmp_path, sample_runs):
    data, settings, rows, _ = sample_runs
    store = Store(tmp_path)
    h = content_hash(data)
    store.add_dataset(h, "projects.csv", data, settings)
    store_run(store, h, {}, rows, settings)
    scope = query.scope_of(store, h)
    want = query.page(store, scope, review.Filter(), "flagged first", 3, 20)
    store.close()
    with sqlite3.connect(tmp_path / "augment-review.sqlite3") as c:  # as an older version left it
        c.execute("DROP TABLE alembic_version")  # (made before Alembic)
        for table in ("review_items", "review_text", "review_item_values", "review_value_counts", "review_values",
                      "review_groups"):
            c.execute(f"DROP TABLE {table}")
        c.execute("ALTER TABLE runs DROP COLUMN indexed")
    store = open_store(tmp_path)  # as the app opens it
    scope = query.scope_of(store, h)
    got = query.page(store, scope, review.Filter(), "flagged first", 3, 20)
    assert [[it.key for it in g.items] for g in got.groups] == [[it.key for it in g.items] for g in want.groups]
    assert query.progress(store, scope)["total"] == len([r for r in rows if r["augmenter"] != "original"])
    store.close()


def test_each_reviewer_pages_counts_and_bulk_over_their_own_decisions(db):
    """With several reviewers the index answers for the signed-in one: the status filter,
    counts and a bulk over a filter read and write only that reviewer's decisions; the
    reviewer and conflicts filters see everyone's; a bulk is one undoable action in the history."""
    store, h, settings = db
    items = _old(store, h, settings)
    keys = [it.key for it in items]
    store.decide_many(h, {k: "accepted" for k in keys[:10]}, label="ann", reviewer="ann@example.org")
    store.decide_many(h, {k: "rejected" for k in keys[5:12]}, label="bob", reviewer="bob@example.org")
    ann, bob = query.scope_of(store, h, "ann@example.org"), query.scope_of(store, h, "bob@example.org")
    assert query.match_counts(store, ann, review.Filter())["accepted"] == 10
    assert query.match_counts(store, bob, review.Filter())["rejected"] == 7
    assert query.progress(store, query.scope_of(store, h))["reviewed"] == 0  # "local" decided nothing
    assert query.count(store, bob, review.Filter(decided_by="ann@example.org"))[0] == 10
    assert query.count(store, ann, review.Filter(conflicts=True))[0] == 5  # keys 5-9: accepted by ann, rejected by bob
    assert query.count(store, ann, review.Filter(conflicts=True, status="undecided"))[0] == 0

    result = query.bulk(store, bob, review.Filter(decided_by="ann@example.org"), "accepted", only_undecided=True,
                        origin="tab", seen=None)
    assert result.changed == 5  # ann's 0-4, which bob had not decided; bob's own rejections stay
    assert store.decisions(h, reviewer="ann@example.org") == {k: "accepted" for k in keys[:10]}
    bob_now = store.decisions(h, reviewer="bob@example.org")
    assert bob_now == {**{k: "accepted" for k in keys[:5]}, **{k: "rejected" for k in keys[5:12]}}
    logged = [e for e in store.history(h, "bob@example.org") if e.label == result.label]
    assert sorted(e.key for e in logged) == sorted(keys[:5]) and all(e.after == "accepted" for e in logged)
    assert store.undo(h, origin="tab", reviewer="bob@example.org") is not None
    assert store.decisions(h, reviewer="bob@example.org") == {k: "rejected" for k in keys[5:12]}
