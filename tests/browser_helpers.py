"""Browser-test helpers shared by the Chromium suites (and the bench scripts): Debian's
Chromium through Playwright, a ``streamlit run app.py`` server on a free loopback port, the
waits on the app's idle state, and the team setup (a local OpenID Connect provider, a server
with a secrets file, sign-in through the provider's form). Fixtures using these live in
``conftest.py``. Every wait is for a condition, never a fixed time, so a busy machine only
makes them slower."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import playwright.sync_api as playwright_sync
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parent.parent
T = 30_000
"""Milliseconds an expectation waits (the machine may be busy)."""

CHROMIUM = os.environ.get("AUGMENT_REVIEW_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage",
]
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"



def launch_chromium(p):
    """Debian's Chromium (``playwright install`` cannot download browsers here); a missing
    one fails the test, never skips it: CI installs it (``.ci/run``)."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"no Chromium at {CHROMIUM}: apt-get install -y chromium, or set AUGMENT_REVIEW_CHROMIUM")
    return p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    data_dir: Path, cache_dir: Path | None = None, extra_env: dict[str, str] | None = None, port: int | None = None
) -> tuple[subprocess.Popen, str]:
    port = port or free_port()
    env = {**os.environ, "AUGMENT_REVIEW_DATA_DIR": str(data_dir), **(extra_env or {})}
    if cache_dir is not None:
        env["AUGMENT_REVIEW_CACHE_DIR"] = str(cache_dir)
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("streamlit exited: " + proc.stderr.read().decode(errors="replace")[-2000:])
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("streamlit did not start in 60 s")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def wait_idle(page) -> None:
    page.wait_for_timeout(150)
    page.wait_for_selector(IDLE, timeout=60_000)
    page.wait_for_timeout(50)
    page.wait_for_selector(IDLE, timeout=60_000)


def review_tab(browser, url: str, dataset: str):
    """A new tab on the Review page of ``dataset`` at the server ``url``, idle (steps wait up
    to 60 s: a fresh server on a busy machine is slow to answer its first runs)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    page.goto(f"{url}/review?dataset={dataset}")
    wait_idle(page)
    return page


def click(page, selector: str) -> None:
    page.locator(selector).first.click()
    wait_idle(page)


def metric(page, label: str) -> str:
    return page.locator("[data-testid='stMetric']").filter(has_text=label).locator("[data-testid='stMetricValue']").inner_text()


ACCEPT = ".rv-row[data-key] .rv-accept"
REJECT = ".rv-row[data-key] .rv-reject"


def wait_saved(page) -> None:
    """Every decision the review component shows is confirmed saved, and the page is idle."""
    sync = page.locator(".rv-sync")
    expect(sync).to_have_attribute("data-saving", "0")
    expect(sync).to_have_attribute("data-unsaved", "0")
    wait_idle(page)


def goto_page(page, name: str) -> None:
    page.locator("[data-testid='stSidebarNav'] a").filter(has_text=name).first.click()
    wait_idle(page)


def choose_first_option(page, label: str) -> None:
    """Pick a multiselect's first option; a rerun that lands while the list is open redraws
    it (the option is detached), so open it again until the pick takes."""
    for attempt in range(4):
        open_dropdown(page, label)
        try:
            page.locator("[role='listbox'] [role='option'][data-key='0']").click(timeout=10_000)
            return
        except playwright_sync.TimeoutError:
            if attempt == 3:
                raise
            wait_idle(page)


def open_dropdown(page, label: str) -> None:
    """Open a multiselect's list of options (a click does not always open it)."""
    box = page.get_by_role("combobox", name=label)
    for attempt in ("click", "ArrowDown", "click", "Space"):
        if attempt == "click":
            box.click()
        else:
            box.press(attempt)
        try:
            page.locator("[role='listbox'] [role='option']").first.wait_for(timeout=2000)
            return
        except playwright_sync.TimeoutError:
            continue
    raise AssertionError(f"the {label!r} options did not open")


def small_csv(path: Path, n: int = 40) -> Path:
    rows = list(csv.reader(io.StringIO((ROOT / "data" / "projects.csv").read_text(encoding="utf-8"))))
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows[: n + 1])
    return path


def augment(page) -> None:
    """Run the Augment page's default run and wait for its result (slow on a busy machine:
    the quality signals load a sentence encoder)."""
    click(page, ".st-key-augment_run button")
    expect(page.get_by_text(re.compile(r"^Run \d+: "))).to_be_visible(timeout=120_000)
    wait_idle(page)


def upload(page, url: str, path: Path) -> None:
    page.goto(url)  # the Data page is the default page, at the root
    wait_idle(page)
    page.locator(".st-key-data_upload input[type='file']").set_input_files(str(path))
    expect(page.get_by_text("Stored a new dataset.")).to_be_visible(timeout=30_000)
    wait_idle(page)


def metric_value(page, label: str):
    return page.locator("[data-testid='stMetric']").filter(has_text=label).locator("[data-testid='stMetricValue']")


def download(page, selector: str, target: Path) -> list[dict]:
    page.bring_to_front()  # a background tab's timers are throttled
    with page.expect_download() as dl:
        page.locator(selector).click()
    dl.value.save_as(target)
    wait_idle(page)
    return list(csv.DictReader(target.open(encoding="utf-8")))


def wait_http(url: str, proc: subprocess.Popen, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited: " + (proc.stderr.read().decode(errors="replace")[-2000:] if proc.stderr else ""))
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not answer in {timeout:.0f} s")


def stop_process(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def team_secrets(path: Path, app: str, provider: str, allowed: list[str], admins: list[str] | None = None,
                 server_dirs: list[str] | None = None) -> Path:
    """A secrets file for a team server: ``[auth]`` pointed at the local provider, and the
    ``[augment_review]`` allow-list, admins and server folders (those given)."""
    section = {"allowed_users": allowed, "admins": admins, "server_dirs": server_dirs}
    path.write_text(
        "[auth]\n"
        f'redirect_uri = "{app}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(32)}"\n'
        'client_id = "augment-review"\n'
        'client_secret = "test-only"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n'
        "[augment_review]\n"
        + "".join(f"{key} = {json.dumps(value)}\n" for key, value in section.items() if value is not None),
        encoding="utf-8",
    )
    return path


def start_app(data_dir: Path, secrets_file: Path, port: int, address: str | None = "127.0.0.1",
              extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    """``streamlit run app.py`` from the project folder (so its ``.streamlit/config.toml``
    applies), with this secrets file; ``address`` None: the project's default. ``extra_env``:
    e.g. ``AUGMENT_REVIEW_DATABASE_URL``, a team database several servers share."""
    args = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
            "--server.port", str(port), "--secrets.files", str(secrets_file), "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none"]
    if address is not None:
        args += ["--server.address", address]
    env = {**os.environ, "AUGMENT_REVIEW_DATA_DIR": str(data_dir), **(extra_env or {})}
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_http(f"http://127.0.0.1:{port}/_stcore/health", proc, "streamlit")
    return proc


def sign_in(browser, app: str, provider: str, email: str, path: str = ""):
    """A new browser (own cookies) signed in as ``email`` through the provider's form."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    page.goto(app + path)
    wait_idle(page)
    expect(page.get_by_role("heading", name="Sign in to augment-review")).to_be_visible(timeout=T)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(provider + "/**")
    page.locator("input[name='sub']").fill(email)  # the provider's e-mail claim is the subject
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(app + "/**")
    wait_idle(page)
    if path:  # the provider sends the user back to the app's home page
        page.goto(app + path)
        wait_idle(page)
    return page


def decide(page, key: str, decision: str) -> None:
    page.locator(f".rv-row[data-key='{key}'] .rv-{'accept' if decision == 'accepted' else 'reject'}").click()
    wait_saved(page)


def choose(page, label: str, option: str) -> None:
    page.get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_idle(page)


def download_bytes(page, selector: str, target: Path) -> bytes:
    page.bring_to_front()
    with page.expect_download() as dl:
        page.locator(selector).click()
    dl.value.save_as(target)
    wait_idle(page)
    return target.read_bytes()
