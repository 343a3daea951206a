import os
import subprocess
import sys

import pytest
from helpers import cli

from augment_core.augment import models
from augment_core.errors import ModelUnavailable


def test_load_by_path_is_cached(tiny_mlm):
    lm = models.load_masked_lm(tiny_mlm, device="cpu")
    assert lm.tokenizer.is_fast and lm.tokenizer.mask_token_id is not None
    assert models.load_masked_lm(tiny_mlm, device="cpu") is lm


def test_bad_path_is_one_line(tmp_path):
    with pytest.raises(ModelUnavailable) as info:
        models.load_masked_lm(str(tmp_path / "missing-model"), device="cpu")
    msg = str(info.value)
    assert "\n" not in msg and "missing-model" in msg and "AUGMENT_REVIEW_MODEL" in msg


def test_directory_without_model_is_one_line(tmp_path):
    with pytest.raises(ModelUnavailable) as info:
        models.load_masked_lm(str(tmp_path), device="cpu")
    assert "\n" not in str(info.value) and "tried local directory" in str(info.value)


def test_offline_hub_name_says_what_was_tried(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("AUGMENT_REVIEW_MODEL", raising=False)
    with pytest.raises(ModelUnavailable) as info:
        models.load_masked_lm("no-such-org/no-such-model-xyz", device="cpu")
    msg = str(info.value)
    assert "\n" not in msg and "Hugging Face cache" in msg and "huggingface-cli download" in msg


def test_env_var_points_default_at_local_copy(monkeypatch, tiny_mlm):
    monkeypatch.setenv("AUGMENT_REVIEW_MODEL", tiny_mlm)
    assert models.resolve_model_name(None) == tiny_mlm
    assert models.resolve_model_name(models.DEFAULT_MODEL) == tiny_mlm
    assert models.resolve_model_name("other-model") == "other-model"


def test_probe_model(tiny_mlm, tmp_path):
    assert models.probe_model(tiny_mlm) == tiny_mlm
    with pytest.raises(ModelUnavailable):
        models.probe_model(str(tmp_path / "nope"))


def test_encoder_bad_path_is_one_line(tmp_path):
    with pytest.raises(ModelUnavailable) as info:
        models.load_sentence_encoder(str(tmp_path / "no-encoder"), device="cpu")
    assert "\n" not in str(info.value) and "AUGMENT_REVIEW_ENCODER" in str(info.value)


def test_library_modules_do_not_import_torch():
    code = (
        "import sys; import augment_core.augment.contextual, augment_core.augment.contextual.nlpaug_engine, augment_core.augment.quality, "
        "augment_core.augment.models, augment_core.augment.protection; "
        "bad = [m for m in ('torch', 'transformers', 'nlpaug', 'sentence_transformers') if m in sys.modules]; "
        "assert not bad, bad"
    )
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_unreachable_hub_fails_fast_with_one_line(monkeypatch):
    from augment_core.augment import models

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(models, "hub_reachable", lambda timeout=3.0: False)
    models.clear_caches()
    with pytest.raises(models.ModelUnavailable) as info:
        models.load_masked_lm("some-org/not-in-any-cache", "cpu")
    message = str(info.value)
    assert "unreachable" in message and "\n" not in message and "AUGMENT_REVIEW_MODEL" in message


def test_a_checkpoint_without_a_masked_lm_head_is_refused(sentence_encoder_dir):
    models.clear_caches()
    with pytest.raises(ModelUnavailable) as info:
        models.load_masked_lm(sentence_encoder_dir, device="cpu")
    message = str(info.value)
    assert "not a masked language model" in message and "\n" not in message


def test_the_nlpaug_engine_refuses_it_too(sentence_encoder_dir):
    from augment_core.augment.contextual.nlpaug_engine import NlpaugContextual

    aug = NlpaugContextual("substitute", model=sentence_encoder_dir, device="cpu")
    with pytest.raises(ModelUnavailable, match="not a masked language model"):
        aug.generate(["a text to change"], ["r"], 1, 0)


def test_cli_refuses_it_with_one_line(sentence_encoder_dir, tmp_path, sample_csv):
    out = tmp_path / "o.csv"
    result = cli(str(sample_csv), "--text-column", "title", "--label-column", "tags", "--augmenter",
                 "contextual_substitute", "--model", sentence_encoder_dir, "--no-quality", "--output", str(out))
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "not a masked language model" in result.stderr and not out.exists()


def test_app_wording_names_the_page_fields(tmp_path):
    with pytest.raises(ModelUnavailable) as info:
        models.load_masked_lm(str(tmp_path / "missing-model"), device="cpu")
    assert "--model" in str(info.value)
    assert "--model" not in info.value.in_app() and "Model field" in info.value.in_app()
