"""Plug-in functions, the keyword check and entry-point discovery."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from augment_core.augment import FunctionAugmenter, apply_sets, diff_changes, discover, keyword_changed, rebuild
from augment_core.augment.function import PluginError
from augment_core.augment.protection import Protector
from augment_core.rng import row_rng, variant_rngs

PROTECTOR = Protector(words=("pytorch", "deep learning"))
TEXTS = ["Deep learning with PyTorch for beginners", "A tour of classic computer vision papers",
         "Transformers explained", "x"]


def swap_two_words(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    if len(words) < 2:
        return text
    i, j = rng.sample(range(len(words)), 2)
    words[i], words[j] = words[j], words[i]
    return " ".join(words)


@pytest.mark.parametrize("variant, changed", [
    ("Deep learning with Torch for beginners", True),
    ("Deep learning with pytorch for beginners", False),  # case only: still the keyword
    ("DEEP LEARNING with PyTorch for beginners", False),
    ("Deep learning with PyTorchs for beginners", True),
    ("Deep learning using PyTorch for beginners", False),
    ("Deep learning with PyTorch for all beginners", False),
    ("Deep machine learning with PyTorch for beginners", True),  # inside a multi-word keyword
    ("Some deep learning with PyTorch for beginners", False),  # a word before it, and case
    ("Deep learning with PyTorch", False),
])
def test_keyword_changed_only_when_a_protected_keyword_is_altered(variant: str, changed: bool) -> None:
    original = TEXTS[0]
    assert keyword_changed(original, variant, diff_changes(original, variant), PROTECTOR) is changed


@pytest.mark.parametrize("variant, changed", [
    ("Node classification graphs in python", True),  # a word beside "Node" makes it another keyword
    ("Node js for graphs in python", True),
    ("node and graphs in python", False),  # a word beside it that forms no keyword; case only
    ("Node for graphs in Python 3", False),
])
def test_a_keyword_made_part_of_a_longer_one_is_changed(variant: str, changed: bool) -> None:
    protector = Protector(words=("node", "node js", "node classification", "python"))
    original = "Node for graphs in python"
    assert keyword_changed(original, variant, diff_changes(original, variant), protector) is changed


WORDS = st.lists(st.sampled_from(["deep", "learning", "pytorch", "PyTorch", "with", "nets", "data", "a"]),
                 min_size=1, max_size=12)


@settings(max_examples=100, deadline=None)
@given(WORDS, st.data())
def test_keyword_changed_property(words: list[str], data: st.DataObject) -> None:
    original = " ".join(words)
    spans = PROTECTOR.spans(original)
    # letter case alone never changes a keyword
    recased = "".join(c.upper() if data.draw(st.booleans()) else c.lower() for c in original)
    assert not keyword_changed(original, recased, diff_changes(original, recased), PROTECTOR)
    # replacing one word: flagged exactly when that word lies in a protected span
    i = data.draw(st.integers(0, len(words) - 1))
    start = len(" ".join(words[:i])) + (1 if i else 0)
    variant = " ".join(words[:i] + ["zzz"] + words[i + 1:])
    inside = any(sp.start <= start < sp.end for sp in spans)
    assert keyword_changed(original, variant, diff_changes(original, variant), PROTECTOR) is inside
    assert keyword_changed(original, variant, diff_changes(original, variant), PROTECTOR, spans) is inside


def test_a_function_plugin_gives_distinct_changed_variants_with_spans() -> None:
    aug = FunctionAugmenter("swap", swap_two_words)
    out = aug.generate(TEXTS, ["1", "2", "3", "4"], 3, seed=7)
    assert [len(v) for v in out[:3]] == [3, 3, 1]  # "Transformers explained" has one other order
    assert out[3] == []  # nothing to swap: the function returns its input, dropped
    for text, variants in zip(TEXTS, out):
        assert len({c.text for c in variants}) == len(variants)
        for c in variants:
            assert c.text != text and rebuild(text, c.changes) == c.text
    assert aug.params() == {"function": f"{__name__}.swap_two_words"}


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32), st.permutations(range(len(TEXTS))), st.integers(1, 4))
def test_variants_depend_only_on_row_and_seed(seed: int, order: list[int], batch: int) -> None:
    aug = FunctionAugmenter("swap", swap_two_words)
    ids = [str(i) for i in range(len(TEXTS))]
    whole = aug.generate(TEXTS, ids, 2, seed)
    shuffled: dict[int, list] = {}
    for start in range(0, len(order), batch):
        part = order[start:start + batch]
        for i, variants in zip(part, aug.generate([TEXTS[i] for i in part], [ids[i] for i in part], 2, seed)):
            shuffled[i] = variants
    assert [shuffled[i] for i in range(len(TEXTS))] == whole
    assert aug.generate(TEXTS, ids, 2, seed + 1) != whole or all(len(v) < 2 for v in whole)


def test_attempts_are_bounded_and_progress_counts_every_row() -> None:
    calls = []

    def stubborn(text: str, rng: random.Random) -> str:
        calls.append(text)
        return "always the same"

    done = []
    out = FunctionAugmenter("stubborn", stubborn, attempts_per_variant=2).generate(
        ["a", "b"], ["1", "2"], 5, seed=0, progress=done.append)
    assert [len(v) for v in out] == [1, 1] and len(calls) == 20 and sum(done) == 2


def test_a_failing_plugin_is_one_line_naming_it_and_the_row() -> None:
    def broken(text: str, rng: random.Random) -> str:
        raise KeyError("oops")

    with pytest.raises(PluginError, match=r"^augmenter broken failed on row 9: KeyError: 'oops'$"):
        FunctionAugmenter("broken", broken).generate(["text"], ["9"], 1, seed=0)
    with pytest.raises(PluginError, match="returned int on row 9, not text"):
        FunctionAugmenter("numbers", lambda t, r: 3).generate(["text"], ["9"], 1, seed=0)
    with pytest.raises(PluginError, match="returned list on row 9, not text"):
        FunctionAugmenter("lists", lambda t, r: [t + "!"]).generate(["text"], ["9"], 1, seed=0)


PLUGIN_MODULE = '''
import random
from dataclasses import dataclass

from augment_core.augment import AugmenterSpec, FunctionAugmenter, setting

NUMBER = 3


def shout(text: str, rng: random.Random) -> str:
    """Upper-cases one word."""
    words = text.split(" ")
    i = rng.randrange(len(words))
    words[i] = words[i].upper()
    return " ".join(words)


def two_args_needed(text):
    return text


@dataclass(frozen=True)
class RepeatSettings:
    times: int = setting(2, "how often the last word is repeated", min=1, max=5)


def _repeat(settings, context):
    return FunctionAugmenter("repeat", lambda t, rng: t + (" " + t.split()[-1]) * settings.times,
                             {"times": settings.times})


SPEC = AugmenterSpec("repeat", RepeatSettings, _repeat, "repeats the last word")
'''

ENTRY_POINTS = """[augment_review.augmenters]
bad~name = myplug:shout
shout = myplug:shout
repeat = myplug:SPEC
broken = myplug_missing:fn
number = myplug:NUMBER
one_arg = myplug:two_args_needed
twice = myplug:SPEC
"""


def test_discovery_finds_functions_and_specs_and_reports_broken_ones_in_one_line(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "myplug.py").write_text(PLUGIN_MODULE)
    info = tmp_path / "myplug-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: myplug\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    monkeypatch.syspath_prepend(str(tmp_path))
    errors: list[str] = []
    specs = discover(errors)
    assert {"shout", "repeat"} <= set(specs)
    assert sorted(errors) == sorted([
        "augmenter plug-in bad~name (myplug:shout from myplug) skipped: ValueError: augmenter name 'bad~name' "
        "may hold only letters, digits and _ . : -",
        "augmenter plug-in twice (myplug:SPEC from myplug) skipped: the name repeat is taken",
        "augmenter plug-in broken (myplug_missing:fn from myplug) skipped: ModuleNotFoundError: "
        "No module named 'myplug_missing'",
        "augmenter plug-in number (myplug:NUMBER from myplug) skipped: TypeError: int is neither a function "
        "(text, rng) -> text nor an AugmenterSpec",
        "augmenter plug-in one_arg (myplug:two_args_needed from myplug) skipped: TypeError: the function must take "
        "(text, rng)",
    ])
    shout = specs["shout"]
    assert shout.params() == [] and shout.help == "Upper-cases one word."
    out = shout.build().generate(["make it loud"], ["1"], 2, seed=3)[0]
    assert len(out) == 2 and all(c.text.lower() == "make it loud" for c in out)
    repeat = specs["repeat"]
    assert [p.to_json() for p in repeat.params()] == [
        {"name": "times", "type": "int", "default": 2, "help": "how often the last word is repeated", "min": 1,
         "max": 5}]
    chosen = apply_sets(["repeat.times=3"], {"repeat": repeat.settings, "shout": None})
    (variant,) = repeat.build(chosen["repeat"]).generate(["say it"], ["1"], 1, seed=0)[0]
    assert variant.text == "say it it it it" and [(c.after, c.kind) for c in variant.changes] == [(" it it it", "insert")]


def test_a_rows_variant_generators_are_the_row_rng_of_each_variant() -> None:
    # the framework joins the row's part of the seed once; the streams must not change
    rngs = variant_rngs(42, "my_plugin", "row-7")
    for k in range(4):
        assert rngs(k).getstate() == row_rng(42, "my_plugin", "row-7", k).getstate()
