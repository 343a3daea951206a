"""A team on one server, end to end: a real local OpenID Connect provider
(``oidc-provider-mock`` on 127.0.0.1), ``streamlit run app.py`` with ``[auth]`` pointed at it,
two reviewers signing in through the provider's login form in Chromium, conflicting decisions,
the conflict count and kappa the page shows, the export under each policy, and a user outside
the allow-list refused. Also: with no ``[auth]`` and the project's config the server listens on
loopback only (its sockets, read with psutil). Every connection is to 127.0.0.1."""

from __future__ import annotations

import csv
import json
import subprocess
from ipaddress import ip_address

import psutil
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

pytestmark = pytest.mark.browser

EVE = "eve@elsewhere.example"


A, R = "accepted", "rejected"


def test_two_reviewers_sign_in_disagree_and_export_under_each_policy(browser, provider, tmp_path):
    data_dir = tmp_path / "data"
    h, keys = review_data(data_dir, n_originals=4, per_original=2)  # 8 variants, one page
    port = free_port()
    app = f"http://127.0.0.1:{port}"
    secrets_file = team_secrets(tmp_path / "secrets.toml", app, provider, [ALICE, "@crew.example"])
    proc = start_app(data_dir, secrets_file, port)
    try:
        # nobody signed in: a deep link to the review shows the sign-in page and no data
        anon = browser.new_context().new_page()
        anon.goto(f"{app}/review?dataset={h}")
        wait_idle(anon)
        expect(anon.get_by_role("heading", name="Sign in to augment-review")).to_be_visible(timeout=T)
        expect(anon.locator(ACCEPT)).to_have_count(0, timeout=T)
        assert "team.csv" not in anon.content()
        anon.context.close()

        alice_d = [A, A, A, R, R, A, A]  # keys 0..6
        bob_d = [A, R, A, R, A, A]  # keys 0..5
        alice = sign_in(browser, app, provider, ALICE, f"/review?dataset={h}")
        expect(alice.get_by_text(f"Signed in as {ALICE}")).to_be_visible(timeout=T)
        expect(alice.locator(ACCEPT)).to_have_count(len(keys), timeout=T)
        expect(metric_value(alice, "Conflicts")).to_have_count(0, timeout=T)  # alone: no team view
        for key, d in zip(keys, alice_d):
            decide(alice, key, d)
        expect(metric_value(alice, "Reviewed")).to_have_text(str(len(alice_d)), timeout=T)

        bob = sign_in(browser, app, provider, BOB, f"/review?dataset={h}")
        expect(bob.get_by_text(f"Signed in as {BOB}")).to_be_visible(timeout=T)
        expect(metric_value(bob, "Reviewed")).to_have_text("0", timeout=T)  # alice's decisions are not bob's
        expect(bob.locator(f".rv-row[data-key='{keys[0]}']")).to_contain_text(f"{ALICE} accepted", timeout=T)
        for key, d in zip(keys, bob_d):
            decide(bob, key, d)

        both = list(zip(alice_d, bob_d))
        conflicts = sum(a != b for a, b in both)
        po = sum(a == b for a, b in both) / len(both)
        pa, pb = alice_d[: len(both)].count(A) / len(both), bob_d.count(A) / len(both)
        pe = pa * pb + (1 - pa) * (1 - pb)
        kappa = (po - pe) / (1 - pe)
        expect(metric_value(bob, "Conflicts")).to_have_text(str(conflicts), timeout=T)
        expect(bob.locator("[data-testid='stMetric']").filter(has_text="Kappa")
               .locator("[data-testid='stMetricValue']")).to_have_text(f"{kappa:.2f}", timeout=T)

        alice.bring_to_front()
        alice.reload()
        wait_idle(alice)
        expect(metric_value(alice, "Conflicts")).to_have_text(str(conflicts), timeout=T)
        alice.get_by_text("Conflicts only").click()
        wait_idle(alice)
        expect(alice.locator(ACCEPT)).to_have_count(conflicts, timeout=T)
        expect(alice.locator(f".rv-row[data-key='{keys[1]}']")).to_contain_text(f"{BOB} rejected", timeout=T)

        from augment_core.review.store import Store

        store = Store(data_dir)
        assert store.decisions(h, reviewer=ALICE) == dict(zip(keys, alice_d))
        assert store.decisions(h, reviewer=BOB) == dict(zip(keys, bob_d))
        assert store.decisions(h) == {}
        assert {e.reviewer for e in store.history(h)} == {ALICE, BOB}

        alice.goto(f"{app}/export?dataset={h}")
        wait_idle(alice)
        expected = {
            f"{ALICE}'s decisions": [k for k, d in zip(keys, alice_d) if d == A],
            f"{BOB}'s decisions": [k for k, d in zip(keys, bob_d) if d == A],
            "unanimous accept (every reviewer accepted it)":
                [k for k, (a, b) in zip(keys, both) if a == b == A],
            "majority (more reviewers accepted it than rejected it; a tie is left out)":
                [k for k, (a, b) in zip(keys, both) if a == b == A] + [keys[6]],  # alice alone on keys[6]
        }
        run_id = keys[0].split(":")[0]
        for option, accepted in expected.items():
            choose(alice, "Decisions to export", option)
            rows = list(csv.DictReader(download_bytes(alice, ".st-key-export_download button",
                                                tmp_path / "curated.csv").decode("utf-8").splitlines()))
            variants = sorted(f"{run_id}:{r['aug_id']}" for r in rows if r["aug_augmenter"] != "original")
            assert variants == sorted(accepted), option
            manifest = json.loads(download_bytes(alice, ".st-key-export_manifest button", tmp_path / "manifest.json"))
            assert manifest["review"]["policy"]["description"] == option
            assert manifest["review"]["reviewers"] == {
                ALICE: {"accepted": alice_d.count(A), "rejected": alice_d.count(R), "decided": len(alice_d)},
                BOB: {"accepted": bob_d.count(A), "rejected": bob_d.count(R), "decided": len(bob_d)}}
            assert manifest["review"]["conflicts"] == conflicts
            assert manifest["review"]["agreement"][0]["cohen_kappa"] == pytest.approx(kappa)

        # outside the allow-list: refused, with no data, on a deep link too
        eve = sign_in(browser, app, provider, EVE, f"/review?dataset={h}")
        expect(eve.get_by_role("heading", name="Not allowed")).to_be_visible(timeout=T)
        expect(eve.get_by_text("not on this server's list of reviewers")).to_be_visible(timeout=T)
        expect(eve.locator(ACCEPT)).to_have_count(0, timeout=T)
        assert "team.csv" not in eve.content()
        eve.goto(f"{app}/export?dataset={h}")
        wait_idle(eve)
        expect(eve.get_by_role("heading", name="Not allowed")).to_be_visible(timeout=T)
        expect(eve.locator(".st-key-export_download")).to_have_count(0, timeout=T)
        # signing out ends the session: the sign-in page again, no data
        alice.locator("[data-testid='stSidebar']").get_by_role("button", name="Sign out").click()
        alice.wait_for_url(provider + "/**")  # Streamlit ends the session at the provider too
        alice.get_by_role("button", name="End session").click()
        alice.wait_for_url(app + "/**")
        wait_idle(alice)
        expect(alice.get_by_role("heading", name="Sign in to augment-review")).to_be_visible(timeout=T)
        alice.goto(f"{app}/review?dataset={h}")
        wait_idle(alice)
        expect(alice.get_by_role("heading", name="Sign in to augment-review")).to_be_visible(timeout=T)
        expect(alice.locator(ACCEPT)).to_have_count(0, timeout=T)
        for page in (alice, bob, eve):
            page.context.close()
    finally:
        stop_process(proc)


def _listening(proc: subprocess.Popen) -> list[str]:
    """The addresses the server process (and any child) listens on."""
    procs = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    return [c.laddr.ip for p in procs for c in p.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]


def test_without_auth_the_server_listens_on_loopback_only(tmp_path):
    no_secrets = tmp_path / "none" / "secrets.toml"  # no [auth]: single-user mode
    port = free_port()
    proc = start_app(tmp_path / "data", no_secrets, port, address=None)  # the project's config.toml decides
    try:
        addresses = _listening(proc)
        assert addresses and all(ip_address(a.split("%")[0]).is_loopback for a in addresses), addresses
    finally:
        stop_process(proc)
    # the check can fail: the same server told to listen everywhere is seen doing so
    port = free_port()
    proc = start_app(tmp_path / "data", no_secrets, port, address="0.0.0.0")
    try:
        addresses = _listening(proc)
        assert addresses and not all(ip_address(a.split("%")[0]).is_loopback for a in addresses), addresses
    finally:
        stop_process(proc)


def test_an_unreadable_secrets_file_keeps_the_app_closed(browser, tmp_path):
    data_dir = tmp_path / "data"
    h, _ = review_data(data_dir)
    broken = tmp_path / "secrets.toml"
    broken.write_text('[auth]\nredirect_uri = "http://127.0.0.1:1/oauth2callback\n', encoding="utf-8")  # unclosed
    port = free_port()
    proc = start_app(data_dir, broken, port)
    try:
        page = browser.new_context().new_page()
        page.goto(f"http://127.0.0.1:{port}/review?dataset={h}")
        wait_idle(page)
        expect(page.get_by_role("heading", name="augment-review is closed")).to_be_visible(timeout=T)
        expect(page.get_by_text("The secrets file cannot be read")).to_be_visible(timeout=T)
        expect(page.locator(ACCEPT)).to_have_count(0, timeout=T)
        assert "team.csv" not in page.content()
        page.context.close()
    finally:
        stop_process(proc)
