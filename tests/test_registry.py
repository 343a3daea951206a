"""Issue 23, the open registry through the CLI: every augmenter listed with its parameters,
--set, each built-in end to end, the Snorkel and nlpaug adapters, and a plug-in package
installed in a fresh virtual environment appearing in the CLI and on the Augment page."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
from helpers import ROOT, Ran, cli, one_line_error, sample_rows

BUILTINS = ["alias_swap", "contextual_substitute", "contextual_insert", "char_keyboard", "char_ocr", "char_random",
            "word_swap", "word_delete", "word_crop", "spelling", "word_split", "tfidf_substitute", "back_translation"]
FLAGS = ["--text-column", "title", "--text-column", "description", "--label-column", "tags", "--id-column", "id",
         "--no-quality", "--n-per-original", "1"]


@pytest.fixture(scope="module")
def few(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("few") / "few.csv"
    path.write_bytes(sample_rows(24))
    return path


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open(encoding="utf-8")))


def test_every_builtin_is_an_entry_point_of_the_project():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    assert list(declared["augment_review.augmenters"]) == BUILTINS


def test_augmenters_lists_every_builtin_with_its_parameters():
    out = cli(command="augmenters")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert [line.split()[0] for line in lines] == BUILTINS
    assert lines[0].startswith("alias_swap  max_swaps=1 min_agreement=none")
    assert "aug_char_p=0.3" in lines[BUILTINS.index("char_keyboard")]
    listed = json.loads(cli("--json", command="augmenters").stdout)
    assert [a["name"] for a in listed] == BUILTINS
    for entry in listed:
        assert entry["params"], entry["name"]
        for p in entry["params"]:
            assert {"name", "type", "default", "help"} <= set(p) and p["help"]
    swap = {p["name"]: p for p in listed[0]["params"]}
    assert swap["max_swaps"]["type"] == "int" and swap["max_swaps"]["default"] == 1


def test_set_changes_one_parameter_and_is_recorded(few, tmp_path):
    out = tmp_path / "o.csv"
    r = cli(str(few), *FLAGS, "--augmenter", "word_swap", "--set", "word_swap.aug_max=1", "--output", str(out))
    assert r.returncode == 0, r.stderr
    variants = [row for row in _rows(out) if row["aug_augmenter"] == "word_swap"]
    assert variants and all(json.loads(v["aug_params"])["aug_max"] == 1 for v in variants)


def test_an_older_flag_sets_the_matching_parameter_and_set_wins(few, tmp_path):
    out = tmp_path / "o.csv"
    r = cli(str(few), *FLAGS, "--augmenter", "word_swap", "--augmenter", "word_crop", "--aug-p", "0.5",
            "--set", "word_crop.aug_p=0.2", "--output", str(out))
    assert r.returncode == 0, r.stderr
    params = {row["aug_augmenter"]: json.loads(row["aug_params"]) for row in _rows(out)
              if row["aug_augmenter"] != "original"}
    assert params["word_swap"]["aug_p"] == 0.5 and params["word_crop"]["aug_p"] == 0.2


@pytest.mark.parametrize("flags,message", [
    (["--set", "word_swap.aug_p=2"], "--set word_swap.aug_p=2: aug_p must be at most 1"),
    (["--set", "word_swap.nope=1"], "word_swap has no parameter 'nope'"),
    (["--set", "nothing.aug_p=1"], "unknown augmenter 'nothing'"),
    (["--set", "char_ocr.aug_char_p=0.2"], "char_ocr is not one of this run's augmenters (word_swap): add --augmenter "
                                           "char_ocr"),
    (["--set", "word_swap"], "expected NAME.PARAM=VALUE"),
    (["--augmenter", "no_such_thing"], "unknown augmenter 'no_such_thing'"),
    (["--max-swaps", "0"], "--max-swaps must be at least 1"),
])
def test_a_bad_set_is_one_line(few, tmp_path, flags, message):
    out = tmp_path / "o.csv"
    augmenter = [] if "--augmenter" in flags else ["--augmenter", "word_swap"]
    one_line_error(cli(str(few), *FLAGS, *augmenter, *flags, "--output", str(out)), message)
    assert not out.exists()


def test_a_plugin_that_fails_to_load_named_by_a_run_is_one_line_saying_why(few, tmp_path):
    """Installed (its entry point is there) but its code fails to import: the run says so, not
    that no such augmenter exists."""
    (tmp_path / "halfdone.py").write_text("def shout(text, rng):\n    return text.upper()\n")
    info = tmp_path / "halfdone-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: halfdone\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[augment_review.augmenters]\nhalfdone = halfdone:shuot\n")
    out = tmp_path / "o.csv"
    run = subprocess.run([sys.executable, "-m", "augment_core", "augment", str(few), *FLAGS, "--augmenter", "halfdone",
                          "--output", str(out)], capture_output=True, text=True, timeout=120,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": f"{ROOT}:{tmp_path}"})
    one_line_error(Ran(run.returncode, run.stdout, run.stderr), "augmenter plug-in halfdone (halfdone:shuot from "
                   "halfdone) skipped: AttributeError: module 'halfdone' has no attribute 'shuot'")
    assert not out.exists()


@pytest.fixture(scope="module")
def forty(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("forty") / "forty.csv"
    path.write_bytes(sample_rows(40))
    return path


@pytest.mark.parametrize("name", ["char_keyboard", "char_ocr", "char_random", "word_swap", "word_delete", "word_crop",
                                  "spelling", "word_split", "tfidf_substitute", "back_translation"])
def test_each_new_builtin_runs_end_to_end(forty, tmp_path, request, name):
    """On 40 sample rows (word_delete once met a quoted word there and stopped), twice: exit 0
    and the same file. Back-translation on 4 of them (the tiny models generate slowly), with
    its default max_length, longer than the tiny models' 64 positions."""
    src, models = forty, []
    if name == "back_translation":
        forward, backward = request.getfixturevalue("tiny_marian")
        src = tmp_path / "four.csv"
        src.write_bytes(sample_rows(4))
        models = ["--set", f"back_translation.forward_model={forward}",
                  "--set", f"back_translation.backward_model={backward}"]
    outs = [tmp_path / "a.csv", tmp_path / "b.csv"]
    for out in outs:
        r = cli(str(src), *FLAGS, "--augmenter", name, *models, "--output", str(out))
        assert r.returncode == 0, r.stderr
    assert outs[0].read_bytes() == outs[1].read_bytes()
    out = outs[0]
    variants = [row for row in _rows(out) if row["aug_augmenter"] == name]
    assert variants
    for v in variants:
        assert v["aug_text"] != v["aug_original_text"] and json.loads(v["aug_changes"])
        assert json.loads(v["aug_params"])["augmenter"] == name


def test_the_lessons_swap_aliases_through_the_snorkel_adapter(few, tmp_path):
    out = tmp_path / "o.csv"
    r = cli(str(few), *FLAGS, "--augmenter", "snorkel:lesson_tfs:swap_aliases", "--keep-original", "--output", str(out),
            cwd=ROOT / "tests")
    assert r.returncode == 0, r.stderr
    rows = _rows(out)
    variants = [row for row in rows if row["aug_augmenter"] == "snorkel:swap_aliases"]
    assert variants
    originals = {row["aug_id"]: row for row in rows if row["aug_augmenter"] == "original"}
    for v in variants:
        assert v["aug_parent_id"] in originals and v["aug_split"] == "train"
        assert v["aug_original_text"] == originals[v["aug_parent_id"]]["aug_text"] != v["aug_text"]
        assert json.loads(v["aug_params"])["transformation_function"] == "lesson_tfs:swap_aliases"
        assert json.loads(v["aug_changes"])


def test_the_snorkel_adapter_sees_the_rows_own_columns(few, tmp_path):
    out = tmp_path / "o.csv"
    r = cli(str(few), *FLAGS, "--augmenter", "snorkel:lesson_tfs:shout_title", "--output", str(out),
            cwd=ROOT / "tests")
    assert r.returncode == 0, r.stderr
    variants = [row for row in _rows(out) if row["aug_augmenter"] == "snorkel:shout_title"]
    assert variants and all(v["title"].upper() in v["aug_text"] for v in variants)


def test_an_nlpaug_class_through_the_adapter_with_set(few, tmp_path):
    out = tmp_path / "o.csv"
    ref = "nlpaug:nlpaug.augmenter.word.RandomWordAug"
    r = cli(str(few), *FLAGS, "--augmenter", ref, "--set", f"{ref}.action=swap", "--output", str(out))
    assert r.returncode == 0, r.stderr
    variants = [row for row in _rows(out) if row["aug_augmenter"] == ref]
    assert variants and all(json.loads(v["aug_params"])["action"] == "swap" for v in variants)
    assert all(sorted(v["aug_text"].split()) != [] and json.loads(v["aug_changes"]) for v in variants)


PLUGIN = {
    "pyproject.toml": """
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "shouty-augmenter"
        version = "0.1"

        [project.entry-points."augment_review.augmenters"]
        shouty = "shouty:shout"
    """,
    "shouty.py": '''
        import random


        def shout(text: str, rng: random.Random) -> str:
            """one random word in capitals"""
            words = text.split(" ")
            i = rng.randrange(len(words))
            words[i] = words[i].upper()
            return " ".join(words)
    ''',
}

PAGE_CHECK = """
import sys
from pathlib import Path
from streamlit.testing.v1 import AppTest

at = AppTest.from_file(sys.argv[1], default_timeout=60)
at.run()
at.file_uploader(key="data_upload").upload("few.csv", Path(sys.argv[2]).read_bytes(), "text/csv")
at.run()
at.switch_page("pages/augment.py").run()
print(at.multiselect(key="augment_augmenters").options)
"""


def test_a_plugin_installed_in_a_venv_appears_in_the_cli_and_on_the_augment_page(tmp_path, few):
    package = tmp_path / "shouty"
    package.mkdir()
    for name, text in PLUGIN.items():
        (package / name).write_text(textwrap.dedent(text))
    venv = tmp_path / "venv"
    # no pip of its own: the system's pip and setuptools (a venv's bundled setuptools may be too
    # old to build a wheel offline) install into it
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True,
                   timeout=120)
    python = str(venv / "bin" / "python")
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "PIP_NO_INPUT": "1",
           "AUGMENT_REVIEW_DATA_DIR": str(tmp_path / "data")}
    for target in ([str(package)], ["-e", str(ROOT)]):  # offline: setuptools from the system site, no index
        pip = subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                              *target], capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
        assert pip.returncode == 0, pip.stderr[-2000:]
    listed = subprocess.run([python, "-m", "augment_core", "augmenters"], capture_output=True, text=True,
                            timeout=120, env=env, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[0] for line in listed.stdout.splitlines()] == [*BUILTINS, "shouty"]
    out = tmp_path / "o.csv"
    run = subprocess.run([python, "-m", "augment_core", "augment", str(few), *FLAGS, "--augmenter", "shouty",
                          "--output", str(out)], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert any(row["aug_augmenter"] == "shouty" and row["aug_text"] != row["aug_original_text"] for row in _rows(out))
    script = tmp_path / "page.py"
    script.write_text(PAGE_CHECK)
    page = subprocess.run([python, str(script), str(ROOT / "app.py"), str(few)], capture_output=True,
                          text=True, timeout=300, cwd=ROOT, env=env)
    assert page.returncode == 0, page.stderr[-3000:]
    assert "'shouty'" in page.stdout and "'char_keyboard'" in page.stdout
