"""The browser queue's records (:mod:`augment_core.review.queue`): the outcome of every
decision the review page sent with its own id, written in the same transaction as the
decision, so an id sent again (an answer lost, a replay after a reload) is answered from its
record instead of written twice.

Records are keyed by (dataset, reviewer, id): an id is the page's own, so another reviewer's
page may send the same one, and it is that reviewer's decision, written for them. They are
kept per reviewer and tab, the newest :data:`ACKS_KEPT`: an id older than that has long been
answered (the page sends a batch at a time and waits for its answers), and a forged stream
of ids cannot grow the table.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

from augment_core.review.database import Conn, Database, among

ACKS_KEPT = 500
"""Outcomes kept per reviewer and tab, in the store and in the page's answers (the app sends
the newest this many back with every page run): a batch's worth at least
(``queue.MAX_BATCH``). One the browser missed is not lost: its queue sends the decision
again after a few seconds, and the store answers it from its record of that id."""


def record(c: Conn, dataset_hash: str, reviewer: str, origin: str | None, client_id: str | None,
           outcome: Mapping[str, Any], now: float) -> None:
    """Record ``client_id``'s outcome for ``reviewer`` (inside the write's transaction), among
    the newest :data:`ACKS_KEPT` of the tab ``origin`` that sent it; older ones go."""
    if client_id is None:
        return
    c.queue("INSERT INTO client_actions (dataset_hash, reviewer, origin, id, outcome, at) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (dataset_hash, reviewer, id) DO NOTHING",
            (dataset_hash, reviewer, origin, client_id, json.dumps(outcome), now))
    # whether it went in or was there: the tab's newest ACKS_KEPT stay (queued with the
    # insert, not a round trip of its own to ask which)
    tab = "dataset_hash = ? AND reviewer = ? AND " + ("origin = ?" if origin is not None else "origin IS NULL")
    args = (dataset_hash, reviewer, origin) if origin is not None else (dataset_hash, reviewer)
    c.queue(
        f"DELETE FROM client_actions WHERE {tab} AND seq <= ("
        f" SELECT seq FROM client_actions WHERE {tab} ORDER BY seq DESC LIMIT 1 OFFSET ?)",
        (*args, *args, ACKS_KEPT),
    )


def prune_all(c: Conn) -> None:
    """Keep the newest :data:`ACKS_KEPT` records of every reviewer and tab (a table grown by an
    older version, which kept every record)."""
    c.execute(
        "DELETE FROM client_actions WHERE seq IN (SELECT seq FROM (SELECT seq, ROW_NUMBER() OVER"
        " (PARTITION BY dataset_hash, reviewer, origin ORDER BY seq DESC) AS n FROM client_actions) ranked WHERE n > ?)",
        (ACKS_KEPT,),
    )


def outcomes(db: Database, dataset_hash: str, reviewer: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The recorded outcomes of ``reviewer``'s page actions with these ids (those applied already)."""
    out: dict[str, dict[str, Any]] = {}
    for cond, args in among(db.dialect, "id", list(ids)):
        for cid, outcome in db.query(f"SELECT id, outcome FROM client_actions WHERE dataset_hash = ? AND reviewer = ?"
                                     f" AND {cond}", (dataset_hash, reviewer, *args)):
            out[cid] = json.loads(outcome)
    return out
