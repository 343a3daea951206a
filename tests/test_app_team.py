"""The app shell with sign-in configured or not (AppTest): the sign-in gate before any data,
the allow-list's refusal, decisions recorded under the signed-in reviewer, the team view and
the export policy, and the warning for a server reachable from other machines without sign-in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import ALICE, APP_TEST_AUTH, BOB, review_data
from streamlit import config
from streamlit.testing.v1 import AppTest

from augment_core.review.store import Store

pytestmark = pytest.mark.app

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
WARNING = "anyone who can reach it can read and change all datasets"


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("AUGMENT_REVIEW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AUGMENT_REVIEW_INSTANT", "0")
    return tmp_path / "data"


@pytest.fixture
def address():
    """Set ``server.address`` for one test, as ``--server.address`` would."""
    before = config.get_option("server.address")
    yield lambda value: config.set_option("server.address", value)
    config.set_option("server.address", before)



def _app(user: dict | None = None, allowed: list[str] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if user is not None:
        at.secrets["auth"] = APP_TEST_AUTH
        if allowed is not None:
            at.secrets["augment_review"] = {"allowed_users": allowed}
        at.user = user
    return at


def _texts(at: AppTest) -> str:
    return "\n".join([t.value for t in at.title] + [m.value for m in at.markdown] + [t.value for t in at.text]
                     + [w.value for w in at.warning] + [e.value for e in at.error])


def test_no_warning_on_localhost_a_warning_on_every_page_when_open_without_sign_in(data_dir, address):
    review_data(data_dir)
    address("localhost")
    at = _app().run()
    assert not at.exception and WARNING not in _texts(at)
    address("0.0.0.0")
    for page in ("pages/data.py", "pages/augment.py", "pages/review.py", "pages/evaluate.py", "pages/export.py"):
        at = _app().run()
        at.switch_page(page).run()
        assert not at.exception, [e.value for e in at.exception]
        assert [w.value for w in at.warning if WARNING in w.value], page
    # with sign-in configured the same address is no warning
    at = _app({"is_logged_in": True, "email": ALICE}).run()
    assert not at.exception and WARNING not in _texts(at)


def test_sign_in_gate_shows_no_data_until_signed_in_and_refuses_outsiders(data_dir, address):
    address("127.0.0.1")
    h, _ = review_data(data_dir)
    at = _app({})
    at.query_params["dataset"] = h
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in to augment-review"]
    assert [b.label for b in at.button] == ["Sign in"]
    assert "team.csv" not in _texts(at) and h[:12] not in _texts(at)

    at = _app({"is_logged_in": True, "email": "eve@elsewhere.example"}, allowed=[ALICE, "@crew.example"])
    at.query_params["dataset"] = h
    at.run()
    assert [t.value for t in at.title] == ["Not allowed"]
    assert "not on this server's list of reviewers" in _texts(at) and "team.csv" not in _texts(at)
    assert [b.label for b in at.button] == ["Sign out"]

    at = _app({"is_logged_in": True, "email": "eve@crew.example", "email_verified": False}, allowed=["@crew.example"])
    at.run()
    assert [t.value for t in at.title] == ["Not allowed"] and "verified e-mail" in _texts(at)

    at = _app({"is_logged_in": True, "email": ALICE}, allowed=["alice"])  # a malformed list keeps it closed
    at.query_params["dataset"] = h
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["augment-review is closed"] and "team.csv" not in _texts(at)
    assert "is not an e-mail address or @domain" in _texts(at)

    # no email_verified claim at all (Microsoft Entra): admitted for the address it gives
    at = _app({"is_logged_in": True, "email": "Bob@Crew.example"}, allowed=[ALICE, "@crew.example"])
    at.query_params["dataset"] = h
    at.run()
    assert not at.exception
    assert f"Signed in as {BOB}" in _texts(at) and "team.csv" in _texts(at)


def test_decisions_are_the_signed_in_reviewers_and_the_team_view_shows_conflicts(data_dir, address):
    address("127.0.0.1")
    h, keys = review_data(data_dir)
    store = Store(data_dir)
    store.decide_many(h, {keys[0]: "accepted", keys[1]: "accepted", keys[2]: "rejected"}, reviewer=BOB)

    at = _app({"is_logged_in": True, "email": ALICE})
    at.query_params["dataset"] = h
    at.run()
    at.switch_page("pages/review.py").run()
    assert not at.exception, [e.value for e in at.exception]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Reviewed"] == "0" and metrics["Conflicts"] == "0"  # bob's decisions are not alice's
    at.button(key=f"review_r_{keys[1]}").click().run()
    at.button(key=f"review_r_{keys[2]}").click().run()
    at.button(key=f"review_a_{keys[3]}").click().run()
    assert store.decisions(h, reviewer=ALICE) == {keys[1]: "rejected", keys[2]: "rejected", keys[3]: "accepted"}
    assert store.decisions(h, reviewer=BOB) == {keys[0]: "accepted", keys[1]: "accepted", keys[2]: "rejected"}
    assert store.decisions(h) == {}  # nothing written as "local"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Conflicts"] == "1"
    kappa = [m for m in at.metric if m.label.startswith("Kappa")]
    assert len(kappa) == 1 and ALICE in kappa[0].label.replace("\\", "").replace("\u200b", "")  # 2 both decided, 1 alike, one label each: kappa 0
    assert kappa[0].value == "0.00"
    at.toggle(key="review_conflicts_only").set_value(True).run()
    assert [b.key for b in at.button if (b.key or "").startswith("review_a_")] == [f"review_a_{keys[1]}"]
    at.toggle(key="review_conflicts_only").set_value(False).run()
    at.selectbox(key="review_decided_by").set_value(BOB).run()
    assert [b.key for b in at.button if (b.key or "").startswith("review_a_")] == [
        f"review_a_{k}" for k in keys[:3]]
    at.button(key="review_undo").click().run()  # alice's latest: the accept of keys[3]
    assert store.decisions(h, reviewer=ALICE) == {keys[1]: "rejected", keys[2]: "rejected"}
    assert [(e.reviewer, e.kind) for e in store.history(h, reviewer=ALICE)][-1] == (ALICE, "undo")

    at.switch_page("pages/export.py").run()
    assert not at.exception, [e.value for e in at.exception]
    policy = at.selectbox(key="export_policy")
    assert policy.value.startswith("majority")
    assert [o for o in policy.options] == [f"{ALICE}'s decisions", f"{BOB}'s decisions",
                                           "unanimous accept (every reviewer accepted it)",
                                           "majority (more reviewers accepted it than rejected it; a tie is left out)"]
    policy.set_value(f"{BOB}'s decisions").run()
    assert {m.label: m.value for m in at.metric}["Accepted variants"] == "2"
    manifest = json.loads(at.json[0].value)
    assert manifest["review"]["policy"]["kind"] == "reviewer" and manifest["review"]["policy"]["reviewer"] == BOB
    assert manifest["review"]["reviewers"] == {ALICE: {"accepted": 0, "rejected": 2, "decided": 2},
                                               BOB: {"accepted": 2, "rejected": 1, "decided": 3}}


def test_single_user_mode_has_no_team_controls_and_exports_local(data_dir, address):
    address("localhost")
    h, keys = review_data(data_dir)
    at = _app()
    at.query_params["dataset"] = h
    at.run()
    at.switch_page("pages/review.py").run()
    at.button(key=f"review_a_{keys[0]}").click().run()
    assert not at.exception
    assert Store(data_dir).decisions(h) == {keys[0]: "accepted"}  # reviewer "local"
    labels = {m.label for m in at.metric}
    assert "Conflicts" not in labels and not [s for s in at.selectbox if s.key == "review_decided_by"]
    assert not any("Signed in" in t.value for t in at.text)
    at.switch_page("pages/export.py").run()
    assert not [s for s in at.selectbox if s.key == "export_policy"]
    manifest = json.loads(at.json[0].value)
    assert manifest["review"]["policy"] == {"kind": "reviewer", "reviewer": "local",
                                            "description": "local's decisions"}
    assert manifest["review"]["reviewers"] == {"local": {"accepted": 1, "rejected": 0, "decided": 1}}
