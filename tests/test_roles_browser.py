"""Issue 21, roles and server folders in a browser: a team server (a local OpenID Connect
provider, ``[augment_review] admins`` and ``server_dirs``), an admin and a reviewer signed in
through the provider's form in Chromium. The admin loads a run from inside the server folders
only: a run outside them, and a path that does not exist, get the same one line and nothing
is stored. The reviewer sees no upload, augment, load or write control, and still reviews and
downloads the export. Every connection is to 127.0.0.1."""

from __future__ import annotations

import csv
import shutil

import pytest
from browser_helpers import T, download_bytes, free_port, sign_in, start_app, stop_process, team_secrets, wait_idle
from helpers import ALICE, BOB, MAPPING, make_runs
from playwright.sync_api import expect

from augment_core.data.dataset import content_hash
from augment_core.review.store import Store

pytestmark = pytest.mark.browser

ADMIN_CONTROLS = [".st-key-data_upload", ".st-key-data_source", ".st-key-data_tags_upload", ".st-key-augment_run",
                  ".st-key-augment_import_path", ".st-key-export_sampled_path"]
OUTSIDE_LINE = "no such file or folder inside the server folders"


def _load(page, path: str) -> None:
    page.locator(".st-key-augment_import_path input").fill(path)
    page.locator(".st-key-augment_import_path input").press("Enter")
    wait_idle(page)
    page.locator(".st-key-augment_import_go button").click()
    wait_idle(page)


def test_an_admin_loads_runs_only_from_the_server_folders_and_a_reviewer_only_reviews(browser, provider, tmp_path):
    runs = tmp_path / "runs"  # the only server folder
    made = make_runs(runs, 60)
    outside = tmp_path / "outside" / "ray-out"  # the same, valid run, outside it
    shutil.copytree(made["ray"], outside)
    data_dir = tmp_path / "data"
    data = made["csv"].read_bytes()
    h = content_hash(data)
    store = Store(data_dir)
    store.add_dataset(h, "in.csv", data, {"mapping": MAPPING, "split_ratios": [0.7, 0.15, 0.15], "split_seed": 0})
    port = free_port()
    app = f"http://127.0.0.1:{port}"
    secrets_file = team_secrets(tmp_path / "secrets.toml", app, provider, [ALICE, "@crew.example"], admins=[ALICE],
                                server_dirs=[str(runs)])
    proc = start_app(data_dir, secrets_file, port)
    try:
        alice = sign_in(browser, app, provider, ALICE, f"/augment?dataset={h}")
        expect(alice.get_by_text(f"Signed in as {ALICE} (admin)")).to_be_visible(timeout=T)
        expect(alice.locator(".st-key-augment_run")).to_have_count(1, timeout=T)
        errors = []
        for path in (str(outside), str(outside / "manifest.json"), str(tmp_path / "outside" / "missing"),
                     "../outside/ray-out"):
            _load(alice, path)
            box = alice.locator("[data-testid='stAlertContentError']").filter(has_text=OUTSIDE_LINE)
            expect(box).to_have_count(1, timeout=T)
            errors.append(box.inner_text().replace(path, "PATH"))
        assert len(set(errors)) == 1, errors  # existing or not, outside reads the same
        assert store.runs(h) == []
        _load(alice, str(made["ray"]))
        expect(alice.get_by_text("loaded:")).to_be_visible(timeout=60_000)
        (run,) = store.runs(h)

        bob = sign_in(browser, app, provider, BOB, f"/?dataset={h}")
        expect(bob.get_by_text(f"Signed in as {BOB} (reviewer)")).to_be_visible(timeout=T)
        for path in ("/", "/augment", "/export"):
            bob.goto(f"{app}{path}?dataset={h}")
            wait_idle(bob)
            if path != "/export":  # a run stored whole: Export has nothing a reviewer may not use
                expect(bob.get_by_text("As a reviewer you cannot").first).to_be_visible(timeout=T)
            expect(bob.locator(".st-key-export_download" if path == "/export" else "h1")).not_to_have_count(0)
            for control in ADMIN_CONTROLS:
                expect(bob.locator(control)).to_have_count(0)
        bob.goto(f"{app}/review?dataset={h}")
        wait_idle(bob)
        row = bob.locator(".rv-row[data-key]").first
        expect(row).to_be_visible(timeout=T)
        key = row.get_attribute("data-key")
        row.locator(".rv-accept").click()
        expect(bob.locator(".rv-sync")).to_have_attribute("data-unsaved", "0", timeout=T)
        wait_idle(bob)
        assert store.decisions(h, reviewer=BOB) == {key: "accepted"}
        bob.goto(f"{app}/export?dataset={h}")
        wait_idle(bob)
        rows = list(csv.DictReader(download_bytes(bob, ".st-key-export_download button", tmp_path / "c.csv")
                                   .decode("utf-8").splitlines()))
        assert [f"{run.id}:{r['aug_id']}" for r in rows if r["aug_augmenter"] != "original"] == [key]
        for page in (alice, bob):
            page.context.close()
    finally:
        stop_process(proc)
