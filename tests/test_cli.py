import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import cli, cli_process, in_memory

from augment_core.cli.commands import main

BASE = ["--text-column", "title", "--text-column", "description", "--label-column", "tags", "--id-column", "id"]


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory, sample_csv):
    lines = sample_csv.read_text(encoding="utf-8").splitlines(keepends=True)
    rows = list(csv.reader(lines))
    path = tmp_path_factory.mktemp("in") / "small.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows[:201])
    return path


def test_cli_writes_provenance_rows(small_csv, tags_json, tmp_path):
    # the sample has a column named id, so every provenance column is written as aug_<name>
    out = tmp_path / "out.csv"
    result = cli(str(small_csv), *BASE, "--tags", str(tags_json), "--augmenter", "alias_swap",
                 "--n-per-original", "5", "--keep-original", "--seed", "7", "--no-quality", "--output", str(out))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert {r["aug_augmenter"] for r in rows} == {"original", "alias_swap"}
    assert all(r["aug_split"] == "train" for r in rows if r["aug_augmenter"] == "alias_swap")
    assert json.loads(rows[0]["tags"])  # the JSON list survives as the input wrote it
    assert "wrote" in result.stderr


@pytest.mark.parametrize("ext", ["jsonl", "parquet"])
def test_output_format_follows_the_extension(small_csv, tmp_path, ext):
    out = tmp_path / f"out.{ext}"
    assert main(["augment", str(small_csv), *BASE, "--no-quality", "--output", str(out)]) == 0
    if ext == "jsonl":
        first = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
        assert first["aug_augmenter"] in ("original", "alias_swap")
    else:
        import pyarrow.parquet as pq

        assert pq.read_table(out).num_rows > 0


def test_same_seed_same_bytes(small_csv, tmp_path):
    outs = []
    for i, seed in enumerate(["3", "3", "4"]):
        out = tmp_path / f"o{i}.csv"
        assert main(["augment", str(small_csv), *BASE, "--seed", seed, "--no-quality", "--output", str(out)]) == 0
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] and outs[0] != outs[2]


def test_help_documents_every_flag():
    result = cli("--help")
    assert result.returncode == 0
    for flag in ["--text-column", "--label-column", "--label-sep", "--split-column", "--id-column", "--split-ratios",
                 "--tags", "--augmenter", "--n-per-original", "--keep-original", "--max-swaps", "--seed", "--output",
                 "--engine", "--model", "--aug-p", "--top-k", "--device", "--protect", "--batch-size", "--no-quality",
                 "--csv-formula-guard"]:
        assert flag in result.stdout


def _bad(tmp_path, small_csv):
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(bytes(range(256)) * 4)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    notjson = tmp_path / "tags.json"
    notjson.write_text("{oops")
    notlist = tmp_path / "tags2.json"
    notlist.write_text('{"tag": "gan"}')
    xlsx = tmp_path / "data.xlsx"
    xlsx.write_bytes(b"PK\x03\x04")
    return {
        "missing file": ([str(tmp_path / "nope.csv")], "not found"),
        "empty file": ([str(empty)], "empty"),
        "binary garbage": ([str(garbage)], "not a text file"),
        "missing column": ([str(small_csv), "--text-column", "body"], "column not found: body"),
        "tags not json": ([str(small_csv), "--tags", str(notjson)], "not valid JSON"),
        "tags not a list": ([str(small_csv), "--tags", str(notlist)], "JSON list"),
        "unsupported format": ([str(xlsx)], "unsupported file type"),
        "unwritable output": ([str(small_csv), "--output", str(tmp_path / "no" / "such" / "out.csv")], "does not exist"),
        "bad ratios": ([str(small_csv), "--split-ratios", "0.5,0.2"], "split ratios"),
    }


@pytest.mark.parametrize("case", [
    "missing file", "empty file", "binary garbage", "missing column", "tags not json", "tags not a list",
    "unsupported format", "unwritable output", "bad ratios",
])
def test_bad_input_exits_2_with_one_line_and_no_output(tmp_path, small_csv, capsys, case):
    args, message = _bad(tmp_path, small_csv)[case]
    out = tmp_path / "out.csv"
    argv = ["augment", args[0], *BASE, *args[1:], "--no-quality"]
    if "--output" not in argv:
        argv += ["--output", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()
    assert not list(tmp_path.glob(".out.csv*"))


def test_bad_input_in_a_real_process_has_no_traceback(tmp_path):
    args = [str(tmp_path / "missing.csv"), *BASE, "--output", str(tmp_path / "o.csv")]
    result = cli_process(*args)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error:") and "Traceback" not in result.stderr
    assert cli(*args) == result  # the CLI run in the tests' process (helpers.cli) ends as the process does


def test_alias_swap_run_does_not_load_torch(small_csv, tmp_path):
    code = (
        "import sys; from augment_core.cli.commands import main; "
        f"rc = main(['augment', {str(small_csv)!r}, *{BASE!r}, '--no-quality', '--output', {str(tmp_path / 'o.csv')!r}]); "
        "assert rc == 0; heavy = [m for m in ('torch', 'transformers', 'pandas', 'streamlit') if m in sys.modules]; "
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_contextual_and_alias_swap_in_one_run_with_quality(small_csv, tmp_path, tiny_mlm):
    out = tmp_path / "out.jsonl"
    few = tmp_path / "few.csv"  # 60 rows: the sentence encoder is the slow part here
    few.write_text("".join(small_csv.read_text(encoding="utf-8").splitlines(keepends=True)[:61]), encoding="utf-8")
    argv = ["augment", str(few), *BASE, "--augmenter", "alias_swap", "--augmenter", "contextual_substitute",
            "--augmenter", "contextual_insert", "--model", tiny_mlm, "--device", "cpu", "--n-per-original", "2",
            "--protect", "notebooks", "--seed", "1", "--output", str(out)]
    assert main(argv) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    per_parent: dict[tuple[str, str], int] = {}
    for r in rows:
        per_parent[(r["aug_parent_id"], r["aug_augmenter"])] = per_parent.get((r["aug_parent_id"], r["aug_augmenter"]), 0) + 1
        assert {"aug_similarity", "aug_flags", "aug_heldout_similarity", "aug_leak"} <= set(r)
    generated = [r for r in rows if r["aug_augmenter"] != "original"]
    assert {r["aug_augmenter"] for r in generated} == {"alias_swap", "contextual_substitute", "contextual_insert"}
    assert max(n for (_, a), n in per_parent.items() if a != "original") == 2  # each augmenter its own 2
    for r in generated:
        params = json.loads(r["aug_params"])
        assert params["seed"] == 1 and params["n_per_original"] == 2
        if r["aug_augmenter"].startswith("contextual"):
            assert params["model"] == tiny_mlm and params["protect"] == ["notebooks"]
            assert ("notebooks" in r["aug_original_text"]) <= ("notebooks" in r["aug_text"])
        for c in json.loads(r["aug_changes"]):
            assert r["aug_text"][c["start"]:c["end"]] == c["after"]
        assert 0.0 <= r["aug_similarity"] <= 1.0 and isinstance(json.loads(r["aug_flags"]), list)


def test_unloadable_model_is_one_line_and_no_output(small_csv, tmp_path, capsys):
    out = tmp_path / "out.csv"
    argv = ["augment", str(small_csv), *BASE, "--augmenter", "contextual_substitute",
            "--model", str(tmp_path / "no-model"), "--no-quality", "--output", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "--model" in err
    assert not out.exists()


def test_empty_texts_are_reported_not_augmented(tmp_path, capsys):
    data = tmp_path / "d.csv"
    data.write_text('id,title,description,tags\n1,GANs for art,,["gan"]\n2,,,["nlp"]\n', encoding="utf-8")
    out = tmp_path / "o.csv"
    argv = ["augment", str(data), *BASE, "--split-ratios", "1,0,0", "--keep-original", "--no-quality",
            "--output", str(out)]
    assert main(argv) == 0
    assert "warning: 1 rows have empty text and are not augmented (ids: 2)" in capsys.readouterr().err
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["aug_parent_id"] for r in rows if r["aug_augmenter"] != "original"] == ["1"]
    assert {r["aug_id"] for r in rows if r["aug_augmenter"] == "original"} == {"1", "2"}


@pytest.mark.parametrize("quality", [["--no-quality"], []])
def test_keyword_changed_is_flagged_with_quality_on_and_off(small_csv, tags_json, tmp_path, monkeypatch, quality):
    """A plug-in that swaps a tag keyword is flagged keyword_changed; one that only changes
    letter case (shout_title) never is, with quality signals on or off."""
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    few = tmp_path / "few.csv"
    few.write_text("".join(small_csv.read_text(encoding="utf-8").splitlines(keepends=True)[:41]), encoding="utf-8")
    out = tmp_path / "out.csv"
    assert main(["augment", str(few), *BASE, "--tags", str(tags_json), "--augmenter", "snorkel:lesson_tfs:swap_aliases",
                 "--augmenter", "snorkel:lesson_tfs:shout_title", "--n-per-original", "2", "--seed", "3", *quality,
                 "--output", str(out)]) == 0
    rows = [r for r in csv.DictReader(out.open(encoding="utf-8")) if r["aug_augmenter"] != "original"]
    flagged = {r["aug_augmenter"]: 0 for r in rows}
    for r in rows:
        changed = "keyword_changed" in json.loads(r["aug_flags"])
        flagged[r["aug_augmenter"]] += changed
        if changed:  # a flagged variant changed some text beyond letter case
            assert any(c["before"].lower() != c["after"].lower() for c in json.loads(r["aug_changes"]))
    assert flagged["snorkel:shout_title"] == 0
    assert flagged["snorkel:swap_aliases"] > 0


REWRITE = ["--augmenter", "snorkel:lesson_tfs:rewrite_whole", "--keep-original", "--seed", "3"]
JOINER_LINE = "variants dropped because their edit crosses the space joining two text columns"


@pytest.fixture
def forty_rows(small_csv, tmp_path, monkeypatch) -> Path:
    """The first 40 sample rows, and ``tests/`` importable for ``snorkel:lesson_tfs:...``."""
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    few = tmp_path / "few.csv"
    few.write_text("".join(small_csv.read_text(encoding="utf-8").splitlines(keepends=True)[:41]), encoding="utf-8")
    return few


def _train_originals(out: Path) -> int:
    return sum(1 for r in csv.DictReader(out.open(encoding="utf-8"))
               if r["aug_augmenter"] == "original" and r["aug_split"] == "train")


@pytest.mark.parametrize("fmt, quality", [("csv", ["--no-quality"]), ("parquet", ["--no-quality"]), ("csv", [])])
def test_a_whole_text_rewrite_on_two_columns_says_how_many_variants_the_joiner_dropped(forty_rows, tmp_path, fmt,
                                                                                         quality):
    """Issue 23's QA: a plug-in that rewrites the whole text of title + description keeps
    no variant; the run says how many it dropped, why, and what to do (streamed, with and
    without quality signals, CSV and Parquet), and still succeeds."""
    out = tmp_path / f"out.{fmt}"
    ran = cli(str(forty_rows), *BASE, *REWRITE, *quality, "--output", str(out))
    assert ran.returncode == 0, ran.stderr
    if fmt == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(out).to_pylist()
        train = sum(1 for r in table if r["aug_augmenter"] == "original" and r["aug_split"] == "train")
    else:
        train = _train_originals(out)
    assert train > 0
    assert f"warning: {train:,} {JOINER_LINE}" in ran.stderr
    assert "--text-column" in ran.stderr and "edits words in place" in ran.stderr
    assert "(0 generated)" in ran.stderr


def test_a_whole_text_rewrite_on_one_column_drops_nothing_and_says_nothing(forty_rows, tmp_path):
    out = tmp_path / "out.csv"
    ran = cli(str(forty_rows), "--text-column", "description", "--label-column", "tags", "--id-column", "id",
              "--no-quality", *REWRITE, "--output", str(out))
    assert ran.returncode == 0, ran.stderr
    assert JOINER_LINE not in ran.stderr
    assert f"({_train_originals(out)} generated)" in ran.stderr


def test_the_in_memory_run_counts_the_variants_dropped_at_the_joiner_as_the_streamed_run(forty_rows, tmp_path):
    """The Augment page's run (run_in_memory: :func:`augment_core.runners.run.augment`) and
    the streamed run report the same count."""
    args = [str(forty_rows), *BASE, *REWRITE, "--no-quality"]
    streamed = cli(*args, "--output", str(tmp_path / "s.csv"))
    report = in_memory(*args, "--output", str(tmp_path / "m.csv"))
    train = _train_originals(tmp_path / "s.csv")
    assert report.crossing == train > 0 and report.generated == 0
    assert f"warning: {report.crossing:,} {JOINER_LINE}" in streamed.stderr
