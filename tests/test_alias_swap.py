import string
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from augment_core.augment.alias_swap import AliasSwap
from augment_core.augment.aliases import build_alias_table, normalize_key


@cache
def table():
    """Built when a test first needs it, not when the module is collected (every xdist worker
    collects every module; building it imports inflect, two seconds)."""
    return build_alias_table(
        [
            ("generative-adversarial-networks", ["gan"]),
            ("natural-language-processing", ["nlp", "nlproc"]),
            ("computer-vision", ["cv", "vision"]),
            ("c++", ["cpp"]),
            ("transformers", []),
        ]
    )


def group_forms(key: str) -> set[str]:
    keywords = table().keywords
    return {k for k in keywords if keywords[k] == keywords[key]}


filler = st.text(alphabet=string.ascii_letters + " .,;:!?-()'\n", max_size=30)
key_text = st.deferred(lambda: st.sampled_from(sorted(table().alternatives))).flatmap(
    lambda k: st.sampled_from([k, k.upper(), k.title(), k.capitalize()])
)
texts = st.lists(st.tuples(filler, key_text), min_size=0, max_size=4).map(
    lambda parts: " ".join(f"{f} {k}" for f, k in parts) + " end"
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts, seed=st.integers(0, 10**6), n=st.integers(1, 6))
def test_a_swap_replaces_one_key_by_a_member_of_its_group_and_nothing_else(text, seed, n):
    variants = AliasSwap(table()).variants(text, "r1", n, seed)
    assert len(variants) <= n
    assert len({v.text for v in variants}) == len(variants)
    for v in variants:
        assert v.text != text
        assert len(v.changes) == 1
        c = v.changes[0]
        assert v.text[c.start : c.end] == c.after  # the span points at exactly the new text
        # everything outside the span is the original, character for character
        assert v.text[: c.start] == text[: c.start]
        assert v.text[c.end :] == text[c.start + len(c.before) :]
        assert text[c.start : c.start + len(c.before)] == c.before
        before, after = normalize_key(c.before), normalize_key(c.after)
        assert before in table().alternatives
        assert after in group_forms(before) and after != before


@settings(max_examples=60, deadline=None)
@given(text=texts, seed=st.integers(0, 10**6))
def test_several_swaps_keep_spans_exact(text, seed):
    for v in AliasSwap(table(), max_swaps=3).variants(text, "r", 4, seed):
        assert v.text != text
        for c in v.changes:
            assert v.text[c.start : c.end] == c.after
            assert normalize_key(c.after) in group_forms(normalize_key(c.before))


def test_at_most_the_possible_number_of_variants():
    # "gan" has one alternative, so one variant only, however many are asked for
    assert [v.text for v in AliasSwap(table()).variants("a gan here", "x", 5, 0)] == [
        "a generative adversarial network here"
    ]
    assert AliasSwap(table()).variants("no keywords here", "x", 5, 0) == []
    assert AliasSwap(table()).variants("transformers alone", "x", 5, 0) == []


def test_every_possible_single_swap_when_asked_for_enough():
    variants = AliasSwap(table()).variants("nlp and cv", "x", 10, 0)
    assert sorted(v.text for v in variants) == sorted(
        ["natural language processing and cv", "nlproc and cv", "nlp and computer vision", "nlp and vision"]
    )


def test_seeded_by_row_not_by_position():
    swap = AliasSwap(table())
    text = "gan nlp cv cpp and more nlp"
    alone = swap.generate([text], ["row-7"], 3, seed=11)
    batch = swap.generate(["cv here", text, "nlp"], ["row-1", "row-7", "row-9"], 3, seed=11)
    assert alone[0] == batch[1]
    other_seed = swap.generate([text], ["row-7"], 3, seed=12)
    assert [c.text for c in alone[0]] != [c.text for c in other_seed[0]]


def test_case_is_kept_in_the_swap():
    texts = {v.text for v in AliasSwap(table()).variants("GAN art", "x", 5, 0)}
    assert texts == {"Generative Adversarial Network art"}


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(texts, st.lists(st.sampled_from(["gan", "nlp", "cv", "art"]), max_size=3),
                  st.sampled_from(["train", "val", "test"])),
        min_size=1, max_size=8,
    ),
    seed=st.integers(0, 1000),
)
def test_through_the_pipeline_labels_and_split_never_change(rows, seed):
    from augment_core.data.dataset import ColumnMapping, Dataset, Record
    from augment_core.runners.pipeline import run_augmentation

    records = [Record(str(i), text, tuple(labels), split, list(labels)) for i, (text, labels, split) in enumerate(rows)]
    out = run_augmentation(Dataset(records, ColumnMapping(("text",), "tags")), [AliasSwap(table())], 3, True, seed)
    parents = {r.id: r for r in records}
    for row in out:
        parent = parents[row["parent_id"]]
        assert row["tags"] == parent.raw_label
        if row["augmenter"] == "original":
            assert row["split"] == parent.split and row["text"] == parent.text
        else:
            assert parent.split == "train" and row["split"] == "train"
            assert row["original_text"] == parent.text
