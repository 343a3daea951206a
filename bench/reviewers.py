"""What reviewers cost: a bulk decision and its undo with the history of who decided what
(every change also appended to ``history``) against the same writes without it (the old way,
the history insert left out in this run), and the team view's work (every reviewer's
decisions read, conflicts, Cohen's kappa, a majority export policy) over two reviewers.

    python bench/reviewers.py [--n 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from augment_core.review import (
    history,  # noqa: E402
    reviewers,  # noqa: E402
)
from augment_core.review.store import Store  # noqa: E402

H = "b" * 64


def _bulk(data_dir: Path, n: int, with_history: bool) -> tuple[float, float]:
    store = Store(data_dir)
    store.add_dataset(H, "bench.csv", b"x", None)
    changes = {f"1:{i}": "accepted" for i in range(n)}
    with mock.patch.object(history, "log", history.log if with_history else (lambda *a, **k: None)):
        t = time.perf_counter()
        store.decide_many(H, changes, reviewer="alice@example.com")
        decide = time.perf_counter() - t
        t = time.perf_counter()
        store.undo(H, reviewer="alice@example.com")
        undo = time.perf_counter() - t
    store.close()
    return decide, undo


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    figures: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeat):
            for with_history in (False, True):
                d, u = _bulk(Path(tmp) / f"{r}-{with_history}", args.n, with_history)
                figures.setdefault(f"decide {'history' if with_history else 'no history'}", []).append(d)
                figures.setdefault(f"undo {'history' if with_history else 'no history'}", []).append(u)
        store = Store(Path(tmp) / "team")
        store.add_dataset(H, "bench.csv", b"x", None)
        store.decide_many(H, {f"1:{i}": "accepted" if i % 3 else "rejected" for i in range(args.n)}, reviewer="a@x.org")
        store.decide_many(H, {f"1:{i}": "accepted" if i % 4 else "rejected" for i in range(args.n)}, reviewer="b@x.org")
        for _ in range(args.repeat):
            t = time.perf_counter()
            by_reviewer = store.decisions_by_reviewer(H)
            n_conflicts = len(reviewers.conflicts(by_reviewer))
            pairs = reviewers.pairwise_agreement(by_reviewer)
            reviewers.resolve(by_reviewer, reviewers.Policy("majority"))
            figures.setdefault("team view + majority", []).append(time.perf_counter() - t)
    print(f"{args.n:,} candidates, median of {args.repeat}:")
    for name, values in figures.items():
        print(f"  {name:24s} {statistics.median(values) * 1000:8.1f} ms")
    for what in ("decide", "undo"):
        ratio = statistics.median(figures[f"{what} history"]) / statistics.median(figures[f"{what} no history"])
        print(f"  {what} with history / without: {ratio:.2f}x")
    print(f"  (two reviewers: {n_conflicts:,} conflicts, kappa {pairs[0].kappa:.3f})")


if __name__ == "__main__":
    main()
