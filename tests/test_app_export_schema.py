"""The Export page on a multi-column dataset (issue 9): every input column under its own name,
provenance beside it (``aug_`` when a column is named like one), originals exactly as read,
and the Hugging Face zip."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from augment_core.data.dataset import TableStream, content_hash
from augment_core.data.dataset_settings import build_from_settings
from augment_core.review import candidates as review_candidates
from augment_core.review import export
from augment_core.review.store import Store

pytestmark = pytest.mark.app

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = ["row_key", "created_on", "title", "description", "text", "tags", "notes"]


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("AUGMENT_REVIEW_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def _multi_csv() -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for i in range(40):
        w.writerow([f"k{i:03d}", f"2020-01-{i % 28 + 1:02d}", f"  GAN  art {i} ", f"a cv  model {i}  " if i % 2 else "",
                    f"user text {i}", json.dumps(["generative-adversarial-networks"]), f"note {i}"])
    return buf.getvalue().encode()


def test_export_keeps_the_users_columns_and_offers_a_hugging_face_zip(data_dir, tmp_path):
    data = _multi_csv()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.file_uploader(key="data_upload").upload("multi.csv", data, "text/csv")
    at.run()
    at.selectbox(key="data_id_column").set_value("row_key")
    [b for b in at.button if b.label == "Save mapping"][0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    h = content_hash(data)
    store = Store(data_dir)
    assert store.dataset(h).settings["mapping"]["id_column"] == "row_key"
    at.switch_page("pages/augment.py").run()
    at.button(key="augment_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    stored = store.candidates(h)
    assert stored
    for cand in stored[:5]:
        store.decide(h, cand.key, "accepted")

    at.switch_page("pages/export.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Download curated split (csv)" in [b.label for b in at.get("download_button")]
    shown = json.loads(at.json[0].value)
    assert shown["export"]["schema"]["input_columns"] == COLUMNS
    assert shown["export"]["schema"]["provenance_prefix"] == "aug_"  # the input has a column named text
    at.radio(key="export_format").set_value("hf").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Download curated split (Hugging Face, zip)" in [b.label for b in at.get("download_button")]

    # the file the page builds, from the same store: rows in the user's schema
    settings = store.dataset(h).settings
    dataset = build_from_settings(TableStream(data, "multi.csv"), settings)
    items = review_candidates.prepare(store.candidates(h), {r.id: settings for r in store.runs(h)})
    rows = export.curated_rows(dataset, items, store.decisions(h), include_eval=True)
    raw, _ = export.encode_export(rows, dataset, "csv")
    out = list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))
    assert list(out[0])[:len(COLUMNS)] == COLUMNS and "aug_text" in out[0] and "aug_run_id" in out[0]
    source = {r["row_key"]: r for r in csv.DictReader(io.StringIO(data.decode("utf-8")))}
    n_variants = 0
    for r in out:
        assert r["aug_text"] == r["title"] + " " + r["description"]
        if r["aug_augmenter"] == "original":
            assert {c: r[c] for c in COLUMNS} == source[r["aug_id"]]
        else:
            n_variants += 1
            assert r["text"] == source[r["aug_parent_id"]]["text"]  # other columns copied from the parent
    assert n_variants == 5

    import datasets

    blob, _ = export.encode_export(rows, dataset, "hf", manifest={"format": 1}, name="multi-curated")
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        zf.extractall(tmp_path / "unzipped")
    ddict = datasets.load_from_disk(str(tmp_path / "unzipped" / "multi-curated"))
    assert list(ddict) == ["train", "validation", "test"] and sum(len(d) for d in ddict.values()) == len(out)
    assert ddict["train"].column_names[:len(COLUMNS)] == COLUMNS
    assert json.loads((tmp_path / "unzipped" / "multi-curated" / "augment_manifest.json").read_text()) == {"format": 1}
