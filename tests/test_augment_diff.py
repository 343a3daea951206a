"""The word-level diff that gives any variant (plug-in, adapter, imported file) its change spans."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from augment_core.augment import diff
from augment_core.augment.changes import Edit, apply_edits, original_spans
from augment_core.augment.compiled import diff as compiled_diff
from augment_core.augment.diff import diff_changes, python_diff_changes, rebuild, tokens

# words (ASCII and not), whitespace runs of every kind, punctuation and symbols
ALPHABET = st.sampled_from(list("ab Z\t\n\u00a0.,;!-'é\u00df\u4e2d\U0001f600_0") + ["  ", "ab", "the ", " cat"])
TEXT = st.lists(ALPHABET, max_size=40).map("".join)


def assert_consistent(original: str, variant: str) -> None:
    changes = diff_changes(original, variant)
    assert python_diff_changes(original, variant) == changes  # the compiled diff is the reference's twin
    assert rebuild(original, changes) == variant
    last_end = -1
    for start, end, c in original_spans(changes):
        assert original[start:end] == c.before
        assert variant[c.start:c.end] == c.after
        assert start > last_end  # in order, never touching: an unchanged stretch between
        last_end = end
        assert c.before != c.after
        assert c.kind == ("insert" if not c.before else "delete" if not c.after else "substitute")


@settings(max_examples=100, deadline=None)
@given(TEXT, TEXT)
def test_spans_rebuild_any_pair_exactly(original: str, variant: str) -> None:
    assert_consistent(original, variant)


@settings(max_examples=100, deadline=None)
@given(TEXT, st.lists(st.tuples(st.integers(0, 40), st.integers(0, 3), TEXT), max_size=4))
def test_spans_rebuild_edited_variants_exactly(original: str, edits: list) -> None:
    # variants as augmenters make them: a few local edits of the original
    variant = original
    for pos, length, replacement in edits:
        pos = min(pos, len(variant))
        variant = variant[:pos] + replacement + variant[pos + length:]
    assert_consistent(original, variant)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["alpha", "beta", "gamma", "delta", "ep", "zeta", "eta", "theta"]),
                min_size=1, max_size=30, unique=True),
       st.data())
def test_a_replaced_word_is_one_change_covering_just_that_word(words: list[str], data: st.DataObject) -> None:
    original = " ".join(words)
    i = data.draw(st.integers(0, len(words) - 1))
    variant = " ".join(words[:i] + ["NEW"] + words[i + 1:])
    (change,) = diff_changes(original, variant)
    assert (change.before, change.after, change.kind) == (words[i], "NEW", "substitute")
    assert variant[change.start:change.end] == "NEW"


def test_changes_have_the_shape_apply_edits_gives() -> None:
    original = "Deep learning with PyTorch, made simple."
    variant = "Deep learning in PyTorch made very simple!"
    changes = diff_changes(original, variant)
    assert [(c.before, c.after, c.kind) for c in changes] == [
        ("with", "in", "substitute"), (",", "", "delete"), ("", "very ", "insert"), (".", "!", "substitute")]
    edits = [Edit(s, e, c.after, c.kind) for s, e, c in original_spans(changes)]
    assert apply_edits(original, edits).changes == changes


def test_highlights_leave_the_surrounding_spaces_alone() -> None:
    assert [(c.before, c.after) for c in diff_changes("a cat sat", "a dog sat")] == [("cat", "dog")]
    assert [(c.before, c.after) for c in diff_changes("one  two", "one three")] == [(" two", "three")]
    assert diff_changes("same text", "same text") == ()


def test_tokens_join_back_to_the_text() -> None:
    text = "Don't stop—über 3.5x,\tnow!"
    assert "".join(tokens(text)) == text
    assert "Don" in tokens(text) and "über" in tokens(text)


def test_a_moved_word_does_not_become_the_only_anchor() -> None:
    # "pytorch" is the one token unique on both sides, but aligning on it would call the
    # whole middle deleted and inserted; two in-place substitutions match far more
    original = "pytorch a a pytorch deep deep PyTorch"
    variant = "pytorch a a pytorcH deep deep pytorch"
    assert [(c.before, c.after) for c in diff_changes(original, variant)] == [
        ("pytorch", "pytorcH"), ("PyTorch", "pytorch")]


def test_the_compiled_diff_is_built_from_the_current_source_and_is_the_one_used() -> None:
    # pip install -e . compiles it (setup.py); a plug-in's overhead goal rests on it
    assert diff.diff_changes is compiled_diff.diff_changes
    source = Path(compiled_diff.__file__).with_name("diff.pyx")
    assert Path(compiled_diff.__file__).stat().st_mtime >= source.stat().st_mtime, (
        "compiled/diff.pyx changed after it was built: run pip install -e . again")


@pytest.mark.parametrize(("original", "variant"), [
    ("MwShOne", "Machine"), ("TF2.0 + Keras", "TF2. 0 + KW%as"), ("x a a y", "y a a x"), ("", "new words"),
    ("old words", ""), ("a\u00a0b  c\n", "a b c"), ("\U0001f600 \u4e2d", "\u4e2d \U0001f600"),
    ("pytorch a a pytorch deep deep PyTorch", "pytorch a a pytorcH deep deep pytorch")])
def test_the_compiled_diff_gives_the_references_changes(original: str, variant: str) -> None:
    assert diff_changes(original, variant) == python_diff_changes(original, variant)
    assert rebuild(original, diff_changes(original, variant)) == variant


def test_the_compiled_diff_takes_any_str_and_refuses_anything_else() -> None:
    class Text(str):
        pass

    (change,) = diff_changes(Text("a cat sat"), "a dog sat")
    assert type(change.before) is str and change.after == "dog"
    with pytest.raises(TypeError):
        diff_changes(None, "a")  # type: ignore[arg-type]


REPETITIVE = st.lists(st.sampled_from(["a", "b", "a b", " ", "  ", ".", "the", "\n", "x y"]), max_size=50).map("".join)


@settings(max_examples=300, deadline=None)
@given(REPETITIVE, REPETITIVE)
def test_the_compiled_diff_agrees_where_few_tokens_are_unique(original: str, variant: str) -> None:
    # repeated tokens leave patience few anchors: the SequenceMatcher and best-of paths run
    assert diff_changes(original, variant) == python_diff_changes(original, variant)
