"""nlpaug's word and character augmenters, run on a row's word tokens.

nlpaug re-tokenizes a text and joins its tokens back with single spaces, so its output
loses the original's spacing and says nothing about what changed. Here it is handed the
row's word tokens (see :data:`augment_core.augment.rows.WORD`) joined by spaces, with a
tokenizer that splits on exactly those spaces, so its output is the same token list with
some tokens changed, swapped, removed or split. :func:`edits_for` turns that back into
edits on the original text: the spacing and punctuation between words stay as they were
and the change spans are exact. Protected words are not handed to nlpaug at all, so it
cannot change them; a swap may move a word across one, a crop may take words either side.
"""

from __future__ import annotations

import difflib
from typing import Any, Sequence

from augment_core.augment.changes import Edit
from augment_core.augment.protection import Protector
from augment_core.augment.rows import Row, RowAugmenter, seed_globals

SEPARATOR = " "


def split_tokens(text: str) -> list[str]:
    return text.split(SEPARATOR)


def join_tokens(tokens: Sequence[str]) -> str:
    return SEPARATOR.join(tokens)


TOKEN_IO: dict[str, Any] = {"tokenizer": split_tokens, "reverse_tokenizer": join_tokens}
"""What every nlpaug augmenter here is built with."""


def edits_for(row: Row, new: Sequence[str]) -> list[Edit] | None:
    """Edits turning ``row.text`` into the text whose free (unprotected) word tokens are
    ``new``; None when the change cannot be placed on the original word by word (or its
    edits would overlap).

    Same length: token ``i`` replaces token ``i`` (a swap is two substitutions). Else a
    token diff: a deleted word goes with one neighbouring space (consecutive deletions
    become one change); a word split in pieces becomes the pieces joined by a space."""
    where = [i for i, p in enumerate(row.protected) if not p]
    old = [row.text[row.words[i][0] : row.words[i][1]] for i in where]
    spans = [row.words[i] for i in where]
    edits: list[Edit] = []
    if len(new) == len(old):
        return [Edit(s, e, b, "substitute") for (s, e), a, b in zip(spans, old, new) if a != b]
    matcher = difflib.SequenceMatcher(a=old, b=list(new), autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        if op == "replace":
            groups = _pieces(old[i1:i2], new[j1:j2])
            if groups is None:
                return None
            edits.extend(Edit(s, e, join_tokens(g), "substitute")
                         for (s, e), a, g in zip(spans[i1:i2], old[i1:i2], groups) if [a] != g)
        elif op == "delete":
            for s, e in spans[i1:i2]:
                edits.append(deletion(row.text, s, e, edits))
        elif i1 > 0:  # insert after the previous word
            pos = spans[i1 - 1][1]
            edits.append(Edit(pos, pos, SEPARATOR + join_tokens(new[j1:j2]), "insert"))
        else:
            pos = spans[0][0]
            edits.append(Edit(pos, pos, join_tokens(new[j1:j2]) + SEPARATOR, "insert"))
    return edits if _disjoint(edits) else None


def _disjoint(edits: Sequence[Edit]) -> bool:
    """Whether no two edits touch the same characters: a change that cannot be placed
    exactly is a variant dropped, never a run that stops in :func:`apply_edits`."""
    ordered = sorted(edits, key=lambda e: (e.start, e.end))
    return all(a.end <= b.start for a, b in zip(ordered, ordered[1:]))


def deletion(text: str, start: int, end: int, edits: list[Edit]) -> Edit:
    """The word [start, end) deleted with one neighbouring space (the one before it, else
    the one after). A word that follows the previous deletion with only spaces between is
    merged into it, and the run of words goes with one space: the previous deletion may
    already hold the space after it (``"Multi-scale Attributed`` -> ``"``), so a separate
    edit taking this word's space before would overlap it."""
    if edits and edits[-1].kind == "delete" and not text[edits[-1].end : start].strip():
        start = edits.pop().start
        if text[start].isspace() or text[end - 1].isspace():
            return Edit(start, end, "", "delete")
    if start > 0 and text[start - 1].isspace():
        start -= 1
    elif end < len(text) and text[end].isspace():
        end += 1
    return Edit(start, end, "", "delete")


def _pieces(old: Sequence[str], new: Sequence[str]) -> list[list[str]] | None:
    """``new`` cut into one group per old token: the same count (one each), or groups that
    spell their old token (a split); None otherwise."""
    if len(new) == len(old):
        return [[t] for t in new]
    groups: list[list[str]] = []
    j = 0
    for word in old:
        group: list[str] = []
        while j < len(new) and "".join(group) != word and word.startswith("".join(group) + new[j]):
            group.append(new[j])
            j += 1
        if "".join(group) != word:
            return None
        groups.append(group)
    return groups if j == len(new) else None


class NlpaugTokens(RowAugmenter):
    """A built-in made of one nlpaug augmenter: subclasses name it, declare its settings
    and build it for an action (:meth:`build`); this runs it per row and attempt."""

    def __init__(self, settings: Any, protector: Protector | None = None) -> None:
        super().__init__(settings, protector)
        self._built: dict[str, Any] = {}

    def build(self, action: str) -> Any:
        """The nlpaug augmenter doing ``action`` (built once, with :data:`TOKEN_IO`)."""
        raise NotImplementedError

    def action(self, seed: int) -> str:
        """The action of the attempt seeded ``seed`` (one fixed action by default)."""
        return ""

    def augmenter(self, action: str) -> Any:
        if action not in self._built:
            self._built[action] = self.build(action)
        return self._built[action]

    def attempt(self, row: Row, seed: int) -> list[Edit] | None:
        aug = self.augmenter(self.action(seed))
        seed_globals(seed)
        out = getattr(aug, aug.action)(join_tokens(row.free_tokens))
        return edits_for(row, split_tokens(out)) if isinstance(out, str) and out else None
