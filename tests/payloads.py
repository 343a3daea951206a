"""Payload files for the untrusted-text browser tests: a dataset and a tags file whose every
part carries Markdown and HTML, and the check that nothing on a page was made from them."""

from __future__ import annotations

import csv
import io
import json

from browser_helpers import wait_idle

HOST = "evil.example"
P = (f"[plink](http://{HOST}/l) ![pimg](http://{HOST}/p.png) **pbold** *pem* :red[pred] <b>phtml</b> "
     f"<img src=http://{HOST}/h.png> :material/skull: :skull: www.{HOST}/w http://{HOST}/bare x@{HOST}")
"""Every kind of Markdown / HTML a message could turn into something: each made-thing's text
is a marker word (plink, pimg, pbold, pem, pred, phtml) or an icon no page uses (skull)."""
FILE_NAME = f"[plink](http:{HOST}) **pbold** :red[pred] <b>phtml</b> :skull:.csv"
"""A file name has no slash: the link's address is a scheme-relative one."""
MARKERS = ("plink", "pimg", "pbold", "pem", "pred", "phtml")


def payload_csv() -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", "title", P, "tags"])  # a column named by the payload, beside the guessed ones
    for i in range(30):
        label = ["computer-vision" if i % 2 else "natural-language-processing", f"{P} tag"]
        w.writerow([f"{P} id{i}", f"{P} uses cv and nlp and evilword {i}", P, json.dumps(label)])
    return buf.getvalue().encode()


def payload_tags(good: bool = True) -> bytes:
    tags = [{"tag": "computer-vision", "aliases": ["cv"]}, {"tag": "natural-language-processing", "aliases": ["nlp"]},
            {"tag": f"{P} one", "aliases": ["evilword", "**"]},  # "**" has no letter: a warning naming the tag
            {"tag": f"{P} two", "aliases": ["evilword"]}]  # evilword claimed twice: another warning
    if not good:
        tags.append({"tag": f"{P} bad", "aliases": 5})  # an error quoting the tag
    return json.dumps(tags).encode()


def no_payload_markup(page, where: str) -> None:
    """Nothing on the page was made from a payload's Markdown or HTML."""
    wait_idle(page)
    assert page.locator(f"a[href*='{HOST}']").count() == 0, (where, page.locator(f"a[href*='{HOST}']").evaluate_all("els => els.map(e => e.outerHTML)"))
    assert page.locator(f"img[src*='{HOST}']").count() == 0, where
    for word in MARKERS:
        made = page.locator(f"strong, em, b, i, del, s, a, span[style*='color'], h1, h2, h3, li >> text='{word}'")
        assert made.count() == 0, (where, word)
    assert page.locator("[data-testid='stIconMaterial']:text-is('skull')").count() == 0, where
    assert "\N{SKULL}" not in page.locator("body").inner_text(), where


def blocked_requests(context) -> list[str]:
    """Every request ``context`` (a browser context) makes to the payloads' host from now on,
    refused: the list a test asserts stays empty (a payload's link or image never fetched)."""
    asked: list[str] = []

    def record(route):
        if HOST in route.request.url:
            asked.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    context.route("**/*", record)
    return asked


def upload_file(page, selector: str, name: str, data: bytes, mime: str) -> None:
    page.locator(selector).set_input_files({"name": name, "mimeType": mime, "buffer": data})
    wait_idle(page)
