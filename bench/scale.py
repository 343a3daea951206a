"""Beyond one machine: the runners side by side (issue 10).

Writes the bundled sample repeated with fresh ids (100k and, with ``--big``, 1M rows) under
a temporary folder and times whole ``python -m augment_core augment`` processes, alias swap,
5 per original, originals kept, to Parquet:

* ``--runner local`` (the default: streamed in chunks; 1 and 2 worker processes);
* ``--runner ray`` on a local Ray started by the process (1 and 2 workers), whose start-up
  and driver passes are part of the figure;
* quality scoring (``--quality-rows`` rows): streamed in two passes, and on Ray
  with one scoring actor;
* the contextual augmenter's throughput per worker: ``--runner stream --workers 1`` with a
  model of ``distilbert-base-uncased``'s shape (random weights, no download, as in
  ``bench/contextual.py``) on the first ``--contextual-rows`` rows.

(Before issue 22 ``local`` held the whole table and ``stream`` was the chunked runner; the
in-memory run is now taken only for ``--format hf``, a Hugging Face folder or a ``.json`` list.)

Peak RSS is the largest sum of the resident memory of the process and all its children
(worker processes, Ray's raylet and workers), sampled every 50 ms from ``/proc``; CPU s is
the user + system time of the reaped child processes (Ray's own daemons are not counted), the
figure to read when other work shares the cores.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARGS = ["--text-column", "title", "--text-column", "description", "--label-column", "tags", "--id-column", "id",
        "--no-quality", "--keep-original", "--n-per-original", "5", "--seed", "42"]


def write_input(path: Path, n: int) -> None:
    rows = list(csv.reader((ROOT / "data" / "projects.csv").open(encoding="utf-8", newline="")))
    header, body = rows[0], rows[1:]
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        for k in range(n):
            r = body[k % len(body)]
            w.writerow([str(k + 1), *r[1:]])


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and every descendant."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return total


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, int, str, float]:
    """(seconds, peak tree RSS, the closing line, CPU seconds of the reaped children)."""
    before = os.times()
    started = time.perf_counter()
    # run from the checkout itself: ``-m`` puts the working directory first on the path
    proc = subprocess.Popen([sys.executable, "-m", "augment_core", "augment", *argv], env=env, cwd=env["PYTHONPATH"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    err = proc.stderr.read() if proc.stderr else ""
    if proc.returncode:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(argv)}\n{err}")
    return seconds, peak, err.strip().splitlines()[-1] if err.strip() else "", cpu


def build_model(directory: Path) -> str:
    sys.path.insert(0, str(ROOT / "bench"))
    from contextual import build_model as build

    return build(directory)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--big", action="store_true", help="also 1,000,000 rows")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray runs")
    parser.add_argument("--no-alias", action="store_true", help="skip the alias-swap table (contextual and quality only)")
    parser.add_argument("--contextual-rows", type=int, default=256, help="rows for the contextual throughput (0: skip)")
    parser.add_argument("--quality-rows", type=int, default=5000,
                        help="rows for the quality-scoring comparison, local vs Ray (0: skip)")
    parser.add_argument("--only-default", action="store_true",
                        help="of the alias-swap runs, only the default (one process)")
    parser.add_argument("--baseline", metavar="DIR",
                        help="also time the default with the code in DIR (a checkout of another commit, e.g. "
                             "`git worktree add /tmp/base main`): a before/after in one run, at one load")
    opts = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_ADDRESS": ""}
    sizes = [] if opts.no_alias else [100_000] + ([1_000_000] if opts.big else [])
    print(f"load average at start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    if sizes:
        print("| runner | rows in | rows out | seconds | input rows/s | CPU s | peak RSS (tree) | vs the default |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory(prefix="augment-scale-") as tmp:
        folder = Path(tmp)
        for n in sizes:
            src = folder / f"in{n}.csv"
            write_input(src, n)
            cases: list[tuple[str, list[str], dict[str, str]]] = [("local, 1 process (default)", [], env)]
            if opts.baseline:
                cases.append((f"local, 1 process (default), code in {opts.baseline}", [],
                              {**env, "PYTHONPATH": str(Path(opts.baseline).resolve())}))
            if not opts.only_default:
                cases.append(("local, 2 worker processes", ["--workers", "2"], env))
            if not opts.no_ray and not opts.only_default and n <= 100_000:
                cases += [("ray local, 1 worker", ["--runner", "ray", "--workers", "1"], env),
                          ("ray local, 2 workers", ["--runner", "ray", "--workers", "2"], env)]
            warm = folder / "warm.csv"  # each checkout's first run compiles its bytecode: not part of a figure
            write_input(warm, 50)
            for case_env in {c[2]["PYTHONPATH"]: c[2] for c in cases}.values():
                timed([str(warm), *ARGS, "--output", str(folder / "warm.parquet")], case_env)
                (folder / "warm.parquet").unlink()
            base = None
            for label, extra, case_env in cases:
                out = folder / ("run" if "ray" in extra else "out.parquet")
                seconds, peak, line, cpu = timed([str(src), *ARGS, *extra, "--output", str(out)], case_env)
                base = base or seconds  # the first case: the default
                rows_out = line.split(" rows", 1)[0].replace("wrote ", "")
                print(f"| {label} | {n:,} | {int(rows_out):,} | {seconds:.1f} | {n / seconds:,.0f} | {cpu:.1f} | "
                      f"{peak / 2**20:,.0f} MiB | {base / seconds:.2f}x |", flush=True)
                if out.is_dir():
                    import shutil

                    shutil.rmtree(out)
                else:
                    out.unlink()
        if opts.contextual_rows:
            model = build_model(folder / "model")
            src = folder / "ctx.csv"
            write_input(src, opts.contextual_rows)
            base = [str(src), *ARGS, "--augmenter", "contextual_substitute", "--model", model, "--device", "cpu",
                    "--n-per-original", "1"]
            print(f"\ncontextual_substitute (CPU, {os.cpu_count()} cores, distilbert-base shape), "
                  f"{opts.contextual_rows} rows, 1 variant per train row, whole processes (imports, model load):")
            print("| runner | seconds | variants | variants/s | per worker | peak RSS (tree) |")
            print("| --- | ---: | ---: | ---: | ---: | ---: |")
            ctx_cases = [("local, 1 process", ["--workers", "1"], 1)]
            if not opts.no_ray:
                ctx_cases += [("ray local, 1 actor", ["--runner", "ray", "--workers", "1"], 1),
                              ("ray local, 2 actors", ["--runner", "ray", "--workers", "2"], 2)]
            for label, extra, n_workers in ctx_cases:
                out = folder / ("crun" if "ray" in extra else "c.parquet")
                seconds, peak, line, _cpu = timed([*base, *extra, "--output", str(out)], env)
                variants = int(line.split("(", 1)[1].split(" generated", 1)[0])
                if out.is_dir():  # the actors the run had (a CPU pool leaves one CPU for the reads)
                    import json

                    n_workers = json.loads((out / "manifest.json").read_text())["ray"]["workers"]
                    label += f" (ran {n_workers})"
                print(f"| {label} | {seconds:.1f} | {variants} | {variants / seconds:.1f} | "
                      f"{variants / seconds / n_workers:.1f} | {peak / 2**20:,.0f} MiB |", flush=True)
                if out.is_dir():
                    import shutil

                    shutil.rmtree(out)
                else:
                    out.unlink()
        if opts.quality_rows:
            src = folder / "q.csv"
            write_input(src, opts.quality_rows)
            qargs = [a for a in ARGS if a != "--no-quality"]
            print(f"\nquality signals (packaged MiniLM encoder, CPU), {opts.quality_rows:,} rows, alias swap 5 per original:")
            print("| runner | seconds | output rows/s | CPU s | peak RSS (tree) |")
            print("| --- | ---: | ---: | ---: | ---: |")
            for label, extra in [("local (streamed, two passes)", [])] + (
                    [] if opts.no_ray else [("ray local, 1 scoring actor", ["--runner", "ray", "--workers", "1"])]):
                out = folder / ("qrun" if "ray" in extra else "q.parquet")
                seconds, peak, line, cpu = timed([str(src), *qargs, *extra, "--output", str(out)], env)
                rows_out = int(line.split(" rows", 1)[0].replace("wrote ", ""))
                print(f"| {label} | {seconds:.1f} | {rows_out / seconds:,.0f} | {cpu:.1f} | {peak / 2**20:,.0f} MiB |",
                      flush=True)
                if out.is_dir():
                    import shutil

                    shutil.rmtree(out)
                else:
                    out.unlink()
        print(f"load average at end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
