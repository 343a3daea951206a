"""The review component's payload: change spans checked to fit the text they mark (the browser
builds the highlighted text from them with textContent), and the component's JavaScript never
writes HTML."""

from pathlib import Path

from app_support import review_component as rc
from augment_core.augment.changes import Change

JS = (Path(rc.__file__).parent / "review.js").read_text(encoding="utf-8")


def test_variant_spans_fit_the_text_and_keep_their_kind():
    text = "uses computer vision and more"
    changes = (Change(5, 20, "cv", "computer vision", "substitute"), Change(25, 29, "", "more", "insert"),
               Change(10, 12, "x", "y", "substitute"),  # overlaps the first: dropped
               Change(40, 45, "a", "b", "substitute"))  # past the end: dropped
    assert rc.variant_spans(text, changes) == [[5, 20, "substitute", "cv"], [25, 29, "insert", ""]]


def test_original_marks_only_where_the_words_still_read_so():
    original = "uses cv and nlp"
    a = (Change(5, 20, "cv", "computer vision", "substitute"),)
    b = (Change(0, 4, "nope", "uses", "substitute"),)  # "nope" is not in the original: no mark
    assert rc.original_marks(original, [a, b]) == [[5, 7, "old", ""]]


def test_one_variant_beside_its_original_keeps_a_deletes_own_mark():
    # "uses cv and nlp" -> "uses computer vision nlp": cv replaced, " and" deleted
    original = "uses cv and nlp"
    changes = (Change(5, 20, "cv", "computer vision", "substitute"), Change(20, 20, " and", "", "delete"))
    assert rc.original_marks(original, [changes], merge=False) == [[5, 7, "old", ""], [7, 11, "old-delete", ""]]
    assert rc.original_marks(original, [changes]) == [[5, 11, "old", ""]]  # a group's original: one mark


def test_component_script_never_assigns_html():
    for banned in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "DOMParser",
                   "createContextualFragment", "srcdoc", "new Function"):
        assert banned not in JS
