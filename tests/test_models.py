import os
import subprocess
import sys

import pytest

from augment_core import models
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
        "import sys; import augment_core.contextual, augment_core.nlpaug_engine, augment_core.quality, "
        "augment_core.models, augment_core.protection; "
        "bad = [m for m in ('torch', 'transformers', 'nlpaug', 'sentence_transformers') if m in sys.modules]; "
        "assert not bad, bad"
    )
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_unreachable_hub_fails_fast_with_one_line(monkeypatch):
    from augment_core import models

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(models, "hub_reachable", lambda timeout=3.0: False)
    models.clear_caches()
    with pytest.raises(models.ModelUnavailable) as info:
        models.load_masked_lm("some-org/not-in-any-cache", "cpu")
    message = str(info.value)
    assert "unreachable" in message and "\n" not in message and "AUGMENT_REVIEW_MODEL" in message
