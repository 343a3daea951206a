"""The Augment page's upload of variants made elsewhere: an admin imports an nlpaug file and
sees the counts; a reviewer sees no upload and the handler refuses them server-side."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import ALICE, APP_TEST_AUTH, BOB, MAPPING, nlpaug_variants, sample_rows
from streamlit.testing.v1 import AppTest

from augment_core.data.dataset import content_hash
from augment_core.review.store import Store

pytestmark = pytest.mark.app
APP = str(Path(__file__).resolve().parent.parent / "app.py")
SETTINGS = {"mapping": MAPPING, "split_ratios": [0.7, 0.15, 0.15], "split_seed": 0}


@pytest.fixture
def stored(tmp_path, monkeypatch) -> dict:
    monkeypatch.setenv("AUGMENT_REVIEW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AUGMENT_REVIEW_INSTANT", "0")
    data = sample_rows(80)
    h = content_hash(data)
    Store(tmp_path / "data").add_dataset(h, "in.csv", data, SETTINGS)
    path = tmp_path / "nlpaug.jsonl"
    expected = nlpaug_variants(data, SETTINGS, path, n_train=3)
    return {"h": h, "path": path, "expected": expected, "store": Store(tmp_path / "data")}


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_an_admin_uploads_an_nlpaug_file_on_the_augment_page(stored):
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["dataset"] = stored["h"]
    at.run()
    at.switch_page("pages/augment.py").run()
    _ok(at)
    at.file_uploader(key="augment_variants_file").upload("nlpaug.jsonl", stored["path"].read_bytes(), "application/json")
    at.text_input(key="augment_variants_parent").set_value("parent").run()
    at.text_input(key="augment_variants_augmenter").set_value("tool").run()
    at.checkbox(key="augment_variants_quality").set_value(False).run()
    at.button(key="augment_variants_go").click().run()
    _ok(at)
    (run,) = stored["store"].runs(stored["h"])
    exp = stored["expected"]
    assert any(f"Imported run {run.id}: {exp['stored']} variants" in s.value for s in at.success)
    texts = [t.value for t in at.text]
    assert any(f"refused {exp['refused']} variants" in t for t in texts)
    assert "unknown parent 'no-such-row-1': no row of this dataset has this id" in texts


def _upload_as(email: str, h: str, path: str) -> AppTest:
    def script(path: str) -> None:
        import streamlit as st

        from app_support import variant_upload
        from app_support.store import get_store
        from augment_core.errors import InputError
        from augment_core.review.run_import import dataset_as

        store = get_store()
        h = st.query_params["dataset"]
        try:
            counts = variant_upload.upload_variants(store, h, dataset_as(store, h, store.dataset(h).settings),
                                                    "v.jsonl", open(path, "rb").read(), "parent", "tool", False)
        except InputError as exc:
            st.error(str(exc))
        else:
            st.success(f"run {counts.run_id}")

    at = AppTest.from_function(script, args=(path,), default_timeout=60)
    at.secrets["auth"] = APP_TEST_AUTH
    at.secrets["augment_review"] = {"admins": [ALICE]}
    at.user = {"is_logged_in": True, "email": email}
    at.query_params["dataset"] = h
    return at.run()


def test_a_reviewer_sees_no_upload_and_the_handler_refuses_them(stored):
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["auth"] = APP_TEST_AUTH
    at.secrets["augment_review"] = {"admins": [ALICE]}
    at.user = {"is_logged_in": True, "email": BOB}
    at.query_params["dataset"] = stored["h"]
    at.run()
    at.switch_page("pages/augment.py").run()
    _ok(at)
    assert not [u for u in at.get("file_uploader") if getattr(u, "key", None) == "augment_variants_file"]
    at = _upload_as(BOB, stored["h"], str(stored["path"]))
    assert [e.value for e in at.error] == [f"not allowed: {BOB} is a reviewer here, and only an admin may load a "
                                           "run from the server's disk"]
    assert stored["store"].runs(stored["h"]) == []
    at = _upload_as(ALICE, stored["h"], str(stored["path"]))
    assert [s.value for s in at.success] == ["run 1"]
