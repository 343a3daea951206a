import json

from augment_core.augment.changes import Edit, apply_edits, changes_to_json
from augment_core.review.highlight import (
    candidate_block_html,
    group_original_html,
    legend_html,
    original_html,
    original_spans,
    variant_html,
)


def _cand(text, edits):
    c = apply_edits(text, edits)
    return c.text, changes_to_json(c.changes)


def test_each_kind_has_its_class():
    text = "cv models for nlp tasks"
    variant, changes = _cand(
        text,
        [Edit(0, 2, "computer vision", "substitute"), Edit(10, 10, "very ", "insert"), Edit(18, 24, "", "delete")],
    )
    html_out = variant_html(variant, changes)
    assert '<mark class="ar-sub" title="was: cv">computer vision</mark>' in html_out
    assert '<ins class="ar-ins" title="inserted">very</ins> ' in html_out
    assert '<del class="ar-del" title="deleted">tasks</del>' in html_out
    orig = original_html(text, changes)
    assert '<span class="ar-old">cv</span>' in orig and '<span class="ar-del">tasks</span>' in orig
    spans = original_spans(changes)
    assert [(text[s:e]) for s, e, _ in spans] == ["cv", "", "tasks"]


def test_highlights_cover_the_words_not_the_spaces_around_them():
    # a contextual insertion's span starts at the space before the word: the span keeps
    # it (provenance), the highlight does not (no coloured sliver at a line's end)
    text = "vision models for tasks"
    variant, changes = _cand(text, [Edit(13, 13, " small", "insert"), Edit(23, 23, " today", "insert")])
    assert variant == "vision models small for tasks today"
    assert json.loads(changes)[0]["after"] == " small"
    out = variant_html(variant, changes)
    assert 'models <ins class="ar-ins" title="inserted">small</ins> for' in out
    assert out.endswith('tasks <ins class="ar-ins" title="inserted">today</ins></p>')
    for tag in ("ins", "mark", "del", "span"):
        assert f"<{tag} " not in out.replace(f"<{tag} class", "") and f" </{tag}>" not in out
    sub, sub_changes = _cand(text, [Edit(6, 13, " networks", "substitute")])
    out = variant_html(sub, sub_changes)
    assert 'vision <mark class="ar-sub" title="was: models">networks</mark> for' in out
    assert "> </mark>" not in out and "<mark" in out
    dele, del_changes = _cand(text, [Edit(17, 23, "", "delete")])
    assert '<del class="ar-del" title="deleted">tasks</del>' in variant_html(dele, del_changes)
    assert 'for <span class="ar-del">tasks</span>' in original_html(text, del_changes)
    blank, blank_changes = _cand(text, [Edit(6, 6, "  ", "insert")])
    assert "<ins" not in variant_html(blank, blank_changes)


def test_untrusted_text_is_escaped():
    evil = '<img src=x onerror=alert(1)> $x$ [a](javascript:b) :smile: "q" & <script>x</script>'
    variant, changes = _cand(evil, [Edit(0, 4, "<b>", "substitute")])
    for out in (variant_html(variant, changes), original_html(evil, changes), group_original_html(evil)):
        assert "<img" not in out and "<script" not in out and "<b>" not in out
        assert "onerror=alert(1)&gt;" in out and "&lt;script&gt;" in out and "&amp;" in out
    block = candidate_block_html(variant, changes, "accepted", meta=["<i>run</i>"], note="<b>n</b>")
    assert "<i>" not in block and "&lt;i&gt;run&lt;/i&gt;" in block and "&lt;b&gt;n&lt;/b&gt;" in block
    assert 'title="was: &lt;img"' in variant_html(variant, changes)


def test_bad_spans_do_not_break_rendering():
    bad = json.dumps([{"start": 50, "end": 60, "before": "a", "after": "b", "kind": "substitute"}])
    assert variant_html("short <x>", bad) == '<p class="ar-text">short &lt;x&gt;</p>'
    assert variant_html("plain", None) == '<p class="ar-text">plain</p>'
    assert original_html("plain", bad) == '<p class="ar-text">plain</p>'


def test_group_original_marks_union_of_variants():
    text = "cv and nlp"
    v1, c1 = _cand(text, [Edit(0, 2, "computer vision", "substitute")])
    v2, c2 = _cand(text, [Edit(7, 10, "natural language processing", "substitute")])
    out = group_original_html(text, [c1, c2])
    assert out == '<p class="ar-text"><span class="ar-old">cv</span> and <span class="ar-old">nlp</span></p>'


def test_legend_names_all_kinds():
    out = legend_html()
    for word in ("substitution", "insertion", "deletion"):
        assert word in out


def test_no_styling_in_the_library():
    """The HTML names classes; the app (app_support.markup) owns the CSS and Markdown escaping."""
    import augment_core.review.highlight as highlight
    from app_support.markup import CSS, markdown_escape

    assert not hasattr(highlight, "CSS") and not hasattr(highlight, "markdown_escape")
    assert "<style>" not in legend_html() and ".ar-sub" in CSS
    assert markdown_escape("**a** :smile:") == "\\*\\*a\\*\\* :\u200bsmile:\u200b"
