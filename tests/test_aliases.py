import json

import pytest

from augment_core.augment.aliases import (
    AliasTable,
    build_alias_table,
    compile_keyword_pattern,
    load_alias_table,
    match_case,
    parse_tags,
)
from augment_core.errors import InputError


def keys(table: AliasTable, text: str) -> list[str]:
    return [m.key for m in table.find(text)]


def test_gan_family_maps_to_each_other(fitted_table):
    alts = fitted_table.alternatives
    assert "generative adversarial network" in alts["gan"]
    assert "generative adversarial networks" in alts["gans"]
    assert "gan" in alts["generative adversarial network"]
    assert "gans" in alts["generative adversarial networks"]


def test_plural_and_singular_keep_their_number(fitted_table):
    assert all(a.endswith("s") for a in fitted_table.alternatives["gans"])
    assert not any(a.endswith("networks") for a in fitted_table.alternatives["gan"])


def test_whole_words_only(alias_table):
    assert keys(alias_table, "gandalf the grey") == []
    assert keys(alias_table, "a gan, then GANs.") == ["gan", "gans"]  # a guessed form is still a keyword


def test_nlp_aliases_from_the_vocabulary(alias_table):
    assert {"nlproc", "natural language processing"} <= set(alias_table.alternatives["nlp"])


@pytest.fixture()
def symbol_table():
    return build_alias_table(
        [("c++", ["cpp"]), ("c#", ["csharp"]), (".net", ["dotnet"]), ("node.js", ["nodejs"]),
         ("computer-vision", ["cv"]), ("generative-adversarial-networks", ["gan"])]
    )


@pytest.mark.parametrize(
    "text,expected",
    [
        ("written in c++.", ["c++"]),
        ("C++ and C# and .NET", ["c++", "c#", ".net"]),
        ("asp.net apps", []),
        ("a node.js server", ["node.js"]),
        ("cpp11", []),
        ("Computer Vision and computer-vision", ["computer vision", "computer vision"]),
        ("generative adversarial\n networks", ["generative adversarial networks"]),
    ],
)
def test_keys_with_symbols_and_several_words(symbol_table, text, expected):
    assert keys(symbol_table, text) == expected


def test_longest_match_wins():
    pattern = compile_keyword_pattern(["neural network", "neural", "neural networks"])
    assert [m.group() for m in pattern.finditer("neural networks and neural nets")] == ["neural networks", "neural"]


def test_longest_backs_off_when_boundary_fails():
    pattern = compile_keyword_pattern(["deep", "deep learning"])
    assert [m.group() for m in pattern.finditer("deep learningish")] == ["deep"]


@pytest.mark.parametrize(
    "template,replacement,expected",
    [
        ("gan", "generative adversarial network", "generative adversarial network"),
        ("Gan", "generative adversarial network", "Generative adversarial network"),
        ("GAN", "generative adversarial network", "Generative Adversarial Network"),
        ("GANs", "generative adversarial networks", "Generative Adversarial Networks"),
        ("NLP", "nlproc", "NLPROC"),
        ("Computer Vision", "cv", "CV"),
        ("Natural Language Processing", "natural language understanding", "Natural Language Understanding"),
        ("PyTorch", "torch", "torch"),
    ],
)
def test_case_style_is_kept(template, replacement, expected):
    assert match_case(template, replacement) == expected


def test_inflect_slips_are_avoided(alias_table):
    # plural_noun("graphs") is "graphss"; singular_noun("graph") is False
    table = build_alias_table([("graphs", ["graph networks"]), ("embedding", ["embeddings vector"])])
    assert {"graph", "graphs", "graph network", "graph networks", "embedding", "embeddings vector"} <= set(table.keywords)
    assert "graphss" not in table.keywords
    assert table.alternatives["graph"] == ("graph network",)
    assert table.alternatives["graphs"] == ("graph networks",)
    # a singular name of several words is never pluralised without evidence
    assert "embeddings vectors" not in table.alternatives.get("embeddings", ())
    forms = set(alias_table.keywords)
    assert "aw" not in forms  # aws is not the plural of "aw"
    assert alias_table.alternatives["c++"] == ("cpp",)


@pytest.mark.parametrize(
    "content,message",
    [
        (b"not json", "not valid JSON"),
        (b'{"tag": "x"}', "expected a JSON list"),
        (b'[{"name": "x"}]', "item 0"),
        (b'[{"tag": "x", "aliases": "y"}]', "not a list of strings"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
    ],
)
def test_bad_tags_files_say_what_is_wrong(tmp_path, content, message):
    path = tmp_path / "tags.json"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        load_alias_table(path, use_cache=False)


def test_missing_tags_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_alias_table(tmp_path / "nope.json")


def test_extra_keys_are_ignored_and_dashes_are_spaces():
    groups = parse_tags([{"tag": "ci-cd", "aliases": ["continuous-integration"], "parents": ["mlops"]}])
    table = build_alias_table(groups)
    assert table.alternatives["ci cd"] == ("continuous integration",)
    assert table.keywords["continuous integration"] == frozenset({"ci-cd"})


def test_cached_table_equals_a_fresh_build(tmp_path, tags_json, monkeypatch):
    monkeypatch.setenv("AUGMENT_REVIEW_CACHE_DIR", str(tmp_path / "cache"))
    own = tmp_path / "my-tags.json"  # not the bundled vocabulary, which ships its table
    own.write_bytes(tags_json.read_bytes() + b"\n")
    fresh = load_alias_table(own)
    assert list((tmp_path / "cache").glob("alias-table-*.json"))
    cached = load_alias_table(own)
    assert cached.keywords == fresh.keywords and cached.alternatives == fresh.alternatives


def test_a_changed_tags_file_is_not_served_from_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AUGMENT_REVIEW_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "tags.json"
    path.write_text(json.dumps([{"tag": "gan", "aliases": ["gen adv net"]}]))
    assert "gan" in load_alias_table(path).alternatives
    path.write_text(json.dumps([{"tag": "cnn", "aliases": ["convnet"]}]))
    table = load_alias_table(path)
    assert "gan" not in table.alternatives and "cnn" in table.alternatives


def test_bundled_table_equals_a_fresh_build():
    from augment_core.augment.aliases import BUNDLED_TABLE, BUNDLED_TAGS

    fresh = load_alias_table(BUNDLED_TAGS, use_cache=False)
    shipped = AliasTable.from_json(json.loads(BUNDLED_TABLE.read_text(encoding="utf-8")))
    assert shipped.source_sha256 == fresh.source_sha256, "data/tags.json changed: run python -m augment_core.augment.aliases"
    assert shipped.keywords == fresh.keywords and shipped.alternatives == fresh.alternatives, (
        "the bundled table is stale: run python -m augment_core.augment.aliases"
    )


def test_bundled_table_is_used_without_inflect(tmp_path, monkeypatch):
    import subprocess
    import sys

    code = (
        "import sys; from augment_core.augment.aliases import load_alias_table, BUNDLED_TAGS; "
        "t = load_alias_table(BUNDLED_TAGS); assert 'gan' in t.alternatives; "
        "sys.exit(1 if 'inflect' in sys.modules or 'wordfreq' in sys.modules else 0)"
    )
    env = {**__import__("os").environ, "AUGMENT_REVIEW_CACHE_DIR": str(tmp_path / "empty-cache")}
    assert subprocess.run([sys.executable, "-c", code], env=env, timeout=60).returncode == 0
