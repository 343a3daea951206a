"""The alias swap writes only real words, keeps tokens whole, and knows which keywords
mean their tag in this dataset (issue: alias validity).

The bundled-data checks use ``tests/wordcheck.py``, a checker written apart from the
matcher (lexicon + corpus + vocabulary, and its own idea of a whole token).
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from helpers import cli
from wordcheck import WordChecker

from augment_core.augment.agreement import fit_to_train, keyword_rows
from augment_core.augment.alias_swap import AliasSwap, spell
from augment_core.augment.aliases import build_alias_table, load_alias_table
from augment_core.augment.quality import swaps_ambiguous_keyword
from augment_core.data.dataset import ColumnMapping, Dataset, Record, build_dataset, read_table
from augment_core.data.splitting import assign_splits
from augment_core.runners.pipeline import run_augmentation

MAPPING = ColumnMapping(text_columns=("title", "description"), label_column="tags", id_column="id")


@pytest.fixture(scope="module")
def bundled_run(sample_csv, tags_json):
    """The issue's measurement: bundled data and tags, 5 per original, seed 11."""
    dataset = assign_splits(build_dataset(read_table(sample_csv), MAPPING), (0.7, 0.15, 0.15), 11)
    keywords = fit_to_train(load_alias_table(tags_json), dataset)
    swap = AliasSwap(keywords.table, agreement=keywords.by_key)
    rows = [r for r in run_augmentation(dataset, [swap], 5, False, 11) if r["augmenter"] != "original"]
    return dataset, keywords, rows


def test_at_most_two_in_a_thousand_variants_hold_a_non_word_or_a_broken_token(bundled_run, tags_json):
    dataset, _, rows = bundled_run
    checker = WordChecker.for_tags_file(str(tags_json), [r.text for r in dataset.records if r.split == "train"])
    bad = []
    for r in rows:
        verdict = checker.check(r["original_text"], json.loads(r["changes"]))
        if verdict.unattested or verdict.broken:
            bad.append((r["id"], verdict))
    assert len(rows) > 1000
    assert len(bad) <= 0.002 * len(rows), bad[:10]


@pytest.mark.parametrize(
    "junk",
    [r"(?i)\banalysi\b", r"(?i)\bsynthesi\b", r"(?i)\brecsy\b", r"(?i)\bedas\b", r"(?i)\bknns\b",
     r"(?i)\blabelings\b", r"(?i)\btabulars\b", r"(?i)\bwandbs\b", r"(?i)\bdatum\b", r"(?i)conversational ais\b",
     r"(?i)node js\.js", r"\bGPS\b", r"\bCNNS\b"],
)
def test_the_measured_non_words_are_gone(bundled_run, junk):
    _, _, rows = bundled_run
    found = [r["text"] for r in rows if re.search(junk, r["text"]) and not re.search(junk, r["original_text"])]
    assert not found, found[:3]


def test_guessed_forms_are_used_only_when_attested():
    table = build_alias_table([("mlops", ["production"]), ("recommendation-systems", ["recsys"]),
                               ("tabular", ["tabular-data"]), ("conversational-ai", ["chatbot"])])
    forms = {f for alts in table.alternatives.values() for f in alts} | set(table.alternatives)
    assert not {"mlop", "recsy", "tabular datum", "conversational ais", "tabulars"} & forms
    # the wanted number's form is not attested: the form as written
    assert table.alternatives["production"] == ("mlops",)
    assert table.alternatives["productions"] == ("mlops",)
    assert table.alternatives["mlops"] == ("production",)
    swap = AliasSwap(table.attested_in(["Getting Machine Learning to Production", "MLOps pipelines"]))
    [variant] = swap.variants("Getting Machine Learning to Production", "r", 5, 0)
    assert variant.text == "Getting Machine Learning to MLOps"  # the data's own spelling


def test_a_dataset_attests_the_forms_it_writes():
    table = build_alias_table([("generative-adversarial-networks", ["gan"])])
    assert "gans" not in table.alternatives  # wordfreq does not know "gans"
    fitted = table.attested_in(["Two GANs compete", "a GAN"])
    assert fitted.alternatives["gans"] == ("generative adversarial networks",)
    assert fitted.alternatives["generative adversarial networks"] == ("gans",)


@pytest.mark.parametrize(
    "surface,replacement,expected",
    [("Gaussian Processes", "gps", "GPs"), ("Convolutional Neural Networks", "cnns", "CNNs"),
     ("convolutional neural networks", "cnns", "cnns"), ("CNN", "convolutional neural network",
                                                          "Convolutional Neural Network")],
)
def test_plural_acronyms_keep_a_lower_case_s(fitted_table, surface, replacement, expected):
    assert spell(fitted_table, surface, replacement) == expected


@pytest.mark.parametrize(
    "text",
    ["Built with Node.js today", "import tensorflow.keras as k", "an ASP.NET app", "weights in model.cv here",
     "see https://example.org/keras/gan-tutorial", "mail gan@example.org", "thanks @keras", "call `keras_gan()`",
     "run `gan-train --fast`", "a cnn_model here", "the nlp-toolkit.js file", "#nlp"],
)
def test_a_key_never_matches_part_of_a_joined_token(fitted_table, text):
    assert fitted_table.find(text) == [], text


def test_hyphenated_phrases_still_match_their_whole_parts(fitted_table):
    assert [m.key for m in fitted_table.find("GAN-based art, NLP-heavy (keras).")] == ["gan", "nlp", "keras"]


def _dataset(rows: list[tuple[str, tuple[str, ...], str]]) -> Dataset:
    records = [Record(str(i), text, labels, split, list(labels)) for i, (text, labels, split) in enumerate(rows)]
    return Dataset(records, ColumnMapping(("text",), "tags"))


NODE_ROWS = [
    ("node graph walk", ("graphs",), "train"),
    ("a node in the tree", ("trees",), "train"),
    ("node server in js", ("node-js",), "train"),
    ("each node votes", ("consensus",), "train"),
    ("nlp with gan", ("natural-language-processing", "generative-adversarial-networks"), "train"),
    ("nlp again", ("natural-language-processing",), "train"),
    ("nlp more", ("natural-language-processing",), "train"),
    ("node everywhere", ("node-js",), "val"),
    ("node js forever", ("node-js",), "test"),
]
TAGS = [("node-js", ["node"]), ("natural-language-processing", ["nlp"]),
        ("generative-adversarial-networks", ["gan"])]


def test_agreement_is_computed_on_the_train_split_only():
    keywords = fit_to_train(build_alias_table(TAGS), _dataset(NODE_ROWS))
    node = keywords.by_key["node"]
    assert (node.support, node.agreeing) == (4, 1)  # val/test rows with node-js are never read
    assert node.is_ambiguous()
    assert not keywords.by_key["nlp"].is_ambiguous()
    rows = {r["keyword"]: r for r in keyword_rows(keywords)}
    assert rows["node"]["agreement"] == 0.25 and rows["node"]["support"] == 4 and rows["node"]["ambiguous"]
    assert rows["node"]["tag"] == "node-js" and "node js" in rows["node"]["alternatives"]


def test_swaps_record_agreement_and_the_flag_follows_it():
    dataset = _dataset(NODE_ROWS)
    keywords = fit_to_train(build_alias_table(TAGS), dataset)
    swap = AliasSwap(keywords.table, agreement=keywords.by_key)
    rows = [r for r in run_augmentation(dataset, [swap], 5, False, 0) if r["augmenter"] != "original"]
    node_rows = [r for r in rows if json.loads(r["changes"])[0]["before"] == "node"]
    assert node_rows
    for r in node_rows:
        change = json.loads(r["changes"])[0]
        assert change["agreement"] == 0.25 and change["support"] == 4
        assert swaps_ambiguous_keyword(r["changes"])
    nlp_rows = [r for r in rows if json.loads(r["changes"])[0]["before"] == "nlp"]
    assert nlp_rows and not any(swaps_ambiguous_keyword(r["changes"]) for r in nlp_rows)
    # --min-agreement leaves the ambiguous keyword alone
    strict = AliasSwap(keywords.table, agreement=keywords.by_key, min_agreement=0.5)
    strict_rows = [r for r in run_augmentation(dataset, [strict], 5, False, 0) if r["augmenter"] != "original"]
    assert strict_rows and not any(json.loads(r["changes"])[0]["before"] == "node" for r in strict_rows)
    assert json.loads(strict_rows[0]["params"])["min_agreement"] == 0.5


def test_quality_scoring_flags_ambiguous_keyword(alias_table):
    from augment_core.augment.quality import score_rows

    class Encoder:
        def encode(self, texts, **_):
            import numpy as np

            return np.ones((len(texts), 4), dtype=np.float32)

    change = {"start": 0, "end": 4, "before": "node", "after": "node js", "kind": "substitute"}
    rows = [
        {"id": "1~a~1", "parent_id": "1", "augmenter": "alias_swap", "split": "train", "text": "node js x",
         "original_text": "node x", "changes": json.dumps([{**change, "agreement": 0.25, "support": 4}])},
        {"id": "1~a~2", "parent_id": "1", "augmenter": "alias_swap", "split": "train", "text": "node js y",
         "original_text": "node y", "changes": json.dumps([{**change, "agreement": 0.25, "support": 2}])},
    ]
    score_rows(rows, table=alias_table, labels_by_id={"1": ()}, encoder=Encoder())
    assert "ambiguous_keyword" in json.loads(rows[0]["flags"])
    assert "ambiguous_keyword" not in json.loads(rows[1]["flags"])  # too little support to say


def test_a_wordless_alias_is_skipped_with_a_warning():
    table = build_alias_table([("hyphen-word", ["-", "hw"])])
    assert table.find(") - end") == []
    assert any("'-'" in w for w in table.warnings)
    assert table.alternatives["hw"] == ("hyphen word",)


def test_a_keyword_claimed_by_two_tags_is_never_swapped():
    table = build_alias_table([("cv", ["curriculum-vitae"]), ("natural-language-processing", ["nlp", "cv"])])
    assert "cv" not in table.alternatives
    assert not any("cv" in alts for alts in table.alternatives.values())
    assert any("'cv'" in w and "natural-language-processing" in w for w in table.warnings)
    assert AliasSwap(table).variants("cv talk", "r", 5, 0) == []


def test_cli_min_agreement_and_warnings(tmp_path: Path):
    data = tmp_path / "d.csv"
    with data.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "tags", "split"])
        for text, labels, split in NODE_ROWS:
            w.writerow([text, json.dumps(list(labels)), split])
    tags = tmp_path / "tags.json"
    tags.write_text(json.dumps([{"tag": t, "aliases": a} for t, a in TAGS] + [{"tag": "x", "aliases": ["--"]}]))
    base = [str(data), "--text-column", "text", "--label-column", "tags", "--split-column", "split", "--tags",
            str(tags), "--no-quality"]
    loose, strict = tmp_path / "loose.jsonl", tmp_path / "strict.jsonl"
    r1 = cli(*base, "--output", str(loose))
    r2 = cli(*base, "--min-agreement", "0.5", "--output", str(strict))
    assert r1.returncode == 0 and r2.returncode == 0, r1.stderr + r2.stderr
    assert "warning: tags file: skipped 1 entries" in r1.stderr and "Traceback" not in r1.stderr

    def befores(path: Path) -> set[str]:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        return {c["before"] for r in rows for c in json.loads(r["aug_changes"])}  # input has text, split

    assert "node" in befores(loose) and "node" not in befores(strict) and "nlp" in befores(strict)
    bad = cli(*base, "--min-agreement", "1.5", "--output", str(tmp_path / "x.csv"))
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--min-agreement" in bad.stderr
