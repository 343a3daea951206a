import json
import zlib

import numpy as np
import pytest

from augment_core.augment.quality import FLAGS, QualitySettings, normalize_text, score_rows


class BagOfWords:
    """A deterministic stand-in encoder: hashed bag of lower-case words."""

    def encode(self, texts, batch_size=64, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False):
        out = np.zeros((len(texts), 256), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().split():
                out[i, zlib.crc32(w.encode()) % 256] += 1
        return out


ORIGINAL = "A practical tutorial on image classification with convolutional models and data augmentation"
TEST_TEXT = "Benchmarking optimizers for large scale language model pretraining on public corpora"


def _row(i, text, augmenter="contextual_substitute", split="train", parent="p1", original=ORIGINAL):
    return {"id": i, "parent_id": parent, "split": split, "augmenter": augmenter, "text": text,
            "original_text": original, "params": "{}", "changes": "[]"}


def _score(rows, table, **kw):
    score_rows(rows, table=table, labels_by_id={"p1": ("image-classification",)},
               heldout_texts=[TEST_TEXT], encoder=BagOfWords(), **kw)
    return {r["id"]: r for r in rows}


def flags(row):
    return json.loads(row["flags"])


def test_flags_on_constructed_cases(alias_table):
    rows = [
        _row("orig", ORIGINAL, augmenter="original", parent=""),
        _row("same", ORIGINAL),
        _row("leak", TEST_TEXT.upper()),
        _row("added", ORIGINAL.replace("practical", "reinforcement learning")),
        _row("lost", ORIGINAL.replace("image classification", "picture sorting")),
        _row("ok", ORIGINAL.replace("practical", "hands-on")),
        _row("dup1", ORIGINAL.replace("A practical", "One  practical")),
        _row("dup2", ORIGINAL.replace("A practical", "one practical")),
        _row("art", ORIGINAL.replace("practical", "[UNK] ##ical")),
    ]
    by_id = _score(rows, alias_table, quality=QualitySettings(low_similarity=0.8))
    assert by_id["orig"]["similarity"] is None and by_id["orig"]["flags"] == "[]" and by_id["orig"]["leak"] is False
    assert {"unchanged", "duplicate"} <= set(flags(by_id["same"]))
    assert by_id["same"]["similarity"] == pytest.approx(1.0)
    assert "leak" in flags(by_id["leak"]) and by_id["leak"]["leak"] is True
    assert by_id["leak"]["heldout_similarity"] == pytest.approx(1.0)
    assert "low_similarity" in flags(by_id["leak"])
    assert "keyword_added" in flags(by_id["added"]) and "keyword_lost" not in flags(by_id["added"])
    assert "keyword_lost" in flags(by_id["lost"])
    assert flags(by_id["ok"]) == [] and by_id["ok"]["leak"] is False
    assert "duplicate" in flags(by_id["dup1"]) and "duplicate" in flags(by_id["dup2"])
    assert "artifact" in flags(by_id["art"]) and "artifact" not in flags(by_id["ok"])
    for r in rows:
        assert set(flags(r)) <= set(FLAGS)


def test_keyword_of_own_tag_is_not_added(alias_table):
    rows = [_row("v", ORIGINAL + " about image classification")]
    assert "keyword_added" not in flags(_score(rows, alias_table)["v"])


def test_leak_against_heldout_rows_and_threshold(alias_table):
    val_text = "Graph neural networks for molecule property prediction"
    rows = [
        _row("val", val_text, augmenter="original", split="val", parent=""),
        _row("near", val_text + " today", original=ORIGINAL),
        _row("far", ORIGINAL.replace("practical", "short")),
    ]
    by_id = _score(rows, alias_table, quality=QualitySettings(leak_threshold=0.9))
    assert by_id["near"]["leak"] is True and by_id["near"]["heldout_similarity"] >= 0.9
    assert by_id["far"]["leak"] is False and by_id["far"]["heldout_similarity"] < 0.9
    assert "duplicate" not in flags(by_id["near"])


def test_no_generated_rows_and_no_heldout(alias_table):
    rows = [_row("o", ORIGINAL, augmenter="original")]
    score_rows(rows, table=alias_table, labels_by_id={}, heldout_texts=[], encoder=BagOfWords())
    assert rows[0]["flags"] == "[]"
    rows = [_row("v", ORIGINAL + " now")]
    score_rows(rows, table=alias_table, labels_by_id={}, heldout_texts=[], encoder=BagOfWords())
    assert rows[0]["heldout_similarity"] is None and rows[0]["leak"] is False


def test_normalize_text():
    assert normalize_text("  A\tB  c ") == normalize_text("a b C")


def test_real_minilm_separates_swap_from_meaning_change(alias_table):
    original = "Training GANs to generate realistic faces from noise."
    rows = [
        _row("swap", "Training generative adversarial networks to generate realistic faces from noise.",
             original=original),
        _row("sub", "Training GANs to cook spicy soup from noise.", original=original),
    ]
    score_rows(rows, table=alias_table, labels_by_id={"p1": ("generative-adversarial-networks",)},
               heldout_texts=["Training GANs to generate realistic faces from noise!"])
    by_id = {r["id"]: r for r in rows}
    assert by_id["swap"]["similarity"] > by_id["sub"]["similarity"]
    assert "low_similarity" in flags(by_id["sub"])
    assert "keyword_added" not in flags(by_id["swap"]) and "keyword_lost" not in flags(by_id["swap"])
    assert by_id["swap"]["heldout_similarity"] > 0.8
