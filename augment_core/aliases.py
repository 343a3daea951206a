"""The tag vocabulary as an alias table, and the keyword matcher over it.

A tags file is a JSON list of ``{"tag": ..., "aliases": [...]}`` (extra keys ignored), as
Made With ML's ``tags.json``. Every member of a group (the tag and its aliases, dashes read
as spaces) is an alias of every other member, in both grammatical numbers. Every form of
every tag is also a *keyword*: the contextual augmenters protect keywords and the quality
flags watch them, whether or not the tag has aliases.

Matching is one regex pass per text: the keys are compiled into a trie-shaped pattern, so
the engine tries the longest key first at each position and backs off to shorter keys
when a word boundary fails. Boundaries are ``(?<!\\w)``/``(?!\\w)`` rather than ``\\b``, which
is wrong for keys that start or end with a non-word character (``c++``, ``c#``, ``.net``).

Building the table needs ``inflect`` (about 1-2.5 s just to import), so a built table is
cached on disk keyed by the tags file's content hash; see :func:`load_alias_table`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

from augment_core.errors import InputError
from augment_core.io import read_input

CACHE_FORMAT = 1
_SPACE_RUN = re.compile(r"[\s\-]+")


@dataclass(frozen=True)
class KeywordMatch:
    """A keyword found in a text: ``text[start:end]`` is ``surface``; ``key`` is its
    normalised (lower-case, single-spaced) form, the key into the table."""

    start: int
    end: int
    surface: str
    key: str


def normalize_key(text: str) -> str:
    return _SPACE_RUN.sub(" ", text.strip().lower())


_key_of = lru_cache(maxsize=65536)(normalize_key)


@dataclass(frozen=True)
class AliasTable:
    """Keywords (every form of every tag and alias) and, for keys with aliases, the
    replacements an alias swap may choose from (same grammatical number first)."""

    keywords: Mapping[str, frozenset[str]]
    alternatives: Mapping[str, tuple[str, ...]]
    source_sha256: str = ""
    groups: tuple[tuple[str, ...], ...] = field(default=())

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        return compile_keyword_pattern(self.keywords)

    def find(self, text: str) -> list[KeywordMatch]:
        """Every keyword occurrence: whole words, case-insensitive, leftmost-longest,
        non-overlapping."""
        return [KeywordMatch(m.start(), m.end(), m[0], _key_of(m[0])) for m in self._pattern.finditer(text)]

    def swappable(self, text: str) -> list[KeywordMatch]:
        alternatives = self.alternatives
        return [m for m in self.find(text) if m.key in alternatives]

    def tags_in(self, text: str) -> set[str]:
        """Tags whose keywords occur in ``text``."""
        tags: set[str] = set()
        for m in self.find(text):
            tags |= self.keywords.get(m.key, frozenset())
        return tags

    def search(self, query: str = "") -> list[dict[str, str]]:
        """Rows of (keyword, alternatives, tags) for the swappable keys whose keyword,
        alternatives or tags contain ``query`` (case-insensitive): the browsable table."""
        q = query.strip().lower()
        rows = [
            {"keyword": k, "alternatives": ", ".join(alts), "tags": ", ".join(sorted(self.keywords.get(k, ())))}
            for k, alts in sorted(self.alternatives.items())
        ]
        return [r for r in rows if not q or any(q in r[c].lower() for c in ("keyword", "alternatives", "tags"))]

    def rules(self) -> list[tuple[str, str]]:
        """Every (key, replacement) pair an alias swap can apply."""
        return [(k, alt) for k, alts in self.alternatives.items() for alt in alts]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": CACHE_FORMAT,
            "source_sha256": self.source_sha256,
            "keywords": {k: sorted(v) for k, v in self.keywords.items()},
            "alternatives": {k: list(v) for k, v in self.alternatives.items()},
            "groups": [list(g) for g in self.groups],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "AliasTable":
        return cls(
            keywords={k: frozenset(v) for k, v in data["keywords"].items()},
            alternatives={k: tuple(v) for k, v in data["alternatives"].items()},
            source_sha256=data.get("source_sha256", ""),
            groups=tuple(tuple(g) for g in data.get("groups", [])),
        )


def compile_keyword_pattern(keys: Iterable[str]) -> re.Pattern[str]:
    trie: dict[str, Any] = {}
    for key in keys:
        if not key:
            continue
        node = trie
        for ch in key:
            node = node.setdefault(ch, {})
        node[""] = {}
    if not trie:
        return re.compile(r"(?!x)x")
    return re.compile(r"(?<!\w)" + _trie_regex(trie) + r"(?!\w)", re.IGNORECASE)


def _trie_regex(node: Mapping[str, Any]) -> str:
    alternatives = []
    for ch in sorted(k for k in node if k):
        atom = r"[\s\-]+" if ch == " " else re.escape(ch)
        alternatives.append(atom + _trie_regex(node[ch]))
    if not alternatives:
        return ""
    body = alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"
    if "" in node:  # a key ends here: try the longer keys first, then stop here
        return "(?:" + body + ")?"
    return body


# --- building a table from a tags file ---------------------------------------------------


def parse_tags(data: Any) -> list[tuple[str, list[str]]]:
    """Validate a parsed tags file: ``[(tag, [alias, ...]), ...]``."""
    if not isinstance(data, list):
        raise InputError("tags file: expected a JSON list of {\"tag\": ..., \"aliases\": [...]} objects")
    groups = []
    for i, item in enumerate(data):
        if not isinstance(item, dict) or not isinstance(item.get("tag"), str) or not item["tag"].strip():
            raise InputError(f"tags file: item {i} is not an object with a \"tag\" string")
        aliases = item.get("aliases", [])
        if aliases is None:
            aliases = []
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise InputError(f"tags file: \"aliases\" of tag {item['tag']!r} is not a list of strings")
        groups.append((item["tag"], aliases))
    return groups


def build_alias_table(groups: list[tuple[str, list[str]]], source_sha256: str = "") -> AliasTable:
    inflector = Inflector()
    keywords: dict[str, set[str]] = {}
    alternatives: dict[str, list[str]] = {}
    out_groups = []
    for tag, aliases in groups:
        members = list(dict.fromkeys(normalize_key(m) for m in [tag, *aliases] if normalize_key(m)))
        out_groups.append(tuple(members))
        forms = {m: inflector.forms(m) for m in members}
        for m in members:
            for form in forms[m]:
                keywords.setdefault(form, set()).add(tag)
        if len(members) < 2:
            continue
        for m in members:
            for number in (0, 1):
                key = forms[m][number]
                alts = alternatives.setdefault(key, [])
                for other in members:
                    # an uninflected key (c++, aws) pairs with the other member as written
                    alt = other if forms[m][0] == forms[m][1] else forms[other][number]
                    if other != m and alt != key and alt not in alts:
                        alts.append(alt)
    return AliasTable(
        keywords={k: frozenset(v) for k, v in keywords.items()},
        alternatives={k: tuple(v) for k, v in alternatives.items() if v},
        source_sha256=source_sha256,
        groups=tuple(out_groups),
    )


class Inflector:
    """Singular and plural of a key, around inflect's known slips.

    ``plural_noun`` pluralises words that are already plural (``graphs`` -> ``graphss``) and
    ``singular_noun`` returns ``False`` for a singular word, so we ask ``singular_noun``
    first and only pluralise what it calls singular. Keys whose last word is not plain
    letters (``c++``, ``3d``, ``node.js``) and short words ending in ``s`` (``aws``) are
    left as they are: inflecting them makes keys that are not words (``aw``).
    """

    def __init__(self) -> None:
        import inflect  # slow import: only when a table is built, not when one is cached

        self._engine = inflect.engine()

    def forms(self, key: str) -> tuple[str, str]:
        head, _, last = key.rpartition(" ")
        if not last.isalpha() or not last.isascii():
            return key, key
        singular = self._engine.singular_noun(last)
        if singular and not (len(last) <= 3 or len(singular) < 3):
            return _join(head, singular), key
        if last.endswith("s") and (len(last) <= 3 or singular):
            return key, key
        plural = self._engine.plural_noun(last)
        if not plural or plural == last:
            return key, key
        return key, _join(head, plural)


def _join(head: str, last: str) -> str:
    return f"{head} {last}" if head else last


# --- loading, with an on-disk cache ------------------------------------------------------


BUNDLED_TAGS = Path(__file__).resolve().parent.parent / "data" / "tags.json"
BUNDLED_TABLE = BUNDLED_TAGS.with_name("tags.alias-table.json")
"""The bundled vocabulary's table, built ahead (``python -m augment_core.aliases``), so
that even a first run with the default tags needs no inflect; a test keeps it equal to a
fresh build."""


def cache_dir() -> Path:
    env = os.environ.get("AUGMENT_REVIEW_CACHE_DIR")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "augment-review"


def load_alias_table(source: str | os.PathLike[str] | bytes, use_cache: bool = True) -> AliasTable:
    """Read a tags file (a path or its bytes) into an :class:`AliasTable`."""
    if isinstance(source, bytes):
        raw = source
    else:
        raw = read_input(source, "tags file")
    sha = hashlib.sha256(raw).hexdigest()
    cached = cache_dir() / f"alias-table-{sha[:24]}-v{CACHE_FORMAT}.json"
    if use_cache:
        for built in (cached, BUNDLED_TABLE):
            try:
                data = json.loads(built.read_text(encoding="utf-8"))
                if data.get("format") == CACHE_FORMAT and data.get("source_sha256") == sha:
                    return AliasTable.from_json(data)
            except (OSError, ValueError, KeyError):
                continue
    try:
        parsed = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InputError("tags file is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"tags file is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    table = build_alias_table(parse_tags(parsed), source_sha256=sha)
    if use_cache:
        _write_cache(cached, table)
    return table


def _write_cache(path: Path, table: AliasTable) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(table.to_json(), fh)
        os.replace(tmp, path)
    except OSError:
        pass  # a cache we cannot write only costs start-up time


def match_case(template: str, replacement: str) -> str:
    """Give ``replacement`` the case style of ``template``: lower, Title or UPPER.

    An upper-case acronym replaced by several words becomes Title Case
    (``GAN`` -> ``Generative Adversarial Networks``), which reads as intended where
    upper-casing every word would not. Mixed case (``PyTorch``) leaves the vocabulary's
    spelling. A phrase that is not lower case, replaced by a short single word, takes it as
    an acronym (``Computer Vision`` -> ``CV``).
    """
    letters = [c for c in template if c.isalpha()]
    if not letters:
        return replacement
    if all(c.islower() for c in letters):
        return replacement.lower()
    if " " in template.strip() and " " not in replacement.strip() and len(replacement) <= 4:
        return replacement.upper()  # Machine Learning -> ML, not Ml
    stem = letters[:-1] if len(letters) > 2 and letters[-1] == "s" else letters  # GANs, CNNs
    if len(stem) > 1 and all(c.isupper() for c in stem):
        return replacement.title() if " " in replacement.strip() else replacement.upper()
    if template.istitle() and " " in template.strip():
        return replacement.title()
    if letters[0].isupper() and all(c.islower() for c in letters[1:]):
        return replacement[:1].upper() + replacement[1:]
    return replacement


def write_table(tags: Path = BUNDLED_TAGS, out: Path = BUNDLED_TABLE) -> None:
    table = load_alias_table(tags, use_cache=False)
    out.write_text(json.dumps(table.to_json(), indent=0, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":  # rebuild the bundled vocabulary's table
    import sys

    write_table(*(Path(a) for a in sys.argv[1:3]))
