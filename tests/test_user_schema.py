"""The output in the user's own schema (issue 9): every input column kept, originals exactly
as read, variants per column, provenance beside them, Hugging Face output and input, and the
installed ``augment-review`` command."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import BASE, cli, sample_rows
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from augment_core.augment.alias_swap import AliasSwap
from augment_core.augment.aliases import build_alias_table
from augment_core.augment.changes import Edit, apply_edits, changes_from_json
from augment_core.cli.commands import main
from augment_core.data.dataset import JOINER, ColumnMapping, Table, build_dataset
from augment_core.data.manifest import RunManifest
from augment_core.data.user_schema import (
    crosses_joiner,
    off_joiners,
    original_spans,
    output_schema,
    provenance_of,
    split_variant,
    user_rows,
)
from augment_core.runners.pipeline import run_augmentation

TABLE = build_alias_table([
    ("generative-adversarial-networks", ["gan"]),
    ("computer-vision", ["cv", "vision", "computer vision"]),
    ("natural-language-processing", ["nlp"]),
])
INPUT_COLUMNS = ["row_key", "created_on", "title", "description", "text", "tags", "notes"]
"""An id column not named id, extra columns, and a column named like a provenance column."""

# whitespace and Unicode a user's file may hold: doubled, leading/trailing, tabs, NBSP,
# ideographic space, combining marks, emoji, right-to-left text, CR/LF inside a cell
pieces = st.sampled_from([
    "gan", "GAN", "cv", "computer", "vision", "computer vision", "nlp", "model", "  ", " ", "\t", "\u00a0",
    "\u3000", "e\u0301t\u00e9", "\U0001f600", "\u05e9\u05dc\u05d5\u05dd", "\r\n", "x", ".", "-",
])
cells = st.lists(pieces, max_size=8).map("".join) | st.text(max_size=12)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.lists(cells, min_size=3, max_size=3), min_size=1, max_size=6),
       n_text=st.integers(1, 3), seed=st.integers(0, 1000))
def test_originals_round_trip_and_variants_differ_only_inside_their_spans(rows, n_text, seed):
    text_cols = ("a", "b", "c")[:n_text]
    table = Table(columns=["id", "a", "b", "c", "tags"],
                  rows=[{"id": str(i), "a": r[0], "b": r[1], "c": r[2], "tags": "gan"} for i, r in enumerate(rows)],
                  fmt="json")
    ds = build_dataset(table, ColumnMapping(text_cols, "tags", id_column="id")).with_splits(["train"] * len(rows))
    for rec, r in zip(ds.records, rows):
        assert rec.text == JOINER.join(r[:n_text])  # byte-faithful: nothing stripped or collapsed
    out = run_augmentation(ds, [AliasSwap(TABLE)], 3, True, seed)
    schema = output_schema(ds.columns, provenance_of(list(out[0]), "tags"))
    shaped = list(user_rows(out, ds, schema))
    by_id = {rec.id: (rec, r) for rec, r in zip(ds.records, rows)}
    for row, user in zip(out, shaped):
        rec, raw = by_id[row["parent_id"]]
        if row["augmenter"] == "original":
            assert [user[c] for c in ("a", "b", "c")] == raw  # every cell exactly as read
            continue
        variant, parent = row["text"], rec.text
        changes = changes_from_json(row["changes"])
        rebuilt, pos = [], 0  # the variant with each change put back: exactly the parent
        for change in sorted(changes, key=lambda c: c.start):
            assert variant[change.start:change.end] == change.after
            rebuilt += [variant[pos:change.start], change.before]
            pos = change.end
        assert "".join([*rebuilt, variant[pos:]]) == parent
        segments = ds.segments(rec)
        for start, end, _ in original_spans(changes):  # never across the joiner between columns
            assert any(s <= start and end <= e for s, e in segments)
        parts = [user[c] for c in text_cols]
        assert JOINER.join(parts) == variant
        assert [user[c] for c in ("id", "tags") + ("a", "b", "c")[n_text:]] == [rec.id, "gan", *raw[n_text:]]


def test_an_edit_at_a_column_edge_goes_to_the_column_whose_edge_it_is():
    from augment_core.augment.changes import Change

    cells = ["ab", "cd"]  # joined "ab cd": the joiner at 2
    at_end = Change(2, 4, "", " x", "insert")  # inserted at 2: the end of column 0
    assert split_variant(cells, [at_end]) == ["ab x", "cd"]
    at_start = Change(3, 5, "", "y ", "insert")  # inserted at 3: the start of column 1
    assert split_variant(cells, [at_start]) == ["ab", "y cd"]
    across = Change(1, 2, "b c", "z", "substitute")  # would edit the joiner
    assert split_variant(cells, [across]) is None


@pytest.mark.parametrize("cells, deleted, wanted", [
    (["Deep Learning", "A practical set"], [(13, 15)], ["Deep Learning", "practical set"]),  # " A": the joiner
    (["Deep Learning", "A practical set"], [(4, 15)], ["Deep", "practical set"]),  # " Learning A": both columns
    (["Deep Learning", "A practical set"], [(5, 15)], ["Deep ", "practical set"]),  # "Learning A": a space each side
    (["x", "mid", "y"], [(1, 5)], None),  # a whole middle column and both joiners: no column holds it
])
def test_a_deletion_that_takes_the_joiner_moves_off_it(cells, deleted, wanted):
    """The same variant, its deletions placed within the columns where an equal placement exists."""
    text = JOINER.join(cells)
    cand = apply_edits(text, [Edit(s, e, "", "delete") for s, e in deleted])
    segments = [(text.index(c), text.index(c) + len(c)) for c in cells]
    assert crosses_joiner(cand.changes, segments)
    moved = off_joiners(text, cand, segments)
    if wanted is None:
        assert moved is None
        return
    assert moved is not None and moved.text == cand.text and not crosses_joiner(moved.changes, segments)
    assert split_variant(cells, moved.changes) == wanted and JOINER.join(wanted) == cand.text


def test_word_delete_on_title_and_description_keeps_its_variants(tmp_path):
    """A description's first word deleted with the joiner before it was a variant dropped: a
    third of word_delete's (and word_crop's) variants of title + description were lost."""
    src = tmp_path / "in.csv"
    src.write_bytes(sample_rows(80))
    for name in ("word_delete", "word_crop"):
        out = tmp_path / f"{name}.csv"
        assert main(["augment", str(src), *BASE, "--augmenter", name, "--n-per-original", "2", "--seed", "3",
                     "--keep-original", "--output", str(out)]) == 0
        rows = _read_csv(out)
        parents = {r["aug_id"]: r for r in rows if r["aug_augmenter"] == "original"}
        variants = [r for r in rows if r["aug_augmenter"] == name]
        train = [p for p in parents.values() if p["aug_split"] == "train"]
        assert len(variants) >= 0.9 * 2 * len(train), name
        for r in variants:
            assert r["aug_text"] == r["title"] + " " + r["description"]
        first_word_gone = [r for r in variants if r["description"].split()[:1]
                           != parents[r["aug_parent_id"]]["description"].split()[:1]]
        assert first_word_gone, name


def test_a_clash_prefixes_every_provenance_column_and_an_explicit_prefix_is_checked():
    from augment_core.errors import InputError

    prov = ["id", "parent_id", "text"]
    assert output_schema(["title", "tags"], prov).columns == ["title", "tags", "id", "parent_id", "text"]
    assert output_schema(["id", "tags"], prov).columns == ["id", "tags", "aug_id", "aug_parent_id", "aug_text"]
    assert output_schema(["id", "aug_id"], prov).prefix == "aug_aug_"  # an output read again
    assert output_schema(["id"], prov, "p_").columns == ["id", "p_id", "p_parent_id", "p_text"]
    with pytest.raises(InputError, match="--provenance-prefix"):
        output_schema(["id"], prov, "")


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows([INPUT_COLUMNS, *rows])
    return path


def _multi(tmp_path: Path) -> tuple[Path, list[list[str]]]:
    rows = []
    for i in range(40):
        rows.append([
            f"k{i:03d}", f"2020-01-{i % 28 + 1:02d}", f"  GAN  art {i}" if i % 3 else f"computer vision\tdemo {i} ",
            f"a cv  model for nlp, \u00e9t\u00e9 {i}  " if i % 2 else "", f"user text {i}",
            json.dumps(["generative-adversarial-networks"] if i % 3 else ["computer-vision"]), f"=note {i}",
        ])
    return _write(tmp_path / "multi.csv", rows), rows


ARGS = ["--text-column", "title", "--text-column", "description", "--label-column", "tags",
        "--id-column", "row_key", "--keep-original", "--no-quality", "--seed", "5"]


def _read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open(encoding="utf-8", newline="")))


def test_cli_keeps_every_input_column_and_maps_variants_to_columns(tmp_path):
    src, raw = _multi(tmp_path)
    out = tmp_path / "o.csv"
    assert main(["augment", str(src), *ARGS, "--output", str(out)]) == 0
    rows = _read_csv(out)
    header = list(rows[0])
    # the input has a column named text: every provenance column is aug_<name>, after the input's own
    assert header[:len(INPUT_COLUMNS)] == INPUT_COLUMNS
    assert header[len(INPUT_COLUMNS):] == ["aug_id", "aug_parent_id", "aug_split", "aug_augmenter", "aug_text",
                                           "aug_original_text", "aug_params", "aug_changes", "aug_flags"]
    by_key = {r[0]: dict(zip(INPUT_COLUMNS, r)) for r in raw}
    variants = [r for r in rows if r["aug_augmenter"] != "original"]
    assert variants
    for r in rows:
        parent = by_key[r["aug_parent_id"]]
        assert r["aug_text"] == r["title"] + " " + r["description"]  # the joined text stays, joiner untouched
        if r["aug_augmenter"] == "original":
            assert {c: r[c] for c in INPUT_COLUMNS} == parent  # every value exactly as read
        else:
            assert {c: r[c] for c in INPUT_COLUMNS if c not in ("title", "description")} == {
                c: parent[c] for c in INPUT_COLUMNS if c not in ("title", "description")}
            assert (r["title"], r["description"]) != (parent["title"], parent["description"])
    # an explicit prefix, and one that clashes (exit 2, one line, no output)
    out2 = tmp_path / "o2.jsonl"
    assert main(["augment", str(src), *ARGS, "--provenance-prefix", "prov_", "--output", str(out2)]) == 0
    first = json.loads(out2.read_text(encoding="utf-8").splitlines()[0])
    assert list(first)[len(INPUT_COLUMNS)] == "prov_id" and first["text"] == "user text 0"
    done = cli(str(src), *ARGS, "--provenance-prefix", "", "--output", str(tmp_path / "o3.csv"))
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "--provenance-prefix" in done.stderr
    assert not (tmp_path / "o3.csv").exists() and not list(tmp_path.glob(".o3*"))


def test_the_sample_originals_are_byte_faithful(sample_csv, tmp_path):
    """Before: in 143 of 764 rows the text was not title + " " + description (spaces collapsed)."""
    out = tmp_path / "o.csv"
    assert main(["augment", str(sample_csv), "--text-column", "title", "--text-column", "description",
                 "--label-column", "tags", "--id-column", "id", "--keep-original", "--no-quality",
                 "--n-per-original", "0", "--output", str(out)]) == 0
    src = {r["id"]: r for r in csv.DictReader(sample_csv.open(encoding="utf-8", newline=""))}
    rows = _read_csv(out)
    assert len(rows) == len(src)
    for r in rows:
        assert {c: r[c] for c in src[r["id"]]} == src[r["id"]]
        assert r["aug_text"] == src[r["id"]]["title"] + " " + src[r["id"]]["description"]


def test_contextual_augmenters_never_edit_the_joiner(tmp_path, tiny_mlm):
    src, raw = _multi(tmp_path)
    out = tmp_path / "o.jsonl"
    assert main(["augment", str(src), *ARGS, "--augmenter", "contextual_substitute", "--augmenter", "contextual_insert",
                 "--model", tiny_mlm, "--device", "cpu", "--n-per-original", "2", "--aug-p", "0.5",
                 "--output", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    variants = [r for r in rows if r["aug_augmenter"] != "original"]
    assert {r["aug_augmenter"] for r in variants} == {"contextual_substitute", "contextual_insert"}
    for r in rows:
        assert r["aug_text"] == r["title"] + " " + r["description"]


def _hf_args(src: Path) -> list[str]:
    return ["augment", str(src), *ARGS, "--format", "hf"]


def test_hf_round_trip_same_bytes_and_read_back(tmp_path):
    import datasets

    src, raw = _multi(tmp_path)
    out, again = tmp_path / "hf", tmp_path / "hf2"
    assert main([*_hf_args(src), "--output", str(out)]) == 0
    assert main([*_hf_args(src), "--output", str(again)]) == 0
    files = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    assert all((out / f).read_bytes() == (again / f).read_bytes() for f in files)  # same input + seed: same bytes

    ddict = datasets.load_from_disk(str(out))
    assert list(ddict) == ["train", "validation", "test"]
    label = ddict["train"].features["tags"]
    assert isinstance(label, datasets.List) and isinstance(label.feature, datasets.ClassLabel)
    assert label.feature.names == ["computer-vision", "generative-adversarial-networks"]
    flat = _read_csv_from_cli(tmp_path, src)
    hf_rows = [r for split in ddict.values() for r in split.to_list()]
    assert len(hf_rows) == len(flat)
    by_id = {r["aug_id"]: r for r in flat}
    for r in hf_rows:
        ref = by_id[r["aug_id"]]
        assert {c: r[c] for c in INPUT_COLUMNS if c != "tags"} == {c: ref[c] for c in INPUT_COLUMNS if c != "tags"}
        assert [label.feature.int2str(x) for x in r["tags"]] == json.loads(ref["tags"])
    for ours, theirs in (("train", "train"), ("val", "validation"), ("test", "test")):
        assert set(ddict[theirs]["aug_split"]) <= {ours}
    manifest = json.loads((out / "augment_manifest.json").read_text(encoding="utf-8"))
    assert manifest["schema"]["provenance_prefix"] == "aug_" and manifest["mapping"]["id_column"] == "row_key"
    written = RunManifest.from_json(manifest)  # the typed shape: a --format hf run of the local runner
    assert (written.runner, written.output_format, written.rows) == ("local", "hf", len(hf_rows))

    # the folder is an input too: its splits in rows, ClassLabels as names
    third = tmp_path / "from-hf.csv"
    assert main(["augment", str(out), "--text-column", "aug_text", "--label-column", "tags",
                 "--split-column", "aug_split", "--n-per-original", "0", "--keep-original", "--no-quality",
                 "--output", str(third)]) == 0
    back = _read_csv(third)
    assert len(back) == len(flat) and "hf_split" not in back[0]  # aug_split kept; split column added as split
    assert {r["aug_id"]: json.loads(r["tags"]) for r in back} == {r["aug_id"]: json.loads(r["tags"]) for r in flat}


def _read_csv_from_cli(tmp_path: Path, src: Path) -> list[dict[str, str]]:
    flat = tmp_path / "flat.csv"
    assert main(["augment", str(src), *ARGS, "--output", str(flat)]) == 0
    return _read_csv(flat)


def test_hf_single_label_is_a_classlabel(tmp_path):
    import datasets

    src = tmp_path / "single.csv"
    src.write_text("uid,body,label\n" + "".join(f"u{i},a gan and cv  demo {i},{'pos' if i % 2 else 'neg'}\n"
                                                  for i in range(30)), encoding="utf-8")
    out = tmp_path / "hf"
    assert main(["augment", str(src), "--text-column", "body", "--label-column", "label", "--id-column", "uid",
                 "--format", "hf", "--no-quality", "--keep-original", "--output", str(out)]) == 0
    ddict = datasets.load_from_disk(str(out))
    assert ddict["train"].features["label"] == datasets.ClassLabel(names=["neg", "pos"])
    assert list(ddict["train"].features)[:3] == ["uid", "body", "label"] and "id" in ddict["train"].features


def test_hf_output_folder_bad_inputs_leave_no_debris(tmp_path, capsys):
    src, _ = _multi(tmp_path)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "mine.txt").write_text("keep me")
    assert main([*_hf_args(src), "--output", str(busy)]) == 2
    err = capsys.readouterr().err
    assert "not empty" in err and err.count("\n") == 1
    assert [p.name for p in busy.iterdir()] == ["mine.txt"]
    assert main([*_hf_args(src), "--output", str(tmp_path / "no" / "such")]) == 2
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    assert main([*_hf_args(src), "--output", str(a_file)]) == 2 and a_file.read_text() == "x"
    assert main([*_hf_args(src), "--output", str(src)]) == 2  # the input itself
    assert not list(tmp_path.glob(".*.tmp")) and not list(tmp_path.glob(".*.old"))
    capsys.readouterr()

    out = tmp_path / "hf"
    out.mkdir()  # an empty folder is fine, and a previous output is replaced
    assert main([*_hf_args(src), "--output", str(out)]) == 0
    assert main([*_hf_args(src), "--seed", "9", "--output", str(out)]) == 0
    assert json.loads((out / "augment_manifest.json").read_text())["seed"] == 9
    assert not list(tmp_path.glob(".*.tmp")) and not list(tmp_path.glob(".*.old"))


def test_alias_swap_hf_run_does_not_load_torch(tmp_path):
    src, _ = _multi(tmp_path)
    code = (
        "import sys; from augment_core.cli.commands import main; "
        f"rc = main({[*_hf_args(src), '--output', str(tmp_path / 'hf')]!r}); "
        "heavy = [m for m in ('torch', 'transformers') if m in sys.modules]; print(heavy); sys.exit(rc or (1 if heavy else 0))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_console_command_works_from_another_directory(tmp_path, sample_csv):
    exe = shutil.which("augment-review")
    assert exe, "augment-review is not installed: pip install -r requirements.txt (it holds -e .)"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run([exe, "augment", str(sample_csv), "--text-column", "title", "--label-column", "tags",
                           "--no-quality", "--output", "o.csv"], cwd=elsewhere, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stderr and (elsewhere / "o.csv").stat().st_size > 0
    assert subprocess.run([exe, "augment", "--help"], cwd=elsewhere, capture_output=True, text=True).stdout.startswith("usage:")
