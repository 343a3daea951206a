"""The augmentation lesson's ``swap_aliases``, as the lesson writes it: a Snorkel
transformation function over the bundled tags' aliases, drawing from Python's global
``random``. Imported by the Snorkel adapter tests as ``snorkel:lesson_tfs:swap_aliases``."""

import json
import random
import re
from pathlib import Path

from snorkel.augmentation import transformation_function

tags_dict = {t["tag"]: t for t in json.loads((Path(__file__).parent.parent / "data" / "tags.json").read_text())}


def replace_dash(x):
    return x.replace("-", " ")


flat_tags_dict = {}
for tag, info in tags_dict.items():
    tag = tag.replace("-", " ")
    aliases = list(map(replace_dash, info["aliases"]))
    if len(aliases):
        flat_tags_dict[tag] = aliases
    for alias in aliases:
        _aliases = aliases + [tag]
        _aliases.remove(alias)
        flat_tags_dict[alias] = _aliases


def find_word(word, text):
    word = word.replace("+", "\\+")
    pattern = re.compile(rf"\b({word})\b", flags=re.IGNORECASE)
    return pattern.search(text)


@transformation_function()
def swap_aliases(x):
    """Swap a random tag found in the text with a random alias of it."""
    matches = []
    for i, tag in enumerate(flat_tags_dict):
        match = find_word(tag, x.text)
        if match:
            matches.append(match)
    if len(matches):
        match = random.choice(matches)
        tag = x.text[match.start():match.end()]
        x.text = f"{x.text[:match.start()]}{random.choice(flat_tags_dict.get(tag, flat_tags_dict.get(tag.lower(), [tag])))}{x.text[match.end():]}"
    return x


@transformation_function()
def shout_title(x):
    """Uses a user column besides text; returns None (no variant) when there is no title."""
    if not x.title:
        return None
    x.text = x.text.replace(x.title, x.title.upper(), 1)
    return x


@transformation_function()
def rewrite_whole(x):
    """A paraphraser's stand-in (an LLM rewriting the row): one new word, sharing nothing with
    the row's text (not even a space), so its one edit spans every text column and the
    joiner between them."""
    x.text = "Paraphrased"
    return x
