"""End to end in a real browser: Playwright driving Debian's Chromium against
``streamlit run app.py`` (data in a temporary directory)."""

from __future__ import annotations

import csv
import io
import os
import re
import urllib.request
from pathlib import Path

import playwright.sync_api as playwright_sync
import pytest
from browser_helpers import (
    ACCEPT,
    REJECT,
    ROOT,
    augment,
    choose_first_option,
    click,
    download,
    free_port,
    goto_page,
    metric,
    metric_value,
    open_dropdown,
    review_tab,
    small_csv,
    start_server,
    stop_server,
    upload,
    wait_idle,
    wait_saved,
)
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_review_flow_survives_reload_and_exports(page, server, data_dir, tmp_path):
    upload(page, server, small_csv(tmp_path / "small.csv"))
    # map columns: keep the guess (title + description, tags) and save it
    page.get_by_role("button", name="Save mapping").click()
    wait_idle(page)
    expect(page.get_by_text("Mapping saved.")).to_be_visible()

    goto_page(page, "Augment")
    augment(page)
    expect(page.get_by_text("Run 1:")).to_be_visible()

    goto_page(page, "Review")
    expect(page.locator(ACCEPT).first).to_be_visible()
    total = int(metric(page, "Candidates"))
    accepts = page.locator(ACCEPT)
    rejects = page.locator(REJECT)
    accepts.nth(0).click()
    accepts.nth(1).click()
    rejects.nth(2).click()
    # shown at once, in the browser; then saved
    expect(page.locator(".rv-count[data-count='reviewed'] b")).to_have_text("3")
    wait_saved(page)
    expect(page.locator("[data-testid='stMetric']").filter(has_text="Reviewed").locator("[data-testid='stMetricValue']")).to_have_text("3")
    assert (metric(page, "Accepted"), metric(page, "Rejected")) == ("2", "1")

    # bulk-reject every variant of one alias rule, then undo it as one action
    bulk = page.locator(".st-key-review_bulk_reject button")
    unfiltered = bulk.inner_text()
    choose_first_option(page, "Alias rule")
    page.keyboard.press("Escape")
    wait_idle(page)
    expect(bulk).not_to_have_text(unfiltered)  # the filtered list is rendered (a busy machine is slow)
    wait_idle(page)
    n_bulk = int(bulk.inner_text().split()[1])
    assert n_bulk >= 1
    bulk.click(); wait_idle(page)
    expect(page.locator("[data-testid='stMetric']").filter(has_text="Rejected").locator("[data-testid='stMetricValue']")).to_have_text(str(1 + n_bulk))
    click(page, ".st-key-review_undo button")
    expect(page.locator("[data-testid='stMetric']").filter(has_text="Rejected").locator("[data-testid='stMetricValue']")).to_have_text("1")

    # reload the tab: same dataset (from ?dataset=), same decisions
    assert "dataset=" in page.url
    page.reload()
    wait_idle(page)
    expect(page.locator("[data-testid='stMetric']").filter(has_text="Accepted").locator("[data-testid='stMetricValue']")).to_have_text("2")
    assert metric(page, "Rejected") == "1" and metric(page, "Candidates") == str(total)

    # a restarted server, opened straight on the review page's URL, shows the same work
    review_url = page.url
    assert "/review" in review_url
    proc, other = start_server(data_dir, tmp_path / "cache2")
    try:
        fresh = page.context.new_page()
        fresh.goto(other + review_url[len(server):])
        wait_idle(fresh)
        expect(fresh.locator("[data-testid='stMetric']").filter(has_text="Accepted").locator("[data-testid='stMetricValue']")).to_have_text("2")
        assert metric(fresh, "Rejected") == "1"
        nav = [t.strip() for t in fresh.locator("[data-testid='stSidebarNav'] a").all_inner_texts()]
        assert [t.split()[-1] for t in nav] == ["Data", "Augment", "Review", "Evaluate", "Export"], nav
        fresh.close()
    finally:
        stop_server(proc)

    goto_page(page, "Export")
    expect(page.get_by_text("Rows to export")).to_be_visible()
    n_rows = int(metric(page, "Rows to export").replace(",", ""))
    with page.expect_download() as dl:
        page.locator(".st-key-export_download button").click()
    target = tmp_path / "curated.csv"
    dl.value.save_as(target)
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert len(rows) == n_rows
    # the sample has an id column: the provenance columns are aug_<name> (issue 9)
    variants = [r for r in rows if r["aug_augmenter"] != "original"]
    assert len(variants) == 2 and all(r["aug_split"] == "train" for r in rows)
    assert all(r["aug_parent_id"] in {o["aug_id"] for o in rows if o["aug_augmenter"] == "original"} for r in variants)
    assert all(r["aug_text"] == r["title"] + " " + r["description"] for r in rows)


PAYLOAD = '<img src=x onerror="window.__xss=1"> $x^2$ [link](http://e.x) :smile: **bold**'


def untrusted_csv(path: Path, end: str = "") -> Path:
    """Markup, Markdown and emoji shortcodes in ids, texts and tags: all must show literally."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["id", "text", "tags", "split"])
        for i in range(1, 6):
            w.writerow([f"<b>id</b><img src=x onerror=window.__xss=2>{i}", f"{PAYLOAD} uses cv and nlp {i}{end}",
                        '["computer-vision", "**b** $y$ :smile: <i>t</i>"]', "train"])
    return path


def test_untrusted_upload_is_shown_literally(page, server, tmp_path):
    path = untrusted_csv(tmp_path / "evil.csv")
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    upload(page, server, path)
    goto_page(page, "Augment")
    augment(page)
    goto_page(page, "Review")
    cand = page.locator(".rv-original .rv-text").first
    expect(cand).to_be_visible()
    text = cand.inner_text()
    for literal in ('<img src=x onerror="window.__xss=1">', "$x^2$", "[link](http://e.x)", ":smile:", "**bold**"):
        assert literal in text
    assert page.locator("img[src='x']").count() == 0 and page.locator(".rv-root b:text-is('id')").count() == 0
    variant = page.locator(".rv-row[data-key] .rv-text").first
    assert '<img src=x onerror="window.__xss=1">' in variant.inner_text()
    # an id from the file, in the component's labels and its row keys, is text too
    expect(page.locator(".rv-group > .rv-meta").first).to_contain_text("<b>id</b><img src=x onerror=window.__xss=2>")
    assert "<b>id</b><img" in page.locator(".rv-row[data-key]").first.get_attribute("data-key")
    page.locator(ACCEPT).first.click()
    wait_saved(page)
    assert page.evaluate("window.__xss") is None
    assert page.locator(".stMarkdown a[href='http://e.x']").count() == 0
    # a label from the file is shown literally too: beside the original and as a filter option
    evil_tag = "**b** $y$ :smile: <i>t</i>"
    expect(page.get_by_text(evil_tag, exact=False).first).to_be_visible()
    assert page.locator("i:text-is('t')").count() == 0
    open_dropdown(page, "Tag")
    options = page.locator("[role='listbox'] [role='option']").all_inner_texts()
    assert any(evil_tag in o for o in options), options
    page.keyboard.press("Escape")
    assert dialogs == []


def test_side_by_side_aligns_original_and_variant_marks_both_and_stays_after_a_reload(page, server, tmp_path):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    upload(page, server, untrusted_csv(tmp_path / "side.csv", " side by side"))
    goto_page(page, "Augment")
    augment(page)
    goto_page(page, "Review")
    expect(page.locator(".rv-original").first).to_be_visible()  # stacked by default
    click(page, ".st-key-review_layout button:has-text('Side by side')")
    row = page.locator(".rv-row.rv-side[data-key]").first
    expect(row).to_be_visible()
    assert page.locator(".rv-original").count() == 0
    left, right = row.locator(".rv-left"), row.locator(".rv-right")
    # the original on the left, as text, with the replaced word marked; the variant on the right
    assert left.locator(".rv-text").inner_text().startswith(PAYLOAD)
    old = left.locator(".rv-old").first.inner_text()
    new = right.locator(".rv-sub").first.inner_text()
    assert old in ("cv", "nlp") and new and new != old
    assert new in right.locator(".rv-text").inner_text() and right.locator(".rv-text").inner_text().startswith(PAYLOAD)
    a, b = left.bounding_box(), right.bounding_box()
    assert a and b and abs(a["y"] - b["y"]) < 2 and a["x"] + a["width"] <= b["x"] + 1  # one row, left beside right
    assert page.locator("img[src='x']").count() == 0 and page.evaluate("window.__xss") is None
    expect(page).to_have_url(re.compile(r"[?&]layout=Side"))
    key = row.get_attribute("data-key")
    row.locator(".rv-accept").click()
    wait_saved(page)
    page.reload()
    wait_idle(page)
    again = page.locator(f".rv-row.rv-side[data-key='{key}']")
    expect(again).to_be_visible()
    expect(again.locator(".rv-chip")).to_have_text("accepted")
    assert dialogs == []


def test_focused_mode_keyboard_shortcuts(page, server, tmp_path):
    upload(page, server, small_csv(tmp_path / "focus.csv", n=25))
    goto_page(page, "Augment")
    augment(page)
    goto_page(page, "Review")
    page.locator(".st-key-review_mode [data-baseweb='select'], .st-key-review_mode [role='combobox']").first.click()
    page.get_by_role("option").filter(has_text="One at a time").click()
    wait_idle(page)
    expect(page.locator(".rv-root[data-mode='focus'] .rv-one")).to_be_visible()
    page.wait_for_function("window.__augmentReviewKeys === true")
    page.evaluate("document.activeElement && document.activeElement.blur()")
    first = page.locator(".rv-one .rv-row").get_attribute("data-key")
    page.keyboard.press("a")
    second = page.locator(".rv-one .rv-row").get_attribute("data-key")
    assert second != first  # the next one is shown at once
    page.keyboard.press("r")
    third = page.locator(".rv-one .rv-row").get_attribute("data-key")
    page.keyboard.press("s")
    expect(page.locator(".rv-one .rv-row")).not_to_have_attribute("data-key", third)
    wait_saved(page)
    value = lambda label: page.locator("[data-testid='stMetric']").filter(has_text=label).locator("[data-testid='stMetricValue']")
    expect(value("Accepted")).to_have_text("1")
    expect(value("Rejected")).to_have_text("1")
    page.keyboard.press("u")
    expect(page.locator(".rv-one .rv-row")).to_have_attribute("data-key", second)  # back to the one undone
    wait_saved(page)
    expect(value("Rejected")).to_have_text("0")
    page.keyboard.press("?")
    expect(page.locator(".rv-help")).to_be_visible()


# --- review integrity ---------------------------------------------------------------------------


def sparse_ids_csv(path: Path, n: int = 40) -> Path:
    """The sample with ids 7, 14, 21...: "(row number)" as the id column gives every row another id."""
    rows = list(csv.reader(io.StringIO((ROOT / "data" / "projects.csv").read_text(encoding="utf-8"))))
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(rows[0])
        for r in rows[1 : n + 1]:
            w.writerow([str(7 * int(r[0])), *r[1:]])
    return path


def test_two_tabs_then_remap_export_what_the_database_says(page, server, data_dir, tmp_path):
    """Tab A decides while tab B is left stale: B's bulk accept of undecided variants leaves A's
    rejections alone; B's Export, never reloaded, downloads the database's decisions; after a
    remap (ids become row numbers) the file still has every accepted variant under its own
    original, and the page's counts are the file's rows."""
    from augment_core.data.dataset import content_hash
    from augment_core.review.store import Store

    path = sparse_ids_csv(tmp_path / "sparse.csv")
    h = content_hash(path.read_bytes())
    upload(page, server, path)
    goto_page(page, "Augment")
    augment(page)
    goto_page(page, "Review")
    b = page.context.new_page()
    b.goto(f"{server}/review?dataset={h}")
    wait_idle(b)
    total = int(metric_value(b, "Candidates").inner_text())
    # tab B has finished drawing (its bulk label counts every variant) before tab A decides
    expect(b.locator(".st-key-review_bulk_accept button")).to_have_text(f"Accept {total} matching", timeout=60_000)

    rejects = page.locator(REJECT)
    for i in range(3):
        rejects.nth(i).click()
    wait_saved(page)
    expect(metric_value(page, "Rejected")).to_have_text("3")
    expect(b.locator(".st-key-review_bulk_accept button")).to_have_text(f"Accept {total} matching")  # stale
    click(b, ".st-key-review_bulk_accept button")
    expect(metric_value(b, "Rejected")).to_have_text("3")
    expect(metric_value(b, "Accepted")).to_have_text(str(total - 3))
    expect(b.get_by_text("3 variant(s) left as they are", exact=False)).to_be_visible()
    store = Store(data_dir)
    decided = store.decisions(h)
    assert sum(d == "rejected" for d in decided.values()) == 3 and len(decided) == total

    goto_page(b, "Export")  # B's export page, rendered now and then left alone
    expect(metric_value(b, "Accepted variants")).to_have_text(str(total - 3))
    page.bring_to_front()
    page.reload()
    wait_idle(page)
    page.locator(REJECT).nth(3).click()  # A rejects one more
    wait_saved(page)
    rows = download(b, ".st-key-export_download button", tmp_path / "stale.csv")
    variants = [r for r in rows if r["aug_augmenter"] != "original"]  # the input has id: aug_ provenance
    assert len(variants) == total - 4  # the database's decisions at download time
    # the counts follow the database by themselves (refreshed every few seconds)
    expect(metric_value(b, "Accepted variants")).to_have_text(str(total - 4), timeout=20_000)
    expect(metric_value(b, "Rows to export")).to_have_text(str(len(rows)))

    page.bring_to_front()
    goto_page(page, "Data")  # remap: ids become row numbers
    open_dropdown(page, "Id column")
    page.locator("[role='listbox'] [role='option']").filter(has_text="(row number)").click()
    page.get_by_role("button", name="Save mapping").click()
    wait_idle(page)
    expect(page.get_by_text("Not saved yet", exact=False)).to_be_visible()
    click(page, ".st-key-data_remap_confirm button")
    expect(page.get_by_text("Mapping saved.")).to_be_visible()
    assert store.dataset(h).settings["mapping"]["id_column"] is None

    b.bring_to_front()
    b.reload()
    wait_idle(b)
    expect(metric_value(b, "Accepted variants")).to_have_text(str(total - 4))
    rows = download(b, ".st-key-export_download button", tmp_path / "after-remap.csv")
    assert int(metric_value(b, "Rows to export").inner_text()) == len(rows)
    originals = {r["aug_id"]: r["aug_text"] for r in rows if r["aug_augmenter"] == "original"}
    variants = [r for r in rows if r["aug_augmenter"] != "original"]
    assert len(variants) == total - 4
    assert all(int(pid) % 7 == 0 for pid in originals)  # the ids the run was made with
    assert all(originals[v["aug_parent_id"]] == v["aug_original_text"] for v in variants)
    b.close()


def big_review_data(data_dir: Path, n_originals: int = 3000, per_original: int = 4) -> tuple[str, list[str]]:
    """A stored dataset and one run of ``n_originals * per_original`` variants, straight through
    the store (no augmenter needed), and the candidate keys."""
    from augment_core.data.dataset import content_hash, read_table
    from augment_core.data.dataset_settings import build_from_settings, default_settings
    from augment_core.review.facts import store_run
    from augment_core.review.store import Store, candidate_key

    lines = ["id,text,tags"] + [f'{i},row {i} about computer vision,"[""computer-vision""]"' for i in range(n_originals)]
    data = ("\n".join(lines) + "\n").encode()
    table = read_table(data, "big.csv")
    settings = {**default_settings(table), "split_ratios": [1.0, 0.0, 0.0]}
    dataset = build_from_settings(table, settings)
    rows = []
    for rec in dataset.records:
        for k in range(1, per_original + 1):
            rows.append({"id": f"{rec.id}~alias_swap~{k}", "parent_id": rec.id, "split": rec.split,
                         "augmenter": "alias_swap", "text": f"{rec.text} v{k}", "original_text": rec.text,
                         "tags": rec.raw_label, "params": "{}", "changes": "[]"})
    store = Store(data_dir)
    h = content_hash(data)
    store.add_dataset(h, "big.csv", data, settings)
    run = store_run(store, h, {"augmenters": [{"name": "alias_swap"}]}, rows, settings)
    store.close()
    return h, [candidate_key(run, r["id"]) for r in rows]


def test_kill_mid_bulk_keeps_every_committed_decision(browser, tmp_path):
    """kill -9 of the server while a bulk accept of 12,000 variants is being written: every
    decision the page had saved before is there after a restart, the bulk is all or nothing,
    the database is intact and the restarted app shows what it holds."""
    import signal
    import sqlite3

    from augment_core.review.store import Store

    data = tmp_path / "data"
    h, keys = big_review_data(data)
    proc, url = start_server(data, tmp_path / "cache")
    try:
        page = review_tab(browser, url, h)
        accepts = page.locator(ACCEPT)
        rejects = page.locator(REJECT)
        rejects.nth(0).click()
        accepts.nth(1).click()
        rejects.nth(2).click()
        wait_saved(page)
        expect(metric_value(page, "Reviewed")).to_have_text("3")
        saved = Store(data).decisions(h)
        assert len(saved) == 3
        page.locator(".st-key-review_bulk_accept button").click()
        try:  # kill while the bulk's rerun is under way (the checks below hold whenever it lands)
            page.wait_for_selector("[data-testid='stApp'][data-test-script-state='running']", timeout=10_000)
        except playwright_sync.TimeoutError:
            pass
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        page.close()
    finally:
        if proc.poll() is None:
            proc.kill()

    db = sqlite3.connect(data / "augment-review.sqlite3")
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()
    after = Store(data).decisions(h)
    assert {k: after[k] for k in saved} == saved  # nothing committed is lost
    bulk = {k: d for k, d in after.items() if k not in saved}
    assert len(bulk) in (0, len(keys) - 3) and set(bulk.values()) <= {"accepted"}  # all or nothing

    proc, url = start_server(data, tmp_path / "cache2")
    try:
        page = review_tab(browser, url, h)
        expect(metric_value(page, "Reviewed")).to_have_text(f"{len(after):,}")
        assert metric_value(page, "Rejected").inner_text() == "2"
        page.close()
    finally:
        stop_server(proc)


def test_locked_database_then_released_nothing_wedged(browser, tmp_path):
    """The sqlite3 shell (here: another connection) holds the write lock while a reviewer
    clicks: one line in the page, the decision kept as not yet saved, no traceback. Once the
    lock is released a new tab opens normally and the next click saves both decisions."""
    import sqlite3

    from augment_core.review.store import Store

    data = tmp_path / "data"
    h, keys = big_review_data(data, n_originals=30, per_original=2)
    proc, url = start_server(data, tmp_path / "cache", {"AUGMENT_REVIEW_WRITE_WAIT": "0.5"})
    outside = sqlite3.connect(data / "augment-review.sqlite3", isolation_level=None)
    try:
        page = review_tab(browser, url, h)
        outside.execute("BEGIN IMMEDIATE")
        page.locator(ACCEPT).nth(0).click()
        expect(page.locator(".rv-row[data-key]").nth(0).locator(".rv-chip")).to_have_text("accepted")  # at once
        expect(page.get_by_text("1 decision(s) not yet saved", exact=False)).to_be_visible()
        expect(page.locator(".rv-note[data-status='unsaved']")).to_have_count(1)
        assert page.locator("[data-testid='stException']").count() == 0
        assert Store(data).decisions(h) == {}
        outside.execute("ROLLBACK")
        # saved by itself once the lock is gone (the browser sends it again)
        wait_saved(page)
        assert Store(data).decisions(h) == {keys[0]: "accepted"}

        fresh = review_tab(browser, url, h)
        expect(metric_value(fresh, "Candidates")).to_have_text(str(len(keys)))
        fresh.close()

        page.locator(REJECT).nth(1).click()
        wait_saved(page)
        expect(metric_value(page, "Reviewed")).to_have_text("2")
        expect(page.locator(".rv-note[data-status='unsaved']")).to_have_count(0)
        assert sorted(Store(data).decisions(h).values()) == ["accepted", "rejected"]
        page.close()
    finally:
        outside.close()
        stop_server(proc)


def test_every_page_loads_from_the_local_server_only(page, server, data_dir, tmp_path):
    """Offline-first: no page asks anything of another host (fonts, icons, telemetry),
    and the favicon is the app's own."""
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    upload(page, server, small_csv(tmp_path / "offline.csv", 30))
    for path in ("data", "augment", "review", "evaluate", "export"):
        page.goto(f"{server}/{path}")
        wait_idle(page)
        expect(page.locator("[data-testid='stSidebarNav']")).to_be_visible()
    assert requested
    foreign = [u for u in requested if not u.startswith((server, "data:", "blob:"))]
    assert not foreign, foreign
    assert not [u for u in failed if not u.startswith(server)]
    icon = page.locator("link[rel~='icon']").first.get_attribute("href")
    assert icon and not icon.startswith("http") or icon.startswith(server), icon
    with urllib.request.urlopen(icon if icon.startswith("http") else server + "/" + icon.lstrip("/"), timeout=5) as r:
        assert r.status == 200 and r.headers.get_content_type() == "image/png"


def test_settings_stay_the_augment_form_and_the_review_view_in_the_url(page, server, tmp_path):
    upload(page, server, small_csv(tmp_path / "stay.csv", 36))
    goto_page(page, "Augment")
    n = page.locator(".st-key-augment_n_per_original input")
    n.fill("3")
    n.press("Enter")
    wait_idle(page)
    goto_page(page, "Review")
    goto_page(page, "Augment")
    expect(page.locator(".st-key-augment_n_per_original input")).to_have_value("3")
    page.locator(".st-key-augment_quality input").uncheck(force=True)
    wait_idle(page)
    augment(page)
    expect(page.get_by_text(re.compile(r"1 run\(s\)$"))).to_be_visible()

    goto_page(page, "Review")
    search = page.locator(".st-key-review_search input")
    search.fill("learning")
    search.press("Enter")
    wait_idle(page)
    expect(page).to_have_url(re.compile(r"[?&]q=learning"))
    page.reload()
    wait_idle(page)
    expect(page.locator(".st-key-review_search input")).to_have_value("learning")
    expect(page).to_have_url(re.compile(r"[?&]q=learning"))


# --- instant review: decisions shown at once, saved in the background, never lost ---------------


@pytest.mark.parametrize("held", [0, 20], ids=["free", "last 20 while the database is held"])
def test_fifty_fast_keyboard_decisions_then_reload_all_stored(browser, tmp_path, held):
    """50 decisions by keyboard as fast as Playwright types, then an immediate reload: every
    one is in the database, each once. With ``held``, the last ones are typed while another
    program holds the database, so they are surely still queued at the reload and must be
    replayed from localStorage."""
    import sqlite3

    from augment_core.review.store import Store

    data = tmp_path / "data"
    h, keys = big_review_data(data, n_originals=30, per_original=4)
    proc, url = start_server(data, tmp_path / "cache", {"AUGMENT_REVIEW_WRITE_WAIT": "0.5"})
    outside = sqlite3.connect(data / "augment-review.sqlite3", isolation_level=None)
    try:
        page = review_tab(browser, url, h)
        expect(page.locator(".rv-row[data-key]").first).to_be_visible()
        page.wait_for_function("window.__augmentReviewKeys === true")
        page.evaluate("document.activeElement && document.activeElement.blur()")
        for i in range(50 - held):
            page.keyboard.press("a" if i % 2 == 0 else "r")
        if held:
            expect(page.locator(".rv-count[data-count='reviewed'] b")).to_have_text(str(50 - held))
            wait_saved(page)
            outside.execute("BEGIN IMMEDIATE")
            for i in range(50 - held, 50):
                page.keyboard.press("a" if i % 2 == 0 else "r")
        expect(page.locator(".rv-count[data-count='reviewed'] b")).to_have_text("50")  # shown at once
        if held:
            expect(page.locator(".rv-sync")).not_to_have_attribute("data-unsaved", "0", timeout=30_000)  # answered busy
        page.reload()
        wait_idle(page)
        if held:
            expect(page.locator(".rv-sync")).to_contain_text("not yet saved")  # still queued after the reload
            assert len(Store(data).decisions(h)) == 50 - held
            outside.execute("ROLLBACK")
        wait_saved(page)
        want = {k: ("accepted" if i % 2 == 0 else "rejected") for i, k in enumerate(keys[:50])}
        assert Store(data).decisions(h) == want
        written = outside.execute("SELECT key, COUNT(*) FROM history WHERE dataset_hash = ? GROUP BY key", (h,)).fetchall()
        assert sorted(written) == sorted((k, 1) for k in want)  # each written once, replays included
        expect(metric_value(page, "Reviewed")).to_have_text("50")
        page.close()
    finally:
        outside.close()
        stop_server(proc)


def test_decision_while_server_stopped_is_unsaved_then_saved_after_restart(browser, tmp_path):
    from augment_core.review.store import Store

    data = tmp_path / "data"
    h, keys = big_review_data(data, n_originals=10, per_original=2)
    port = free_port()
    proc, url = start_server(data, tmp_path / "cache", port=port)
    try:
        page = review_tab(browser, url, h)
        expect(page.locator(".rv-row[data-key]").first).to_be_visible()
        stop_server(proc)
        page.locator(REJECT).nth(0).click()
        row = page.locator(".rv-row[data-key]").nth(0)
        expect(row.locator(".rv-chip")).to_have_text("rejected")  # at once
        expect(row.locator(".rv-note")).to_have_attribute("data-status", "unsaved", timeout=15_000)
        expect(page.locator(".rv-sync")).to_contain_text("1 decision(s) not yet saved")
        assert Store(data).decisions(h) == {}
        proc, url = start_server(data, tmp_path / "cache", port=port)
        expect(page.locator(".rv-sync")).to_have_attribute("data-unsaved", "0", timeout=60_000)
        expect(page.locator(".rv-sync")).to_have_attribute("data-saving", "0")
        assert Store(data).decisions(h) == {keys[0]: "rejected"}
        page.close()
    finally:
        stop_server(proc)


def test_a_decision_made_elsewhere_meanwhile_is_kept_the_tab_says_so_and_help_opens_in_the_list(browser, tmp_path):
    """This tab shows a variant undecided; another session accepts it; a reject here is not
    written over that: the row shows the saved accept and one line says why."""
    from augment_core.review.store import Store

    data = tmp_path / "data"
    h, keys = big_review_data(data, n_originals=10, per_original=2)
    proc, url = start_server(data, tmp_path / "cache")
    try:
        page = review_tab(browser, url, h)
        row = page.locator(f".rv-row[data-key='{keys[0]}']")
        expect(row.locator(".rv-chip")).to_have_text("undecided")
        elsewhere = Store(data)
        elsewhere.decide(h, keys[0], "accepted", origin="another-tab")
        elsewhere.close()
        row.locator(".rv-reject").click()
        expect(page.locator(".rv-msg").first).to_contain_text(
            f"Not saved: {keys[0]} was decided accepted in another tab or session meanwhile")
        expect(row.locator(".rv-chip")).to_have_text("accepted")
        expect(page.locator(".rv-sync")).to_have_attribute("data-unsaved", "0")
        assert Store(data).decisions(h) == {keys[0]: "accepted"}
        page.wait_for_function("window.__augmentReviewKeys === true")  # `?` in list mode too
        page.evaluate("document.activeElement && document.activeElement.blur()")
        page.keyboard.press("?")
        expect(page.locator(".rv-help")).to_be_visible()
        page.keyboard.press("?")
        expect(page.locator(".rv-help")).to_have_count(0)
        page.close()
    finally:
        stop_server(proc)


def test_j_past_the_last_variant_turns_the_page_and_k_turns_back(browser, tmp_path):
    """In the list, `j` on a page's last variant shows the next page with its first variant
    focused; `k` on the first goes back with the last one focused."""
    data = tmp_path / "data"
    h, keys = big_review_data(data, n_originals=25, per_original=2)  # 20 originals (40 variants) a page
    proc, url = start_server(data, tmp_path / "cache")
    try:
        page = review_tab(browser, url, h)
        expect(page.locator(".rv-row[data-key]")).to_have_count(40)
        page.wait_for_function("window.__augmentReviewKeys === true")
        page.evaluate("document.activeElement && document.activeElement.blur()")
        focused = page.locator(".rv-row.rv-focus")
        for _ in range(40):
            page.keyboard.press("j")
        expect(focused).to_have_attribute("data-key", keys[39])
        page.keyboard.press("j")
        expect(page.get_by_text("Page 2 of 2", exact=False)).to_be_visible()
        expect(page.locator(".rv-row[data-key]")).to_have_count(10)
        expect(focused).to_have_attribute("data-key", keys[40])
        expect(page).to_have_url(re.compile(r"[?&]page=2"))
        page.keyboard.press("a")  # the keys act on the new page
        wait_saved(page)
        page.keyboard.press("k")
        page.keyboard.press("k")
        expect(page.get_by_text("Page 1 of 2", exact=False)).to_be_visible()
        expect(focused).to_have_attribute("data-key", keys[39])
        from augment_core.review.store import Store

        assert Store(data).decisions(h) == {keys[40]: "accepted"}
        page.close()
    finally:
        stop_server(proc)


def test_an_undo_pending_at_a_reload_is_replayed(browser, tmp_path):
    """An undo the database could not take yet (locked by another program) is still queued
    when the page is reloaded: the new page sends it, and once the lock is gone the decision
    it undoes is undone (once)."""
    import sqlite3

    from augment_core.review.store import Store

    data = tmp_path / "data"
    h, keys = big_review_data(data, n_originals=10, per_original=2)
    proc, url = start_server(data, tmp_path / "cache", {"AUGMENT_REVIEW_WRITE_WAIT": "0.5"})
    outside = sqlite3.connect(data / "augment-review.sqlite3", isolation_level=None)
    try:
        page = review_tab(browser, url, h)
        page.locator(ACCEPT).nth(0).click()
        wait_saved(page)
        page.locator(ACCEPT).nth(1).click()
        wait_saved(page)
        assert Store(data).decisions(h) == {keys[0]: "accepted", keys[1]: "accepted"}
        outside.execute("BEGIN IMMEDIATE")
        page.wait_for_function("window.__augmentReviewKeys === true")
        page.evaluate("document.activeElement && document.activeElement.blur()")
        page.keyboard.press("u")
        expect(page.locator(".rv-sync")).to_have_attribute("data-unsaved", "1", timeout=30_000)  # answered busy
        page.reload()
        wait_idle(page)
        expect(page.locator(".rv-sync")).to_contain_text("not yet saved")  # still queued after the reload
        assert Store(data).decisions(h) == {keys[0]: "accepted", keys[1]: "accepted"}
        outside.execute("ROLLBACK")
        wait_saved(page)
        assert Store(data).decisions(h) == {keys[0]: "accepted"}
        expect(metric_value(page, "Reviewed")).to_have_text("1")
        page.close()
    finally:
        outside.close()
        stop_server(proc)
