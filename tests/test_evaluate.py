"""augment_core.evaluate and `python -m augment_core evaluate`: the experiment must see a
robustness gain where labels hang on an alias, a loss where variants are label noise, and
never read the test split unless asked."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path
from types import SimpleNamespace

import pytest
from helpers import cli

from augment_core.augment.aliases import load_alias_table
from augment_core.data.dataset import ColumnMapping, Dataset, Record
from augment_core.errors import InputError
from augment_core.evaluate import EvalConfig, EvalData, Example, from_augmented_file, from_dataset, run_evaluation
from augment_core.evaluate.experiment import train_keywords
from augment_core.evaluate.manifest import manifest_entry, variants_fingerprint

ROOT = Path(__file__).resolve().parent.parent
TAGS = [
    {"tag": "computer-vision", "aliases": ["cv", "computer vision"]},
    {"tag": "natural-language-processing", "aliases": ["nlp", "natural language processing"]},
]
FILLER = ("project", "model", "simple", "library", "fast", "demo", "code", "tutorial", "dataset", "paper",
          "open", "source", "python", "framework", "build", "train", "using", "with", "the", "a")
FAST = EvalConfig(seeds=3, bootstrap=300)


def _text(rng: random.Random, keyword: str) -> str:
    words = rng.choices(FILLER, k=8)
    words.insert(rng.randrange(len(words)), keyword)
    return " ".join(words)


@pytest.fixture(scope="module")
def alias_tags(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tags") / "tags.json"
    path.write_text(json.dumps(TAGS), encoding="utf-8")
    return path


def _alias_dataset(n: int = 120) -> list[Record]:
    """Single-label: the label is told by the short alias only (`cv` / `nlp`); val writes
    it the same way, so only alias-swapped val shows the long forms."""
    rng = random.Random(5)
    out = []
    for i in range(n):
        tag, kw = (("computer-vision", "cv"), ("natural-language-processing", "nlp"))[i % 2]
        split = "train" if i % 10 < 7 else "val" if i % 10 < 9 else "test"
        out.append(Record(f"r{i}", _text(rng, kw), (tag,), split, tag))
    return out


def _alias_data(alias_tags: Path) -> tuple[EvalData, object]:
    from augment_core.augment.alias_swap import AliasSwap

    records = _alias_dataset()
    data = from_dataset(SimpleNamespace(records=records), [], {}, "all")
    keywords = train_keywords(load_alias_table(alias_tags), data)
    swap = AliasSwap(keywords.table, agreement=keywords.by_key)
    variants = tuple(
        Example(f"{t.id}~alias_swap~{k}", c.text, t.labels, t.id)
        for t in data.train for k, c in enumerate(swap.variants(t.text, t.id, 2, 0), 1)
    )
    assert variants
    return EvalData(data.train, variants, data.val, None, "all"), keywords


def test_labels_that_hang_on_an_alias_show_a_robustness_gain(alias_tags):
    data, keywords = _alias_data(alias_tags)
    result = run_evaluation(data, keywords, FAST)
    val = result["splits"]["val"]
    assert val["swapped_rows"] == len(data.val)
    diffs = val["differences"]
    assert diffs["swapped_macro_f1"]["effect"] == "gain" and diffs["swapped_macro_f1"]["mean"] > 0.2
    assert diffs["flip_rate"]["effect"] == "gain"
    assert val["arms"]["augmented"]["flip_rate"] < val["arms"]["originals"]["flip_rate"]
    assert diffs["clean_macro_f1"]["effect"] == "none"
    assert val["verdict"]["robustness"] == "gain" and val["verdict"]["summary"].startswith("Helps robustness")
    assert result["task"] == "single-label" and result["primary_metric"] == "macro_f1"


def test_variants_that_are_label_noise_show_a_loss(alias_tags):
    rng = random.Random(9)
    records = [
        Record(f"r{i}", _text(rng, ("apple", "banana")[i % 2]), (("a", "b")[i % 2],), ("train", "val")[i % 5 == 4],
               None)
        for i in range(150)
    ]
    data = from_dataset(SimpleNamespace(records=records), [], {}, "all")
    # each variant: a text of the other class under its parent's label
    noise = tuple(
        Example(f"{t.id}~noise~{k}", _text(rng, "banana" if t.labels == ("a",) else "apple"), t.labels, t.id)
        for t in data.train for k in (1, 2)
    )
    data = EvalData(data.train, noise, data.val, None, "all")
    result = run_evaluation(data, train_keywords(load_alias_table(alias_tags), data), FAST)
    val = result["splits"]["val"]
    assert val["differences"]["clean_macro_f1"]["effect"] == "loss"
    assert val["differences"]["clean_macro_f1"]["ci_high"] < 0
    assert val["verdict"]["clean"] == "loss" and val["verdict"]["summary"].startswith("Costs 0.")
    assert val["swapped_rows"] == 0 and "flip_rate" not in val["differences"]


class _PoisonedTestRow:
    """A test record: its split may be read, nothing else."""

    split = "test"

    def __getattr__(self, name: str):
        raise AssertionError(f"a test row's {name} was read")


def test_the_test_split_is_never_read_unless_asked(alias_tags):
    data, keywords = _alias_data(alias_tags)
    records = [r for r in _alias_dataset() if r.split != "test"]
    poisoned = SimpleNamespace(records=records + [_PoisonedTestRow() for _ in range(5)])
    assert from_dataset(poisoned, [], {}, "all").test is None
    with pytest.raises(AssertionError, match="was read"):
        from_dataset(poisoned, [], {}, "all", use_test=True)
    with_test = from_dataset(SimpleNamespace(records=_alias_dataset()), [], {}, "all", use_test=True)
    result = run_evaluation(EvalData(data.train, data.variants, data.val, with_test.test, "all"), keywords, FAST)
    assert set(result["splits"]) == {"val", "test"} and result["data"]["test_used"]


def test_same_seed_same_figures_and_seeds_matter(alias_tags):
    data, keywords = _alias_data(alias_tags)
    calls = []
    a = run_evaluation(data, keywords, FAST, lambda done, total: calls.append((done, total)))
    b = run_evaluation(data, keywords, FAST)
    a.pop("seconds"), b.pop("seconds")
    assert a == b
    assert calls == [(k, 6) for k in range(1, 7)]
    other = run_evaluation(data, keywords, EvalConfig(seeds=3, bootstrap=300, seed=1))
    assert other["splits"]["val"]["differences"] != a["splits"]["val"]["differences"]


def test_no_variants_and_bad_config_are_input_errors(alias_tags):
    data, keywords = _alias_data(alias_tags)
    with pytest.raises(InputError, match="no variants"):
        run_evaluation(EvalData(data.train, (), data.val, None, "accepted"), keywords, FAST)
    with pytest.raises(InputError, match="--seeds"):
        run_evaluation(data, keywords, EvalConfig(seeds=0))
    with pytest.raises(InputError, match="--train-fraction"):
        run_evaluation(data, keywords, EvalConfig(train_fraction=0))


def test_from_dataset_keeps_accepted_distinct_variants():
    records = [Record("1", "a cv demo", ("computer-vision",), "train", None),
               Record("2", "nlp demo", ("natural-language-processing",), "val", None)]
    dataset = Dataset(records, ColumnMapping(("text",), "tags"))
    cands = [
        {"key": "1:1~a~1", "id": "1~a~1", "parent_id": "1", "augmenter": "a", "text": "a computer vision demo"},
        {"key": "2:1~a~1", "id": "1~a~1", "parent_id": "1", "augmenter": "a", "text": "a computer vision demo"},
        {"key": "1:1~a~2", "id": "1~a~2", "parent_id": "1", "augmenter": "a", "text": "a CV demo"},
    ]
    decisions = {"1:1~a~1": "accepted", "2:1~a~1": "accepted", "1:1~a~2": "rejected"}
    accepted = from_dataset(dataset, cands, decisions, "accepted")
    assert [v.text for v in accepted.variants] == ["a computer vision demo"]
    assert accepted.variants[0].labels == ("computer-vision",)
    assert len(from_dataset(dataset, cands, decisions, "all").variants) == 2


def test_results_are_stored_by_dataset_and_summarised_for_the_manifest(tmp_path, alias_tags, backend):
    """In the review database, so every app server of a team (a data folder each, one
    PostgreSQL database) sees the same latest result."""
    from augment_core.review.store import Store

    data, keywords = _alias_data(alias_tags)
    result = run_evaluation(data, keywords, EvalConfig(seeds=1, bootstrap=100))
    one = Store(tmp_path / "server1")
    other = Store(tmp_path / ("server1" if backend == "sqlite" else "server2"))  # one database either way
    try:
        assert one.latest_evaluation("h1") is None and manifest_entry(one.latest_evaluation("h1"), []) is None
        one.save_evaluation("h1", {**result, "variants_sha256": variants_fingerprint(["1:x"])})
        stored = other.latest_evaluation("h1")
        assert stored["splits"] == json.loads(json.dumps(result["splits"])) and stored["created_at"].endswith("Z")
        assert other.latest_evaluation("h2") is None
        entry = manifest_entry(stored, ["1:x"])
        assert entry["verdict"] == result["splits"]["val"]["verdict"]
        assert entry["matches_export"] is False  # the stored run used "all" variants, not the accepted ones
        newer = other.save_evaluation("h1", {**result, "config": {"seeds": 7}})
        assert one.latest_evaluation("h1")["id"] == newer and one.latest_evaluation("h1")["config"] == {"seeds": 7}
    finally:
        one.close()
        other.close()


# --- the CLI ---------------------------------------------------------------------------------


def _write_augment_output(path: Path, alias_tags: Path, poison_test: bool = False, decision: bool = False) -> None:
    data, _ = _alias_data(alias_tags)
    rows = []
    for t in data.train:
        rows.append({"id": t.id, "parent_id": t.id, "split": "train", "augmenter": "original", "text": t.text,
                     "tags": t.labels[0], "decision": ""})
    for k, v in enumerate(data.variants):
        rows.append({"id": v.id, "parent_id": v.parent_id, "split": "train", "augmenter": "alias_swap", "text": v.text,
                     "tags": v.labels[0], "decision": "accept" if k % 2 == 0 else "reject"})
    for r in data.val:
        rows.append({"id": r.id, "parent_id": r.id, "split": "val", "augmenter": "original", "text": r.text,
                     "tags": r.labels[0], "decision": ""})
    for i in range(6):
        text = "cv cv cv nlp" if poison_test else f"{'nlp' if i % 2 else 'cv'} test demo"
        label = "no-such-tag" if poison_test else ("natural-language-processing" if i % 2 else "computer-vision")
        rows.append({"id": f"t{i}", "parent_id": f"t{i}", "split": "test", "augmenter": "original", "text": text,
                     "tags": label, "decision": ""})
    columns = list(rows[0]) if decision else [c for c in rows[0] if c != "decision"]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, columns, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


def test_cli_evaluate_report_json_and_test_untouched(tmp_path, alias_tags):
    clean, poisoned = tmp_path / "clean.csv", tmp_path / "poisoned.csv"
    _write_augment_output(clean, alias_tags)
    _write_augment_output(poisoned, alias_tags, poison_test=True)
    outs = []
    for src in (clean, poisoned):
        out = tmp_path / f"{src.stem}.json"
        done = cli(str(src), "--tags", str(alias_tags), "--seeds", "2", "--bootstrap", "200", "--output", str(out),
                   command="evaluate")
        assert done.returncode == 0, done.stderr
        assert "verdict: Helps robustness" in done.stdout and "variants: all" in done.stderr
        result = json.loads(out.read_text(encoding="utf-8"))
        result.pop("seconds")
        outs.append(result)
    assert outs[0] == outs[1]  # test rows, however poisoned, changed nothing
    assert "test" not in outs[0]["splits"]
    asked = cli(str(clean), "--tags", str(alias_tags), "--seeds", "1", "--bootstrap", "100", "--use-test",
                command="evaluate")
    assert asked.returncode == 0, asked.stderr
    assert "--use-test scores the test split" in asked.stderr and "\ntest: 6 rows" in asked.stdout


def test_cli_evaluate_uses_accepted_rows_when_the_file_has_decisions(tmp_path, alias_tags):
    src = tmp_path / "decided.csv"
    _write_augment_output(src, alias_tags, decision=True)
    out = tmp_path / "r.json"
    done = cli(str(src), "--tags", str(alias_tags), "--seeds", "1", "--bootstrap", "100", "--output", str(out),
               command="evaluate")
    assert done.returncode == 0, done.stderr
    n_variants = sum(1 for r in csv.DictReader(open(src, encoding="utf-8")) if r["augmenter"] != "original")
    data = json.loads(out.read_text(encoding="utf-8"))["data"]
    assert data["variants_source"] == "accepted" and data["variants"] == (n_variants + 1) // 2
    every = cli(str(src), "--tags", str(alias_tags), "--seeds", "1", "--bootstrap", "100", "--variants", "all",
                "--output", str(out), command="evaluate")
    assert every.returncode == 0, every.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["data"]["variants"] == n_variants


@pytest.mark.parametrize("make, args, message", [
    (None, ["--seeds", "0"], "--seeds must be at least 1"),
    (None, ["--train-fraction", "1.5"], "--train-fraction must be in (0, 1]"),
    (None, ["--output", "{dir}/r.csv"], "must end in .json"),
    (None, ["--output", "{dir}/missing/r.json"], "does not exist"),
    (None, ["--variants", "accepted"], "needs a 'decision' column"),
    ("missing", [], "file not found"),
    ("not_augmented", [], "is not an augment output"),
    ("no_originals", [], "has no train originals"),
    ("no_label", [], "cannot tell which column holds the labels"),
])
def test_cli_evaluate_bad_input_is_one_line_exit_2(tmp_path, alias_tags, make, args, message):
    src = tmp_path / "in.csv"
    _write_augment_output(src, alias_tags)
    rows = list(csv.DictReader(open(src, encoding="utf-8")))
    if make == "missing":
        src = tmp_path / "nope.csv"
    elif make == "not_augmented":
        src.write_text("title,tags\nhello,cv\n", encoding="utf-8")
    elif make == "no_originals":
        with open(src, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, list(rows[0]))
            w.writeheader()
            w.writerows(r for r in rows if not (r["split"] == "train" and r["augmenter"] == "original"))
    elif make == "no_label":
        with open(src, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, [*rows[0], "label"])  # two columns named like labels
            w.writeheader()
            w.writerows({**r, "label": "x"} for r in rows)
    done = cli(str(src), "--tags", str(alias_tags), *[a.format(dir=tmp_path) for a in args], command="evaluate")
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in done.stderr, done.stderr
    assert not list(tmp_path.glob("*.json")) and not list(tmp_path.glob(".*.tmp"))


def test_cli_evaluate_on_an_augment_output(tmp_path):
    """The whole path on the bundled sample's first 400 rows: augment, then evaluate."""
    lines = (ROOT / "data" / "projects.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    rows = list(csv.reader(lines))
    src = tmp_path / "small.csv"
    with open(src, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows[:401])
    aug = tmp_path / "aug.jsonl"
    made = cli(str(src), "--text-column", "title", "--text-column", "description", "--label-column", "tags",
               "--id-column", "id", "--keep-original", "--no-quality", "--seed", "3", "--output", str(aug), cwd=ROOT)
    assert made.returncode == 0, made.stderr
    done = cli(str(aug), "--seeds", "2", "--bootstrap", "200", "--max-tags", "10", command="evaluate", cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "task: multi-label, 10 tags scored" in done.stdout and "micro-F1, alias-swapped val" in done.stdout


def test_an_augment_file_s_test_rows_are_skipped_before_being_parsed(tmp_path, alias_tags, monkeypatch):
    """Nothing of a test row but its split is looked at: parsing its labels would raise."""
    import augment_core.data.dataset as dataset_module

    src = tmp_path / "in.csv"
    _write_augment_output(src, alias_tags, poison_test=True)
    real = dataset_module.parse_labels

    def guarded(cell, *args, **kwargs):
        if cell == "no-such-tag":
            raise AssertionError("a test row's labels were parsed")
        return real(cell, *args, **kwargs)

    monkeypatch.setattr(dataset_module, "parse_labels", guarded)
    data = from_augmented_file(str(src))
    assert data.test is None and len(data.val) > 0
    with pytest.raises(AssertionError, match="test row's labels"):
        from_augmented_file(str(src), use_test=True)
