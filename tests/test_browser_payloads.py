"""Issue 21, items 3 and 6, in a real browser. Files whose every part carries Markdown and
HTML (a dataset's file name, column names, ids, texts and labels; a tags file's tag names, in
its warnings and in its error; a run loaded with ``import-run``) are walked through every page
(Data, Augment, Review, Evaluate, Export): no link, image, bold, emphasis, colour or icon is
made from them, and the browser asks nothing of the payloads' host. A decision queue kept in
the browser with a value nested 5,000 deep is one line, not a broken page."""

from __future__ import annotations

import subprocess
import sys

import pytest
from browser_helpers import (
    ROOT,
    T,
    augment,
    choose,
    click,
    free_port,
    goto_page,
    open_dropdown,
    sign_in,
    start_app,
    stop_process,
    team_secrets,
    wait_idle,
    wait_saved,
)
from helpers import ALICE, BOB, review_data
from payloads import FILE_NAME, HOST, blocked_requests, no_payload_markup, payload_csv, payload_tags, upload_file
from playwright.sync_api import expect

from augment_core.review.store import Store

pytestmark = pytest.mark.browser

def import_run(data_dir, tmp_path) -> None:
    """A run made by the CLI from the same files and loaded by ``import-run``, by sample."""
    (tmp_path / "in.csv").write_bytes(payload_csv())
    (tmp_path / "tags.json").write_bytes(payload_tags())
    run = subprocess.run(
        [sys.executable, "-m", "augment_core", "augment", str(tmp_path / "in.csv"), "--tags", str(tmp_path / "tags.json"),
         "--text-column", "title", "--label-column", "tags", "--id-column", "id",
         "--no-quality", "--runner", "stream", "--output", str(tmp_path / "run.parquet")],
        capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    loaded = subprocess.run(
        [sys.executable, "-m", "augment_core", "import-run", str(tmp_path / "run.parquet"), "--dataset",
         str(tmp_path / "in.csv"), "--data-dir", str(data_dir), "--store", "sample", "--sample-per-rule", "2"],
        capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert loaded.returncode == 0, loaded.stderr


def test_payload_files_make_no_markup_on_any_page(page, server, data_dir, tmp_path):
    asked = blocked_requests(page.context)
    page.goto(server)
    wait_idle(page)
    upload_file(page, ".st-key-data_upload input[type='file']", FILE_NAME, payload_csv(), "text/csv")
    expect(page.get_by_text("Stored a new dataset.")).to_be_visible()
    expect(page.get_by_text(FILE_NAME).first).to_be_visible()  # the name, as text
    page.get_by_role("button", name="Save mapping").click()
    wait_idle(page)
    expect(page.get_by_text("Mapping saved.")).to_be_visible()
    no_payload_markup(page, "Data, mapped")

    # a tags file with a bad entry: one error line quoting it; then a good one, with two warnings
    upload_file(page, ".st-key-data_tags_upload input[type='file']", "bad-tags.json", payload_tags(False),
                "application/json")
    expect(page.locator("[data-testid='stAlertContentError']").filter(has_text="is not a list of strings")).to_be_visible()
    no_payload_markup(page, "Data, tags file error")
    upload_file(page, ".st-key-data_tags_upload input[type='file']", f"{FILE_NAME}.json", payload_tags(),
                "application/json")
    warnings = page.locator("[data-testid='stAlertContentWarning']")
    expect(warnings.filter(has_text="with no letter or digit")).to_be_visible()
    expect(warnings.filter(has_text="claimed by more than one tag")).to_be_visible()
    # literally (the escaping puts a zero-width space after each colon, which stops ":red[...]")
    shown = warnings.filter(has_text="with no letter or digit").inner_text().replace("\u200b", "")
    assert f"[plink](http://{HOST}/l)" in shown and "**pbold**" in shown and "<b>phtml</b>" in shown, shown
    no_payload_markup(page, "Data, tags file warnings")

    goto_page(page, "Augment")
    box = page.locator(".st-key-augment_quality input[type='checkbox']")
    page.locator(".st-key-augment_quality label").click()  # no sentence encoder to load
    expect(box).not_to_be_checked()
    wait_idle(page)
    augment(page)
    no_payload_markup(page, "Augment, after a run")

    import_run(data_dir, tmp_path)
    page.reload()
    wait_idle(page)
    no_payload_markup(page, "Augment, with the imported run")

    goto_page(page, "Review")
    expect(page.locator(".rv-row[data-key]").first).to_be_visible()
    page.locator(".rv-row[data-key] .rv-accept").first.click()
    wait_idle(page)
    for label in ("Alias rule", "Tag"):
        open_dropdown(page, label)
        no_payload_markup(page, f"Review, the {label} options")
        page.keyboard.press("Escape")
    no_payload_markup(page, "Review, list")
    choose(page, "Mode", "By rule (sampled runs)")
    no_payload_markup(page, "Review, by rule")

    goto_page(page, "Evaluate")
    click(page, ".st-key-evaluate_run button")
    expect(page.get_by_text("Latest result")).to_be_visible(timeout=120_000)
    no_payload_markup(page, "Evaluate")

    goto_page(page, "Export")
    no_payload_markup(page, "Export")
    assert asked == []


def test_a_damaged_queue_kept_in_the_browser_is_one_line_not_a_broken_page(page, server, data_dir):
    """An entry of the decision queue kept in ``localStorage`` holding a value nested 5,000
    deep (planted, or damaged) is dropped with one line; the well-formed one beside it is
    saved, and the page keeps working (it used to send the entry and fail on every load)."""
    h, keys = review_data(data_dir, n_originals=2, per_original=1)
    page.goto(f"{server}/review?dataset={h}")
    wait_idle(page)
    expect(page.locator(".rv-row[data-key]").first).to_be_visible()
    deep = "[" * 5000 + "]" * 5000
    page.evaluate("""([hash, key, deep]) => window.localStorage.setItem("augment-review:queue:" + hash, JSON.stringify([
        {id: "planted-1", op: "undo", key: null, shown: null, origin: JSON.parse(deep)},
        {id: "planted-2", op: "accepted", key: key, shown: JSON.parse(deep)},
        {id: "kept-1", op: "accepted", key: key, shown: null}]))""", [h, keys[0], deep])
    page.reload()
    wait_idle(page)
    expect(page.locator(".rv-msg").filter(has_text="2 decision(s) kept in this browser were not well-formed")).to_be_visible()
    wait_saved(page)
    assert Store(data_dir).decisions(h) == {keys[0]: "accepted"}
    assert page.locator("[data-testid='stException'], [data-testid='stAlertContentError']").count() == 0
    assert "BidiComponent Error" not in page.locator("body").inner_text()


def test_a_reviewer_sees_an_admins_payload_files_as_text_in_team_mode(browser, provider, tmp_path):
    """On a team server (a local OpenID Connect provider, an admin and a reviewer), the admin
    uploads the payload dataset and tags file and runs an augmentation; the reviewer then
    walks every page: nothing is made from the payloads, and the browser asks nothing of
    their host."""
    port = free_port()
    app = f"http://127.0.0.1:{port}"
    secrets_file = team_secrets(tmp_path / "secrets.toml", app, provider, [ALICE, BOB], admins=[ALICE])
    proc = start_app(tmp_path / "data", secrets_file, port)
    try:
        alice = sign_in(browser, app, provider, ALICE)
        upload_file(alice, ".st-key-data_upload input[type='file']", FILE_NAME, payload_csv(), "text/csv")
        expect(alice.get_by_text("Stored a new dataset.")).to_be_visible(timeout=T)
        alice.get_by_role("button", name="Save mapping").click()
        wait_idle(alice)
        upload_file(alice, ".st-key-data_tags_upload input[type='file']", f"{FILE_NAME}.json", payload_tags(),
                    "application/json")
        expect(alice.locator("[data-testid='stAlertContentWarning']").first).to_be_visible(timeout=T)
        dataset = alice.url.split("dataset=")[1].split("&")[0]
        goto_page(alice, "Augment")
        alice.locator(".st-key-augment_quality label").click()  # no sentence encoder to load
        wait_idle(alice)
        augment(alice)

        bob = sign_in(browser, app, provider, BOB, f"/?dataset={dataset}")
        asked = blocked_requests(bob.context)
        bob.reload()
        wait_idle(bob)
        expect(bob.get_by_text(f"Signed in as {BOB} (reviewer)")).to_be_visible(timeout=T)
        expect(bob.locator("[data-testid='stAlertContentWarning']").first).to_be_visible(timeout=T)  # the tags' warnings
        no_payload_markup(bob, "Data, as the reviewer")
        for name in ("Augment", "Review", "Evaluate", "Export"):
            goto_page(bob, name)
            if name == "Review":  # the admin's run, every variant's text a payload
                expect(bob.locator(".rv-row[data-key]").first).to_be_visible(timeout=T)
            no_payload_markup(bob, f"{name}, as the reviewer")
        assert asked == []
        for page in (alice, bob):
            page.context.close()
    finally:
        stop_process(proc)
