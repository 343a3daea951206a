"""Change spans for a variant made by anything: a word-level diff against its original.

Plug-ins, adapters and imported files hand us only the variant's text, yet the review page
highlights every change and the safety checks look at what was replaced. The diff runs on
tokens (a word, a run of whitespace, or one punctuation mark) so a highlight covers whole
changed words, never half a word or the spaces around it. It runs once per variant, so it
aligns tokens by a patience diff (see :func:`_equal_runs`), which is fast on sentences and
gives the alignments a reader expects.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from difflib import SequenceMatcher
from functools import lru_cache
from itertools import accumulate
from typing import Callable, Sequence

from augment_core.augment.changes import Change, ChangeKind, original_spans

_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")


def tokens(text: str) -> list[str]:
    """Words, whitespace runs and single punctuation marks; joined they give ``text`` back."""
    return _TOKEN.findall(text)


@lru_cache(maxsize=8)
def _tokenized(text: str) -> tuple[list[str], list[int]]:
    """An original's tokens and where each starts (its length last), kept for its next few
    variants: a run diffs every variant of a row against the same original, one after
    another. Never mutated by a reader."""
    toks = tokens(text)
    return toks, list(accumulate(map(len, toks), initial=0))


def python_diff_changes(original: str, variant: str) -> tuple[Change, ...]:
    """The changes that turn ``original`` into ``variant``, in variant positions (the shape
    :func:`augment_core.augment.changes.apply_edits` gives), so ``rebuild(original, changes) == variant``.

    The reference: :mod:`augment_core.augment.compiled.diff` is this, step for step, in C
    (8 to 13 times faster), and ``diff_changes`` is that one wherever it was built."""
    if original == variant:
        return ()
    head, tail = _common_ends(original, variant)
    end = len(original) - tail
    if 2 * (end - head) < len(original):  # a few words changed: their tokens cost least
        a = tokens(original[head:end])
        pos_a = list(accumulate(map(len, a), initial=head))
    else:  # both ends are token boundaries: the middle is a slice of the original's tokens
        whole, at = _tokenized(original)
        first, last = bisect_left(at, head), bisect_left(at, end)
        a, pos_a = whole[first:last], at[first:last + 1]
    b = tokens(variant[head:len(variant) - tail])
    runs = _aligned_runs(a, b)
    if runs is None:
        runs = []
        _equal_runs(a, b, 0, len(a), 0, len(b), runs)
        if 2 * _matched(runs) < min(len(a), len(b)):
            runs = _better_of(runs, a, b)
    runs.append((len(a), len(b), 0))
    pos_b = list(accumulate(map(len, b), initial=head))
    out = []
    i = j = 0
    for ri, rj, n in runs:
        if ri > i or rj > j:
            tag: ChangeKind = "substitute" if ri > i and rj > j else ("delete" if ri > i else "insert")
            s_b = pos_b[j]
            out.append(_trimmed(original[pos_a[i]:pos_a[ri]], variant[s_b:pos_b[rj]], s_b, tag))
        i, j = ri + n, rj + n
    return tuple(out)


def _aligned_runs(a: list[str], b: list[str]) -> list[tuple[int, int, int]] | None:
    """The equal runs when ``b`` is ``a`` with some tokens replaced in place (typos, word
    substitutions: the commonest variants), else ``None``. In place means as many tokens and
    no replaced token reappearing among the replacements: then no other alignment matches
    more, and this costs a comparison per token instead of a diff."""
    if len(a) != len(b):
        return None
    differ = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
    if not {a[i] for i in differ}.isdisjoint([b[i] for i in differ]):
        return None
    return _positional(differ, len(a))


def _positional(differ: list[int], n: int) -> list[tuple[int, int, int]]:
    runs = []
    prev = 0
    for i in differ:
        if i > prev:
            runs.append((prev, prev, i - prev))
        prev = i + 1
    if prev < n:
        runs.append((prev, prev, n - prev))
    return runs


def _matched(runs: list[tuple[int, int, int]]) -> int:
    return sum(n for _, _, n in runs)


def _better_of(runs: list[tuple[int, int, int]], a: list[str], b: list[str]) -> list[tuple[int, int, int]]:
    """When patience matched under half the tokens (a moved word became the only anchor,
    "x a a y" -> "y a a x"), the alignment that matches most of: patience, by position,
    :class:`difflib.SequenceMatcher`. Rare, so its cost does not matter."""
    options = [runs, [(i, j, n) for i, j, n in
                      SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks() if n]]
    if len(a) == len(b):
        options.append(_positional([i for i, (x, y) in enumerate(zip(a, b)) if x != y], len(a)))
    return max(options, key=_matched)


def _common_ends(a: str, b: str) -> tuple[int, int]:
    """Lengths of a common prefix and suffix that end (start) at a token boundary in both
    texts: there, tokenising the middle alone gives the same tokens as tokenising all. A
    boundary is taken where whitespace meets a non-space, which the token pattern always
    splits; found by halving with slice compares (C speed) rather than a loop per char."""
    n = min(len(a), len(b))
    lo, hi = 0, n
    while lo < hi:  # longest common prefix
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    head = lo
    while head and not (a[head - 1].isspace() and _starts_word(a, head) and _starts_word(b, head)):
        head -= 1
    lo, hi = 0, n - head
    while lo < hi:  # longest common suffix not overlapping the prefix
        mid = (lo + hi + 1) // 2
        if a[len(a) - mid:] == b[len(b) - mid:]:
            lo = mid
        else:
            hi = mid - 1
    tail = lo
    while tail and not (a[len(a) - tail].isspace() and _ends_word(a, len(a) - tail, head)
                        and _ends_word(b, len(b) - tail, head)):
        tail -= 1
    return head, tail


def _starts_word(s: str, i: int) -> bool:
    return i == len(s) or not s[i].isspace()


def _ends_word(s: str, i: int, head: int) -> bool:
    return i == head or not s[i - 1].isspace()


def _equal_runs(a: list[str], b: list[str], alo: int, ahi: int, blo: int, bhi: int,
                out: list[tuple[int, int, int]]) -> None:
    """Append ``(i, j, n)`` for each run ``a[i:i+n] == b[j:j+n]`` of a common subsequence,
    in order: patience diff (tokens unique on both sides anchor the alignment, gaps are
    recursed into), with a common prefix and suffix taken first. Sentences rarely repeat a
    word, so nearly every word is an anchor and this stays linear where
    :class:`difflib.SequenceMatcher` is quadratic in the frequent space tokens."""
    start = alo
    while alo < ahi and blo < bhi and a[alo] == b[blo]:
        alo += 1
        blo += 1
    if alo > start:
        out.append((start, blo - (alo - start), alo - start))
    end = ahi
    while ahi > alo and bhi > blo and a[ahi - 1] == b[bhi - 1]:
        ahi -= 1
        bhi -= 1
    if alo < ahi and blo < bhi and (ahi - alo == 1 or bhi - blo == 1):
        # one token on a side (a word replaced by a few, or a few by one: a third of the calls
        # on nlpaug's variants): it is an anchor exactly where it occurs once on the other
        # side, which is what the general case below finds, without its four dictionaries
        if bhi - blo > 1:
            gap = b[blo:bhi]
            if gap.count(a[alo]) == 1:
                out.append((alo, blo + gap.index(a[alo]), 1))
        elif ahi - alo > 1:
            gap = a[alo:ahi]
            if gap.count(b[blo]) == 1:
                out.append((alo + gap.index(b[blo]), blo, 1))
    elif alo < ahi and blo < bhi:
        anchors = _unique_common(a, b, alo, ahi, blo, bhi)
        if anchors:
            for i, j in anchors:
                if i - alo == 1 and j - blo == 1:  # one token each side (the space between words)
                    if a[alo] == b[blo]:
                        out.append((alo, blo, 1))
                elif i > alo and j > blo:  # a gap with tokens on both sides may hold more matches
                    _equal_runs(a, b, alo, i, blo, j, out)
                out.append((i, j, 1))
                alo, blo = i + 1, j + 1
            if alo < ahi and blo < bhi:
                _equal_runs(a, b, alo, ahi, blo, bhi, out)
        elif ahi - alo > 1 and bhi - blo > 1 and not set(a[alo:ahi]).isdisjoint(b[blo:bhi]):
            # only repeated tokens in common (spaces, "the"): rare, and small by now
            matcher = SequenceMatcher(None, a[alo:ahi], b[blo:bhi], autojunk=False)
            out.extend((alo + i, blo + j, n) for i, j, n in matcher.get_matching_blocks() if n)
    if ahi < end:
        out.append((ahi, bhi, end - ahi))


def _unique_common(a: list[str], b: list[str], alo: int, ahi: int, blo: int, bhi: int) -> list[tuple[int, int]]:
    """The longest in-order chain of tokens that occur exactly once in each range."""
    # first and last index of each token, built by dict() at C speed: unique where they agree
    sa, sb = a[alo:ahi], b[blo:bhi]
    last_a = dict(zip(sa, range(alo, ahi)))
    first_a = dict(zip(reversed(sa), range(ahi - 1, alo - 1, -1)))
    last_b = dict(zip(sb, range(blo, bhi)))
    first_b = dict(zip(reversed(sb), range(bhi - 1, blo - 1, -1)))
    pairs = [(i, j) for t, j in last_b.items()
             if first_b[t] == j and (i := last_a.get(t, -1)) >= 0 and first_a[t] == i]
    if not pairs:
        return []
    pairs.sort()
    # longest increasing subsequence of the b positions (patience sorting)
    tops: list[int] = []
    back: list[int] = []
    top_index: list[int] = []
    for k, (_, j) in enumerate(pairs):
        pile = bisect_left(tops, j)
        back.append(top_index[pile - 1] if pile else -1)
        if pile == len(tops):
            tops.append(j)
            top_index.append(k)
        else:
            tops[pile] = j
            top_index[pile] = k
    chain = []
    k = top_index[-1]
    while k >= 0:
        chain.append(pairs[k])
        k = back[k]
    chain.reverse()
    return chain


def _trimmed(before: str, after: str, start: int, kind: ChangeKind) -> Change:
    """A substitution without the whitespace both sides share at its ends ("a b" -> "a c"
    as one block highlights "c", not " c")."""
    if kind == "substitute" and (before[0] == after[0] or before[-1] == after[-1]):
        head = 0
        while head < len(before) and head < len(after) and before[head] == after[head] and before[head].isspace():
            head += 1
        tail = 0
        while (tail < len(before) - head and tail < len(after) - head
               and before[-1 - tail] == after[-1 - tail] and before[-1 - tail].isspace()):
            tail += 1
        if head or tail:
            before, after = before[head:len(before) - tail], after[head:len(after) - tail]
            start += head
            kind = "substitute" if before and after else ("insert" if after else "delete")
    return Change(start, start + len(after), before, after, kind)


def rebuild(original: str, changes: Sequence[Change]) -> str:
    """The variant that ``changes`` (variant positions) make of ``original``; raises
    ``ValueError`` when a change's ``before`` is not what the original holds there."""
    pieces: list[str] = []
    pos = 0
    for start, end, change in original_spans(changes):
        if start < pos or original[start:end] != change.before:
            raise ValueError(f"change at {change.start} does not match the original")
        pieces.append(original[pos:start])
        pieces.append(change.after)
        pos = end
    pieces.append(original[pos:])
    return "".join(pieces)


# The word-level diff every plug-in's, adapter's and imported variant gets its spans from: the
# compiled one where `pip install -e .` built it (a plug-in function's framework overhead stays
# within 20% of a bare loop only with it), else the Python reference; equal changes either way
# (tests/test_augment_diff.py holds it).
diff_changes: Callable[[str, str], tuple[Change, ...]]
try:
    from augment_core.augment.compiled.diff import diff_changes
except ImportError:  # not built: no C compiler where it was installed
    diff_changes = python_diff_changes
