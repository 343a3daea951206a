"""Bounded uploads: rows and decoded bytes checked from a Parquet footer before any data
page is read and while CSV/JSONL stream; JSON nested too deep is one line, in the readers
and the CLI."""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import SIMPLE, cli

from augment_core.dataset import TableStream, read_table, scan
from augment_core.dataset_settings import build_from_settings, default_settings
from augment_core.errors import InputError
from augment_core.limits import (
    BYTES_ENV,
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_ROWS,
    MAX_JSON_DEPTH,
    ROWS_ENV,
    Limits,
    server_limits,
)

SERVER = Limits(DEFAULT_MAX_ROWS, DEFAULT_MAX_BYTES)


def one_text_parquet(n_rows: int, text: str, **write: object) -> bytes:
    """``n_rows`` rows whose text is one value, stored once in the column's dictionary."""
    idx = pa.array([0] * n_rows, pa.int32())
    table = pa.table({"text": pa.array([text]).take(idx), "tags": pa.array(["cv"]).take(idx)})
    buf = io.BytesIO()
    pq.write_table(table, buf, **write)
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
