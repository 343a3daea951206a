# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The word-level diff of :mod:`augment_core.augment.diff`, compiled.

A plug-in function's variants each need their change spans, and in Python the diff cost
half as much again as an nlpaug call (55-70 us a variant): over the 20% of a bare loop the
framework may add. This is the same algorithm, step for step (``diff.py`` is its
reference, and a Hypothesis test holds that both give equal changes for any pair of
texts), on token ids in C arrays: each token is interned once, so comparing two tokens is
comparing two integers. ``diff.py`` uses it when it is built (``pip install -e .``
compiles it) and is the fallback where no compiler was found.
"""

from cpython.unicode cimport Py_UNICODE_ISALNUM, Py_UNICODE_ISSPACE
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcmp, memset

from augment_core.augment.changes import Change

cdef extern from "Python.h":
    int PyObject_GenericSetAttr(object o, object name, object value) except -1
    int PyUnicode_KIND(object o)
    void* PyUnicode_DATA(object o)

cdef object _new = object.__new__
cdef object _CHANGE = Change
cdef str SUBSTITUTE = "substitute"
cdef str INSERT = "insert"
cdef str DELETE = "delete"


cdef struct Text:
    # a str's characters, read without a Python call: 1, 2 or 4 bytes each (PEP 393)
    int kind
    void* data


cdef inline Text _text(str s) noexcept:
    cdef Text t
    t.kind = PyUnicode_KIND(s)
    t.data = PyUnicode_DATA(s)
    return t


cdef inline Py_UCS4 _at(Text* t, Py_ssize_t i) noexcept:
    if t.kind == 1:
        return (<unsigned char*> t.data)[i]
    if t.kind == 2:
        return (<unsigned short*> t.data)[i]
    return (<Py_UCS4*> t.data)[i]


cdef enum:  # a character's class, as the token pattern reads it
    OTHER = 0
    WORD = 1  # \w: alphanumeric or "_", as Python's re reads it
    SPACE = 2  # \s: str.isspace
cdef unsigned char ASCII_CLASS[128]


cdef void _fill_ascii_classes() noexcept:
    cdef Py_UCS4 c
    for c in range(128):
        ASCII_CLASS[c] = WORD if Py_UNICODE_ISALNUM(c) or c == u'_' else (SPACE if Py_UNICODE_ISSPACE(c) else OTHER)


_fill_ascii_classes()


cdef inline int _class(Py_UCS4 c) noexcept:
    if c < 128:
        return ASCII_CLASS[c]
    if Py_UNICODE_ISALNUM(c):
        return WORD
    return SPACE if Py_UNICODE_ISSPACE(c) else OTHER


cdef inline bint _space(Py_UCS4 c) noexcept:
    return ASCII_CLASS[c] == SPACE if c < 128 else Py_UNICODE_ISSPACE(c)


cdef enum:
    SMALL_CHAIN = 32  # anchors of a range this short live on the C stack
    STACK_WORDS = 4096  # a diff's arrays, for texts of up to ~900 characters, live on the C stack


cdef struct Runs:
    Py_ssize_t* v  # (i, j, n) triples
    Py_ssize_t n
    Py_ssize_t cap


cdef int _push(Runs* r, Py_ssize_t i, Py_ssize_t j, Py_ssize_t n) except -1:
    cdef Py_ssize_t* grown
    if r.n == r.cap:
        r.cap = r.cap * 2 + 8
        grown = <Py_ssize_t*> realloc(r.v, 3 * r.cap * sizeof(Py_ssize_t))
        if grown == NULL:
            raise MemoryError()
        r.v = grown
    r.v[3 * r.n] = i
    r.v[3 * r.n + 1] = j
    r.v[3 * r.n + 2] = n
    r.n += 1
    return 0


cdef Py_ssize_t _matched(Runs* r) noexcept:
    cdef Py_ssize_t k, total = 0
    for k in range(r.n):
        total += r.v[3 * k + 2]
    return total


cdef struct Pair:
    # both texts' middles as token ids, and what the alignment needs beside them
    Py_ssize_t* a
    Py_ssize_t* b
    Py_ssize_t na, nb, n_ids
    Py_ssize_t* count_a  # per id, scratch for one _unique_common call (kept zeroed)
    Py_ssize_t* count_b
    Py_ssize_t* at_a
    Py_ssize_t* at_b
    Py_ssize_t* scratch  # pairs, LIS piles: 5 * (na + nb + 2)


cdef size_t FNV_OFFSET = 14695981039346656037ULL
cdef size_t FNV_PRIME = 1099511628211ULL


cdef Py_ssize_t _tokenize(Text* t, Py_ssize_t lo, Py_ssize_t hi, Py_ssize_t* pos, size_t* hashes) noexcept:
    """Token starts of the text's ``[lo:hi]`` into ``pos`` (``pos[n] = hi``) and each token's
    hash (FNV-1a over its code points) into ``hashes``; returns n. Tokens as ``diff.tokens``:
    a run of word characters (``\\w``), a run of whitespace, or one other character."""
    cdef Py_ssize_t n = 0, i = lo
    cdef Py_UCS4 c
    cdef int cls
    cdef size_t h
    while i < hi:
        pos[n] = i
        c = _at(t, i)
        cls = _class(c)
        h = (FNV_OFFSET ^ <size_t> c) * FNV_PRIME
        i += 1
        if cls != OTHER:
            while i < hi:
                c = _at(t, i)
                if _class(c) != cls:
                    break
                h = (h ^ <size_t> c) * FNV_PRIME
                i += 1
        hashes[n] = h
        n += 1
    pos[n] = hi
    return n


cdef bint _same(Text* s, Py_ssize_t s0, Text* t, Py_ssize_t t0, Py_ssize_t n) noexcept:
    cdef Py_ssize_t k
    if s.kind == t.kind:
        return memcmp(<char*> s.data + s0 * s.kind, <char*> t.data + t0 * t.kind, n * s.kind) == 0
    for k in range(n):
        if _at(s, s0 + k) != _at(t, t0 + k):
            return False
    return True


cdef int _intern(Pair* p, Text* original, Py_ssize_t* pos_a, size_t* hash_a, Text* variant, Py_ssize_t* pos_b,
                 size_t* hash_b, Py_ssize_t* table, Py_ssize_t cap) except -1:
    """Give every token of both middles an id, equal ids for equal tokens (``table``: ``cap``
    slots, a power of two over twice the tokens)."""
    cdef Py_ssize_t total = p.na + p.nb
    cdef Py_ssize_t mask = cap - 1, k, slot, start, length, owner, o_start, o_len
    cdef size_t h
    cdef Text* text
    cdef Text* o_text
    memset(table, 0, cap * sizeof(Py_ssize_t))  # token number + 1 of each id's first token
    p.n_ids = 0
    for k in range(total):
        if k < p.na:
            text = original
            start = pos_a[k]
            length = pos_a[k + 1] - start
            h = hash_a[k]
        else:
            text = variant
            start = pos_b[k - p.na]
            length = pos_b[k - p.na + 1] - start
            h = hash_b[k - p.na]
        slot = <Py_ssize_t> (h & <size_t> mask)
        while True:
            owner = table[slot] - 1
            if owner < 0:
                table[slot] = k + 1
                _set_id(p, k, p.n_ids)
                p.n_ids += 1
                break
            if owner < p.na:
                o_text = original
                o_start = pos_a[owner]
                o_len = pos_a[owner + 1] - o_start
                if hash_a[owner] == h and o_len == length and _same(o_text, o_start, text, start, length):
                    _set_id(p, k, p.a[owner])
                    break
            else:
                o_text = variant
                o_start = pos_b[owner - p.na]
                o_len = pos_b[owner - p.na + 1] - o_start
                if hash_b[owner - p.na] == h and o_len == length and _same(o_text, o_start, text, start, length):
                    _set_id(p, k, p.b[owner - p.na])
                    break
            slot = (slot + 1) & mask
    return 0


cdef inline void _set_id(Pair* p, Py_ssize_t k, Py_ssize_t token_id) noexcept:
    if k < p.na:
        p.a[k] = token_id
    else:
        p.b[k - p.na] = token_id


cdef int _aligned_runs(Pair* p, Runs* out) except -1:
    """``diff._aligned_runs``: 1 with the positional runs in ``out`` when ``b`` is ``a`` with
    tokens replaced in place, no replaced token among the replacements; else 0."""
    cdef Py_ssize_t i
    cdef bint clash = False
    if p.na != p.nb:
        return 0
    for i in range(p.na):
        if p.a[i] != p.b[i]:
            p.count_a[p.a[i]] = 1
    for i in range(p.na):
        if p.a[i] != p.b[i] and p.count_a[p.b[i]]:
            clash = True
            break
    for i in range(p.na):
        p.count_a[p.a[i]] = 0
    if clash:
        return 0
    _positional(p, out)
    return 1


cdef int _positional(Pair* p, Runs* out) except -1:
    cdef Py_ssize_t i, prev = 0
    for i in range(p.na):
        if p.a[i] != p.b[i]:
            if i > prev:
                _push(out, prev, prev, i - prev)
            prev = i + 1
    if prev < p.na:
        _push(out, prev, prev, p.na - prev)
    return 0


cdef Py_ssize_t _count_in(Py_ssize_t* seq, Py_ssize_t lo, Py_ssize_t hi, Py_ssize_t token, Py_ssize_t* first) noexcept:
    cdef Py_ssize_t k, n = 0
    for k in range(lo, hi):
        if seq[k] == token:
            if n == 0:
                first[0] = k
            n += 1
    return n


cdef int _equal_runs(Pair* p, Py_ssize_t alo, Py_ssize_t ahi, Py_ssize_t blo, Py_ssize_t bhi, Runs* out) except -1:
    """``diff._equal_runs``, step for step."""
    cdef Py_ssize_t start = alo, end, found = 0, n_anchors, k, i, j
    cdef Py_ssize_t* chain
    cdef Py_ssize_t small_chain[2 * SMALL_CHAIN + 2]
    while alo < ahi and blo < bhi and p.a[alo] == p.b[blo]:
        alo += 1
        blo += 1
    if alo > start:
        _push(out, start, blo - (alo - start), alo - start)
    end = ahi
    while ahi > alo and bhi > blo and p.a[ahi - 1] == p.b[bhi - 1]:
        ahi -= 1
        bhi -= 1
    if alo < ahi and blo < bhi and (ahi - alo == 1 or bhi - blo == 1):
        if bhi - blo > 1:
            if _count_in(p.b, blo, bhi, p.a[alo], &found) == 1:
                _push(out, alo, found, 1)
        elif ahi - alo > 1:
            if _count_in(p.a, alo, ahi, p.b[blo], &found) == 1:
                _push(out, found, blo, 1)
    elif alo < ahi and blo < bhi:
        if ahi - alo <= SMALL_CHAIN:
            chain = &small_chain[0]
        else:
            chain = <Py_ssize_t*> malloc(2 * (ahi - alo + 1) * sizeof(Py_ssize_t))
        if chain == NULL:
            raise MemoryError()
        try:
            n_anchors = _unique_common(p, alo, ahi, blo, bhi, chain)
            if n_anchors:
                for k in range(n_anchors):
                    i, j = chain[2 * k], chain[2 * k + 1]
                    if i - alo == 1 and j - blo == 1:
                        if p.a[alo] == p.b[blo]:
                            _push(out, alo, blo, 1)
                    elif i > alo and j > blo:
                        _equal_runs(p, alo, i, blo, j, out)
                    _push(out, i, j, 1)
                    alo, blo = i + 1, j + 1
                if alo < ahi and blo < bhi:
                    _equal_runs(p, alo, ahi, blo, bhi, out)
            elif ahi - alo > 1 and bhi - blo > 1 and _share_a_token(p, alo, ahi, blo, bhi):
                _matching_blocks(p, alo, ahi, blo, bhi, out)
        finally:
            if chain != &small_chain[0]:
                free(chain)
    if ahi < end:
        _push(out, ahi, bhi, end - ahi)
    return 0


cdef bint _share_a_token(Pair* p, Py_ssize_t alo, Py_ssize_t ahi, Py_ssize_t blo, Py_ssize_t bhi) noexcept:
    cdef Py_ssize_t k
    cdef bint shared = False
    for k in range(alo, ahi):
        p.count_a[p.a[k]] = 1
    for k in range(blo, bhi):
        if p.count_a[p.b[k]]:
            shared = True
            break
    for k in range(alo, ahi):
        p.count_a[p.a[k]] = 0
    return shared


cdef Py_ssize_t _unique_common(Pair* p, Py_ssize_t alo, Py_ssize_t ahi, Py_ssize_t blo, Py_ssize_t bhi,
                               Py_ssize_t* chain) except -1:
    """``diff._unique_common``: the longest in-order chain of tokens that occur once in each
    range, as (i, j) pairs into ``chain``; returns how many."""
    cdef Py_ssize_t k, t, n_pairs = 0, n_tops = 0, pile, lo, hi, j, length
    cdef Py_ssize_t* pairs = p.scratch  # i, j for each pair
    cdef Py_ssize_t* tops = p.scratch + 2 * (p.na + p.nb + 2)
    cdef Py_ssize_t* top_index = tops + (p.na + p.nb + 2)
    cdef Py_ssize_t* back = top_index + (p.na + p.nb + 2)
    for k in range(alo, ahi):
        p.count_a[p.a[k]] += 1
        p.at_a[p.a[k]] = k
    for k in range(blo, bhi):
        p.count_b[p.b[k]] += 1
        p.at_b[p.b[k]] = k
    for k in range(alo, ahi):
        t = p.a[k]
        if p.count_a[t] == 1 and p.count_b[t] == 1:
            pairs[2 * n_pairs] = k
            pairs[2 * n_pairs + 1] = p.at_b[t]
            n_pairs += 1
    for k in range(alo, ahi):
        p.count_a[p.a[k]] = 0
    for k in range(blo, bhi):
        p.count_b[p.b[k]] = 0
    if n_pairs == 0:
        return 0
    for k in range(n_pairs):  # longest increasing subsequence of the j's (patience sorting)
        j = pairs[2 * k + 1]
        lo, hi = 0, n_tops
        while lo < hi:  # bisect_left
            pile = (lo + hi) // 2
            if tops[pile] < j:
                lo = pile + 1
            else:
                hi = pile
        pile = lo
        back[k] = top_index[pile - 1] if pile else -1
        if pile == n_tops:
            tops[n_tops] = j
            top_index[n_tops] = k
            n_tops += 1
        else:
            tops[pile] = j
            top_index[pile] = k
    length = 0
    k = top_index[n_tops - 1]
    while k >= 0:
        length += 1
        k = back[k]
    k = top_index[n_tops - 1]
    t = length
    while k >= 0:
        t -= 1
        chain[2 * t] = pairs[2 * k]
        chain[2 * t + 1] = pairs[2 * k + 1]
        k = back[k]
    return length


cdef int _matching_blocks(Pair* p, Py_ssize_t alo, Py_ssize_t ahi, Py_ssize_t blo, Py_ssize_t bhi,
                          Runs* out) except -1:
    """``difflib.SequenceMatcher(None, a[alo:ahi], b[blo:bhi], autojunk=False)
    .get_matching_blocks()`` without its closing empty block, in absolute positions."""
    cdef Runs queue, blocks
    cdef Py_ssize_t qa, qha, qb, qhb, i, j, k, m, n
    cdef Py_ssize_t i1, j1, k1, i2, j2, k2
    cdef Py_ssize_t* prev
    cdef Py_ssize_t* cur
    cdef Py_ssize_t* swap
    cdef Py_ssize_t besti, bestj, bestsize
    queue.v = NULL
    queue.n = queue.cap = 0
    blocks.v = NULL
    blocks.n = blocks.cap = 0
    m = bhi - blo
    prev = <Py_ssize_t*> malloc((m + 1) * sizeof(Py_ssize_t))
    cur = <Py_ssize_t*> malloc((m + 1) * sizeof(Py_ssize_t))
    try:
        if prev == NULL or cur == NULL:
            raise MemoryError()
        _push(&queue, alo, ahi, blo)
        _push(&queue, bhi, 0, 0)  # each queue entry is two triples: (alo, ahi, blo), (bhi, -, -)
        while queue.n:
            queue.n -= 2
            qa, qha, qb = queue.v[3 * queue.n], queue.v[3 * queue.n + 1], queue.v[3 * queue.n + 2]
            qhb = queue.v[3 * queue.n + 3]
            besti, bestj, bestsize = qa, qb, 0  # find_longest_match: first longest, by i then j
            memset(prev, 0, (m + 1) * sizeof(Py_ssize_t))
            for i in range(qa, qha):
                cur[0] = 0
                for j in range(qb, qhb):
                    if p.a[i] == p.b[j]:
                        k = prev[j - qb] + 1
                        cur[j - qb + 1] = k
                        if k > bestsize:
                            besti, bestj, bestsize = i - k + 1, j - k + 1, k
                    else:
                        cur[j - qb + 1] = 0
                swap = prev
                prev = cur
                cur = swap
            if bestsize:
                _push(&blocks, besti, bestj, bestsize)
                if qa < besti and qb < bestj:
                    _push(&queue, qa, besti, qb)
                    _push(&queue, bestj, 0, 0)
                if besti + bestsize < qha and bestj + bestsize < qhb:
                    _push(&queue, besti + bestsize, qha, bestj + bestsize)
                    _push(&queue, qhb, 0, 0)
        for n in range(1, blocks.n):  # sort by i (blocks never share an i): insertion sort, few blocks
            i2, j2, k2 = blocks.v[3 * n], blocks.v[3 * n + 1], blocks.v[3 * n + 2]
            k = n - 1
            while k >= 0 and blocks.v[3 * k] > i2:
                blocks.v[3 * k + 3], blocks.v[3 * k + 4], blocks.v[3 * k + 5] = (
                    blocks.v[3 * k], blocks.v[3 * k + 1], blocks.v[3 * k + 2])
                k -= 1
            blocks.v[3 * k + 3], blocks.v[3 * k + 4], blocks.v[3 * k + 5] = i2, j2, k2
        i1, j1, k1 = alo, blo, 0  # merge adjacent blocks
        for n in range(blocks.n):
            i2, j2, k2 = blocks.v[3 * n], blocks.v[3 * n + 1], blocks.v[3 * n + 2]
            if i1 + k1 == i2 and j1 + k1 == j2:
                k1 += k2
            else:
                if k1:
                    _push(out, i1, j1, k1)
                i1, j1, k1 = i2, j2, k2
        if k1:
            _push(out, i1, j1, k1)
    finally:
        free(prev)
        free(cur)
        free(queue.v)
        free(blocks.v)
    return 0


cdef int _common_ends(Text* a, Py_ssize_t la, Text* b, Py_ssize_t lb, Py_ssize_t* head_out,
                      Py_ssize_t* tail_out) except -1:
    """``diff._common_ends``: a common prefix and suffix ending (starting) where whitespace
    meets a non-space in both texts."""
    cdef Py_ssize_t n = la if la < lb else lb
    cdef Py_ssize_t head = 0, tail = 0
    while head < n and _at(a, head) == _at(b, head):
        head += 1
    while head and not (_space(_at(a, head - 1)) and (head == la or not _space(_at(a, head)))
                        and (head == lb or not _space(_at(b, head)))):
        head -= 1
    while tail < n - head and _at(a, la - 1 - tail) == _at(b, lb - 1 - tail):
        tail += 1
    while tail and not (_space(_at(a, la - tail))
                        and (la - tail == head or not _space(_at(a, la - tail - 1)))
                        and (lb - tail == head or not _space(_at(b, lb - tail - 1)))):
        tail -= 1
    head_out[0] = head
    tail_out[0] = tail
    return 0


cdef object _change(str original, Text* o, str variant, Text* v, Py_ssize_t ba, Py_ssize_t be, Py_ssize_t aa,
                    Py_ssize_t ae, str kind):
    """``diff._trimmed``: the change ``original[ba:be]`` -> ``variant[aa:ae]`` without the
    whitespace both share at its ends. Made without the frozen dataclass's ``__init__``
    (0.8 us, most of it ``object.__setattr__`` called from Python per field): the same
    fields, each set by the C call that ``object.__setattr__`` makes."""
    cdef Py_ssize_t head = 0, tail = 0, lb = be - ba, la = ae - aa
    if kind is SUBSTITUTE and (_at(o, ba) == _at(v, aa) or _at(o, be - 1) == _at(v, ae - 1)):
        while head < lb and head < la and _at(o, ba + head) == _at(v, aa + head) and _space(_at(o, ba + head)):
            head += 1
        while (tail < lb - head and tail < la - head and _at(o, be - 1 - tail) == _at(v, ae - 1 - tail)
               and _space(_at(o, be - 1 - tail))):
            tail += 1
        if head or tail:
            ba += head
            be -= tail
            aa += head
            ae -= tail
            kind = SUBSTITUTE if be > ba and ae > aa else (INSERT if ae > aa else DELETE)
    change = _new(_CHANGE)
    PyObject_GenericSetAttr(change, "start", aa)
    PyObject_GenericSetAttr(change, "end", ae)
    PyObject_GenericSetAttr(change, "before", original[ba:be])
    PyObject_GenericSetAttr(change, "after", variant[aa:ae])
    PyObject_GenericSetAttr(change, "kind", kind)
    PyObject_GenericSetAttr(change, "agreement", None)
    PyObject_GenericSetAttr(change, "support", None)
    return change


def diff_changes(original_text, variant_text):
    """The changes that turn ``original`` into ``variant``, in variant positions:
    :func:`augment_core.augment.diff.python_diff_changes` compiled, equal changes for any pair."""
    cdef str original, variant
    if type(original_text) is str and type(variant_text) is str:
        original, variant = original_text, variant_text
    elif isinstance(original_text, str) and isinstance(variant_text, str):
        original, variant = str.__str__(original_text), str.__str__(variant_text)  # numpy's str_ as plain text
    else:
        raise TypeError("diff_changes compares two texts")
    if original == variant:
        return ()
    cdef Py_ssize_t head, tail, end_a, end_b, i, j, k, ri, rj, n, chars, tokens, cap, used
    cdef Py_ssize_t stack_words[STACK_WORDS]
    cdef Py_ssize_t* text_block = NULL
    cdef Py_ssize_t* token_block = NULL
    cdef Py_ssize_t* work
    cdef Py_ssize_t* pos_a
    cdef Py_ssize_t* pos_b
    cdef size_t* hash_a
    cdef size_t* hash_b
    cdef Runs runs, other
    cdef Pair pair
    cdef Pair* p = &pair
    cdef Text o = _text(original)
    cdef Text v = _text(variant)
    cdef str tag
    _common_ends(&o, len(original), &v, len(variant), &head, &tail)
    end_a = len(original) - tail
    end_b = len(variant) - tail
    runs.v = NULL
    runs.n = runs.cap = 0
    other.v = NULL
    other.n = other.cap = 0
    try:
        # the workspace, on the C stack for texts of up to ~900 characters: first each token's
        # start and hash (a token per character at most), then what the alignment needs per token
        chars = (end_a - head) + (end_b - head) + 2
        work = stack_words
        if 2 * chars > STACK_WORDS:
            text_block = <Py_ssize_t*> malloc(2 * chars * sizeof(Py_ssize_t))
            if text_block == NULL:
                raise MemoryError()
            work = text_block
        pos_a = work
        pos_b = pos_a + (end_a - head + 1)
        hash_a = <size_t*> (pos_b + (end_b - head + 1))
        hash_b = hash_a + (end_a - head + 1)
        p.na = _tokenize(&o, head, end_a, pos_a, hash_a)
        p.nb = _tokenize(&v, head, end_b, pos_b, hash_b)
        tokens = p.na + p.nb + 2
        cap = 16
        while cap < 2 * tokens:
            cap *= 2
        used = 2 * chars if text_block == NULL else 0
        work = stack_words + used
        if used + 10 * tokens + cap > STACK_WORDS:
            token_block = <Py_ssize_t*> malloc((10 * tokens + cap) * sizeof(Py_ssize_t))
            if token_block == NULL:
                raise MemoryError()
            work = token_block
        p.a = work
        p.b = p.a + (p.na + 1)
        p.scratch = p.a + tokens
        p.count_a = p.scratch + 5 * tokens
        p.count_b = p.count_a + tokens
        p.at_a = p.count_b + tokens
        p.at_b = p.at_a + tokens
        _intern(p, &o, pos_a, hash_a, &v, pos_b, hash_b, p.at_b + tokens, cap)
        memset(p.count_a, 0, 2 * tokens * sizeof(Py_ssize_t))
        if not _aligned_runs(p, &runs):
            _equal_runs(p, 0, p.na, 0, p.nb, &runs)
            if 2 * _matched(&runs) < (p.na if p.na < p.nb else p.nb):
                _better_of(p, &runs, &other)
        _push(&runs, p.na, p.nb, 0)
        out = []
        i = j = 0
        for k in range(runs.n):
            ri, rj, n = runs.v[3 * k], runs.v[3 * k + 1], runs.v[3 * k + 2]
            if ri > i or rj > j:
                tag = SUBSTITUTE if ri > i and rj > j else (DELETE if ri > i else INSERT)
                out.append(_change(original, &o, variant, &v, pos_a[i], pos_a[ri], pos_b[j], pos_b[rj], tag))
            i, j = ri + n, rj + n
        return tuple(out)
    finally:
        free(text_block)
        free(token_block)
        free(runs.v)
        free(other.v)


cdef int _better_of(Pair* p, Runs* runs, Runs* other) except -1:
    """``diff._better_of``: of patience (``runs``), SequenceMatcher's blocks and, with as many
    tokens on each side, by position, the first that matches most, into ``runs``."""
    cdef Runs swap
    other.n = 0
    _matching_blocks(p, 0, p.na, 0, p.nb, other)
    if _matched(other) > _matched(runs):
        swap = runs[0]
        runs[0] = other[0]
        other[0] = swap
    if p.na == p.nb:
        other.n = 0
        _positional(p, other)
        if _matched(other) > _matched(runs):
            swap = runs[0]
            runs[0] = other[0]
            other[0] = swap
    return 0
