"""Bounded uploads: rows and decoded bytes checked from a Parquet footer before any data
page is read and while CSV/JSONL stream; JSON nested too deep is one line, in the readers
and the CLI."""

from __future__ import annotations

import io
import json
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import ROOT, SIMPLE, cli

from augment_core.data.dataset import TableStream, read_table, scan
from augment_core.data.dataset_settings import build_from_settings, default_settings
from augment_core.data.limits import (
    BYTES_ENV,
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_ROWS,
    MAX_JSON_DEPTH,
    ROWS_ENV,
    Limits,
    server_limits,
)
from augment_core.errors import InputError

SERVER = Limits(DEFAULT_MAX_ROWS, DEFAULT_MAX_BYTES)


def one_text_parquet(n_rows: int, text: str, **write: object) -> bytes:
    """``n_rows`` rows whose text is one value, stored once in the column's dictionary. Written
    from dictionary arrays (the one text, and a row's index into it) without Arrow's schema: the
    file is the one plain strings make, less the gigabytes and seconds of writing them out first."""
    idx = pa.array([0] * n_rows, pa.int32())
    table = pa.table({"text": pa.DictionaryArray.from_arrays(idx, [text]),
                      "tags": pa.DictionaryArray.from_arrays(idx, ["cv"])})
    buf = io.BytesIO()
    pq.write_table(table, buf, store_schema=False, **write)
    return buf.getvalue()


@pytest.fixture
def no_data_pages(monkeypatch):
    """Any read of a Parquet file's data pages fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("a data page was read")

    for method in ("read_row_group", "read_row_groups", "iter_batches", "read"):
        monkeypatch.setattr(pq.ParquetFile, method, refuse)
    monkeypatch.setattr(pq, "read_table", refuse)


def test_parquet_of_millions_of_rows_is_refused_from_its_footer(no_data_pages):
    data = one_text_parquet(3_000_000, "a project about convolutional networks " * 18)
    assert len(data) < 3_000_000  # a tiny file ...
    with pytest.raises(InputError) as err:
        TableStream(data, "big.parquet", limits=SERVER)
    assert str(err.value) == (f"big.parquet has more than {DEFAULT_MAX_ROWS:,} rows, the most this server accepts "
                              f"({ROWS_ENV} or [augment_review] max_upload_rows); nothing was stored")


def test_parquet_of_one_repeated_text_is_refused_by_its_decoded_size_from_its_footer(no_data_pages):
    data = one_text_parquet(1_200_000, "x" * 1000)  # 1.2 GB decoded, rows under the limit
    with pytest.raises(InputError, match=r"decodes to more than 1 GiB.*\(AUGMENT_REVIEW_MAX_BYTES"):
        TableStream(data, "big.parquet", limits=SERVER)


def test_parquet_without_statistics_is_refused_before_its_text_is_decoded():
    """No statistics in the footer: the row group is read as dictionaries (indices and one
    copy of each text) and refused before a single row becomes Python strings."""
    data = one_text_parquet(60_000, "y" * 20_000, write_statistics=False)  # 1.2 GB decoded
    pool = pa.default_memory_pool()
    before = pool.bytes_allocated()
    with pytest.raises(InputError, match="decodes to more than 1 GiB"):
        list(TableStream(data, "big.parquet", limits=SERVER).tuples())
    assert pool.bytes_allocated() - before < 50_000_000


def test_parquet_within_the_limits_reads_as_before():
    data = one_text_parquet(500, "a small text")
    stream = TableStream(data, "ok.parquet", limits=Limits(500, 20_000))
    rows = list(stream.tuples())
    assert stream.columns == ["text", "tags"] and rows == [("a small text", "cv")] * 500
    assert read_table(data, "ok.parquet").rows[0] == {"text": "a small text", "tags": "cv"}
    with pytest.raises(InputError, match="more than 499 rows"):
        scan(data, "ok.parquet", Limits(max_rows=499))


def csv_with_bad_row_after(n_good: int) -> bytes:
    good = "".join(f"text {i},cv\n" for i in range(n_good))
    return ("text,tags\n" + good + "a row,with,too many fields\n").encode()


@pytest.mark.parametrize("reader", [lambda d, n, lim: scan(d, n, lim), lambda d, n, lim: read_table(d, n, lim)])
def test_csv_stops_reading_at_the_first_row_over_the_limit(reader):
    data = csv_with_bad_row_after(6)
    with pytest.raises(InputError, match="not valid CSV|has 3 fields"):
        reader(data, "f.csv", Limits())
    with pytest.raises(InputError, match="more than 5 rows"):  # the malformed row 7 is never read
        reader(data, "f.csv", Limits(max_rows=5))


def test_jsonl_stops_reading_at_the_first_row_over_the_limit():
    data = ("".join(json.dumps({"text": f"t {i}", "tags": "cv"}) + "\n" for i in range(6)) + "{not json\n").encode()
    with pytest.raises(InputError, match="line 7 is not valid JSON"):
        scan(data, "f.jsonl")
    with pytest.raises(InputError, match="more than 5 rows"):
        scan(data, "f.jsonl", Limits(max_rows=5))


@pytest.mark.parametrize("name", ["f.csv", "f.jsonl", "f.json"])
def test_text_files_over_the_byte_limit_are_refused_before_parsing(name):
    data = b'[{"text": "a", "tags": "cv"}]' if name.endswith(".json") else b"text,tags\nsome text,cv\n"
    with pytest.raises(InputError, match="decodes to more than 10 bytes"):
        scan(data, name, Limits(max_bytes=10))


def test_settings_environment_over_secrets_over_defaults():
    assert server_limits({}, {}) == Limits(DEFAULT_MAX_ROWS, DEFAULT_MAX_BYTES)
    assert server_limits({"max_upload_rows": 10, "max_upload_bytes": 99}, {}) == Limits(10, 99)
    assert server_limits({"max_upload_rows": 10}, {ROWS_ENV: "7", BYTES_ENV: "5"}) == Limits(7, 5)
    with pytest.raises(InputError, match=r"\[augment_review\] max_upload_rows must be a whole number"):
        server_limits({"max_upload_rows": "lots"}, {})
    with pytest.raises(InputError, match=f"{BYTES_ENV} must be a whole number of at least 1"):
        server_limits({}, {BYTES_ENV: "0"})


DEEP = 100_000


def deep_inputs() -> dict[str, bytes]:
    nest = "[" * DEEP + "]" * DEEP
    return {
        "deep.json": nest.encode(),
        "deep.jsonl": ('{"text": "a b", "tags": ' + nest + "}\n").encode(),
        "cell.jsonl": ('{"text": "a b", "tags": ' + "[" * 900 + "]" * 900 + "}\n").encode(),  # parses, too deep to use
        "cell.csv": ('text,tags\n"a b","' + nest + '"\n').encode(),
    }


@pytest.mark.parametrize("name", list(deep_inputs()))
def test_json_nested_too_deep_is_one_line_in_the_reader(name):
    data = deep_inputs()[name]
    with pytest.raises(InputError, match=f"nested more than {MAX_JSON_DEPTH} levels deep"):
        if name.endswith(".csv"):  # a CSV cell is text until the mapping reads it as a label list
            stream = TableStream(data, name)
            build_from_settings(stream, default_settings(stream))
        else:
            scan(data, name)


@pytest.mark.parametrize("runner", ["local", "stream"])
@pytest.mark.parametrize("name", list(deep_inputs()))
def test_json_nested_too_deep_is_one_line_in_the_cli(tmp_path, name, runner):
    path = tmp_path / name
    path.write_bytes(deep_inputs()[name])
    out = tmp_path / "out.jsonl"
    r = cli(str(path), *SIMPLE, "--runner", runner, "--output", str(out))
    assert r.returncode == 2, r.stderr[-500:]
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("error: ") and "nested more than" in r.stderr
    assert not out.exists()


# --- the parse runs in a worker process ----------------------------------------------------


def test_an_upload_is_parsed_in_another_process():
    import os

    from augment_core.data.parse_worker import parse

    data = (ROOT / "data" / "projects.csv").read_bytes()
    parsed = parse(data, "projects.csv", SERVER, guess=True)
    assert parsed.pid != os.getpid()
    assert len(parsed.dataset.records) == parsed.preview.n_rows == 2032
    assert parsed.dataset.records == build_from_settings(read_table(data, "projects.csv"), parsed.settings).records
    with pytest.raises(InputError, match="more than 100 rows"):
        parse(data, "projects.csv", Limits(max_rows=100), guess=True)


def test_an_uploads_overview_is_computed_in_the_worker_and_its_rows_stay_there():
    """The Data page shows counts and fitted keywords: they come back from the worker, the
    records do not (a million of them cost the server seconds of its interpreter and a GB)."""
    from app_support.dataset_overview import overview, overview_of
    from augment_core.data.parse_worker import parse

    data = (ROOT / "data" / "projects.csv").read_bytes()
    parsed = parse(data, "projects.csv", SERVER, guess=True, derive=overview_of(None))
    assert parsed.dataset is None
    here = overview(build_from_settings(read_table(data, "projects.csv"), parsed.settings), None)
    got = parsed.derived
    assert got.rows_per_split == here.rows_per_split and sum(got.rows_per_split.values()) == 2032
    assert got.tag_counts == here.tag_counts and got.tag_table == here.tag_table
    assert got.without_swappable == here.without_swappable and got.n_empty_text == here.n_empty_text
    assert got.keywords.by_key == here.keywords.by_key
    tags = json.dumps([{"tag": "computer-vision", "aliases": ["cv"]}]).encode()
    under_tags = parse(data, "projects.csv", SERVER, guess=True, derive=overview_of(tags)).derived
    assert set(under_tags.keywords.by_key) != set(got.keywords.by_key)


def test_a_page_needing_the_rows_gets_them_and_the_overview_from_one_parse(tmp_path, monkeypatch):
    """The Augment and Evaluate pages need a dataset's records and its overview (counts,
    fitted keywords): a server that has neither cached (a restart, a link) parses the file
    once for both, not once for each (a million rows take half a minute a parse)."""
    from app_support import loaders
    from app_support.dataset_overview import overview
    from augment_core.data import parse_worker
    from augment_core.data.dataset import content_hash
    from augment_core.review.store import Store

    data = (ROOT / "data" / "projects.csv").read_bytes()
    settings = parse_worker.parse(data, "projects.csv", SERVER, guess=True).settings
    store = Store(tmp_path / "data")
    h = content_hash(data)
    store.add_dataset(h, "projects.csv", data, settings)
    parses = []
    real = parse_worker.parse
    monkeypatch.setattr(parse_worker, "parse", lambda *a, **k: parses.append(k) or real(*a, **k))

    dataset = loaders.load_dataset_as(store, h, settings)
    got = loaders.load_overview(store, h)
    assert len(parses) == 1
    here = overview(dataset, None)
    assert got.rows_per_split == here.rows_per_split and got.tag_table == here.tag_table
    assert got.keywords.by_key == here.keywords.by_key and got.without_swappable == here.without_swappable
    loaders.load_dataset_as(store, h, settings)  # both cached now: no parse at all
    assert len(parses) == 1


def test_the_data_page_shows_an_upload_without_holding_its_rows(tmp_path, monkeypatch):
    import gc

    from streamlit.testing.v1 import AppTest

    from augment_core.data.dataset import Record

    monkeypatch.setenv("AUGMENT_REVIEW_DATA_DIR", str(tmp_path / "data"))
    gc.collect()
    held_before = {id(o) for o in gc.get_objects() if type(o) is Record}  # by earlier tests in this process
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.file_uploader(key="data_upload").upload("projects.csv", (ROOT / "data" / "projects.csv").read_bytes(), "text/csv")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Tags per split" in [h.value for h in at.subheader]
    assert any(c.value.startswith("train") and "1,422 rows" in c.value for c in at.caption), [c.value for c in at.caption]
    gc.collect()
    held = [o for o in gc.get_objects() if type(o) is Record and id(o) not in held_before]
    assert not held  # counted in the worker, not held here


def held_parse(data: bytes):
    """A parse whose input is held half sent until ``release`` is set: the parse is in
    progress (its worker started) for as long as the test wants."""
    import threading

    from augment_core.data.parse_worker import parse

    sending, release, out = threading.Event(), threading.Event(), {}

    def pieces():
        yield data[: len(data) // 2]
        sending.set()
        release.wait()
        yield data[len(data) // 2:]

    def run():
        try:
            out["parsed"] = parse(pieces(), "projects.csv", SERVER, guess=True)
        except InputError as exc:
            out["error"] = str(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert sending.wait(60)
    return thread, release, out


def test_another_sessions_save_completes_while_a_parse_is_in_progress(tmp_path):
    from helpers import review_data

    from augment_core.review.store import Store

    h, keys = review_data(tmp_path)
    store = Store(tmp_path)
    thread, release, out = held_parse((ROOT / "data" / "projects.csv").read_bytes())
    try:
        for key in keys:  # another reviewer's decisions, saved while the upload is being parsed
            assert store.decide(h, key, "accepted", reviewer="bob@example.org").changed == {key: "accepted"}
        assert thread.is_alive() and not out
    finally:
        release.set()
    thread.join(120)
    assert out["parsed"].preview.n_rows == 2032
    assert set(store.decisions_by_reviewer(h)["bob@example.org"]) == set(keys)


def test_the_worker_parses_at_a_lower_cpu_priority_than_the_server():
    """On a server with few cores the parse takes a whole one: reviewers' saves come first."""
    import os

    import psutil

    from augment_core.data.parse_worker import WORKER_NICENESS

    thread, release, out = held_parse((ROOT / "data" / "projects.csv").read_bytes())
    try:
        [worker] = [c for c in psutil.Process().children() if "augment_core.data.parse_worker" in " ".join(c.cmdline())]
        deadline = time.monotonic() + 60
        while worker.nice() == os.nice(0) and time.monotonic() < deadline:  # set as the worker starts
            time.sleep(0.05)
        assert worker.nice() == min(19, os.nice(0) + WORKER_NICENESS)
    finally:
        release.set()
    thread.join(120)
    assert out["parsed"].preview.n_rows == 2032


def test_a_worker_that_dies_is_one_line_and_the_server_goes_on():
    import psutil

    thread, release, out = held_parse((ROOT / "data" / "projects.csv").read_bytes())
    [worker] = [c for c in psutil.Process().children() if "augment_core.data.parse_worker" in " ".join(c.cmdline())]
    worker.kill()  # as the kernel ends a worker that ran out of memory
    release.set()
    thread.join(120)
    assert out == {"error": "projects.csv could not be read: parsing it took more memory than this server gives a "
                            "parse (lower the file's size or rows); nothing was stored"}


# --- the app: over the limit is one line, nothing stored ---------------------------------


def test_app_upload_over_the_limit_is_one_line_and_stores_nothing(tmp_path, monkeypatch):
    import gc

    from streamlit.runtime.uploaded_file_manager import UploadedFile
    from streamlit.testing.v1 import AppTest

    from augment_core.review.store import Store

    monkeypatch.setenv("AUGMENT_REVIEW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv(ROWS_ENV, "1000000")
    data = one_text_parquet(1_500_000, "the same text " * 10)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.file_uploader(key="data_upload").upload("tiny.parquet", data, "application/octet-stream")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == [
        "Cannot read this file: ` tiny.parquet has more than 1,000,000 rows, the most this server accepts "
        "(AUGMENT_REVIEW_MAX_ROWS or [augment_review] max_upload_rows); nothing was stored `"]
    assert Store(tmp_path / "data").recent_datasets() == []
    at.run()
    assert not at.exception and at.file_uploader(key="data_upload").value is None
    gc.collect()
    assert not [o for o in gc.get_objects() if type(o) is UploadedFile]  # the upload's bytes are not held


def test_dataset_cache_is_bounded_by_bytes_not_entries():
    from app_support.dataset_cache import ByteBudgetCache

    cache = ByteBudgetCache(budget=100)
    made = []

    def maker(key, size):
        def make():
            made.append(key)
            return f"value {key}", size
        return make

    assert cache.get("a", maker("a", 40)) == "value a"
    assert cache.get("b", maker("b", 40)) == "value b"
    cache.get("a", maker("a", 40))  # a used last: b is the least recently used
    cache.get("c", maker("c", 40))
    assert cache.keys() == ["a", "c"] and cache.total == 80
    cache.get("huge", maker("huge", 500))  # alone over the budget: kept (the page asked for it), the rest dropped
    assert cache.keys() == ["huge"]
    assert cache.get("huge", maker("huge", 500)) == "value huge" and made == ["a", "b", "c", "huge"]
    with pytest.raises(InputError):
        cache.get("bad", lambda: (_ for _ in ()).throw(InputError("unreadable")))
    assert cache.keys() == ["huge"]
