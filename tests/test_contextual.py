from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from augment_core.augment.contextual import ContextualInsert, ContextualSubstitute, make_contextual
from augment_core.augment.protection import Protector
from augment_core.augment.quality import artifact_count
from augment_core.errors import InputError, ModelUnavailable

TEXT = (
    "Generative Adversarial Networks for image synthesis: a practical tutorial on training GANs "
    "with PyTorch, covering computer vision tricks and natural language processing baselines."
)
FILLER = ["a", "simple", "model", "for", "images", "the", "practical", "guide", "with", "results",
          "Fast", "training", "on", "large", "data,", "and", "notes.", "(new)", "state-of-the-art", "TF2.0"]
KEYWORDS = ["machine learning", "GANs", "computer vision", "Natural Language Processing", "pytorch",
            "reinforcement learning", "transformers", "BERT"]

words = st.lists(st.sampled_from(FILLER + KEYWORDS), min_size=3, max_size=25)


def _make(cls, tiny_mlm, table, **kw):
    return cls(model=tiny_mlm, device="cpu", protected_table=table, **kw)


def _check(original, cand, table, protector):
    # change spans match the variant, and undoing them gives the original back
    undone = cand.text
    for c in sorted(cand.changes, key=lambda c: c.start, reverse=True):
        assert cand.text[c.start:c.end] == c.after
        undone = undone[:c.start] + c.before + undone[c.end:]
    assert undone == original
    assert cand.text != original
    # protected keywords survive and no keyword (tag) is added
    before = Counter(s.surface for s in protector.spans(original))
    after = Counter(s.surface for s in protector.spans(cand.text))
    assert before <= after and sum(after.values()) == sum(before.values())
    assert table.tags_in(cand.text) == table.tags_in(original)
    # no artifacts
    assert artifact_count(cand.text) == artifact_count(original)
    for bad in ("[UNK]", "[MASK]", "[CLS]", "[SEP]", "[PAD]", "##"):
        assert bad not in cand.text


@pytest.fixture(scope="module")
def guarding_guide(tiny_mlm, alias_table):
    """Each contextual augmenter protecting "guide", built (its model loaded) once for every
    example: an augmenter generates batch after batch in a run, its output a function of each
    row and the seed alone."""
    return {cls: _make(cls, tiny_mlm, alias_table, protect_words=["guide"]) for cls in (ContextualSubstitute, ContextualInsert)}


@pytest.mark.parametrize("cls", [ContextualSubstitute, ContextualInsert])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ws=words, seed=st.integers(0, 2**31))
def test_properties(cls, ws, seed, guarding_guide, alias_table):
    aug = guarding_guide[cls]
    text = " ".join(ws)
    out = aug.generate([text], ["r1"], 2, seed)[0]
    assert len(out) <= 2 and len({c.text for c in out}) == len(out)
    for cand in out:
        _check(text, cand, alias_table, aug.protector)
        assert "guide" in cand.text.lower().split() or "guide" not in text.split()


@pytest.mark.parametrize("cls", [ContextualSubstitute, ContextualInsert])
def test_deterministic_and_seed_dependent(cls, tiny_mlm, alias_table):
    a = _make(cls, tiny_mlm, alias_table).generate([TEXT, "short text here"], ["1", "2"], 3, seed=7)
    b = _make(cls, tiny_mlm, alias_table, batch_size=1).generate([TEXT], ["1"], 3, seed=7)
    c = _make(cls, tiny_mlm, alias_table).generate([TEXT], ["1"], 3, seed=8)
    assert len(a[0]) == 3
    assert a[0] == b[0]  # independent of the other rows and of batching
    assert [x.text for x in a[0]] != [x.text for x in c[0]]


def test_insertion_never_inside_protected_phrase(tiny_mlm, alias_table):
    text = "We study natural language processing and reinforcement learning with machine learning tools today"
    aug = _make(ContextualInsert, tiny_mlm, alias_table, aug_p=1.0, protect_words=["tools today"])
    spans = aug.protector.spans(text)
    assert {s.surface for s in spans} >= {"natural language processing", "reinforcement learning", "tools today"}
    for seed in range(5):
        for cand in aug.generate([text], ["x"], 2, seed)[0]:
            for phrase in ("natural language processing", "reinforcement learning", "machine learning", "tools today"):
                assert phrase in cand.text
            _check(text, cand, alias_table, aug.protector)


def test_substitute_never_masks_protected(tiny_mlm, alias_table):
    text = "GANs and pytorch and computer vision"
    aug = _make(ContextualSubstitute, tiny_mlm, alias_table, aug_p=1.0)
    for cand in aug.generate([text], ["x"], 3, 0)[0]:
        assert [c.before for c in cand.changes] and {c.before for c in cand.changes} <= {"and"}


def test_long_text_keeps_tail_verbatim(tiny_mlm, alias_table):
    # every word is one token; the tiny model's window holds 62 of them
    text = " ".join(["the model learns useful features from data and the rest stays as written"] * 10)
    words = text.split(" ")
    beyond = " ".join(words[62:])
    for cls in (ContextualSubstitute, ContextualInsert):
        out = _make(cls, tiny_mlm, alias_table, aug_p=0.5).generate([text], ["x"], 2, 0)[0]
        assert out
        for cand in out:
            assert cand.text.endswith(" " + beyond)
            assert len(cand.changes) >= 10  # aug_p applies to the words within the window
            _check(text, cand, alias_table, Protector(alias_table))


def test_no_variant_possible_gives_none(tiny_mlm, alias_table):
    aug = _make(ContextualSubstitute, tiny_mlm, alias_table)
    assert aug.generate(["GANs", "", "computer vision"], ["a", "b", "c"], 2, 0) == [[], [], []]


def test_aug_max_limits_changes(tiny_mlm, alias_table):
    aug = _make(ContextualSubstitute, tiny_mlm, alias_table, aug_p=1.0, aug_max=2)
    for cand in aug.generate([TEXT], ["1"], 2, 0)[0]:
        assert 1 <= len(cand.changes) <= 2


def test_params_and_validation(tiny_mlm):
    aug = make_contextual("insert", model=tiny_mlm, aug_p=0.2, top_k=5, device="cpu", precision="fp32")
    assert aug.name == "contextual_insert"
    assert aug.params() == {"engine": "native", "model": tiny_mlm, "aug_p": 0.2, "aug_max": None,
                            "top_k": 5, "protect": [], "precision": "fp32"}
    # "auto" is recorded as what it resolved to, so params reproduce the run
    assert make_contextual("insert", model=tiny_mlm, device="cpu").params()["precision"] in ("fp32", "bf16")
    with pytest.raises(InputError):
        make_contextual("substitute", precision="fp8")
    with pytest.raises(InputError):
        make_contextual("substitute", aug_p=0)
    with pytest.raises(InputError):
        make_contextual("substitute", engine="other")


def test_bad_model_fails_on_generate_with_one_line(tmp_path):
    aug = make_contextual("substitute", model=str(tmp_path / "absent"), device="cpu")
    with pytest.raises(ModelUnavailable) as info:
        aug.generate(["some text to change"], ["1"], 1, 0)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("action", ["substitute", "insert"])
def test_native_engine_runs_on_bert_type(action, tiny_bert, alias_table):
    aug = make_contextual(action, model=tiny_bert, device="cpu", protected_table=alias_table)
    out = aug.generate([TEXT], ["1"], 2, 0)[0]
    assert len(out) == 2
    for cand in out:
        _check(TEXT, cand, alias_table, aug.protector)


@pytest.mark.parametrize("action", ["substitute", "insert"])
def test_nlpaug_engine_respects_protected_words(action, tiny_bert, alias_table):
    aug = make_contextual(action, engine="nlpaug", model=tiny_bert, device="cpu",
                          protected_table=alias_table, protect_words=["tutorial"])
    assert aug.name == f"contextual_{action}" and aug.params()["engine"] == "nlpaug"
    out = aug.generate([TEXT, TEXT.lower()], ["1", "2"], 2, 3)
    again = aug.generate([TEXT], ["1"], 2, 3)
    assert out[0] == again[0]
    assert any(out)
    for text, cands in zip([TEXT, TEXT.lower()], out):
        for cand in cands:
            for c in cand.changes:
                assert cand.text[c.start:c.end] == c.after
            for phrase in ("Generative Adversarial Networks", "GANs", "PyTorch", "computer vision",
                           "natural language processing", "tutorial"):
                if phrase in text:
                    assert phrase in cand.text


def test_substituted_words_are_never_neighbours_while_they_fit_apart(tiny_mlm, alias_table):
    text = "We write simple code every single day and then we test every small piece of it again"
    aug = _make(ContextualSubstitute, tiny_mlm, alias_table, aug_p=0.4)  # 7 of 18 words: they fit apart
    for seed in range(4):
        for cand in aug.generate([text], ["n"], 3, seed)[0]:
            assert len(cand.changes) >= 2
            for a, b in zip(cand.changes, cand.changes[1:]):
                assert cand.text[a.end : b.start].split(), (cand.text, a, b)  # a word stays between


def test_nlpaug_output_is_cleaned_to_whole_word_edits():
    from augment_core.augment.contextual.nlpaug_engine import align

    original = "Basics in TF2.0 + Keras, with (EHR) data."
    # what nlpaug returns: lower-cased, re-spaced, a mark inside "TF2.0", a lone mark, a lone
    # non-Latin letter, a part of "TF2.0" replaced, and two real edits
    output = "basics fresh in tf2 . » 0 + keras , ; with ( ehr ) ʀ data ."
    cand = align(original, output)
    assert cand is not None
    assert cand.text == "Basics fresh in TF2.0 + Keras, with (EHR) data."
    assert [(c.kind, c.after) for c in cand.changes] == [("insert", " fresh")]
    assert align("Basics in TF2.0 now", "basics in tf3 . 0 now") is None  # no part of TF2.0 replaced
    swapped = align("Basics in TF2.0 now", "lessons in tf2 . 0 now")
    assert swapped is not None and swapped.text == "Lessons in TF2.0 now"  # the replaced word's case


def test_nlpaug_engine_loads_the_checkpoint_once(tiny_mlm, alias_table, monkeypatch):
    """The head check and nlpaug share one load: a DistilBERT checkpoint read twice costs a
    second or two and its memory again on every run."""
    import transformers

    from augment_core.augment.models import clear_caches

    loads: list[str] = []
    real = transformers.AutoModelForMaskedLM.from_pretrained.__func__  # type: ignore[attr-defined]

    def counting(cls, *args, **kwargs):
        loads.append(str(args[0] if args else kwargs.get("pretrained_model_name_or_path")))
        return real(cls, *args, **kwargs)

    monkeypatch.setattr(transformers.AutoModelForMaskedLM, "from_pretrained", classmethod(counting))
    clear_caches()
    aug = make_contextual("substitute", engine="nlpaug", model=tiny_mlm, device="cpu", protected_table=alias_table)
    aug.load()
    out = aug.generate([TEXT], ["1"], 1, 0)[0]
    assert out and out[0].text != TEXT
    assert len(loads) == 1, loads
