"""Page flows through streamlit.testing.v1.AppTest: upload, mapping, a run, review, export."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from helpers import drifting_input, in_memory, sample_rows
from streamlit.testing.v1 import AppTest

from app_support.markup import markdown_escape
from augment_core.data.dataset import content_hash
from augment_core.job import joiner_warning
from augment_core.review.store import Store, candidate_key

pytestmark = pytest.mark.app

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("AUGMENT_REVIEW_DATA_DIR", str(tmp_path / "data"))
    # AppTest runs no browser code: these flows drive the review rows as Streamlit buttons (the
    # component, decisions saved from the browser's queue, is driven in tests/test_browser.py)
    monkeypatch.setenv("AUGMENT_REVIEW_INSTANT", "0")
    return tmp_path / "data"


@pytest.fixture(scope="module")
def small_csv() -> bytes:
    return sample_rows(40)


def _app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=60)


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.run()
    at.file_uploader(key="data_upload").upload(name, data, "text/csv")
    return at.run()


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_upload_map_run_review_export(data_dir, small_csv):
    at = _upload(_app(), "small.csv", small_csv)
    _ok(at)
    assert [s.value for s in at.success] == ["Stored a new dataset."]
    h = content_hash(small_csv)
    assert at.query_params["dataset"] == [h] or at.query_params["dataset"] == h
    assert (40, 5) in [d.value.shape for d in at.dataframe]
    # the guessed mapping: title + description -> text, tags (JSON list) -> labels, id column
    assert at.multiselect(key="data_text_columns").value == ["title", "description"]
    assert at.selectbox(key="data_label_column").value == "tags"

    # a mapping that does not fit: an error in the page, nothing saved, the page still works
    at.selectbox(key="data_label_format").set_value("json")
    at.multiselect(key="data_text_columns").set_value(["description"])
    at.selectbox(key="data_label_column").set_value("title")
    _submit(at)
    _ok(at)
    assert any("not a JSON list" in e.value for e in at.error)
    store = Store(data_dir)
    assert store.dataset(h).settings["mapping"]["label_column"] == "tags"

    at.selectbox(key="data_label_column").set_value("tags")
    at.multiselect(key="data_text_columns").set_value(["title", "description"])
    at.number_input(key="data_split_seed").set_value(3)
    _submit(at)
    _ok(at)
    assert "Mapping saved." in [s.value for s in at.success]
    assert store.dataset(h).settings["split_seed"] == 3
    assert not at.error

    at.switch_page("pages/augment.py").run()
    _ok(at)
    at.number_input(key="augment_n_per_original").set_value(3)
    at.button(key="augment_run").click().run()
    _ok(at)
    assert not at.error
    assert at.success and at.success[0].value.startswith("Run 1:")
    run = store.runs(h)[0]
    assert run.params["n_per_original"] == 3 and run.params["augmenters"][0]["name"] == "alias_swap"
    n_variants = run.params["variants"]
    assert n_variants > 5

    at.switch_page("pages/review.py").run()
    _ok(at)
    assert _metrics(at)["Left"] == str(n_variants)
    accept = [b for b in at.button if b.key and b.key.startswith("review_a_")]
    reject = [b for b in at.button if b.key and b.key.startswith("review_r_")]
    accepted_key = accept[0].key[len("review_a_"):]
    accept[0].click().run()
    reject[1].click().run()
    _ok(at)
    m = _metrics(at)
    assert (m["Accepted"], m["Rejected"], m["Reviewed"]) == ("1", "1", "2")
    assert store.decisions(h)[accepted_key] == "accepted"

    # bulk-reject one alias rule, then undo it as one action
    rule = at.multiselect(key="review_rules").options[0]
    at.multiselect(key="review_rules").set_value([rule.split("  (")[0]]).run()
    _ok(at)
    at.button(key="review_bulk_reject").click().run()
    after_bulk = store.decisions(h)
    assert sum(1 for d in after_bulk.values() if d == "rejected") > 1
    at.button(key="review_undo").click().run()
    _ok(at)
    assert len(store.decisions(h)) == 2

    # the run computed quality signals: bulk-reject the least similar variants by range
    at.multiselect(key="review_rules").set_value([]).run()
    sims = [r["similarity"] for r in store.run_rows(run.id) if r["augmenter"] != "original"]
    assert run.params["quality"] and len(sims) == n_variants and all(0.0 <= s <= 1.0 for s in sims)
    cut = round(sorted(sims)[len(sims) // 2], 2)
    at.slider(key="review_similarity").set_range(0.0, cut).run()
    label = at.button(key="review_bulk_reject").label
    decided = store.decisions(h)
    expected = sum(  # bulk acts on undecided variants only
        1 for r in store.run_rows(run.id)
        if r["augmenter"] != "original" and r["similarity"] <= cut and candidate_key(run.id, r["id"]) not in decided
    )
    assert int(label.split()[1]) == expected, (label, expected)
    assert 0 < expected < n_variants
    at.slider(key="review_similarity").set_range(0.0, 1.0).run()
    _ok(at)

    # focused mode: accept walks on to the next undecided variant
    at.selectbox(key="review_mode").set_value("One at a time").run()
    _ok(at)
    at.button(key="review_focus_accept").click().run()
    at.button(key="review_focus_skip").click().run()
    at.button(key="review_focus_reject").click().run()
    _ok(at)
    assert sorted(store.decisions(h).values()) == ["accepted", "accepted", "rejected", "rejected"]

    at.switch_page("pages/export.py").run()
    _ok(at)
    decisions = store.decisions(h)
    n_train = sum(1 for v in store.run_rows(run.id) if v["augmenter"] == "original" and v["split"] == "train")
    accepted = sum(1 for d in decisions.values() if d == "accepted")
    assert _metrics(at)["Rows to export"] == str(n_train + accepted)
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Download curated split (csv)", "Download manifest (JSON)"]
    at.radio(key="export_format").set_value("parquet").run()
    _ok(at)
    at.checkbox(key="export_include_eval").check().run()
    _ok(at)
    assert _metrics(at)["Rows to export"] == str(40 + accepted)


def test_augment_page_run_stores_label_drift(data_dir, tmp_path):
    """Issue 23, point 5: a run from the Augment page (quality signals on, the default) stores
    ``label_drift`` in its variants' flags, where the quick baseline fitted on the train
    originals reads a variant as another label than its parent (a ``vision`` text swapped to
    ``gnn``), and never on the harmless swaps of the ``graph`` texts."""
    src, tags = Path(drifting_input(tmp_path)[0]), tmp_path / "drift-tags.json"
    at = _upload(_app(), "drift.csv", src.read_bytes())
    _ok(at)
    at.file_uploader(key="data_tags_upload").upload("drift-tags.json", tags.read_bytes(), "application/json")
    at.run()
    _ok(at)
    at.switch_page("pages/augment.py").run()
    _ok(at)
    at.button(key="augment_run").click().run(timeout=180)
    _ok(at)
    assert at.success and at.success[0].value.startswith("Run 1:")
    store = Store(data_dir)
    h = content_hash(src.read_bytes())
    rows = [r for r in store.run_rows(store.runs(h)[0].id) if r["augmenter"] != "original"]
    drifted = [r for r in rows if "label_drift" in json.loads(r["flags"] or "[]")]
    assert drifted and all(r["original_text"].startswith("pixel") for r in drifted), [r["text"] for r in drifted]


def _submit(at: AppTest) -> None:
    [b for b in at.button if b.label == "Save mapping"][0].click().run()


def test_reopen_by_url_and_recent_list(data_dir, small_csv):
    at = _upload(_app(), "small.csv", small_csv)
    h = content_hash(small_csv)
    other = small_csv.replace(b"Machine Learning Basics", b"Other Basics")
    at.file_uploader(key="data_upload").upload("other.csv", other, "text/csv")
    at.run()
    _ok(at)
    assert at.session_state["current_dataset"] == content_hash(other)
    store = Store(data_dir)
    store.decide(h, "1:x", "accepted")

    fresh = _app()  # a new browser session, as after a reload or a restart
    fresh.query_params["dataset"] = h
    fresh.run()
    _ok(fresh)
    assert fresh.session_state["current_dataset"] == h
    assert any("small.csv" in t.value for t in fresh.text)
    assert store.decisions(content_hash(other)) == {}
    assert store.decisions(h) == {"1:x": "accepted"}
    # the recent list opens the other one
    fresh.selectbox(key="data_recent_choice").set_value(content_hash(other))
    fresh.button(key="data_open_recent").click().run()
    _ok(fresh)
    assert fresh.session_state["current_dataset"] == content_hash(other)


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("empty.csv", b"   ", "is empty"),
        ("bad.json", b"{not json", "Cannot read this file"),
        ("notes.csv", b"only_header\n", "no rows"),
    ],
)
def test_unreadable_upload_shows_error(data_dir, small_csv, name, data, message):
    at = _upload(_app(), "small.csv", small_csv)
    at.file_uploader(key="data_upload").upload(name, data, "text/csv")
    at.run()
    _ok(at)
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    # nothing stored is lost: the previous dataset is still the current one
    assert at.session_state["current_dataset"] == content_hash(small_csv)


def test_untrusted_text_rendered_escaped(data_dir):
    evil = '<img src=x onerror="alert(1)"> $x^2$ [link](http://e.x) :smile: **bold** uses cv for nlp'
    data = ("id,text,tags,split\n" + "".join(
        f'{i},"{evil.replace(chr(34), chr(34) * 2)} {i}","[""computer-vision""]",train\n' for i in range(1, 6)
    )).encode()
    at = _upload(_app(), "evil.csv", data)
    _ok(at)
    at.switch_page("pages/augment.py").run()
    at.button(key="augment_run").click().run()
    _ok(at)
    at.switch_page("pages/review.py").run()
    _ok(at)
    bodies = [h.proto.body for h in at.get("html")]
    text_html = [b for b in bodies if "onerror" in b]
    assert text_html, bodies
    for b in text_html:
        assert "<img" not in b and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in b
    assert all("$x^2$" not in m.value for m in at.markdown)


def test_the_run_summary_says_how_many_variants_the_joiner_dropped(data_dir, tmp_path):
    """Every row's keyword runs from the title into the description, so every alias swap
    crosses the joiner: the page's summary says how many variants that dropped (as the CLI
    counts them) and what to do, instead of a bare "0 variants"."""
    data = "id,title,description,tags,split\n" + "".join(
        f'{i},Intro {i} to computer,vision with nets,"[""computer-vision""]",train\n' for i in range(1, 6))
    (tmp_path / "cv.csv").write_text(data, encoding="utf-8")
    report = in_memory(str(tmp_path / "cv.csv"), "--text-column", "title", "--text-column", "description",
                       "--label-column", "tags", "--id-column", "id", "--split-column", "split", "--no-quality",
                       "--output", str(tmp_path / "o.csv"))
    assert report.crossing > 0 and report.generated == 0
    at = _upload(_app(), "cv.csv", data.encode())
    _ok(at)
    at.switch_page("pages/augment.py").run()
    at.checkbox(key="augment_quality").set_value(False)
    at.button(key="augment_run").click().run()
    _ok(at)
    assert at.success and "0 variants" in at.success[0].value
    assert [w.value for w in at.warning] == [markdown_escape(joiner_warning(report.crossing)[0])]


def test_model_unavailable_is_an_error_message(data_dir, small_csv, tmp_path):
    at = _upload(_app(), "small.csv", small_csv)
    at.switch_page("pages/augment.py").run()
    at.multiselect(key="augment_augmenters").set_value(["contextual_substitute"]).run()
    at.text_input(key="augment_contextual_substitute.model").set_value(str(tmp_path / "no-such-model")).run()
    at.button(key="augment_run").click().run(timeout=120)
    _ok(at)
    assert at.error and "The run failed" in at.error[0].value
    # written for the page, not for the CLI
    assert "Model field" in at.error[0].value and "--model" not in at.error[0].value
    assert Store(data_dir).runs(content_hash(small_csv)) == []


def test_a_checkpoint_without_a_masked_lm_head_is_refused_in_the_page(data_dir, small_csv, sentence_encoder_dir,
                                                                      monkeypatch):
    monkeypatch.setenv("AUGMENT_REVIEW_SERVER_DIRS", sentence_encoder_dir)  # a model path stays in the server folders
    at = _upload(_app(), "small.csv", small_csv)
    at.switch_page("pages/augment.py").run()
    at.multiselect(key="augment_augmenters").set_value(["contextual_substitute"]).run()
    at.text_input(key="augment_contextual_substitute.model").set_value(sentence_encoder_dir).run()
    at.checkbox(key="augment_quality").set_value(False)
    at.button(key="augment_run").click().run(timeout=120)
    _ok(at)
    assert at.error and "not a masked language model" in at.error[0].value
    assert Store(data_dir).runs(content_hash(small_csv)) == []


def test_contextual_run_from_the_page(data_dir, small_csv, tiny_mlm, monkeypatch):
    monkeypatch.setenv("AUGMENT_REVIEW_SERVER_DIRS", tiny_mlm)
    at = _upload(_app(), "small.csv", small_csv)
    at.switch_page("pages/augment.py").run()
    at.multiselect(key="augment_augmenters").set_value(["alias_swap", "contextual_insert"]).run()
    at.text_input(key="augment_contextual_insert.model").set_value(tiny_mlm).run()
    at.selectbox(key="augment_contextual_insert.device").set_value("cpu").run()
    at.text_area(key="augment_contextual_insert.protect").set_value("notebooks\nparking").run()
    at.button(key="augment_run").click().run(timeout=180)
    _ok(at)
    assert not at.error and at.success[0].value.startswith("Run 1:")
    run = Store(data_dir).runs(content_hash(small_csv))[0]
    names = [a["name"] for a in run.params["augmenters"]]
    assert names == ["alias_swap", "contextual_insert"]
    contextual = run.params["augmenters"][1]
    assert contextual["model"] == tiny_mlm and contextual["protect"] == ["notebooks", "parking"]
    inserted = [r for r in Store(data_dir).run_rows(run.id) if r["augmenter"] == "contextual_insert"]
    assert inserted and all(c["kind"] == "insert" for r in inserted for c in json.loads(r["changes"]))

    at.switch_page("pages/review.py").run()
    _ok(at)
    bodies = " ".join(h.proto.body for h in at.get("html"))
    assert "class=\"ar-ins\"" in bodies  # the insertions are highlighted as such


def test_alias_table_shows_agreement_and_min_agreement_skips_ambiguous_keywords(data_dir, small_csv):
    at = _upload(_app(), "small.csv", small_csv)
    _ok(at)
    table = next(d.value for d in at.dataframe if "agreement" in d.value.columns)
    assert {"keyword", "forms", "tag", "alternatives", "support", "agreement", "ambiguous"} <= set(table.columns)
    ml = table[table["keyword"] == "machine learning"].iloc[0]
    assert ml["support"] >= 3 and 0 <= ml["agreement"] <= 1 and ml["tag"] == "machine-learning"
    ambiguous = set(table[table["ambiguous"]]["keyword"])
    assert ambiguous, "the small sample has keywords that often mean something else"

    at.switch_page("pages/augment.py").run()
    at.number_input(key="augment_alias_swap.min_agreement").set_value(0.5)
    at.checkbox(key="augment_quality").set_value(False)
    at.button(key="augment_run").click().run()
    _ok(at)
    store = Store(data_dir)
    [run] = store.runs(content_hash(small_csv))
    assert run.params["augmenters"][0]["min_agreement"] == 0.5
    rows = store.candidates(content_hash(small_csv), (run.id,))
    changes = [c for s in rows if s.row["augmenter"] == "alias_swap" for c in json.loads(s.row["changes"])]
    assert changes and all("agreement" in c and "support" in c for c in changes)
    assert not any(c["support"] >= 3 and c["agreement"] < 0.5 for c in changes)


# --- review integrity: the database is the truth ----------------------------------------------


def _reviewing(data_dir, small_csv) -> tuple[AppTest, str]:
    """A session on the review page of the small sample after one alias-swap run."""
    at = _upload(_app(), "small.csv", small_csv)
    at.switch_page("pages/augment.py").run()
    at.button(key="augment_run").click().run()
    at.switch_page("pages/review.py").run()
    _ok(at)
    return at, content_hash(small_csv)


def _tab(h: str, page: str = "pages/review.py") -> AppTest:
    """A second browser tab on the same dataset (its own session)."""
    at = _app()
    at.query_params["dataset"] = h
    at.run()
    at.switch_page(page).run()
    _ok(at)
    return at


def _plain(elements) -> list[str]:
    """Texts of message elements as a reader sees them (Markdown escapes taken out)."""
    return [e.value.replace("\u200b", "").replace("\\", "") for e in elements]


def _variant_keys(at: AppTest, prefix: str = "review_r_") -> list[str]:
    return [b.key[len(prefix):] for b in at.button if b.key and b.key.startswith(prefix)]


def test_two_tabs_never_overwrite_each_other(data_dir, small_csv):
    a, h = _reviewing(data_dir, small_csv)
    b = _tab(h)
    store = Store(data_dir)
    n = int(_metrics(b)["Left"])
    keys = _variant_keys(a)[:3]
    for k in keys:  # tab A rejects three; tab B is not rerun (stale)
        a.button(key=f"review_r_{k}").click().run()
    assert {k: store.decisions(h)[k] for k in keys} == {k: "rejected" for k in keys}
    assert b.button(key="review_bulk_accept").label == f"Accept {n} matching"

    b.button(key="review_bulk_accept").click().run()  # "Bulk: only undecided" is on
    _ok(b)
    decided = store.decisions(h)
    assert [decided[k] for k in keys] == ["rejected"] * 3  # A's rejections stand
    assert sum(d == "accepted" for d in decided.values()) == n - 3
    m = _metrics(b)  # B's counters are the database's now
    assert (m["Accepted"], m["Rejected"], m["Left"]) == (str(n - 3), "3", "0")
    assert any("3 variant(s) left as they are" in w for w in _plain(b.warning)), _plain(b.warning)

    # a single click on what B still shows as undecided, decided in A meanwhile: not written
    other = _variant_keys(a)[3]
    c = _tab(h)
    a.run()
    a.button(key=f"review_r_{other}").click().run()  # A flips it to rejected; C saw it accepted
    c.button(key=f"review_a_{other}").click().run()
    _ok(c)
    assert store.decisions(h)[other] == "rejected"
    assert any("1 variant(s) left as they are" in w for w in _plain(c.warning))

    # B's undo reverts B's bulk, never A's rejections; then B has nothing of its own left
    assert "bulk accept" in b.button(key="review_undo").help
    b.button(key="review_undo").click().run()
    _ok(b)
    assert store.decisions(h) == {**{k: "rejected" for k in keys}, other: "rejected"}
    assert b.button(key="review_undo").disabled
    assert c.button(key="review_undo").disabled  # C's click wrote nothing: nothing of C's to undo
    a.run()
    a.button(key="review_undo").click().run()  # A's latest: its reject of `other`, back to what it replaced
    assert store.decisions(h) == {**{k: "rejected" for k in keys}, other: "accepted"}

    # Export in a tab opened before all this reads the database, not what it once showed
    e = _tab(h, "pages/export.py")
    a.button(key=f"review_a_{_variant_keys(a)[5]}").click().run()
    e.run()
    assert _metrics(e)["Accepted variants"] == "2" and _metrics(e)["Rejected"] == "3"


def test_locked_database_keeps_the_decision_until_it_can_be_saved(data_dir, small_csv, monkeypatch):
    """Another program holds the write lock: the click shows one line, keeps the decision in
    the page as not yet saved (no traceback), and saves it at the next chance."""
    import sqlite3

    monkeypatch.setenv("AUGMENT_REVIEW_WRITE_WAIT", "0.3")
    at, h = _reviewing(data_dir, small_csv)
    store = Store(data_dir)
    keys = _variant_keys(at)
    outside = sqlite3.connect(store.path, isolation_level=None)
    outside.execute("BEGIN IMMEDIATE")
    try:
        at.button(key=f"review_a_{keys[0]}").click().run()
        _ok(at)
        at.button(key=f"review_r_{keys[1]}").click().run()
        _ok(at)
        assert [w for w in _plain(at.warning) if "not yet saved" in w] == [
            "2 decision(s) not yet saved: the database is locked by another program. They are kept in this tab "
            "and saved at the next chance."]
        assert (_metrics(at)["Accepted"], _metrics(at)["Rejected"]) == ("1", "1")
        assert sum("not yet saved" in h_.proto.body for h_ in at.get("html")) == 2
        assert store.decisions(h) == {}
        # undo of a not-yet-saved decision just drops it
        at.button(key="review_undo").click().run()
        assert _metrics(at)["Rejected"] == "0"
    finally:
        outside.execute("ROLLBACK")
        outside.close()
    at.run()  # the next chance: any rerun of the page
    _ok(at)
    assert store.decisions(h) == {keys[0]: "accepted"}
    assert not [w for w in at.warning if "not yet saved" in w.value]
    at.button(key=f"review_r_{keys[2]}").click().run()
    assert store.decisions(h) == {keys[0]: "accepted", keys[2]: "rejected"}


@pytest.mark.parametrize("wanted", ["0" * 64, "not-a-dataset<b>x</b>"])
def test_unknown_dataset_link_opens_nothing(data_dir, small_csv, wanted):
    _upload(_app(), "small.csv", small_csv)  # a dataset is there, and the latest opened
    at = _app()
    at.query_params["dataset"] = wanted
    at.run()
    _ok(at)
    assert at.session_state["current_dataset"] is None
    notices = [w.value for w in at.warning if "no dataset is open" in w.value]
    assert len(notices) == 1 and "<b>" not in notices[0]
    assert any("No dataset open" in t.value for t in at.sidebar.text)
    assert at.query_params["dataset"] in (wanted, [wanted])  # the link is not rewritten to another dataset
    at.switch_page("pages/review.py").run()  # moving on does not open one by surprise either
    _ok(at)
    assert at.session_state["current_dataset"] is None
    assert any("No dataset yet" in i.value for i in at.info)


def _sparse_ids(data: bytes) -> bytes:
    """The sample with ids 7, 14, 21...: no longer the row numbers."""
    rows = list(csv.reader(io.StringIO(data.decode())))
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([rows[0], *([str(7 * int(r[0])), *r[1:]] for r in rows[1:])])
    return buf.getvalue().encode()


def test_remap_after_review_keeps_decisions_with_their_run(data_dir, small_csv):
    at, h = _reviewing(data_dir, _sparse_ids(small_csv))
    store = Store(data_dir)
    keys = _variant_keys(at, "review_a_")
    for k in keys[:4]:
        at.button(key=f"review_a_{k}").click().run()
    at.button(key=f"review_r_{keys[4]}").click().run()
    (run,) = store.runs(h)
    assert run.settings["mapping"]["id_column"] == "id"

    at.switch_page("pages/data.py").run()
    at.selectbox(key="data_id_column").set_value("(row number)")
    _submit(at)
    _ok(at)
    warning = [w for w in _plain(at.warning) if "Not saved yet" in w]
    parents = {k.split(":")[1].split("~")[0] for k in keys[:5]}
    assert warning == [
        f"Not saved yet: under this mapping {len(parents)} of the {len(parents)} originals that have decided "
        f"variants (5 decisions) would change: {len(parents)} get another id, 0 leave the train split, 0 get "
        "other labels. Their decisions are kept with the runs they were made in: Review and Export go on using "
        "those runs' own mapping, ids and split, so no decision moves to another row or is dropped (Export "
        "offers the runs of each mapping separately). Only new runs use the new mapping."], warning
    assert store.dataset(h).settings["mapping"]["id_column"] == "id"  # nothing saved before the reviewer agrees
    at.button(key="data_remap_confirm").click().run()
    _ok(at)
    assert "Mapping saved." in [s.value for s in at.success]
    assert store.dataset(h).settings["mapping"]["id_column"] is None
    assert store.runs(h)[0].settings == run.settings  # the run keeps its own

    at.switch_page("pages/review.py").run()
    m = _metrics(at)
    assert (m["Accepted"], m["Rejected"]) == ("4", "1")
    at.switch_page("pages/export.py").run()
    _ok(at)
    m = _metrics(at)
    n_train = sum(1 for r in store.run_rows(run.id) if r["augmenter"] == "original" and r["split"] == "train")
    assert m["Accepted variants"] == "4" and m["Rows to export"] == str(n_train + 4)

    # a new run under the new mapping: the export offers each mapping's runs separately
    at.switch_page("pages/augment.py").run()
    at.button(key="augment_run").click().run()
    at.switch_page("pages/export.py").run()
    _ok(at)
    basis = at.selectbox(key="export_basis")
    assert len(basis.options) == 2 and _metrics(at)["Accepted variants"] == "0"
    basis.select_index(0).run()
    assert _metrics(at)["Accepted variants"] == "4"


def test_review_filters_and_sorts_alias_rules_by_keyword_agreement(data_dir, small_csv):
    at, h = _reviewing(data_dir, small_csv)
    import re

    labels = at.multiselect(key="review_rules").options  # as shown: "rule  (n) · agreement a of s rows"
    shown = [re.search(r"agreement ([0-9.]+) of (\d+) rows", label) for label in labels]
    judged = [float(m[1]) for m in shown if m and int(m[2]) >= 3]
    assert judged and judged == sorted(judged)  # the least agreeing keyword first
    assert shown[0] and int(shown[0][2]) >= 3  # those with the support to judge come first

    at.slider(key="review_agreement_below").set_value(0.5).run()
    _ok(at)
    visible = set(_variant_keys(at))
    ambiguous = {s.key for s in Store(data_dir).candidates(h)
                 if any(c.get("agreement") is not None and c["agreement"] < 0.5 for c in json.loads(s.row["changes"]))}
    assert visible and visible <= ambiguous
    at.selectbox(key="review_sort").set_value("lowest keyword agreement first").run()
    _ok(at)
