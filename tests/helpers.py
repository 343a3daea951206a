"""Data and CLI helpers shared by test modules: the bundled sample's rows, the CLI run in a
subprocess, a folder's snapshot, the refused-input table (exit 2, one line, nothing changed),
stored review data and made runs. Test modules import from here, never from each other."""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import logging
import os
import random
import resource
import stat
import subprocess
import sys
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pyarrow as pa
import pyarrow.parquet as pq

from augment_core.cli.commands import build_parser, job_from_args, main
from augment_core.data.dataset import content_hash, read_table
from augment_core.data.dataset_settings import build_from_settings, default_settings
from augment_core.job import Report
from augment_core.review.facts import store_run
from augment_core.review.run_import import import_run
from augment_core.review.store import Store, candidate_key
from augment_core.runners.local import run_in_memory

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
"""The app, as streamlit.testing's ``AppTest.from_file`` opens it."""
BASE = ["--text-column", "title", "--text-column", "description", "--label-column", "tags", "--id-column", "id",
        "--no-quality"]
SIMPLE = ["--text-column", "text", "--label-column", "tags", "--no-quality", "--split-ratios", "1,0,0"]


@dataclass(frozen=True)
class Ran:
    """How a command ended: its exit status and what it printed (as ``subprocess.run`` reports it)."""

    returncode: int
    stdout: str
    stderr: str


def cli(*args: str, cwd: Path | None = None, umask: int | None = None, command: str = "augment") -> Ran:
    """``augment-review COMMAND ARGS`` as a user runs it, in this process: the command's own
    entry (:func:`augment_core.cli.commands.main`) with stdout, stderr and its exit status
    captured (argparse's exits included; an uncaught exception as the interpreter reports it,
    status 1 and a traceback), in ``cwd`` with ``umask``. A process of its own costs a second or
    two of imports per call; start one (:func:`cli_process`) only where the process itself is
    the point: a signal, what it imports, a limit on it."""
    out, err = io.StringIO(), io.StringIO()
    handler = logging.StreamHandler(err)  # as Python's last-resort handler prints a warning in a process
    handler.setLevel(logging.WARNING)
    root = logging.getLogger()
    old_cwd, old_umask = os.getcwd(), os.umask(umask) if umask is not None else None
    root.addHandler(handler)
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
            process_warnings()
            try:
                status = main([command, *args])
            except SystemExit as exc:
                status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                if isinstance(exc.code, str):
                    print(exc.code, file=sys.stderr)
            except Exception:
                traceback.print_exc()
                status = 1
    finally:
        root.removeHandler(handler)
        os.chdir(old_cwd)
        if old_umask is not None:
            os.umask(old_umask)
    return Ran(status, out.getvalue(), err.getvalue())


def process_warnings() -> None:
    """Warnings as a new Python process shows them (its default filters, printed on stderr
    where they are raised) instead of pytest's recording them: a warning the CLI lets through
    is a line on the user's stderr. Call inside ``warnings.catch_warnings()``."""
    warnings.resetwarnings()
    warnings.simplefilter("default")
    for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
        warnings.simplefilter("ignore", category)

    def show(message, category, filename, lineno, file=None, line=None) -> None:  # type: ignore[no-untyped-def]
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    warnings.showwarning = show


def cli_process(*args: str, command: str = "augment", file_size_limit: int | None = None) -> Ran:
    """``augment-review COMMAND ARGS`` in a process of its own, its output captured;
    ``file_size_limit``: no file it writes may grow past this many bytes (RLIMIT_FSIZE: a
    write past it fails as on a full disk)."""
    def pre() -> None:
        if file_size_limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    done = subprocess.run([sys.executable, "-m", "augment_core", command, *args], capture_output=True, text=True,
                          timeout=120, preexec_fn=pre, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return Ran(done.returncode, done.stdout, done.stderr)


def one_line(err: str, message: str) -> None:
    """``err`` is the CLI's one ``error:`` line, naming ``message``."""
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert "Traceback" not in err and message in err, err


def one_line_error(result: Ran, message: str) -> None:
    """Refused as the CLI refuses bad input: exit 2, one ``error:`` line naming ``message``."""
    assert result.returncode == 2, result.stderr
    one_line(result.stderr, message)


def in_memory(*args: str) -> Report:
    """``augment`` with these flags, run whole in memory (:func:`augment_core.runners.local.run_in_memory`):
    the reference the streamed local run and Ray are held to, byte for byte."""
    return run_in_memory(job_from_args(build_parser().parse_args(["augment", *args])).check())


def snapshot(folder: Path) -> dict[str, object]:
    """Every entry under ``folder``: a file's bytes, or what else it is (never read)."""
    out: dict[str, object] = {}
    for path in sorted(folder.rglob("*")):
        st = path.lstat()
        key = str(path.relative_to(folder))
        if stat.S_ISLNK(st.st_mode):
            out[key] = ("link", os.readlink(path))
        elif stat.S_ISREG(st.st_mode):
            out[key] = (path.read_bytes(), stat.S_IMODE(st.st_mode))
        else:
            out[key] = ("other", stat.S_IFMT(st.st_mode))
    return out


def sample_rows(n: int) -> bytes:
    lines = (ROOT / "data" / "projects.csv").read_bytes().decode("utf-8")
    rows = list(csv.reader(io.StringIO(lines)))
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows[: n + 1])
    return buf.getvalue().encode()


def sample_inputs(folder: Path, n: int) -> dict[str, Path]:
    """The first ``n`` sample rows as CSV, JSONL (labels as JSON lists) and Parquet in
    ``folder``: the same table in each format a runner reads."""
    data = sample_rows(n)
    (folder / "in.csv").write_bytes(data)
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    for r in rows:
        r["tags"] = json.loads(r["tags"])
    (folder / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    pq.write_table(pa.Table.from_pylist(rows), folder / "in.parquet")
    return {ext: folder / f"in.{ext}" for ext in ("csv", "jsonl", "parquet")}


def big_csv(tmp: Path) -> Path:
    """``tmp/big.csv``: the sample ten times with fresh ids (20,000 rows), a run of seconds
    (long enough to signal or kill it while it writes)."""
    rows = list(csv.reader(io.StringIO(sample_rows(2032).decode())))
    src = tmp / "big.csv"
    with src.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(rows[0])
        for k in range(10):
            w.writerows([f"{k}-{r[0]}", *r[1:]] for r in rows[1:])
    return src


def simple_csv(*rows: tuple[str, str, str]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL)  # a bare CR in a cell stays in it
    w.writerow(["id", "text", "tags"])
    w.writerows(rows)
    return buf.getvalue().encode()


class _FullDisk(io.RawIOBase):
    """A file on a disk with ``room`` bytes left: a write past them fails with ENOSPC."""

    def __init__(self, fh: io.BufferedWriter, room: int) -> None:
        self.fh, self.room = fh, room

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return self.fh.write(data)

    def close(self) -> None:
        self.fh.close()
        super().close()


def full_disk(monkeypatch, room: int = 0) -> None:
    """Files opened for writing with ``os.fdopen`` (every output of the CLI and the app) get
    ``room`` bytes before a write fails with ENOSPC, as on a full disk."""
    real = os.fdopen

    def fdopen(fd, mode="r", *args, **kwargs):
        fh = real(fd, mode, *args, **kwargs)
        return _FullDisk(fh, room) if "w" in mode else fh

    monkeypatch.setattr(os, "fdopen", fdopen)


# --- refused: exit 2, one line, nothing changed --------------------------------------------

Setup = Callable[[Path], list[str]]


def sample_input(tmp: Path) -> Path:
    path = tmp / "in.csv"
    path.write_bytes(sample_rows(30))
    return path


def row1_same_path(tmp: Path) -> list[str]:
    return [str(sample_input(tmp)), *BASE, "--output", str(tmp / "in.csv")]


def row1_dotdot(tmp: Path) -> list[str]:
    (tmp / "sub").mkdir()
    return [str(sample_input(tmp)), *BASE, "--output", str(tmp / "sub" / ".." / "in.csv")]


def row1_hard_link(tmp: Path) -> list[str]:
    os.link(sample_input(tmp), tmp / "alias.csv")
    return [str(tmp / "in.csv"), *BASE, "--output", str(tmp / "alias.csv")]


def row1_tags_file(tmp: Path) -> list[str]:
    tags = tmp / "tags.jsonl"
    tags.write_bytes((ROOT / "data" / "tags.json").read_bytes())
    return [str(sample_input(tmp)), *BASE, "--tags", str(tags), "--output", str(tags)]


def row2_nan(tmp: Path) -> list[str]:
    return [str(sample_input(tmp)), *BASE, "--split-ratios", "nan,nan,nan", "--output", str(tmp / "out.csv")]


def row2_one_nan(tmp: Path) -> list[str]:
    return [str(sample_input(tmp)), *BASE, "--split-ratios", "1,nan,0", "--output", str(tmp / "out.csv")]


def row2_inf(tmp: Path) -> list[str]:
    return [str(sample_input(tmp)), *BASE, "--split-ratios", "inf,-inf,0", "--output", str(tmp / "out.csv")]


def row3_id_clash(tmp: Path) -> list[str]:
    path = tmp / "ids.csv"
    path.write_bytes(simple_csv(("x", "a gan paper", "gan"), ("x~alias_swap~1", "another gan paper", "gan")))
    return [str(path), *SIMPLE, "--id-column", "id", "--output", str(tmp / "out.csv")]


def row11_late_nul(tmp: Path) -> list[str]:
    path = tmp / "nul.csv"
    body = b"".join(b"%d,gan paper %d,gan\n" % (i, i) for i in range(8000))
    assert len(body) > 65536
    path.write_bytes(b"id,text,tags\n" + body + b"9999,gan\x00paper,gan\n")
    return [str(path), *SIMPLE, "--output", str(tmp / "out.jsonl")]


def row12_fifo(tmp: Path) -> list[str]:
    os.mkfifo(tmp / "pipe.csv")
    return [str(tmp / "pipe.csv"), *SIMPLE, "--output", str(tmp / "out.csv")]


def row12_dev_zero(tmp: Path) -> list[str]:
    (tmp / "zero.csv").symlink_to("/dev/zero")
    return [str(tmp / "zero.csv"), *SIMPLE, "--output", str(tmp / "out.csv")]


def row12_fifo_tags(tmp: Path) -> list[str]:
    os.mkfifo(tmp / "tags.json")
    return [str(sample_input(tmp)), *BASE, "--tags", str(tmp / "tags.json"), "--output", str(tmp / "out.csv")]


def row13_read_only(tmp: Path) -> list[str]:
    out = tmp / "out.csv"
    out.write_bytes(b"keep me\n")
    out.chmod(0o444)
    return [str(sample_input(tmp)), *BASE, "--output", str(out)]


def row14_text_is_label(tmp: Path) -> list[str]:
    path = tmp / "one.csv"
    path.write_bytes(b"text\ngan paper\nnlp paper\n")
    return [str(path), "--text-column", "text", "--label-column", "text", "--no-quality", "--output", str(tmp / "o.csv")]


def row15_guard_not_csv(tmp: Path) -> list[str]:
    return [str(sample_input(tmp)), *BASE, "--csv-formula-guard", "--output", str(tmp / "out.jsonl")]


REFUSED: dict[str, tuple[Setup, str]] = {
    "1 output is the input": (row1_same_path, "is the input"),
    "1 output is the input as sub/../in.csv": (row1_dotdot, "is the input"),
    "1 output is a hard link to the input": (row1_hard_link, "is the input"),
    "1 output is the tags file": (row1_tags_file, "is the tags file"),
    "2 ratios nan,nan,nan": (row2_nan, "finite"),
    "2 ratios 1,nan,0": (row2_one_nan, "finite"),
    "2 ratios inf,-inf,0": (row2_inf, "finite"),
    "3 an id of a variant's form": (row3_id_clash, "has the form of a variant id"),
    "11 a NUL byte after the first 64 KB": (row11_late_nul, "NUL byte at offset"),
    "12 a FIFO": (row12_fifo, "named pipe"),
    "12 a symlink to /dev/zero": (row12_dev_zero, "a device"),
    "12 a FIFO as the tags file": (row12_fifo_tags, "named pipe"),
    "13 a read-only output": (row13_read_only, "read-only"),
    "14 text column is the label column": (row14_text_is_label, "is also a text column"),
    "15 the formula guard on JSONL": (row15_guard_not_csv, "applies to .csv output only"),
}


def repeated_rows(n: int, times: int) -> bytes:
    """The first ``n`` sample rows, ``times`` over with fresh ids: texts repeat across the
    splits, so variants are duplicates and leaks into val/test."""
    rows = list(csv.reader(io.StringIO(sample_rows(n).decode())))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(rows[0])
    for k in range(n * times):
        w.writerow([str(k + 1), *rows[1 + k % n][1:]])
    return buf.getvalue().encode()


def drifting_input(folder: Path) -> list[str]:
    """``augment`` flags (quality on) for data where an alias swap must move some variants to
    another label in the quick baseline's eyes: two classes of short texts, and a tags file
    whose one tag has a ``graph`` keyword (``gnn``) and, as its alias, the words of every
    ``vision`` text. A swap to ``gnn`` in a ``vision`` text leaves a ``graph`` keyword and a
    number, which the baseline reads as ``graph`` (``label_drift``); a swap in a ``graph`` text
    keeps its other ``graph`` words (never flagged)."""
    rows = []
    for i in range(12):
        rows += [(str(2 * i + 1), f"gnn nodes edges message passing {i}", "graph"),
                 (str(2 * i + 2), f"pixel camera image photo lens {i}", "vision")]
    (folder / "drift.csv").write_bytes(simple_csv(*rows))
    (folder / "drift-tags.json").write_text(json.dumps([
        {"tag": "graph", "aliases": ["gnn", "pixel camera image photo lens"]}, {"tag": "vision", "aliases": []}]))
    return [str(folder / "drift.csv"), "--text-column", "text", "--label-column", "tags", "--id-column", "id",
            "--tags", str(folder / "drift-tags.json"), "--split-ratios", "1,0,0", "--n-per-original", "1"]


# --- review data and made runs ---------------------------------------------------------

ALICE, BOB = "alice@team.example", "bob@crew.example"
def app_ok(at) -> None:
    """An AppTest run raised nothing (its exceptions listed when it did)."""
    assert not at.exception, [e.value for e in at.exception]


APP_TEST_AUTH = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "x" * 32, "client_id": "c",
                 "client_secret": "s", "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}
"""An ``[auth]`` section for AppTest (which never reaches the provider: ``at.user`` signs in)."""
MAPPING = {"text_columns": ["title", "description"], "label_column": "tags", "label_sep": ",", "label_format": "auto",
           "split_column": None, "id_column": "id"}
RUN_SEED = 5
RUN_BASE = ["--text-column", "title", "--text-column", "description", "--label-column", "tags", "--id-column", "id",
            "--no-quality", "--seed", str(RUN_SEED)]


def review_data(data_dir: Path, n_originals: int = 3, per_original: int = 2) -> tuple[str, list[str]]:
    """A stored, mapped dataset with one run, straight through the store; the variant keys."""
    lines = ["id,text,tags"] + [f'{i},row {i} about computer vision,"[""computer-vision""]"' for i in range(n_originals)]
    data = ("\n".join(lines) + "\n").encode()
    table = read_table(data, "team.csv")
    settings = {**default_settings(table), "split_ratios": [1.0, 0.0, 0.0]}
    dataset = build_from_settings(table, settings)
    rows = [{"id": f"{rec.id}~alias_swap~{k}", "parent_id": rec.id, "split": rec.split, "augmenter": "alias_swap",
             "text": f"{rec.text} v{k}", "original_text": rec.text, "tags": rec.raw_label, "params": "{}",
             "changes": "[]"} for rec in dataset.records for k in range(1, per_original + 1)]
    store = Store(data_dir)
    h = content_hash(data)
    store.add_dataset(h, "team.csv", data, settings)
    run = store_run(store, h, {"augmenters": [{"name": "alias_swap"}]}, rows, settings)
    store.close()
    return h, [candidate_key(run, r["id"]) for r in rows]


def make_runs(folder: Path, n: int = 400) -> dict[str, Path]:
    """``n`` sample rows, a streamed run of them (one Parquet file, no manifest) and the same
    rows as a Ray run leaves them: shuffled into three Parquet shards with manifest.json."""
    folder.mkdir(parents=True, exist_ok=True)
    data = sample_rows(n)
    (folder / "in.csv").write_bytes(data)
    out = folder / "stream.parquet"
    assert main(["augment", str(folder / "in.csv"), *RUN_BASE, "--keep-original", "--runner", "stream",
                 "--output", str(out)]) == 0
    no_originals = folder / "variants.parquet"
    assert main(["augment", str(folder / "in.csv"), *RUN_BASE, "--output", str(no_originals)]) == 0
    ray = folder / "ray-out"
    ray.mkdir()
    table = pq.read_table(out)
    rows = table.to_pylist()
    random.Random(3).shuffle(rows)  # Ray writes shards in any order
    files = []
    third = len(rows) // 3
    for i, part in enumerate((rows[:third], rows[third : 2 * third], rows[2 * third :])):
        name = f"part-{i:05d}.parquet"
        pq.write_table(pa.Table.from_pylist(part, schema=table.schema), ray / name)
        files.append(name)
    manifest = {  # the keys runners.ray.augment_on_ray writes
        "runner": "ray", "format": "parquet shards", "mapping": MAPPING, "augmenters": ["alias_swap"],
        "n_per_original": 5, "keep_original": True, "seed": RUN_SEED, "split_ratios": [0.7, 0.15, 0.15],
        "schema": {"input_columns": ["id", "created_on", "title", "description", "tags"], "provenance_prefix": "aug_",
                   "provenance_columns": {}},
        "splits": {}, "ray": {"workers": 2, "gpus_per_worker": 0, "batch_rows": 100}, "input": "in.csv",
        "tags": "data/tags.json", "columns": table.column_names, "rows": len(rows),
        "generated": sum(1 for r in rows if r["aug_augmenter"] != "original"), "files": files, "created": "x",
    }
    (ray / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return {"folder": folder, "csv": folder / "in.csv", "stream": out, "ray": ray, "variants": no_originals}


def sampled_run(data_dir: Path, runs_folder: Path, n: int = 120) -> tuple[str, int, dict[str, Path]]:
    """A stored dataset with a Ray run of it loaded by sample (reviewed rule by rule, exported
    from its files to a path on the server): (dataset hash, run id, :func:`make_runs`' files)."""
    made = make_runs(runs_folder, n)
    data = made["csv"].read_bytes()
    h = content_hash(data)
    store = Store(data_dir)
    store.add_dataset(h, "in.csv", data, {"mapping": MAPPING, "split_ratios": [0.7, 0.15, 0.15], "split_seed": 0})
    run_id = import_run(store, h, made["ray"], max_whole=0, per_rule=2).run_id
    store.close()
    return h, run_id, made


# --- a real PostgreSQL server for the store's tests on both backends ---------------------------

PG_BIN = Path(os.environ.get("AUGMENT_REVIEW_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_MISSING = (f"PostgreSQL is not installed (no {PG_BIN / 'initdb'}): apt-get install -y postgresql, "
              "or set AUGMENT_REVIEW_PG_BIN to its bin folder")


class PostgresServer:
    """A throw-away PostgreSQL cluster (``initdb`` + ``pg_ctl``) in a temporary folder on a free
    loopback port, run as the ``postgres`` system user when the tests run as root (PostgreSQL
    refuses root); trust authentication on 127.0.0.1 only; durability off (tests only).
    One database per test: :meth:`create_database`, :meth:`drop_database`; or one emptied for
    each test in turn: :meth:`empty_database`, :meth:`give_back`."""

    def __init__(self) -> None:
        import tempfile

        from browser_helpers import free_port

        if not (PG_BIN / "initdb").exists():
            raise RuntimeError(PG_MISSING)
        self.folder = Path(tempfile.mkdtemp(prefix="augment-pg-"))
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            import shutil

            shutil.chown(self.folder, "postgres", "postgres")
        self.port = free_port()
        self._n = 0
        self._spare: list[str] = []
        self._shape: str | None = None
        data = self.folder / "data"
        self._run(PG_BIN / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
                   " -c synchronous_commit=off -c full_page_writes=off -c max_connections=400")
        self._run(PG_BIN / "pg_ctl", "-D", data, "-l", self.folder / "server.log", "-w", "-o", options, "start")

    def _run(self, *command: object) -> None:
        done = subprocess.run([*self.as_user, *map(str, command)], capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{command[0]} failed: {done.stderr.strip() or done.stdout.strip()}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _connect(self, database: str = "postgres"):
        import psycopg

        return psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname={database}", autocommit=True)

    def _admin(self, sql: str) -> None:
        with self._connect() as c:
            c.execute(sql)  # type: ignore[arg-type]

    def create_database(self) -> str:
        self._n += 1
        name = f"t{os.getpid()}_{self._n}"
        self._admin(f"CREATE DATABASE {name}")
        return name

    def drop_database(self, name: str) -> None:
        """Gone, with any connection a test left open (a store not closed)."""
        self._admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def drop_connections(self, name: str) -> int:
        """What a restart of the server does to the open connections to database ``name``:
        each is ended (waiting until its process is gone); how many there were."""
        with self._connect() as c:
            return len(c.execute("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity"
                                 " WHERE datname = %s AND pid <> pg_backend_pid()", (name,)).fetchall())

    def empty_database(self) -> str:
        """A database for one test, holding no rows: one an earlier test gave back, emptied
        (:meth:`give_back`), else a new one (the store migrates it when it opens). Creating a
        database and running the migrations costs most of a second a test; emptying one a tenth."""
        return self._spare.pop() if self._spare else self.create_database()

    def give_back(self, name: str) -> None:
        """After a test: its database's connections ended, every table emptied (sequences
        restarted), and kept for the next test; dropped instead if the test left a schema other
        than the first migrated one given back (a test that changes the schema)."""
        self.drop_connections(name)
        with self._connect(name) as c:
            tables = [r[0] for r in c.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
            if not tables:  # no store opened it: as new
                self._spare.append(name)
                return
            if "alembic_version" in tables:
                shape = c.execute(SCHEMA_SHAPE).fetchone()[0]  # type: ignore[index]
                self._shape = self._shape or shape
                if shape == self._shape:
                    rows = ", ".join(t for t in tables if t != "alembic_version")
                    c.execute(f"TRUNCATE {rows} RESTART IDENTITY CASCADE")  # type: ignore[arg-type]
                    self._spare.append(name)
                    return
        self.drop_database(name)

    def stop(self) -> None:
        import shutil

        self._run(PG_BIN / "pg_ctl", "-D", self.folder / "data", "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


SCHEMA_SHAPE = """
SELECT coalesce(md5(string_agg(x, ';' ORDER BY x)), '') FROM (
    SELECT concat_ws(':', table_name, column_name, data_type, is_nullable, column_default) AS x
      FROM information_schema.columns WHERE table_schema = 'public'
    UNION ALL SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'
    UNION ALL SELECT 'version ' || version_num FROM alembic_version
) AS parts"""
"""One line for a database's tables, columns, indexes and Alembic revision: equal, same schema."""


def hold_write_lock(store: Store) -> Callable[[], None]:
    """Another program takes the store's writer lock and keeps it (SQLite: the ``sqlite3``
    shell's ``BEGIN IMMEDIATE``; PostgreSQL: another app server mid-write, holding the advisory
    lock); returns what releases it."""
    if store.dialect == "sqlite":
        import sqlite3

        other = sqlite3.connect(store.path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
    else:
        import psycopg

        from augment_core.review.database import WRITE_LOCK

        url = store.db.engine.url
        other = psycopg.connect(host=url.host, port=url.port, user=url.username, dbname=url.database, autocommit=True)
        other.execute(f"SELECT pg_advisory_lock({WRITE_LOCK})")  # type: ignore[arg-type]
    return other.close


def nlpaug_variants(data: bytes, settings: dict, out: Path, n_train: int = 6) -> dict[str, int]:
    """A file of variants made by nlpaug, in the dataset's own columns plus ``parent`` (its
    parent's id) and ``tool`` (the nlpaug class), as another tool leaves them: a
    RandomWordAug (swap) and a KeyboardAug variant of the description of ``n_train`` train
    rows, then two variants of val rows, one row identical to its parent, one repeat of an
    earlier variant and two rows naming parents the dataset lacks. Written as CSV, JSONL or
    Parquet by ``out``'s suffix. Returns how many rows of each kind it wrote."""
    import nlpaug.augmenter.char as nac
    import nlpaug.augmenter.word as naw
    import numpy as np

    dataset = build_from_settings(read_table(data, "in.csv"), settings)
    columns = list(dataset.columns)
    desc = columns.index("description")
    tools = {"RandomWordAug": naw.RandomWordAug(action="swap"), "KeyboardAug": nac.KeyboardAug()}
    rows: list[dict] = []
    train = [r for r in dataset.records if r.split == "train" and len(str(r.cells[desc]).split()) > 4]
    for k, rec in enumerate(train[:n_train]):
        for name, aug in tools.items():
            random.seed(k)
            np.random.seed(k)
            text = aug.augment(str(rec.cells[desc]))
            text = text[0] if isinstance(text, list) else text
            assert text != rec.cells[desc]  # a sentence of five words or more always changes
            cells = list(rec.cells)
            cells[desc] = text
            rows.append({**dict(zip(columns, cells)), "parent": rec.id, "tool": f"nlpaug.{name}"})
    stored = len(rows)
    assert len({(r["parent"], r["description"]) for r in rows}) == stored
    val = [r for r in dataset.records if r.split == "val"][:2]
    for rec in val:
        cells = list(rec.cells)
        cells[desc] = str(cells[desc]) + " indeed"
        rows.append({**dict(zip(columns, cells)), "parent": rec.id, "tool": "nlpaug.KeyboardAug"})
    rows.append({**dict(zip(columns, train[0].cells)), "parent": train[0].id, "tool": "nlpaug.KeyboardAug"})
    rows.append(dict(rows[0]))
    for missing in ("no-such-row-1", "no-such-row-2"):
        rows.append({**rows[1], "parent": missing})
    if out.suffix == ".csv":
        with out.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, [*columns, "parent", "tool"], lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    elif out.suffix == ".jsonl":
        out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    else:
        pq.write_table(pa.Table.from_pylist(rows), out)
    return {"rows": len(rows), "stored": stored, "refused": len(val), "unchanged": 1, "duplicates": 1, "unknown": 2}
