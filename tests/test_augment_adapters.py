"""Snorkel transformation functions and nlpaug augmenters through the adapters."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from augment_core.augment import apply_sets, keyword_changed, rebuild
from augment_core.augment.adapters import adapter, nlpaug_adapter, snorkel_adapter
from augment_core.augment.protection import Protector
from augment_core.errors import InputError

TEXTS = ["Natural language processing with PyTorch", "A survey of computer vision and nlp",
         "Reinforcement learning agents play Atari", "Nothing to swap here at all"]
IDS = ["10", "11", "12", "13"]
KEYBOARD = "nlpaug:nlpaug.augmenter.char.KeyboardAug"


@pytest.fixture
def lesson(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    return snorkel_adapter("snorkel:lesson_tfs:swap_aliases").build()


def test_the_lessons_swap_aliases_runs_through_the_snorkel_adapter(lesson) -> None:
    assert lesson.name == "snorkel:swap_aliases"
    assert lesson.params() == {"transformation_function": "lesson_tfs:swap_aliases"}
    out = lesson.generate(TEXTS, IDS, 3, seed=1)
    assert all(out[:3]) and out[3] == []  # a row with no tag keyword gives nothing, not itself
    protector = Protector(words=("natural language processing", "nlp", "computer vision", "reinforcement learning"))
    for text, variants in zip(TEXTS, out):
        assert len({c.text for c in variants}) == len(variants)
        for c in variants:
            assert c.text != text and rebuild(text, c.changes) == c.text
            assert keyword_changed(text, c.text, c.changes, protector)  # it swaps keywords: flagged, kept


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31), order=st.permutations(range(len(TEXTS))))
def test_snorkel_variants_depend_only_on_row_and_seed(monkeypatch_module, seed: int, order: list[int]) -> None:
    lesson = snorkel_adapter("snorkel:lesson_tfs:swap_aliases").build()
    whole = lesson.generate(TEXTS, IDS, 2, seed)
    alone = {i: lesson.generate([TEXTS[i]], [IDS[i]], 2, seed)[0] for i in order}
    assert [alone[i] for i in range(len(TEXTS))] == whole


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(Path(__file__).parent))
        yield mp


def test_adapters_leave_the_callers_global_generators_alone(lesson) -> None:
    random.seed(5)
    np.random.seed(5)
    expected = (random.random(), np.random.random())
    random.seed(5)
    np.random.seed(5)
    lesson.generate(TEXTS, IDS, 2, seed=1)
    assert (random.random(), np.random.random()) == expected


def test_the_snorkel_row_holds_the_users_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    shout = snorkel_adapter("snorkel:lesson_tfs:shout_title").build()
    rows = [{"id": "1", "title": "Deep nets", "description": "explained"}, {"id": "2", "title": "", "description": "x"}]
    out = shout.generate(["Deep nets explained", "x"], ["1", "2"], 2, seed=0, rows=rows)
    assert [[c.text for c in v] for v in out] == [["DEEP NETS explained"], []]


@pytest.mark.parametrize("ref, message", [
    ("snorkel:lesson_tfs", "snorkel:lesson_tfs: expected snorkel:MODULE:ATTR, e.g. snorkel:my_tfs:swap_aliases"),
    ("snorkel:no_such_module_here:tf", "snorkel:no_such_module_here:tf: cannot import no_such_module_here: "
                                       "ModuleNotFoundError: No module named 'no_such_module_here'"),
    ("snorkel:lesson_tfs:missing", "snorkel:lesson_tfs:missing: lesson_tfs has no missing"),
    ("snorkel:lesson_tfs:flat_tags_dict", "snorkel:lesson_tfs:flat_tags_dict: flat_tags_dict is a dict, "
                                          "not a transformation function"),
    ("nlpaug:os.path", "nlpaug:os.path: expected an nlpaug class, e.g. nlpaug:nlpaug.augmenter.char.KeyboardAug"),
    ("nlpaug:nlpaug.util.Action", "nlpaug:nlpaug.util.Action: not an nlpaug augmenter class"),
])
def test_bad_adapter_references_are_one_line(monkeypatch: pytest.MonkeyPatch, ref: str, message: str) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    with pytest.raises(InputError) as e:
        adapter(ref)
    assert str(e.value) == message


def test_an_nlpaug_class_runs_with_its_parameters_seeded_per_row() -> None:
    spec = nlpaug_adapter(KEYBOARD)
    assert spec.name == KEYBOARD and {"aug_char_max", "aug_word_p", "include_numeric"} <= {p.name for p in spec.params()}
    chosen = apply_sets([f"{KEYBOARD}.aug_word_max=1", f"{KEYBOARD}.aug_char_max=1"], {spec.name: spec.settings})
    aug = spec.build(chosen[spec.name])
    assert aug.params()["aug_word_max"] == 1 and aug.params()["class"] == "nlpaug.augmenter.char.KeyboardAug"
    out = aug.generate(TEXTS, IDS, 3, seed=4)
    protector = Protector(words=("pytorch",))
    for text, variants in zip(TEXTS, out):
        assert len(variants) == 3
        for c in variants:
            assert rebuild(text, c.changes) == c.text and len(c.changes) == 1  # one word, one character
            assert c.changes[0].kind == "substitute" and len(c.changes[0].after) == len(c.changes[0].before)
    flagged = [keyword_changed(TEXTS[0], c.text, c.changes, protector) for c in out[0]]
    assert flagged == ["PyTorch" not in c.text for c in out[0]]
    # same seed, same output, whatever the batch; another seed, other output
    again = nlpaug_adapter(KEYBOARD).build(chosen[spec.name])
    assert [again.generate([t], [i], 3, seed=4)[0] for t, i in zip(TEXTS, IDS)] == out
    assert again.generate(TEXTS, IDS, 3, seed=5) != out


def test_bad_nlpaug_parameters_are_one_line() -> None:
    spec = nlpaug_adapter(KEYBOARD)
    with pytest.raises(InputError, match=r"^--set nlpaug:nlpaug.augmenter.char.KeyboardAug.aug_char_max=many: "
                                         r"aug_char_max must be a whole number, not 'many'$"):
        apply_sets([f"{KEYBOARD}.aug_char_max=many"], {spec.name: spec.settings})
    bad = apply_sets([f"{KEYBOARD}.lang=xx"], {spec.name: spec.settings})[spec.name]  # nlpaug refuses it
    with pytest.raises(InputError, match=r"^nlpaug:nlpaug.augmenter.char.KeyboardAug: ValueError: Only support en"):
        spec.build(bad)
