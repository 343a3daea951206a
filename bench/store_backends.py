"""The review store on SQLite and on PostgreSQL, the same calls timed on each.

    python bench/store_backends.py [--candidates 30000] [--decisions 100] [--database-url URL]

For each backend: stores the bundled sample's alias-swap run repeated to ``--candidates``
variants (``bench/app.py``'s data builder, through the store), then times, in the store and
the review page's queries (no browser, no Streamlit: what the page's server does):

* ``store_run``: storing the run (chunks of ``RUN_CHUNK``, index rows with them);
* ``decision_save``: ``--decisions`` single decisions as the review page's queue sends them
  (checked against what the page showed, recorded under a client id), p50 and p90;
* ``first_render``: what the review page reads on a first render: the scope, facets,
  progress, the counts of the filter and its first page (25 originals, sorted by similarity);
* ``page_change``: the next page from the page shown (its keyset mark), p50 over 5;
* ``bulk``: a bulk accept over every variant (one INSERT ... SELECT), and its undo.

PostgreSQL is the server at ``--database-url`` (a database you made for this: its tables are
dropped first), else a throw-away one started like the tests' (Debian's ``initdb``/``pg_ctl``
in a temporary folder, durability off as on a test server: ``fsync=off``). Prints one JSON
line per metric and backend, and the machine's load average. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from augment_core.review import filters as review  # noqa: E402
from augment_core.review import query  # noqa: E402
from augment_core.review.database import DATABASE_URL_ENV  # noqa: E402
from augment_core.review.schema import metadata  # noqa: E402
from augment_core.review.store import Store  # noqa: E402

PER_PAGE = 25
ORDER = "lowest similarity first"


def _bench_app():
    """bench/app.py's data builders (a script beside this one, not a package)."""
    spec = importlib.util.spec_from_file_location("bench_app", ROOT / "bench" / "app.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _p(times: list[float], q: float) -> float:
    return round(sorted(times)[min(len(times) - 1, int(q * len(times)))] * 1000, 1)


def emit(backend: str, metric: str, **figures) -> None:
    print(json.dumps({"backend": backend, "metric": metric, **figures}), flush=True)


def first_render(store: Store, h: str) -> tuple[float, query.Page]:
    t0 = time.perf_counter()
    scope = query.scope_of(store, h)
    query.facets(store, scope)
    query.progress(store, scope)
    counts = query.match_counts(store, scope, review.Filter())
    shown = query.page(store, scope, review.Filter(), ORDER, 1, PER_PAGE, counts=(counts["items"], counts["groups"]))
    return time.perf_counter() - t0, shown


def run_backend(backend: str, url: str | None, build, n: int, n_decisions: int) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix=f"bench-{backend}-"))
    if url:
        os.environ[DATABASE_URL_ENV] = url
    else:
        os.environ.pop(DATABASE_URL_ENV, None)
    t0 = time.perf_counter()
    h = build(data_dir, n)  # dataset, augmentation and the stored run
    emit(backend, "build_and_store_run", candidates=n, seconds=round(time.perf_counter() - t0, 2))
    store = Store(data_dir)
    try:
        cold, _ = first_render(store, h)
        warm, shown = first_render(store, h)
        emit(backend, "first_render", candidates=n, cold_ms=round(cold * 1000, 1), warm_ms=round(warm * 1000, 1))
        scope = query.scope_of(store, h)
        counts = (shown.n_items, shown.n_groups)
        times, mark, page_no = [], shown.mark, 1
        for _ in range(5):
            t0 = time.perf_counter()
            nxt = query.page(store, scope, review.Filter(), ORDER, page_no + 1, PER_PAGE, counts=counts, near=mark)
            times.append(time.perf_counter() - t0)
            mark, page_no = nxt.mark, nxt.page
        emit(backend, "page_change", candidates=n, p50_ms=_p(times, 0.5), max_ms=round(max(times) * 1000, 1))
        keys = [it.key for g in shown.groups for it in g.items]
        keys += [k for (k,) in store.read("SELECT key FROM review_items ORDER BY rid LIMIT ?", (n_decisions,))]
        keys = list(dict.fromkeys(keys))[:n_decisions]
        times = []
        for i, k in enumerate(keys):
            t0 = time.perf_counter()
            store.decide_many(h, {k: "rejected"}, label=f"reject {k}", origin="bench-tab", expected={k: None},
                              client_id=f"bench-{i}")
            times.append(time.perf_counter() - t0)
        emit(backend, "decision_save", n=len(times), p50_ms=_p(times, 0.5), p90_ms=_p(times, 0.9))
        t0 = time.perf_counter()
        done = query.bulk(store, scope, review.Filter(), "accepted", True, origin="bench-bulk", seen=time.time())
        bulk_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        store.undo(h, origin="bench-bulk")
        emit(backend, "bulk", candidates=n, decisions=done.changed, seconds=round(bulk_s, 2),
             undo_seconds=round(time.perf_counter() - t0, 2))
    finally:
        store.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--candidates", type=int, default=30_000)
    ap.add_argument("--decisions", type=int, default=100)
    ap.add_argument("--database-url", default=None, help="a PostgreSQL database to use (its tables are dropped first)")
    ap.add_argument("--backends", default="sqlite,postgresql")
    args = ap.parse_args()
    build = _bench_app().build_data
    server = None
    url = args.database_url
    if url is None and "postgresql" in args.backends:
        from helpers import PostgresServer

        server = PostgresServer()
        url = server.url(server.create_database())
    try:
        if url:
            from sqlalchemy import create_engine

            engine = create_engine(url)
            metadata.drop_all(engine)
            with engine.begin() as c:
                c.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
            engine.dispose()
        for backend in args.backends.split(","):
            run_backend(backend, url if backend == "postgresql" else None, build, args.candidates, args.decisions)
    finally:
        if server is not None:
            server.stop()
    print(json.dumps({"load_average": os.getloadavg(), "cpus": os.cpu_count()}), flush=True)


if __name__ == "__main__":
    main()
