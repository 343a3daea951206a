"""The review page's questions, answered in SQL from the review index (see
:mod:`augment_core.review.facts` and the ``review_*`` tables in
:mod:`augment_core.review.schema`): a page of originals with their matching variants,
how many match, facet and progress counts, the one-at-a-time window, bulk actions over a
filter. Nothing here holds more than a page of candidates in Python, so the page stays fast
with 500,000 of them.

The answers are those of the functions over rows in :mod:`augment_core.review.filters` (a
test checks it on the bundled sample): a filter is a ``WHERE`` clause over
``review_items``; variants are sorted by the sort order's key column, then by the order
they were stored in; an original's place is that of its first matching variant in that
order (its *leader*: a matching variant with no matching variant of the same original
before it), so a page is the next ``per_page`` leaders and the variants of their originals.

Decisions are read through :func:`augment_core.review.store.decisions_of` only.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from augment_core.review.candidates import CandidateRow, candidate_row
from augment_core.review.database import contains
from augment_core.review.filters import STATUSES, Filter, Group
from augment_core.review.index import SORT_COLUMNS
from augment_core.review.schema import LOCAL_REVIEWER
from augment_core.review.store import BulkResult, Store, StoredCandidate, decisions_of

Params = dict[str, Any]


@dataclass(frozen=True)
class Scope:
    """The dataset and the runs the review shows (:meth:`Store.review_run_ids`), with each
    run's settings (what its variants' tags are read with), and whose decisions the status
    filters, counts and bulk actions read and write."""

    hash: str
    run_ids: tuple[int, ...]
    settings: Mapping[int, Mapping[str, Any] | None]
    reviewer: str = LOCAL_REVIEWER


def scope_of(store: Store, hash: str, reviewer: str = LOCAL_REVIEWER) -> Scope:
    run_ids = store.review_run_ids(hash)
    info = store.dataset(hash)
    fallback = info.settings if info is not None else None
    by_id = {r.id: r.settings for r in store.runs(hash)}
    return Scope(hash, run_ids, {rid: by_id.get(rid) or fallback for rid in run_ids}, reviewer)


@dataclass(frozen=True)
class PageMark:
    """Where a page's originals begin and end in the order (their leaders' sort keys), so
    that the page after or before it is a seek from there: ``OFFSET`` walks past every
    original before the page, over 700 ms at the end of 500,000 variants sorted by
    agreement. A mark holds only while the originals before it cannot have changed: the
    same runs, filter and order (``stamp``), and a filter that does not depend on decisions
    (see :func:`page`)."""

    page: int
    first: tuple[Any, ...]
    last: tuple[Any, ...]
    stamp: str


@dataclass(frozen=True)
class Page:
    groups: list[Group]
    """The page's originals, each with its matching variants, in order."""
    page: int
    """The page shown (pages from 1; a page past the end shows the last)."""
    n_pages: int
    n_items: int
    """Variants matching the filter."""
    n_groups: int
    """Originals with a matching variant."""
    mark: PageMark | None = None
    """To pass to :func:`page` for the next page, or the previous one."""


def _in(params: Params, name: str, values: Sequence[Any]) -> str:
    names = []
    for i, v in enumerate(values):
        params[f"{name}{i}"] = v
        names.append(f":{name}{i}")
    return "(" + ", ".join(names) + ")"


def where(scope: Scope, flt: Filter, alias: str, params: Params, inner: bool = False, dialect: str = "sqlite") -> str:
    """The filter as a condition on ``review_items`` rows named ``alias``; its values go in
    ``params`` (named, shared by every alias). ``inner``: for a correlated subquery (run
    once per row of the outer query). ``dialect``: the database's (``Store.dialect``)."""
    a = alias
    params["hash"] = scope.hash
    params["reviewer"] = scope.reviewer
    runs = [r for r in scope.run_ids if not flt.runs or r in flt.runs]
    parts = [f"{a}.run_id IN {_in(params, 'run', runs)}" if runs else "1 = 0"]
    if flt.augmenters:
        parts.append(f"{a}.augmenter IN {_in(params, 'aug', sorted(flt.augmenters))}")
    for kind, wanted in (("rule", flt.rules), ("word_change", flt.word_changes), ("tag", flt.tags),
                         ("flag", flt.flags)):
        if wanted:
            names = _in(params, f"v_{kind}_", sorted(wanted))
            # per row, a seek on (value, rid) for each wanted value: cheap inside the
            # correlated "first of its original" check too (an IN list over every matching
            # rid would be built again for each row there)
            values = (f"SELECT v.id FROM review_values v WHERE v.dataset_hash = :hash AND v.kind = '{kind}'"
                      f" AND v.value IN {names}")
            if inner:
                parts.append(f"EXISTS (SELECT 1 FROM review_item_values iv WHERE iv.value_id IN ({values})"
                             f" AND iv.rid = {a}.rid)")
            else:  # built once per statement, then a lookup per row
                parts.append(f"{a}.rid IN (SELECT iv.rid FROM review_item_values iv WHERE iv.value_id IN ({values}))")
    if flt.agreement_below is not None:
        params["agreement_below"] = flt.agreement_below
        parts.append(f"{a}.agreement IS NOT NULL AND {a}.agreement < :agreement_below")
    if flt.similarity is not None:
        params["sim_lo"], params["sim_hi"] = flt.similarity
        parts.append(f"{a}.similarity IS NOT NULL AND {a}.similarity >= :sim_lo AND {a}.similarity <= :sim_hi")
    if flt.search:
        params["needle"] = flt.search.lower()
        parts.append(
            f"({contains(dialect, f'(SELECT t.text FROM review_text t WHERE t.rid = {a}.rid)', ':needle')}"
            f" OR {contains(dialect, f'(SELECT g.original FROM review_groups g WHERE g.id = {a}.grp)', ':needle')})"
        )
    if flt.decided_by is not None:  # several reviewers: any reviewer's decisions, not the scope's
        params["decided_by"] = flt.decided_by
        parts.append(f"EXISTS (SELECT 1 FROM decisions o WHERE o.dataset_hash = :hash AND o.key = {a}.key"
                     " AND o.reviewer = :decided_by)")
    if flt.conflicts:
        parts.append(f"EXISTS (SELECT 1 FROM decisions x JOIN decisions y ON y.dataset_hash = x.dataset_hash"
                     f" AND y.key = x.key AND y.decision != x.decision WHERE x.dataset_hash = :hash AND x.key = {a}.key)")
    if flt.status != "all":
        if flt.status not in STATUSES:
            raise ValueError(f"unknown status {flt.status!r}")
        if flt.status == "undecided":
            parts.append(f"NOT EXISTS (SELECT 1 FROM {decisions_of()} d WHERE d.key = {a}.key)")
        else:
            params["status"] = flt.status
            parts.append(f"EXISTS (SELECT 1 FROM {decisions_of()} d WHERE d.key = {a}.key AND d.decision = :status)")
    return " AND ".join(parts)


def _sort(order: str) -> str | None:
    if order not in SORT_COLUMNS:
        raise ValueError(f"unknown sort order {order!r}")
    return SORT_COLUMNS[order]


def _order_by(order: str, a: str) -> str:
    k = _sort(order)
    return f"{a}.{k}, {a}.rid" if k else f"{a}.rid"


def _before(order: str, j: str, a: str) -> str:
    """``j`` comes before ``a`` in this order."""
    k = _sort(order)
    return f"({j}.{k}, {j}.rid) < ({a}.{k}, {a}.rid)" if k else f"{j}.rid < {a}.rid"


def count(store: Store, scope: Scope, flt: Filter) -> tuple[int, int]:
    """(variants, originals) matching the filter."""
    params: Params = {}
    cond = where(scope, flt, "a", params, dialect=store.dialect)
    n, g = store.read(f"SELECT COUNT(*), COUNT(DISTINCT a.grp) FROM review_items a WHERE {cond}", params)[0]
    return int(n), int(g)


def match_counts(store: Store, scope: Scope, flt: Filter) -> dict[str, int]:
    """Variants (``items``) and originals (``groups``) matching the filter, and how many of
    those variants are ``accepted`` and ``rejected``: one pass, from which the page's counts
    and both bulk buttons' counts follow (see :func:`bulk_counts`)."""
    params: Params = {}
    cond = where(scope, flt, "a", params, dialect=store.dialect)
    n, g, acc, rej = store.read(
        f"SELECT COUNT(*), COUNT(DISTINCT a.grp), COUNT(CASE WHEN d.decision = 'accepted' THEN 1 END),"
        " COUNT(CASE WHEN d.decision = 'rejected' THEN 1 END)"
        f" FROM review_items a LEFT JOIN {decisions_of()} d ON d.key = a.key WHERE {cond}", params)[0]
    return {"items": int(n), "groups": int(g), "accepted": int(acc), "rejected": int(rej)}


def bulk_counts(counts: Mapping[str, int], only_undecided: bool) -> dict[str, int]:
    """What bulk accept and bulk reject would write, from :func:`match_counts`."""
    undecided = counts["items"] - counts["accepted"] - counts["rejected"]
    if only_undecided:
        return {"accepted": undecided, "rejected": undecided}
    return {"accepted": counts["items"] - counts["accepted"], "rejected": counts["items"] - counts["rejected"]}


def _rows(store: Store, scope: Scope, sql: str, params: Params) -> list[CandidateRow]:
    """CandidateRows of ``(run_id, key, row)`` rows, in their order."""
    import json

    shared: dict[Any, Any] = {}
    return [candidate_row(StoredCandidate(run_id, key, json.loads(raw)), scope.settings.get(run_id), shared)
            for run_id, key, raw in store.read(sql, params)]


def _stamp(scope: Scope, flt: Filter, order: str) -> str | None:
    """What a :class:`PageMark` holds for; None: no mark can hold (a filter on decisions:
    a decision anywhere before the page moves it)."""
    if flt.status != "all" or flt.decided_by is not None or flt.conflicts:
        return None
    return repr((scope.hash, scope.run_ids, flt, order))


def _key_of(order: str, a: str) -> str:
    k = _sort(order)
    return f"({a}.{k}, {a}.rid)" if k else f"({a}.rid)"


def page(store: Store, scope: Scope, flt: Filter, order: str, page: int, per_page: int,
         counts: tuple[int, int] | None = None, near: PageMark | None = None) -> Page:
    """One page of originals (``per_page`` a page) with their matching variants, as
    ``filters.paginate(filters.group_by_original(filters.sort_items(filters.apply_filter(...))))``
    gives it. ``counts``: (variants, originals) matching, when the caller has them. ``near``:
    the mark of the page shown before (:attr:`Page.mark`); the page after it, before it or
    itself is then a seek from there, the same page as without it."""
    n_items, n_groups = counts if counts is not None else count(store, scope, flt)
    n_pages = max(1, -(-n_groups // per_page))
    page = min(max(1, int(page)), n_pages)
    if not n_groups:
        return Page([], page, n_pages, n_items, n_groups)
    stamp = _stamp(scope, flt, order)
    params: Params = {"limit": per_page, "offset": (page - 1) * per_page}
    cond_a = where(scope, flt, "a", params, dialect=store.dialect)
    cond_j = where(scope, flt, "j", params, inner=True, dialect=store.dialect)
    k = _sort(order)
    cols = f"a.grp, a.{k}, a.rid" if k else "a.grp, a.rid"
    key, order_by, backwards = _key_of(order, "a"), _order_by(order, "a"), False
    if near is not None and stamp is not None and near.stamp == stamp and near.page in (page - 1, page, page + 1):
        params["offset"] = 0
        if near.page == page + 1:  # the page before: the last per_page leaders before its first
            seek, backwards = f"{key} < ({_in(params, 'seek', near.first)[1:-1]})", True
            order_by = f"a.{k} DESC, a.rid DESC" if k else "a.rid DESC"
        elif near.page == page - 1:
            seek = f"{key} > ({_in(params, 'seek', near.last)[1:-1]})"
        else:
            seek = f"{key} >= ({_in(params, 'seek', near.first)[1:-1]})"
        cond_a = f"{cond_a} AND {seek}"
    found = store.read(
        f"SELECT {cols} FROM review_items a WHERE {cond_a} AND NOT EXISTS (SELECT 1 FROM review_items j"
        f" WHERE j.grp = a.grp AND {_before(order, 'j', 'a')} AND {cond_j})"
        f" ORDER BY {order_by} LIMIT :limit OFFSET :offset",
        params,
    )
    if backwards:
        found.reverse()
    mark = PageMark(page, tuple(found[0][1:]), tuple(found[-1][1:]), stamp) if found and stamp else None
    leaders = [(g,) for g, *_ in found]
    grp_ids = [g for (g,) in leaders]
    if not grp_ids:
        return Page([], page, n_pages, n_items, n_groups)
    import json

    params = {}
    cond_a = where(scope, flt, "a", params, dialect=store.dialect)
    groups = {g: Group("", "") for g in grp_ids}
    shared: dict[Any, Any] = {}
    for grp, run_id, key, raw in store.read(
        f"SELECT a.grp, a.run_id, a.key, c.row FROM review_items a JOIN candidates c ON c.run_id = a.run_id"
        f" AND c.pos = a.pos WHERE a.grp IN {_in(params, 'grp', grp_ids)} AND {cond_a} ORDER BY {_order_by(order, 'a')}",
        params,
    ):
        it = candidate_row(StoredCandidate(run_id, key, json.loads(raw)), scope.settings.get(run_id), shared)
        g = groups[grp]
        if not g.items:
            g.parent_id, g.original_text = it.parent_id, it.original_text
        g.items.append(it)
    return Page([g for g in groups.values() if g.items], page, n_pages, n_items, n_groups, mark)


def focus_window(store: Store, scope: Scope, flt: Filter, order: str, behind: int, ahead: int,
                 counts: Mapping[str, int] | None = None) -> tuple[list[CandidateRow], int, int]:
    """The one-at-a-time view: ``behind + ahead`` variants matching the filter (whatever their
    status), from ``behind`` before the first undecided one (the end of the list when none is
    undecided), with (matching, undecided matching). ``counts``: :func:`match_counts` of the
    filter without its status, when the caller has them (the page caches them)."""
    everything = Filter(**{**flt.__dict__, "status": "all"})
    undecided = Filter(**{**flt.__dict__, "status": "undecided"})
    c = counts if counts is not None else match_counts(store, scope, everything)
    matching, left = c["items"], c["items"] - c["accepted"] - c["rejected"]
    params: Params = {}
    cond = where(scope, undecided, "a", params, dialect=store.dialect)
    k = _sort(order)
    cols = f"a.{k}, a.rid" if k else "a.rid"
    first = store.read(f"SELECT {cols} FROM review_items a WHERE {cond} ORDER BY {_order_by(order, 'a')} LIMIT 1",
                       params)
    params = {"behind": behind, "ahead": ahead}
    cond = where(scope, everything, "a", params, dialect=store.dialect)
    if first:
        names = [f":pivot{i}" for i in range(len(first[0]))]
        params.update({f"pivot{i}": v for i, v in enumerate(first[0])})
        pivot = f"({', '.join(names)})" if k else names[0]
        key = f"(a.{k}, a.rid)" if k else "a.rid"
        desc = f"a.{k} DESC, a.rid DESC" if k else "a.rid DESC"
        base = "SELECT a.run_id, a.key, c.row FROM review_items a JOIN candidates c ON c.run_id = a.run_id AND c.pos = a.pos"
        before = _rows(store, scope, f"{base} WHERE {cond} AND {key} < {pivot} ORDER BY {desc} LIMIT :behind", params)
        params["ahead"] = behind + ahead - len(before)
        after = _rows(store, scope, f"{base} WHERE {cond} AND {key} >= {pivot} ORDER BY {_order_by(order, 'a')}"
                      " LIMIT :ahead", params)
        return before[::-1] + after, matching, left
    base = "SELECT a.run_id, a.key, c.row FROM review_items a JOIN candidates c ON c.run_id = a.run_id AND c.pos = a.pos"
    desc = f"a.{k} DESC, a.rid DESC" if k else "a.rid DESC"
    tail = _rows(store, scope, f"{base} WHERE {cond} ORDER BY {desc} LIMIT :behind", params)
    return tail[::-1], matching, left


def progress(store: Store, scope: Scope) -> dict[str, int]:
    """``filters.progress_counts`` over every variant of the scope."""
    params: Params = {"hash": scope.hash, "reviewer": scope.reviewer}
    runs = _in(params, "run", scope.run_ids) if scope.run_ids else "(NULL)"
    (total,), = store.read(f"SELECT COUNT(*) FROM review_items a WHERE a.run_id IN {runs}", params)
    decided = dict(store.read(
        f"SELECT d.decision, COUNT(*) FROM {decisions_of()} d JOIN review_items a ON a.key = d.key"
        f" WHERE a.run_id IN {runs} GROUP BY d.decision", params))
    accepted, rejected = int(decided.get("accepted", 0)), int(decided.get("rejected", 0))
    reviewed = accepted + rejected
    return {"total": int(total), "reviewed": reviewed, "accepted": accepted, "rejected": rejected,
            "left": int(total) - reviewed}


def facets(store: Store, scope: Scope) -> dict[str, Any]:
    """``filters.facets`` (value counts: augmenter, rule, word change, tag, flag, run),
    ``filters.has_similarity`` and ``filters.rule_agreement`` over the scope, from the counts
    stored with each run (no scan of the variants)."""
    params: Params = {"hash": scope.hash}
    runs = _in(params, "run", scope.run_ids) if scope.run_ids else "(NULL)"
    out: dict[str, Counter] = {name: Counter() for name in ("augmenter", "rule", "word_change", "tag", "flag", "run")}
    agreement: dict[str, tuple[float, int]] = {}
    for kind, value, n, agr, sup in store.read(
        "SELECT v.kind, v.value, SUM(c.n), v.agreement, v.support FROM review_value_counts c"
        f" JOIN review_values v ON v.id = c.value_id WHERE c.run_id IN {runs} GROUP BY v.id ORDER BY v.id", params
    ):
        out[kind][value] += int(n)
        if kind == "rule" and agr is not None and sup is not None:
            agreement[value] = (float(agr), int(sup))
    for run_id, n in store.read(
        "SELECT c.run_id, SUM(c.n) FROM review_value_counts c JOIN review_values v ON v.id = c.value_id"
        f" WHERE c.run_id IN {runs} AND v.kind = 'augmenter' GROUP BY c.run_id", params
    ):
        out["run"][int(run_id)] = int(n)
    has_sim = bool(store.read(
        f"SELECT 1 FROM review_items a WHERE a.run_id IN {runs} AND a.similarity IS NOT NULL LIMIT 1", params))
    return {"facets": out, "has_similarity": has_sim, "rule_agreement": agreement}


def _bulk_source(store: Store, scope: Scope, flt: Filter, params: Params) -> str:
    return f"SELECT DISTINCT a.key FROM review_items a WHERE {where(scope, flt, 'a', params, dialect=store.dialect)}"


def bulk_count(store: Store, scope: Scope, flt: Filter, decision: str, only_undecided: bool = True) -> int:
    """How many decisions a bulk ``decision`` over the filter would write now
    (``filters.bulk_changes``)."""
    params: Params = {"b_decision": decision}
    src = _bulk_source(store, scope, flt, params)
    cond = "d.decision IS NULL" if only_undecided else "(d.decision IS NULL OR d.decision != :b_decision)"
    (n,), = store.read(f"SELECT COUNT(*) FROM ({src}) m LEFT JOIN {decisions_of()} d ON d.key = m.key WHERE {cond}",
                       params)
    return int(n)


def bulk(store: Store, scope: Scope, flt: Filter, decision: str, only_undecided: bool, origin: str | None,
         seen: float, label: str | None = None, wait: float | None = None) -> BulkResult:
    """Accept or reject every variant the filter matches in the database now, as one undoable
    action, in one statement (no key goes through Python). ``seen``: when the page read the
    decisions it showed; a variant decided after that is left alone (a conflict)."""
    params: Params = {}
    src = _bulk_source(store, scope, flt, params)
    return store.decide_matching(scope.hash, src, params, decision, only_undecided, origin=origin, seen=seen,
                                 label=label or f"bulk {'accept' if decision == 'accepted' else 'reject'}", wait=wait,
                                 reviewer=scope.reviewer)


def known_keys(store: Store, scope: Scope, keys: Sequence[str]) -> set[str]:
    """Which of these keys name a variant of the scope (what a decision from the browser may name)."""
    out: set[str] = set()
    keys = list(dict.fromkeys(keys))
    for i in range(0, len(keys), 400):
        params: Params = {}
        sql = (f"SELECT a.key FROM review_items a WHERE a.key IN {_in(params, 'k', keys[i:i + 400])}"
               f" AND a.run_id IN {_in(params, 'run', scope.run_ids) if scope.run_ids else '(NULL)'}")
        out.update(k for (k,) in store.read(sql, params))
    return out
