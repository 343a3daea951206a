"""An independent checker for alias-swap output: is every word a change writes a real word,
and does every change cover whole tokens?

Written apart from ``augment_core.augment.aliases`` on purpose (a test that reused the matcher's own
rules would pass whatever they are). A word is *attested* when the vocabulary writes it, the
dataset's texts contain it, or wordfreq knows it as English at least once per million words
(Zipf >= 3). A change is *whole* when, in the original, the replaced span is not glued to
letters, digits, ``_`` or ``@`` on either side, and not part of a dotted name (``Node.js``,
``tensorflow.keras``, ``model.cv``), a URL or an e-mail address.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Iterable

LEXICON_ZIPF = 3.0
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?|\d+\w*")
_URLISH = re.compile(r"\S+://\S+|www\.\S+|\S+@\S+")


@dataclass
class Verdict:
    unattested: list[str]
    broken: list[str]


class WordChecker:
    def __init__(self, vocabulary_words: Iterable[str], corpus_texts: Iterable[str]) -> None:
        import wordfreq

        self._zipf = wordfreq.zipf_frequency
        self.known = {w.lower() for w in vocabulary_words}
        for text in corpus_texts:
            self.known.update(w.lower() for w in _WORD.findall(text))
        self._cache: dict[str, bool] = {}

    @classmethod
    def for_tags_file(cls, tags_json: str, corpus_texts: Iterable[str]) -> "WordChecker":
        with open(tags_json, encoding="utf-8") as fh:
            groups = json.load(fh)
        words = []
        for g in groups:
            for member in [g["tag"], *g.get("aliases", [])]:
                words += _WORD.findall(member)
        return cls(words, corpus_texts)

    def attested(self, word: str) -> bool:
        w = word.lower()
        if w not in self._cache:
            self._cache[w] = w in self.known or w.isdigit() or self._zipf(w, "en") >= LEXICON_ZIPF
        return self._cache[w]

    def check(self, original: str, changes: list[dict]) -> Verdict:
        """``changes`` as the pipeline writes them (spans over the variant)."""
        unattested, broken = [], []
        shift = 0
        for c in sorted(changes, key=lambda c: c["start"]):
            start = c["start"] - shift  # where the change stood in the original
            end = start + len(c["before"])
            shift += len(c["after"]) - len(c["before"])
            unattested += [w for w in _WORD.findall(c["after"]) if not self.attested(w)]
            if not _whole(original, start, end):
                broken.append(_token_around(original, start, end))
        return Verdict(unattested, broken)


def _whole(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    after2 = text[end + 1] if end + 1 < len(text) else " "
    before2 = text[start - 2] if start > 1 else " "
    if before.isalnum() or before in "_@" or after.isalnum() or after in "_@":
        return False
    if before == "." and before2.isalnum():  # tensorflow.keras, model.cv
        return False
    if after == "." and after2.isalnum():  # Node.js, cv.pdf
        return False
    token = _token_around(text, start, end)
    return not _URLISH.search(token)


def _token_around(text: str, start: int, end: int) -> str:
    s = start
    while s > 0 and not text[s - 1].isspace():
        s -= 1
    e = end
    while e < len(text) and not text[e].isspace():
        e += 1
    return text[s:e]
