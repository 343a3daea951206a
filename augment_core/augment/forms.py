"""The forms of a vocabulary entry: the one it writes, and the other grammatical number
when that form is attested.

inflect guesses plurals and singulars by rule, and its guesses are often not words:
``analysis`` -> ``analysi``, ``recsys`` -> ``recsy``, ``mlops`` -> ``mlop``, ``tabular data``
-> ``tabular datum``. An alias swap that writes such a guess produces text no model will
ever meet, so a guessed form is used only when something attests it:

* the vocabulary writes it (another tag or alias);
* for a single word, an English lexicon knows it (wordfreq, Zipf frequency >= 3, i.e. at
  least once per million words) and it is not far rarer than the written form (a guess
  100x rarer than its other number, like ``datum`` beside ``data``, is not how people
  write the term);
* for a name of several words written in the plural (``generative adversarial
  networks``), the same name with its last word in the singular, when the lexicon vouches
  for that word as above: a vocabulary writes countable things in the plural. Not the
  other way: a name written in the singular is often a field or a mass noun
  (``computer vision``, ``conversational ai``, ``tabular data``) with no plural at all.
  Nor across a conjunction: ``weights and biases`` is a name, not a plural;
* the dataset's own texts contain it (see :meth:`AliasTable.attested_in`).

When the other number is not attested, the written form stands for both numbers, so a
``production`` is replaced by ``mlops``, never by ``mlop``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Number = Literal["singular", "plural", "any"]

LEXICON_ZIPF = 3.0
"""A single word the lexicon knows at least this often (Zipf scale: 3 = once per million
words) is an English word."""

MAX_ZIPF_DROP = 2.0
"""A guessed form more than this much rarer than the written one (Zipf is log10, so 2 = 100x)
is not the term's other number: ``datum`` beside ``data``."""


@dataclass(frozen=True)
class Member:
    """A tag or an alias as the vocabulary writes it (normalised), with the other number's
    form that inflect guesses and whether the vocabulary or the lexicon attests it."""

    written: str
    tag: str
    number: Number = "any"
    """The written form's number; ``any`` when inflect sees no other number."""
    derived: str = ""
    lexical: bool = False
    """``derived`` is attested without looking at any dataset."""

    def to_json(self) -> list[object]:
        return [self.written, self.tag, self.number, self.derived, self.lexical]

    @classmethod
    def from_json(cls, data: list[object]) -> "Member":
        written, tag, number, derived, lexical = data
        return cls(str(written), str(tag), number, str(derived), bool(lexical))  # type: ignore[arg-type]


class Inflector:
    """Singular and plural of a key, around inflect's known slips.

    ``plural_noun`` pluralises words that are already plural (``graphs`` -> ``graphss``) and
    ``singular_noun`` returns ``False`` for a singular word, so we ask ``singular_noun``
    first and only pluralise what it calls singular. Keys whose last word is not plain
    letters (``c++``, ``3d``, ``node.js``) and short words ending in ``s`` (``aws``) are
    left as they are.
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


class Lexicon:
    """wordfreq's English word list, asked once per word."""

    def __init__(self) -> None:
        import wordfreq

        self._zipf = wordfreq.zipf_frequency
        self._cache: dict[str, float] = {}

    def zipf(self, word: str) -> float:
        if word not in self._cache:
            self._cache[word] = self._zipf(word, "en")
        return self._cache[word]

    def knows(self, written: str, derived: str) -> bool:
        """A one-word guess the lexicon knows, and not far rarer than the written word."""
        z = self.zipf(derived)
        return z >= LEXICON_ZIPF and z >= self.zipf(written) - MAX_ZIPF_DROP

    def vouches(self, written: str, derived: str, number: Number) -> bool:
        if " " not in written:
            return self.knows(written, derived)
        words = set(written.split())
        if number != "plural" or words & _CONJUNCTIONS:
            return False
        return self.knows(written.rsplit(" ", 1)[1], derived.rsplit(" ", 1)[1])


_CONJUNCTIONS = {"and", "or", "&", "plus", "vs"}


def build_members(groups: list[tuple[str, list[str]]]) -> list[Member]:
    """Every member (normalised keys, as :func:`augment_core.augment.aliases.parse_tags` gives them)
    with its attested forms."""
    inflector, lexicon = Inflector(), Lexicon()
    written = {m for _tag, members in groups for m in members}
    out = []
    for tag, members in groups:
        for m in members:
            singular, plural = inflector.forms(m)
            if singular == plural:
                out.append(Member(m, tag))
                continue
            number: Number = "singular" if singular == m else "plural"
            derived = plural if number == "singular" else singular
            lexical = derived in written or lexicon.vouches(m, derived, number)
            out.append(Member(m, tag, number, derived, lexical))
    return out
