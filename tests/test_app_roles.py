"""Issue 21, items 1 and 7 and the roles (AppTest): with sign-in, a reviewer sees no control
that changes the server (upload, mapping, tags, augment, load a run, write a file) and is
refused by the handlers when they are called anyway; an admin loads runs and writes files only
inside the server folders; with sign-in and no server folders no path field is offered."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from helpers import ALICE, APP_TEST_AUTH, BOB, review_data, sampled_run
from streamlit.testing.v1 import AppTest

from augment_core.review.store import Store

pytestmark = pytest.mark.app

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PAYROLL = "id,name,salary\n1,Ann,5000\n"
ADMIN_KEYS = ["data_upload", "data_source", "data_load_sample", "data_tags_upload", "data_tags_bundled",
              "augment_run", "augment_import_path", "augment_import_go", "export_sampled_path", "export_sampled_go"]


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("AUGMENT_REVIEW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AUGMENT_REVIEW_INSTANT", "0")
    monkeypatch.delenv("AUGMENT_REVIEW_SERVER_DIRS", raising=False)
    return tmp_path / "data"


def _signed_in(at: AppTest, email: str, h: str, server_dirs: list[str] | None = None) -> AppTest:
    """``at`` run on a team server (admin: alice) for ``email``, on dataset ``h``."""
    at.secrets["auth"] = APP_TEST_AUTH
    at.secrets["augment_review"] = {"admins": [ALICE], **({"server_dirs": server_dirs} if server_dirs else {})}
    at.user = {"is_logged_in": True, "email": email}
    at.query_params["dataset"] = h
    return at.run()


def _team(email: str, h: str, server_dirs: list[str] | None = None) -> AppTest:
    return _signed_in(AppTest.from_file(APP, default_timeout=60), email, h, server_dirs)


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _keys(at: AppTest) -> set[str]:
    """The user keys of every widget on the page (the last part of each widget's id)."""
    kinds = ("text_input", "button", "radio", "selectbox", "file_uploader", "multiselect", "checkbox")
    return {w.proto.id.rsplit("-", 1)[-1] for kind in kinds for w in at.get(kind)}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _pages(at: AppTest):
    for page in ("pages/data.py", "pages/augment.py", "pages/review.py", "pages/evaluate.py", "pages/export.py"):
        at.switch_page(page).run()
        _ok(at)
        yield page


def test_a_reviewer_cannot_overwrite_server_files_from_the_export_page(data_dir, tmp_path, monkeypatch):
    """Issue 21, item 1: a reviewer wrote curated rows over /tmp/.../payroll.csv and over the
    server's data/projects.csv through "Write to"; now the field is not there for a reviewer."""
    h, run_id, _ = sampled_run(data_dir, tmp_path / "runs")
    payroll = tmp_path / "payroll.csv"
    payroll.write_text(PAYROLL)
    server = tmp_path / "server"  # the server's working folder: its own copy of the sample and the config
    (server / "data").mkdir(parents=True)
    shutil.copytree(ROOT / ".streamlit", server / ".streamlit")  # Streamlit may read its config from here
    projects = server / "data" / "projects.csv"
    projects.write_bytes((ROOT / "data" / "projects.csv").read_bytes())
    before = _digest(projects)
    monkeypatch.chdir(server)
    at = _team(BOB, h, server_dirs=[str(tmp_path)])
    at.switch_page("pages/export.py").run()
    _ok(at)
    assert at.get("download_button"), "a reviewer still downloads exports"
    for target in (str(payroll), "data/projects.csv"):
        fields = [t for t in at.text_input if t.key == "export_sampled_path"]
        if fields:  # before the fix: the reviewer writes where the field says
            fields[0].set_value(target).run()
            at.button(key="export_sampled_go").click().run()
    assert payroll.read_text() == PAYROLL and not (tmp_path / "payroll.csv.manifest.json").exists()
    assert _digest(projects) == before
    assert any("As a reviewer you cannot write a curated file on the server" in c.value for c in at.caption)


def _write_as(email: str, h: str, run_id: int, out: str, server_dirs: list[str]) -> AppTest:
    """The Export handler called straight (as a forged request would reach it), as ``email``."""

    def script(run_id: int, out: str) -> None:
        import streamlit as st

        from app_support import run_review
        from app_support.store import get_store
        from augment_core.errors import InputError

        store = get_store()
        h = st.query_params["dataset"]
        (run,) = [r for r in store.runs(h) if r.id == run_id]
        try:
            run_review.write_sampled_export(store, h, run, out, False)
        except InputError as exc:
            st.error(str(exc))
        else:
            st.success("written")

    return _signed_in(AppTest.from_function(script, args=(run_id, out), default_timeout=60), email, h, server_dirs)


def test_the_write_handler_refuses_a_reviewer_and_any_path_outside_the_server_folders(data_dir, tmp_path):
    h, run_id, _ = sampled_run(data_dir, tmp_path / "runs")
    allowed = tmp_path / "exports"
    allowed.mkdir()
    payroll = tmp_path / "payroll.csv"
    payroll.write_text(PAYROLL)
    (allowed / "link.csv").symlink_to(payroll)

    at = _write_as(BOB, h, run_id, str(allowed / "curated.csv"), [str(allowed)])
    _ok(at)
    assert [e.value for e in at.error] == [f"not allowed: {BOB} is a reviewer here, and only an admin may write a "
                                           "file on the server"]
    assert not (allowed / "curated.csv").exists()

    lines = set()
    for target in (str(payroll), str(allowed / ".." / "payroll.csv"), "../payroll.csv", str(tmp_path / "nothing.csv")):
        at = _write_as(ALICE, h, run_id, target, [str(allowed)])
        _ok(at)
        (error,) = [e.value for e in at.error]
        assert "nothing was written" in error
        lines.add(error.replace(target, "PATH"))
    assert len(lines) == 1  # the same line whether the file outside exists or not
    assert payroll.read_text() == PAYROLL and not (tmp_path / "payroll.csv.manifest.json").exists()
    assert not (tmp_path / "nothing.csv").exists()
    # a symlink inside that leads out is outside: the link is not followed onto payroll
    at = _write_as(ALICE, h, run_id, str(allowed / "link.csv"), [str(allowed)])
    assert [e.value for e in at.error] and payroll.read_text() == PAYROLL

    at = _write_as(ALICE, h, run_id, "curated.csv", [str(allowed)])  # relative: inside the first folder
    _ok(at)
    assert [s.value for s in at.success] == ["written"]
    assert (allowed / "curated.csv").exists() and (allowed / "curated.csv.manifest.json").exists()


def _load_as(email: str, h: str, path: str, server_dirs: list[str]) -> AppTest:
    """The Augment page's load handler called straight, as ``email``."""

    def script(path: str) -> None:
        import streamlit as st

        from app_support import run_review
        from app_support.store import get_store
        from augment_core.errors import InputError

        try:
            result = run_review.load_run(get_store(), st.query_params["dataset"], path, max_whole=0)
        except InputError as exc:
            st.error(str(exc))
        else:
            st.success(f"run {result.run_id}")

    return _signed_in(AppTest.from_function(script, args=(path,), default_timeout=60), email, h, server_dirs)


def test_the_load_handler_refuses_a_reviewer_and_reads_nothing_outside_the_server_folders(data_dir, tmp_path):
    h, first, made = sampled_run(data_dir, tmp_path / "runs")
    store = Store(data_dir)
    inside = str(tmp_path / "runs")
    at = _load_as(BOB, h, str(made["ray"]), [inside])
    assert [e.value for e in at.error] == [f"not allowed: {BOB} is a reviewer here, and only an admin may load a "
                                           "run from the server's disk"]
    secret = tmp_path / "cfg" / "manifest.json"
    secret.parent.mkdir()
    secret.write_text('{"files": ["sk-live-secret"]}')
    lines = set()
    for path in (str(secret), str(tmp_path / "cfg" / "missing.json"), str(tmp_path / "cfg"), "../cfg/manifest.json",
                 str(made["ray"] / ".." / ".." / "cfg" / "manifest.json")):
        at = _load_as(ALICE, h, path, [inside])
        _ok(at)
        (error,) = [e.value for e in at.error]
        assert "sk-live-secret" not in error and "nothing was read" in error
        lines.add(error.replace(path, "PATH"))
    assert len(lines) == 1  # no existence oracle
    assert [r.id for r in store.runs(h)] == [first]
    at = _load_as(ALICE, h, str(made["ray"]), [inside])
    assert [s.value for s in at.success] and len(store.runs(h)) == 2


def test_a_reviewer_sees_no_admin_control_on_any_page_and_still_reviews(data_dir, tmp_path):
    h, keys = review_data(data_dir)
    at = _team(BOB, h, server_dirs=[str(tmp_path)])
    assert f"Signed in as {BOB} (reviewer)" in [t.value for t in at.sidebar.text]
    notes = []
    for page in _pages(at):
        assert not (_keys(at) & set(ADMIN_KEYS)), (page, _keys(at) & set(ADMIN_KEYS))
        assert not [f for f in at.get("form") if "data_mapping_form" in f.proto.form_id], page
        notes += [c.value for c in at.caption if c.value.startswith("As a reviewer you cannot")]
    assert any("add datasets" in n for n in notes) and any("run augmentations" in n for n in notes)
    at.switch_page("pages/review.py").run()
    at.button(key=f"review_a_{keys[0]}").click().run()
    _ok(at)
    assert Store(data_dir).decisions(h, reviewer=BOB) == {keys[0]: "accepted"}
    at.switch_page("pages/evaluate.py").run()
    assert at.button(key="evaluate_run")  # reviewers evaluate
    at.switch_page("pages/export.py").run()
    assert [b for b in at.get("download_button")]


def test_an_admin_gets_the_controls_and_path_fields_only_with_server_folders(data_dir, tmp_path):
    h, _ = review_data(data_dir)
    at = _team(ALICE, h, server_dirs=[str(tmp_path)])
    assert f"Signed in as {ALICE} (admin)" in [t.value for t in at.sidebar.text]
    assert at.get("file_uploader") and at.radio(key="data_source")
    at.switch_page("pages/augment.py").run()
    _ok(at)
    assert at.button(key="augment_run") and at.text_input(key="augment_import_path")
    assert not [c for c in at.caption if c.value.startswith("As a reviewer")]

    at = _team(ALICE, h)  # sign-in, no server folders: no path field at all
    at.switch_page("pages/augment.py").run()
    _ok(at)
    assert at.button(key="augment_run") and not [t for t in at.text_input if t.key == "augment_import_path"]
    assert any("the operator lists the server folders" in c.value for c in at.caption)


def test_without_sign_in_the_local_user_is_an_admin_within_the_working_and_data_folders(data_dir, tmp_path):
    h, _ = review_data(data_dir)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["dataset"] = h
    at.run()
    at.switch_page("pages/augment.py").run()
    _ok(at)
    assert at.button(key="augment_run") and at.text_input(key="augment_import_path")
    caption = " ".join(c.value for c in at.caption).replace("\\", "")
    assert str(Path.cwd()) in caption and str(data_dir) in caption
    at.text_input(key="augment_import_path").set_value(str(tmp_path / "elsewhere")).run()
    at.button(key="augment_import_go").click().run()
    _ok(at)
    assert any("no such file or folder inside the server folders" in e.value for e in at.error)


def test_malformed_admins_or_server_dirs_keep_the_app_closed(data_dir):
    h, _ = review_data(data_dir)
    for section in ({"admins": ["alice"]}, {"server_dirs": [3]}):
        at = AppTest.from_file(APP, default_timeout=60)
        at.secrets["auth"] = APP_TEST_AUTH
        at.secrets["augment_review"] = section
        at.user = {"is_logged_in": True, "email": ALICE}
        at.query_params["dataset"] = h
        at.run()
        _ok(at)
        assert [t.value for t in at.title] == ["augment-review is closed"], section
