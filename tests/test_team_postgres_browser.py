"""Two app servers, one PostgreSQL database: a team behind a load balancer. Each server has a
data folder of its own (as on two hosts) and ``AUGMENT_REVIEW_DATABASE_URL`` naming the same
database of a real server (the session's ``postgres`` fixture). Reviewer A decides on server 1,
reviewer B on server 2, signed in through the local OpenID Connect provider: each sees the
other's decisions after a reload, the conflicts are counted once, on either server, and an
export from either server equals what the database holds."""

from __future__ import annotations

import csv
import json

import pytest
from browser_helpers import (
    ACCEPT,
    T,
    choose,
    decide,
    download_bytes,
    free_port,
    metric_value,
    sign_in,
    start_app,
    stop_process,
    team_secrets,
    wait_idle,
)
from helpers import ALICE, BOB, review_data
from playwright.sync_api import expect

from augment_core.review.database import DATABASE_URL_ENV
from augment_core.review.store import Store

pytestmark = pytest.mark.browser

A, R = "accepted", "rejected"


def test_two_servers_on_one_database_see_each_others_decisions_and_export_the_same(
        browser, provider, postgres, tmp_path, monkeypatch):
    db = postgres.create_database()
    url = postgres.url(db)
    monkeypatch.setenv(DATABASE_URL_ENV, url)
    h, keys = review_data(tmp_path / "setup", n_originals=3, per_original=2)  # 6 variants, one page
    servers, apps = [], []
    try:
        for i in (1, 2):
            port = free_port()
            app = f"http://127.0.0.1:{port}"
            secrets_file = team_secrets(tmp_path / f"secrets{i}.toml", app, provider, [ALICE, BOB])
            servers.append(start_app(tmp_path / f"host{i}", secrets_file, port, extra_env={DATABASE_URL_ENV: url}))
            apps.append(app)
        alice_d = [A, A, R, R, A]  # keys 0..4, on server 1
        bob_d = [A, R, R, A]  # keys 0..3, on server 2: keys 1 and 3 conflict
        conflicts = sum(a != b for a, b in zip(alice_d, bob_d))
        alice = sign_in(browser, apps[0], provider, ALICE, f"/review?dataset={h}")
        expect(alice.locator(ACCEPT)).to_have_count(len(keys), timeout=T)
        for key, d in zip(keys, alice_d):
            decide(alice, key, d)
        bob = sign_in(browser, apps[1], provider, BOB, f"/review?dataset={h}")
        expect(bob.locator(ACCEPT)).to_have_count(len(keys), timeout=T)
        # server 2 shows what was decided on server 1
        expect(bob.locator(f".rv-row[data-key='{keys[4]}']")).to_contain_text(f"{ALICE} accepted", timeout=T)
        for key, d in zip(keys, bob_d):
            decide(bob, key, d)
        expect(metric_value(bob, "Conflicts")).to_have_text(str(conflicts), timeout=T)

        alice.bring_to_front()
        alice.reload()  # server 1, after a reload: bob's decisions, the conflicts counted once
        wait_idle(alice)
        expect(alice.locator(f".rv-row[data-key='{keys[1]}']")).to_contain_text(f"{BOB} rejected", timeout=T)
        expect(metric_value(alice, "Conflicts")).to_have_text(str(conflicts), timeout=T)
        expect(metric_value(alice, "Reviewed")).to_have_text(str(len(alice_d)), timeout=T)

        store = Store(tmp_path / "check", database_url=url)
        held = store.decisions_by_reviewer(h)
        store.close()
        assert held == {ALICE: dict(zip(keys, alice_d)), BOB: dict(zip(keys, bob_d))}

        run_id = keys[0].split(":")[0]
        policies = {
            f"{ALICE}'s decisions": sorted(k for k, d in held[ALICE].items() if d == A),
            "unanimous accept (every reviewer accepted it)":
                sorted(k for k, d in held[ALICE].items() if d == A and held[BOB].get(k) == A),
        }
        for page, app in ((alice, apps[0]), (bob, apps[1])):
            page.bring_to_front()
            page.goto(f"{app}/export?dataset={h}")
            wait_idle(page)
            for option, accepted in policies.items():
                choose(page, "Decisions to export", option)
                rows = list(csv.DictReader(download_bytes(page, ".st-key-export_download button",
                                                          tmp_path / "curated.csv").decode("utf-8").splitlines()))
                variants = sorted(f"{run_id}:{r['aug_id']}" for r in rows if r["aug_augmenter"] != "original")
                assert variants == accepted, (app, option)
                manifest = json.loads(download_bytes(page, ".st-key-export_manifest button", tmp_path / "m.json"))
                assert manifest["review"]["conflicts"] == conflicts
    finally:
        for proc in servers:
            stop_process(proc)
        postgres.drop_database(db)
