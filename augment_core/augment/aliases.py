"""The tag vocabulary as an alias table, and the keyword matcher over it.

A tags file is a JSON list of ``{"tag": ..., "aliases": [...]}`` (extra keys ignored), as
Made With ML's ``tags.json``. Every member of a group (the tag and its aliases, dashes read
as spaces) is an alias of every other member, in both grammatical numbers where the other
number is attested (see :mod:`augment_core.augment.forms`). Every form of every tag is also a
*keyword*: the contextual augmenters protect keywords and the quality flags watch them,
whether or not the tag has aliases.

Matching is one regex pass per text: the keys are compiled into a trie-shaped pattern, so
the engine tries the longest key first at each position and backs off to shorter keys
when a boundary fails. A key matches whole tokens only: not glued to letters, digits,
``_``, ``@``, ``#`` or a slash, and not one part of a dotted name (``Node.js``,
``tensorflow.keras``, ``ASP.NET``, ``model.cv``); URLs, e-mail addresses and code spans in
backticks are never matched. A hyphen is a boundary, so ``GAN`` matches in ``GAN-based``.
These boundaries are written out rather than ``\\b``, which is wrong for keys that start
or end with a non-word character (``c++``, ``c#``, ``.net``).

Building the table needs ``inflect`` (about 1-2.5 s just to import), so a built table is
cached on disk keyed by the tags file's content hash; see :func:`load_alias_table`.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, NamedTuple, Sequence

from augment_core.augment.forms import Member, build_members
from augment_core.augment.text_cache import remember
from augment_core.data.io import read_input
from augment_core.errors import InputError

CACHE_FORMAT = 2
_SPACE_RUN = re.compile(r"[\s\-]+")
# Whole tokens: what may not stand right before or right after a key.
_LEFT = r"(?<![\w@#$/\\])(?<!\w\.)"
_RIGHT = r"(?![\w@])(?![./\\:]\w)"
# Spans never matched: URLs, e-mail addresses, code spans.
_NEVER = re.compile(r"(?:https?|ftp)://\S+|\bwww\.\S+|\S+@\S+\.\w+|`[^`\n]+`", re.IGNORECASE)


class KeywordMatch(NamedTuple):
    """A keyword found in a text: ``text[start:end]`` is ``surface``; ``key`` is its
    normalised (lower-case, single-spaced) form, the key into the table. (A tuple: tens
    of thousands are made per run, and a frozen dataclass is three times slower to build.)"""

    start: int
    end: int
    surface: str
    key: str


def normalize_key(text: str) -> str:
    return _SPACE_RUN.sub(" ", text.lower()).strip()


_key_of = lru_cache(maxsize=65536)(normalize_key)


def _forms_of(member: Member, corpus_forms: frozenset[str]) -> dict[str, str]:
    """number -> form: both numbers when the other one is attested; else the written form,
    as a singular when it does not look plural, or for any number when its number is in
    doubt (inflect reads ``mlops`` and ``recsys`` as plurals)."""
    if member.derived and (member.lexical or member.derived in corpus_forms):
        other = "plural" if member.number == "singular" else "singular"
        return {member.number: member.written, other: member.derived}
    if member.number == "singular":
        return {"singular": member.written}
    return {"any": member.written}


@dataclass(frozen=True)
class AliasTable:
    """Keywords (every attested form of every tag and alias) and, for keys with aliases,
    the replacements an alias swap may choose from (same grammatical number)."""

    members: tuple[Member, ...]
    source_sha256: str = ""
    warnings: tuple[str, ...] = ()
    corpus_forms: frozenset[str] = frozenset()
    """Forms attested only by a dataset's texts (see :meth:`attested_in`)."""
    written_as: Mapping[str, str] = field(default_factory=dict)
    """key -> the mixed-case spelling a dataset writes it in (``PyTorch``, ``GANs``)."""

    @cached_property
    def forms(self) -> dict[Member, dict[str, str]]:
        return {m: _forms_of(m, self.corpus_forms) for m in self.members}

    @cached_property
    def groups(self) -> tuple[tuple[str, ...], ...]:
        by_tag: dict[str, list[str]] = {}
        for m in self.members:
            by_tag.setdefault(m.tag, []).append(m.written)
        return tuple(tuple(g) for g in by_tag.values())

    @cached_property
    def keywords(self) -> dict[str, frozenset[str]]:
        """Every form, attested or guessed, with its tags: what is protected from the
        contextual augmenters and watched by the keyword flags (guarding a guessed form
        costs nothing; only writing one would)."""
        out: dict[str, set[str]] = {}
        for m in self.members:
            for form in (m.written, m.derived):
                if form:
                    out.setdefault(form, set()).add(m.tag)
        return {k: frozenset(v) for k, v in out.items()}

    @cached_property
    def conflicts(self) -> dict[str, frozenset[str]]:
        """Attested keys that two tags claim: never swapped, neither way, since any swap
        would trade one tag's keyword for another's."""
        claims: dict[str, set[str]] = {}
        for m, forms in self.forms.items():
            for form in forms.values():
                claims.setdefault(form, set()).add(m.tag)
        return {k: frozenset(tags) for k, tags in claims.items() if len(tags) > 1}

    @cached_property
    def alternatives(self) -> dict[str, tuple[str, ...]]:
        by_tag: dict[str, list[Member]] = {}
        for m in self.members:
            by_tag.setdefault(m.tag, []).append(m)
        conflicts = self.conflicts
        out: dict[str, list[str]] = {}
        for members in by_tag.values():
            if len(members) < 2:
                continue
            for m in members:
                for number, key in self.forms[m].items():
                    if key in conflicts:
                        continue
                    alts = out.setdefault(key, [])
                    for other in members:
                        if other is m:
                            continue
                        theirs = self.forms[other]
                        # the wanted number's form, else (not attested) the form as written
                        alt = other.written if number == "any" else theirs.get(number, other.written)
                        if alt != key and alt not in alts and alt not in conflicts:
                            alts.append(alt)
        return {k: tuple(v) for k, v in out.items() if v}

    @cached_property
    def acronym_plurals(self) -> frozenset[str]:
        """Plurals made by adding ``s`` to a short one-word form: written as an acronym,
        the ``s`` stays lower case (``CNNs``, ``GPs``)."""
        out = set()
        for forms in self.forms.values():
            singular, plural = forms.get("singular"), forms.get("plural")
            if singular and plural == singular + "s" and " " not in singular and len(singular) <= 5:
                out.add(plural)
        return frozenset(out)

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        return _compiled(frozenset(self.keywords))  # shared by a table and its fitted copies

    def find(self, text: str) -> list[KeywordMatch]:
        """Every keyword occurrence: whole tokens, case-insensitive, leftmost-longest,
        non-overlapping."""
        return list(_find_cached(self._pattern, text))

    def swappable(self, text: str) -> list[KeywordMatch]:
        alternatives = self.alternatives
        return [m for m in self.find(text) if m.key in alternatives]

    def tags_in(self, text: str) -> set[str]:
        """Tags whose keywords occur in ``text``."""
        tags: set[str] = set()
        for m in self.find(text):
            tags |= self.keywords.get(m.key, frozenset())
        return tags

    def rules(self) -> list[tuple[str, str]]:
        """Every (key, replacement) pair an alias swap can apply."""
        return [(k, alt) for k, alts in self.alternatives.items() for alt in alts]

    def attested_in(self, texts: Iterable[str]) -> "AliasTable":
        """This table, with the guessed forms that ``texts`` contain put to use, and the
        mixed-case spellings the texts use for each key.

        Meant for the train split's texts: the forms a dataset writes are the ones its
        variants should write."""
        return self.attested_by(self.find(t) for t in texts)

    def attested_by(self, matches: Iterable[Sequence[KeywordMatch]]) -> "AliasTable":
        """:meth:`attested_in`, from each text's :meth:`find` (guessed forms are keywords
        too, so a fitted table finds exactly what this one finds)."""
        surfaces: dict[str, Counter[str]] = {}
        for found in matches:
            for m in found:
                surfaces.setdefault(m.key, Counter())[m.surface] += 1
        return self.attested_as(surfaces)

    def attested_as(self, surfaces: Mapping[str, Counter[str]]) -> "AliasTable":
        """:meth:`attested_by`, from how often each key is written each way (keys and
        spellings in the order the texts first use them: ties go to the first)."""
        pending = {m.derived for m in self.members if m.derived and not m.lexical}
        written_as = {}
        for key, counts in surfaces.items():
            surface, _n = counts.most_common(1)[0]
            if _mixed_case(surface) and " " not in surface:
                written_as[key] = surface
        return replace(self, corpus_forms=frozenset(pending & set(surfaces)), written_as=written_as)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": CACHE_FORMAT,
            "source_sha256": self.source_sha256,
            "members": [m.to_json() for m in self.members],
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "AliasTable":
        return cls(
            members=tuple(Member.from_json(m) for m in data["members"]),
            source_sha256=data.get("source_sha256", ""),
            warnings=tuple(data.get("warnings", ())),
        )


def _mixed_case(surface: str) -> bool:
    """A spelling with capitals inside a word and some lower case: ``PyTorch``, ``GANs``,
    ``MLOps``; not ``Machine-Learning`` or ``GAN``."""
    words = re.findall(r"[^\W\d_]+", surface)
    return any(c.islower() for c in surface) and any(
        any(c.isupper() for c in w[1:]) for w in words
    )


_found: list[tuple[re.Pattern[str], dict[str, tuple[KeywordMatch, ...]]]] = []
"""Per pattern (one per vocabulary: a table and its fitted copies share theirs), the
matches of the texts seen last. Looked up by identity: hashing a pattern hashes its code."""


def _find_cached(pattern: re.Pattern[str], text: str) -> tuple[KeywordMatch, ...]:
    """:func:`_find`, remembered for the last few tens of thousands of texts: a run matches
    each train text twice (fit, then augment), and corpora repeat texts (boilerplate,
    duplicates, one text in several rows). Bounded: the older half is dropped when full."""
    for p, cache in _found:
        if p is pattern:
            break
    else:
        cache = {}
        _found.append((pattern, cache))
        del _found[:-2]  # two vocabularies at most: a long-lived process (the app) holds little
    hit = cache.get(text)
    if hit is None:
        hit = remember(cache, text, tuple(_find(pattern, text)))
    return hit


def _find(pattern: re.Pattern[str], text: str) -> list[KeywordMatch]:
    found = [KeywordMatch(m.start(), m.end(), m[0], _key_of(m[0])) for m in pattern.finditer(text)]
    if not found:
        return found
    if "@" in text or "`" in text or "://" in text or "www." in text.lower():
        never = [(s.start(), s.end()) for s in _NEVER.finditer(text)]
        if never:
            found = [m for m in found if not _overlaps(never, m.start, m.end)]
    if "." in text:
        dotted = _dotted_tokens(text)
        if dotted:
            found = [m for m in found if not (_overlaps(dotted, m.start, m.end) and _in_dotted_name(text, m))]
    return found


def _dotted_tokens(text: str) -> list[tuple[int, int]]:
    """Spans of the whitespace-delimited tokens that hold a dotted join (``a.b``)."""
    spans: list[tuple[int, int]] = []
    for d in _DOTTED.finditer(text):
        if spans and d.start() < spans[-1][1]:
            continue
        s, e = d.start(), d.end()
        while s > 0 and not text[s - 1].isspace():
            s -= 1
        while e < len(text) and not text[e].isspace():
            e += 1
        spans.append((s, e))
    return spans


def _overlaps(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    """``spans`` sorted and disjoint, as finditer gives them."""
    i = bisect.bisect_right(spans, (start, float("inf"))) - 1
    return (i >= 0 and spans[i][1] > start) or (i + 1 < len(spans) and spans[i + 1][0] < end)


_DOTTED = re.compile(r"\w\.\w")  # a file or dotted name: nlp-toolkit.js, Node.js-based
_TOKEN_EDGES = "()[]{}<>\"'.,;:!?"


def _in_dotted_name(text: str, m: KeywordMatch) -> bool:
    """The match is one part of a file or dotted name (``nlp-toolkit.js``), a key that is
    itself dotted (``node.js``) aside."""
    s, e = m.start, m.end
    while s > 0 and not text[s - 1].isspace():
        s -= 1
    while e < len(text) and not text[e].isspace():
        e += 1
    token = text[s : m.start] + "\x00" + text[m.end : e]
    return bool(_DOTTED.search(token.strip(_TOKEN_EDGES)))


@lru_cache(maxsize=8)
def _compiled(keys: frozenset[str]) -> re.Pattern[str]:
    return compile_keyword_pattern(sorted(keys))


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
    return re.compile(_LEFT + _trie_regex(trie) + _RIGHT, re.IGNORECASE)


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
    warnings = []
    kept: list[tuple[str, list[str]]] = []
    wordless = []
    for tag, aliases in groups:
        members = []
        for raw in [tag, *aliases]:
            key = normalize_key(raw)
            if not any(c.isalnum() for c in key):
                wordless.append(f"{raw!r} ({tag})")
            elif key not in members:
                members.append(key)
        if members:
            kept.append((tag, members))
    if wordless:
        warnings.append(f"tags file: skipped {len(wordless)} entries with no letter or digit: {', '.join(wordless)}")
    table = AliasTable(members=tuple(build_members(kept)), source_sha256=source_sha256)
    if table.conflicts:
        shown = ", ".join(f"{k!r} ({', '.join(sorted(t))})" for k, t in sorted(table.conflicts.items()))
        warnings.append(f"tags file: keywords claimed by more than one tag are never swapped: {shown}")
    return replace(table, warnings=tuple(warnings))


# --- loading, with an on-disk cache ------------------------------------------------------


BUNDLED_TAGS = Path(__file__).resolve().parents[2] / "data" / "tags.json"
BUNDLED_TABLE = BUNDLED_TAGS.with_name("tags.alias-table.json")
"""The bundled vocabulary's table, built ahead (``python -m augment_core.augment.aliases``), so
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
