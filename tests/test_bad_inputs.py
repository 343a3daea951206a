"""Issue 8: what a clumsy or hostile user feeds the CLI, one case per row of the issue.

Refused inputs end with exit status 2, one line on stderr without a traceback, and leave
the folder exactly as it was: no output, no temporary file, every input's bytes unchanged.
Odd but valid inputs are read, and what is written reads back in any strict reader.
(Rows 8 and 9, the tags-file rows, live with the alias table's tests; the app rows 14, 16,
17 and 18 are in ``test_app.py``-style tests at the end of this module.)
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import (
    BASE,
    MAPPING,
    REFUSED,
    ROOT,
    SIMPLE,
    big_csv,
    cli,
    cli_process,
    full_disk,
    make_runs,
    one_line,
    one_line_error,
    sample_input,
    sample_rows,
    simple_csv,
    snapshot,
)

from augment_core.cli.commands import main
from augment_core.data.dataset import content_hash
from augment_core.review.store import Store


@pytest.mark.parametrize("case", list(REFUSED))
def test_refused_with_one_line_and_nothing_changed(tmp_path, case):
    setup, message = REFUSED[case]
    args = setup(tmp_path)
    before = snapshot(tmp_path)
    one_line_error(cli(*args), message)
    assert snapshot(tmp_path) == before  # no output, no temporary file, inputs untouched


# --- odd but valid: read, and written so that it reads back -------------------------------


def test_row4_nan_label_to_jsonl_is_strict_json(tmp_path):
    src = tmp_path / "nan.json"
    src.write_text('[{"id": 1, "text": "a gan paper", "tags": NaN}, {"id": 2, "text": "nlp talk", "tags": ["nlp"]}]')
    out = tmp_path / "o.jsonl"
    result = cli(str(src), *SIMPLE, "--keep-original", "--output", str(out))
    assert result.returncode == 0, result.stderr

    def strict(token: str) -> None:
        raise ValueError(f"not JSON: {token}")

    rows = [json.loads(line, parse_constant=strict) for line in out.read_text(encoding="utf-8").splitlines()]
    nan_rows = [r for r in rows if r["aug_parent_id"] == "1"]  # the input has id and text: provenance is aug_*
    assert nan_rows and all(r["tags"] is None for r in nan_rows)


def test_row5_utf16_csv_with_bom_is_read(tmp_path):
    # what a spreadsheet saves as "Unicode text": UTF-16 LE with BOM, tab-separated
    for encoding, name in (("utf-16", "u16.txt"), ("utf-32", "u32.csv")):
        src = tmp_path / name
        src.write_bytes("id\ttext\ttags\n1\tgan paper \u00e9t\u00e9\tgan\n2\tnlp talk\tnlp\n".encode(encoding))
        out = tmp_path / f"{name}.out.csv"
        result = cli(str(src), *SIMPLE, "--id-column", "id", "--keep-original", "--output", str(out))
        assert result.returncode == 0, result.stderr
        rows = list(csv.DictReader(out.open(encoding="utf-8")))
        assert {r["aug_id"]: r["aug_text"] for r in rows if r["aug_augmenter"] == "original"} == {
            "1": "gan paper \u00e9t\u00e9", "2": "nlp talk"}


def test_row6_huge_cell_is_read_and_reads_back(tmp_path):
    long = "gan " + "x" * 200_000
    csv.field_size_limit(2**31 - 1)  # for this test's own reader
    src = tmp_path / "big.csv"
    src.write_bytes(simple_csv(("1", long, "gan"), ("2", "nlp talk", "nlp")))
    out = tmp_path / "o.csv"
    result = cli(str(src), *SIMPLE, "--keep-original", "--output", str(out))
    assert result.returncode == 0, result.stderr
    texts = [r["aug_text"] for r in csv.DictReader(out.open(encoding="utf-8"))]
    assert long in texts and any(t.startswith("generative adversarial network x") for t in texts)
    # our output is an input again
    again = tmp_path / "again.csv"
    result = cli(str(out), "--text-column", "text", "--label-column", "tags", "--no-quality", "--split-ratios",
                 "1,0,0", "--keep-original", "--output", str(again))
    assert result.returncode == 0, result.stderr
    assert long in [r["text"] for r in csv.DictReader(again.open(encoding="utf-8"))]


def test_row7_mixed_label_lists_to_parquet(tmp_path):
    import pyarrow.parquet as pq

    src = tmp_path / "mixed.json"
    src.write_text(json.dumps([
        {"id": 1, "text": "a gan paper", "tags": ["cv", 3]},
        {"id": 2, "text": "nlp for gan", "tags": [["x"], "y"]},
        {"id": 3, "text": "cv and gan", "tags": ["cv"]},
    ]))
    out = tmp_path / "o.parquet"
    result = cli(str(src), *SIMPLE, "--keep-original", "--output", str(out))
    assert result.returncode == 0, result.stderr
    table = pq.read_table(out)
    tags = dict(zip(table.column("aug_id").to_pylist(), table.column("tags").to_pylist()))
    assert tags["1"] == '["cv", 3]' and tags["2"] == '[["x"], "y"]' and tags["3"] == '["cv"]'


def test_row13_new_output_follows_the_umask(tmp_path):
    src = sample_input(tmp_path)
    out = tmp_path / "o.csv"
    result = cli(str(src), *BASE, "--output", str(out), umask=0o077)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    out2 = tmp_path / "o2.csv"
    assert cli(str(src), *BASE, "--output", str(out2), umask=0o022).returncode == 0
    assert stat.S_IMODE(out2.stat().st_mode) == 0o644
    out2.chmod(0o640)  # replacing a file keeps its mode
    assert cli(str(src), *BASE, "--seed", "9", "--output", str(out2), umask=0o022).returncode == 0
    assert stat.S_IMODE(out2.stat().st_mode) == 0o640


def test_row15_csv_formula_guard(tmp_path):
    cells = ["=HYPERLINK(\"http://x\")", "+1", "-2 gan", "@SUM(A1)", "\tgan", "\rgan", "plain gan", "'quoted"]
    src = tmp_path / "f.csv"
    tags = ["gan"] * 4 + ["\tgan", "\rnlp"] + ["gan"] * 2  # the label column is written as spelled
    src.write_bytes(simple_csv(*[(str(i), c, t) for i, (c, t) in enumerate(zip(cells, tags), 1)]))
    raw, guarded = tmp_path / "raw.csv", tmp_path / "guarded.csv"
    assert cli(str(src), *SIMPLE, "--keep-original", "--n-per-original", "0", "--output", str(raw)).returncode == 0
    result = cli(str(src), *SIMPLE, "--keep-original", "--n-per-original", "0", "--csv-formula-guard",
                 "--output", str(guarded))
    assert result.returncode == 0, result.stderr
    raw_rows = list(csv.DictReader(raw.open(encoding="utf-8", newline="")))
    rows = list(csv.DictReader(guarded.open(encoding="utf-8", newline="")))
    assert [r["aug_original_text"] for r in raw_rows] == cells  # text exactly as read
    assert [r["text"] for r in raw_rows] == cells  # and the user's own column too
    for r in rows:
        for cell in r.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    guarded_texts = [r["aug_text"] for r in rows]
    assert guarded_texts[:4] == ["'" + c for c in cells[:4]] and guarded_texts[6:] == ["plain gan", "'quoted"]
    assert [r["tags"] for r in rows][4:6] == ["'\tgan", "'\rnlp"]
    # text, aug_text and aug_original_text of rows 1-6, tags of rows 5-6
    assert "prefixed 20 cells" in result.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_row10_signal_leaves_no_temp_file_and_the_output_as_it_was(tmp_path, sig):
    src = big_csv(tmp_path)
    out = tmp_path / "out.csv"
    out.write_bytes(b"the previous output\n")
    before = snapshot(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "augment_core", "augment", str(src), *BASE, "--output", str(out)],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as from a terminal
    )
    try:
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob(".out.csv.*.tmp")):  # the run has started writing
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "no temporary output within 60 s"
            time.sleep(0.002)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + sig, err
    assert err.count("\n") == 1 and "Traceback" not in err and "no output written" in err, err
    assert snapshot(tmp_path) == before


def test_an_interrupt_wrapped_by_python_on_its_way_out_is_still_one_line(tmp_path, monkeypatch, capsys):
    """A Ctrl-C that lands while a class body is being set up (a lazy import) reaches the CLI
    as a RuntimeError raised from the KeyboardInterrupt; seen in the test above once in about
    thirty runs, as a traceback. It ends as any interrupt does."""
    from augment_core.cli import commands as cli

    def command(args):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            raise RuntimeError("Error calling __set_name__ on 'Field' instance 'augmenters' in 'RunOutput'") from exc

    monkeypatch.setattr(cli, "_command", command)
    out = tmp_path / "out.csv"
    assert cli.main(["augment", "in.csv", *BASE, "--output", str(out)]) == 130
    err = capsys.readouterr().err
    assert err == f"interrupted: no output written, {out} left as it was\n"
    monkeypatch.setattr(cli, "_command", lambda args: 1 / 0)  # anything else is a bug: its traceback stays
    with pytest.raises(ZeroDivisionError):
        cli.main(["augment", "in.csv", *BASE, "--output", str(out)])


# --- the app -------------------------------------------------------------------------------

ISO_UTC = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"


@pytest.fixture
def app_data(tmp_path, monkeypatch):
    monkeypatch.setenv("AUGMENT_REVIEW_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def _app_upload(name: str, data: bytes):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.file_uploader(key="data_upload").upload(name, data, "text/csv")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_app_row14_one_column_csv_is_not_mapped_text_as_label(app_data):
    at = _app_upload("one.csv", b"text\ngan paper\nnlp talk\n")
    infos = [i.value for i in at.info]
    assert any("does not fit" in v for v in infos), infos
    assert any("one column" in w.value for w in at.warning)
    assert "Tags per split" not in [s.value for s in at.subheader]  # no texts charted as tags
    [b for b in at.button if b.label == "Save mapping"][0].click().run()  # text = label = the one column
    assert not at.exception
    assert any("is also a text column" in e.value for e in at.error), [e.value for e in at.error]
    from augment_core.data.dataset import content_hash
    from augment_core.review.store import Store

    assert Store(app_data).dataset(content_hash(b"text\ngan paper\nnlp talk\n")).settings is None


def test_app_row16_error_boxes_copy_paste_clean(app_data):
    at = _app_upload("a:smile: b:red[x]*.csv", b"   ")
    errors = [e.value for e in at.error]
    assert errors and all("\u200b" not in e for e in errors), errors
    # the file name as typed, inside inline code (no emoji, colour or emphasis read in it)
    assert any("` a:smile: b:red[x]*.csv is empty `" in e for e in errors), errors


def test_app_rows_7_15_17_export_guard_mixed_labels_iso_times(app_data):
    records = [
        {"id": str(i), "text": text, "tags": tags, "split": "train"}
        for i, (text, tags) in enumerate([
            ("=HYPERLINK(\"http://x\") gan paper", ["gan", 3]),
            ("@cmd gan for nlp", [["x"], "nlp"]),
            ("plain gan paper", ["gan"]),
            ("-1 cv for gan", ["cv"]),
        ], 1)
    ]
    data = json.dumps(records).encode()
    at = _app_upload("mixed.json", data)
    at.switch_page("pages/augment.py").run()
    at.button(key="augment_run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    at.switch_page("pages/review.py").run()
    at.button(key="review_bulk_accept").click().run()
    assert not at.exception
    at.switch_page("pages/export.py").run()
    assert not at.exception, [e.value for e in at.exception]

    def manifest() -> dict:
        return json.loads(at.get("json")[0].proto.body)

    # CSV: guarded by default, the count shown, the choice in the manifest
    assert at.checkbox(key="export_csv_guard").value is True
    caption = next(c.value for c in at.caption if "Formula guard on" in c.value)
    n = int(caption.split(": ", 1)[1].split(" ")[0])
    assert n >= 4  # text and original_text of the = and @ and - originals at least
    m = manifest()
    assert m["export"]["csv_formula_guard"] == {"enabled": True, "cells_prefixed": n}
    # every time in the manifest is ISO 8601 UTC
    import re

    times = [m["created_at"], *(r["created_at"] for r in m["runs"])]
    assert m["runs"] and all(isinstance(t, str) and re.match(ISO_UTC, t) for t in times), times
    at.checkbox(key="export_csv_guard").uncheck().run()
    assert any("Formula guard off" in c.value for c in at.caption)
    assert manifest()["export"]["csv_formula_guard"] == {"enabled": False, "cells_prefixed": 0}
    # Parquet with label lists of mixed types: no traceback, the guard not offered
    at.radio(key="export_format").set_value("parquet").run()
    assert not at.exception, [e.value for e in at.exception]
    assert manifest()["export"]["csv_formula_guard"] is None
    assert not [c for c in at.checkbox if c.key == "export_csv_guard"]


def test_row7_15_export_bytes():
    """The bytes the Export page offers: mixed label lists in Parquet, the guard in CSV."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from augment_core.data.io import encode_rows

    rows = [{"id": "1", "text": "=1+1", "tags": ["cv", 3]}, {"id": "2", "text": "ok", "tags": [["x"], "y"]}]
    data, n = encode_rows(rows, "parquet")
    assert n == 0 and pq.read_table(pa.BufferReader(data)).column("tags").to_pylist() == ['["cv", 3]', '[["x"], "y"]']
    data, n = encode_rows(rows, "csv", formula_guard=True)
    assert n == 1 and data.decode().splitlines()[1].startswith("1,'=1+1,")
    assert encode_rows(rows, "csv")[0].decode().splitlines()[1].startswith("1,=1+1,")


def _repeated_sample(copies: int) -> bytes:
    rows = list(csv.reader(io.StringIO(sample_rows(2032).decode())))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(rows[0])
    for k in range(copies):
        w.writerows([f"{k}-{r[0]}", *r[1:]] for r in rows[1:])
    return buf.getvalue().encode()


def test_row18_rows_stream_into_records_without_a_table():
    """Building a dataset from an upload's bytes never holds the parsed table beside the
    records: the peak stays near what the records keep (holding the table: about 2.3x)."""
    import tracemalloc

    from augment_core.data.dataset import TableStream
    from augment_core.data.dataset_settings import build_from_settings, default_settings

    data = _repeated_sample(10)
    tracemalloc.start()
    try:
        stream = TableStream(data, "big.csv")
        dataset = build_from_settings(stream, default_settings(stream))
        shown = stream.preview()
        del stream
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(dataset.records) == shown.n_rows == 20_320 and len(shown.rows) == 200
    assert peak < 1.9 * held, (peak, held)


def test_app_row18_upload_is_parsed_once_and_released(app_data):
    import gc

    from streamlit.runtime.uploaded_file_manager import UploadedFile

    from augment_core.data.dataset import Table, TupleRows

    data = _repeated_sample(10)
    at = _app_upload("big.csv", data)
    assert [s.value for s in at.success] == ["Stored a new dataset."]
    assert any(c.value.startswith("20,320 rows") for c in at.caption), [c.value for c in at.caption]
    assert "Tags per split" in [s.value for s in at.subheader]
    at.run()  # a later run: the uploader is empty, nothing is parsed or stored again
    assert not at.exception and at.file_uploader(key="data_upload").value is None
    gc.collect()
    kinds = (UploadedFile, Table, TupleRows)
    alive = [type(o).__name__ for o in gc.get_objects() if type(o) in kinds]  # type(): no attribute lookups on odd objects
    assert alive == []  # neither the upload's bytes nor a parsed table is held


@pytest.mark.parametrize("text, shown", [
    ("a:smile: b", "` a:smile: b `"),
    ("x `y` z", "`` x `y` z ``"),
    ("``", "``` `` ```"),
    ("two\nlines", "` two lines `"),
])
def test_row16_messages_as_inline_code(text, shown):
    from app_support.markup import markdown_code

    assert markdown_code(text) == shown and "\u200b" not in markdown_code(text)


def test_row17_manifest_times_are_iso_8601():
    import datetime as dt

    from augment_core.review.export import iso8601

    assert iso8601(0) == "1970-01-01T00:00:00Z" and iso8601(1795567927.25) == "2026-11-25T00:52:07Z"
    assert iso8601(dt.datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05Z"
    assert iso8601("2026-01-02T03:04:05Z") == "2026-01-02T03:04:05Z"


# --- issue 21, item 6: run files, cells and full disks are one line too --------------------


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    return make_runs(tmp_path_factory.mktemp("runs"))


def _ray_copy(made, folder, change) -> Path:
    """The made Ray run in ``folder``, its manifest changed by ``change`` (a dict, or the
    manifest's new text)."""
    shutil.copytree(made["ray"], folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    text = change if isinstance(change, str) else json.dumps({**manifest, **change})
    (folder / "manifest.json").write_text(text)
    return folder


DEEP = 100_000


@pytest.mark.parametrize("change, message", [
    ({"seed": "abc"}, "\"seed\" must be a whole number, not a string"),
    ({"seed": -3}, "the seed must be a whole number, 0 or more"),
    ({"mapping": {**MAPPING, "label_column": ["tags"]}}, "label_column must be a column name"),
    ({"mapping": {**MAPPING, "text_columns": [["title"]]}}, "text_columns must be a non-empty list of column names"),
    ({"split_ratios": {"train": 1}}, "\"split_ratios\" must be a list, not an object"),
    ({"augmenters": [["alias_swap"]]}, "\"augmenters\" must be a list of augmenter names"),
    ('{"files": ["part-00000.parquet"], "seed": ' + "[" * DEEP + "]" * DEEP + "}", "nested more than 100 levels"),
    ({"extra": json.loads("[" * 500 + "]" * 500)}, "nested more than 100 levels"),  # parses; stored, read again
], ids=["seed abc", "seed -3", "a list for the label column", "a list for a text column", "ratios an object",
        "augmenters nested", "nested 100,000 deep", "nested 500 deep"])
def test_a_bad_run_manifest_is_one_line_and_nothing_is_stored(tmp_path, made, change, message):
    run = _ray_copy(made, tmp_path / "run", change)
    before = snapshot(tmp_path)
    one_line_error(cli(str(run), "--dataset", str(made["csv"]), "--data-dir", str(tmp_path / "db"), command="import-run"),
                   message)
    assert snapshot(tmp_path) == before  # not even the review store was made


def _cells(made, path: Path, column: str, value, every: bool = False) -> Path:
    """The made streamed run with one variant's ``column`` cell (``every``: each variant's)
    replaced by ``value(cell)``."""
    table = pq.read_table(made["stream"])
    rows = table.to_pylist()
    variants = [r for r in rows if r["aug_augmenter"] != "original" and r["aug_changes"] != "[]"]
    for row in variants if every else variants[:1]:
        row[column] = value(row[column])
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), path)
    return path


def _int_before(cell: str) -> str:
    spans = json.loads(cell)
    spans[0]["before"] = 5
    return json.dumps(spans)


@pytest.fixture
def stored(tmp_path, made):
    """A review store holding the made dataset (through its Ray run) and that run."""
    db = tmp_path / "db"
    result = cli(str(made["ray"]), "--dataset", str(made["csv"]), "--data-dir", str(db), command="import-run")
    assert result.returncode == 0, result.stderr
    return db


@pytest.mark.parametrize("value", [_int_before, lambda cell: "[" * DEEP + "]" * DEEP],
                         ids=["a change span with an int before", "changes nested 100,000 deep"])
def test_a_bad_change_span_is_one_line_and_nothing_is_stored(tmp_path, made, stored, value):
    run = _cells(made, tmp_path / "run.parquet", "aug_changes", value)
    one_line_error(cli(str(run), "--dataset", str(made["csv"]), "--data-dir", str(stored), command="import-run"),
                   "has a changes cell that is not a list of change spans")
    assert [r.id for r in Store(stored).runs(content_hash(made["csv"].read_bytes()))] == [1]


@pytest.mark.parametrize("depth", [DEEP, 500], ids=["100,000 deep", "500 deep"])
def test_a_params_cell_nested_deep_only_describes_the_run_and_is_read_as_none(tmp_path, made, stored, depth):
    deep = '{"augmenter": "alias_swap", "x": ' + "[" * depth + "]" * depth + "}"
    run = _cells(made, tmp_path / "run.parquet", "aug_params", lambda cell: deep, every=True)
    result = cli(str(run), "--dataset", str(made["csv"]), "--data-dir", str(stored), command="import-run")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    runs = Store(stored).runs(content_hash(made["csv"].read_bytes()))
    assert [r.id for r in runs] == [1, 2] and runs[1].params["variants"] > 0
    assert runs[1].params["augmenters"] == [{"name": "alias_swap"}]  # nothing of the deep cell stored with the run


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_a_full_disk_while_streaming_is_one_line_and_leaves_nothing(tmp_path, made, fmt):
    out = tmp_path / "out"
    out.mkdir()
    before = snapshot(out)
    one_line_error(cli_process(str(made["csv"]), *BASE, "--runner", "stream", "--output", str(out / f"o.{fmt}"),
                               file_size_limit=20_000), "cannot write")
    assert snapshot(out) == before  # no output, no temporary file


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_a_full_disk_while_export_run_writes_is_one_line_and_leaves_nothing(tmp_path, made, monkeypatch, capsys, fmt):
    monkeypatch.setenv("AUGMENT_REVIEW_DATA_DIR", str(tmp_path / "db"))
    assert main(["import-run", str(made["ray"]), "--dataset", str(made["csv"]), "--store", "sample"]) == 0
    out = tmp_path / "out"
    out.mkdir()
    capsys.readouterr()
    full_disk(monkeypatch, room=4096)
    assert main(["export-run", "1", "--dataset", str(made["csv"]), "--output", str(out / f"o.{fmt}")]) == 2
    err = capsys.readouterr().err
    one_line(err, f"cannot write {out / f'o.{fmt}'}: No space left on device")
    assert list(out.iterdir()) == []
