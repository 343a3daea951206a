"""In a real browser: a file of variants made by nlpaug uploaded on the Augment page, reviewed
(one accepted, one rejected) and exported, the accepted variant with its own cells."""

from __future__ import annotations

import csv

import pytest
from browser_helpers import ACCEPT, REJECT, download, goto_page, upload, wait_idle, wait_saved
from helpers import nlpaug_variants, sample_rows
from playwright.sync_api import expect

from augment_core.data.dataset import content_hash
from augment_core.review.store import Store

pytestmark = pytest.mark.browser


def _fill(page, key: str, value: str) -> None:
    box = page.locator(f".st-key-{key} input")
    box.fill(value)
    box.press("Enter")
    wait_idle(page)


def test_an_nlpaug_file_is_imported_reviewed_and_exported_in_the_browser(page, server, data_dir, tmp_path):
    data = sample_rows(60)
    dataset_file = tmp_path / "projects.csv"
    dataset_file.write_bytes(data)
    upload(page, server, dataset_file)
    page.get_by_role("button", name="Save mapping").click()
    wait_idle(page)
    expect(page.get_by_text("Mapping saved.")).to_be_visible()
    settings = Store(data_dir).dataset(content_hash(data)).settings
    variants = tmp_path / "nlpaug.csv"
    expected = nlpaug_variants(data, settings, variants, n_train=2)

    goto_page(page, "Augment")
    page.locator(".st-key-augment_variants_file input[type='file']").set_input_files(str(variants))
    wait_idle(page)
    _fill(page, "augment_variants_parent", "parent")
    _fill(page, "augment_variants_augmenter", "tool")
    page.locator(".st-key-augment_variants_quality label").click()  # off: no encoder in this test
    wait_idle(page)
    page.locator(".st-key-augment_variants_go button").click()
    wait_idle(page)
    expect(page.get_by_text(f"Imported run 1: {expected['stored']} variants.")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("unknown parent 'no-such-row-1': no row of this dataset has this id")).to_be_visible()

    goto_page(page, "Review")
    expect(page.locator(ACCEPT).first).to_be_visible()
    page.locator(ACCEPT).nth(0).click()
    page.locator(REJECT).nth(1).click()
    wait_saved(page)

    goto_page(page, "Export")
    rows = download(page, ".st-key-export_download button", tmp_path / "curated.csv")
    exported = [r for r in rows if r["aug_augmenter"] != "original"]
    assert len(exported) == 1 and exported[0]["aug_augmenter"].startswith("nlpaug.")
    given = list(csv.DictReader(variants.open(encoding="utf-8")))[:expected["stored"]]
    columns = ["id", "created_on", "title", "description", "tags"]
    assert {c: exported[0][c] for c in columns} in [{c: g[c] for c in columns} for g in given]
