import json

import pytest

from augment_core.data.dataset import ColumnMapping, build_dataset, guess_mapping, parse_labels, read_table
from augment_core.errors import InputError

ROWS = [
    {"id": "a", "title": "GANs", "description": "for art", "tags": '["gan", "art"]', "split": "Train"},
    {"id": "b", "title": "NLP", "description": "", "tags": '["nlp"]', "split": "validation"},
    {"id": "c", "title": "CV", "description": "vision", "tags": '["cv"]', "split": "dev"},
    {"id": "d", "title": "", "description": "", "tags": "[]", "split": "TEST"},
]


def write_csv(path, rows, delimiter=",", bom=False):
    import csv
    import io

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), delimiter=delimiter)
    w.writeheader()
    w.writerows(rows)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + buf.getvalue().encode())
    return path


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize("bom", [False, True])
def test_csv_delimiters_and_bom(tmp_path, delimiter, bom):
    table = read_table(write_csv(tmp_path / "d.csv", ROWS, delimiter, bom))
    assert table.columns == ["id", "title", "description", "tags", "split"]
    assert table.rows[0]["tags"] == '["gan", "art"]'


def test_json_jsonl_parquet_read_the_same_rows(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "d.json").write_text(json.dumps(ROWS))
    (tmp_path / "d.jsonl").write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
    pq.write_table(pa.Table.from_pylist(ROWS), tmp_path / "d.parquet")
    for name in ("d.json", "d.jsonl", "d.parquet"):
        table = read_table(tmp_path / name)
        assert table.rows == ROWS, name


def test_bundled_projects_json_list_of_records(sample_csv):
    table = read_table(sample_csv)
    mapping = guess_mapping(table)
    assert mapping.text_columns == ("title", "description")
    assert mapping.label_column == "tags" and mapping.id_column == "id"
    dataset = build_dataset(table, mapping)
    assert len(dataset.records) == 2032
    assert dataset.records[0].labels[:2] == ("code", "tutorial")


def test_mapping_joins_text_normalises_splits_and_reports_empty_rows(tmp_path):
    table = read_table(write_csv(tmp_path / "d.csv", ROWS))
    ds = build_dataset(table, ColumnMapping(("title", "description"), "tags", split_column="split", id_column="id"))
    assert [r.text for r in ds.records] == ["GANs for art", "NLP ", "CV vision", " "]  # exactly title + " " + description
    assert [r.split for r in ds.records] == ["train", "val", "val", "test"]
    assert ds.empty_text_ids == ["d"]
    assert ds.records[0].labels == ("gan", "art")
    assert ds.records[0].raw_label == '["gan", "art"]'


def test_row_number_is_the_id_without_an_id_column(tmp_path):
    table = read_table(write_csv(tmp_path / "d.csv", ROWS))
    ds = build_dataset(table, ColumnMapping(("title",), "tags"))
    assert [r.id for r in ds.records] == ["1", "2", "3", "4"]


@pytest.mark.parametrize(
    "cell,fmt,sep,expected",
    [
        ('["nlp", "transformers"]', "auto", ",", ("nlp", "transformers")),
        ("nlp, transformers", "auto", ",", ("nlp", "transformers")),
        ("nlp|transformers", "auto", "|", ("nlp", "transformers")),
        ("nlp", "auto", ",", ("nlp",)),
        ("a, b", "single", ",", ("a, b",)),
        (["x", "y"], "auto", ",", ("x", "y")),
        (None, "auto", ",", ()),
        ("", "auto", ",", ()),
    ],
)
def test_label_formats(cell, fmt, sep, expected):
    assert parse_labels(cell, fmt, sep) == expected


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("e.csv", b"", "empty"),
        ("e.csv", b"\x00\x01\x02\x03binary\xff", "not a text file"),
        ("e.csv", b"a,b\n\xff\xfe,1\n", "not UTF-8"),
        ("e.csv", b"a,b\n1,2,3\n", "row 1 has 3 fields"),
        ("e.csv", b'a,b\n"unterminated,1\n', "not valid CSV|fields"),
        ("e.csv", b"a,a\n1,2\n", "duplicate column"),
        ("e.csv", b"a,b\n", "no rows"),
        ("e.json", b"{not json", "not valid JSON"),
        ("e.json", b'{"a": 1}', "list of records"),
        ("e.jsonl", b'{"a": 1}\nnope\n', "line 2"),
        ("e.parquet", b"PAR1 not really", "Parquet"),
        ("e.xlsx", b"whatever", "unsupported file type"),
    ],
)
def test_bad_files_raise_one_line_messages(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as info:
        read_table(path)
    assert "\n" not in str(info.value)


def test_missing_file_and_columns(tmp_path, sample_csv):
    with pytest.raises(InputError, match="not found"):
        read_table(tmp_path / "nope.csv")
    table = read_table(sample_csv)
    with pytest.raises(InputError, match="column not found: body"):
        build_dataset(table, ColumnMapping(("body",), "tags"))


def test_bad_split_values_and_duplicate_ids(tmp_path):
    rows = [dict(ROWS[0]), dict(ROWS[1], split="holdout")]
    table = read_table(write_csv(tmp_path / "d.csv", rows))
    with pytest.raises(InputError, match="holdout"):
        build_dataset(table, ColumnMapping(("title",), "tags", split_column="split"))
    table = read_table(write_csv(tmp_path / "e.csv", [ROWS[0], ROWS[0]]))
    with pytest.raises(InputError, match="more than once"):
        build_dataset(table, ColumnMapping(("title",), "tags", id_column="id"))
