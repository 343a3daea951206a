"""Parse a dataset file in a worker process, so the server's interpreter stays free.

The app serves every reviewer from one Python process. Parsing a large upload there holds
the interpreter for seconds at a time (Arrow's conversion to Python values, JSON decoding
and splitting are long stretches that never let another thread run), and every other
reviewer's click waits. :func:`parse` runs the parse in a process of its own (a fresh
interpreter, so each parse starts from a small clean process) and sends back what the
page needs: the preview, the settings it guessed, and the records, a few thousand at a
time, so that turning them back into objects here never holds the interpreter for long.

A page that only shows facts about the rows (counts per split and tag, keyword agreement)
passes ``derive``: the worker computes them from the records and sends back only the
result. Turning a million records back into objects costs the server's interpreter
seconds and a gigabyte, and counting them costs more seconds: with ``derive`` the server
does neither.

The worker is bounded as the parse is (:class:`augment_core.data.limits.Limits`), and more:
its address space is capped (:func:`memory_cap`), and on Linux it volunteers as the
first process the kernel ends when memory runs out. A worker that runs out of memory or
dies is one line (InputError); the server and everyone's sessions go on.
"""

from __future__ import annotations

import os
import pickle
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from augment_core.data.dataset import Dataset, TablePreview, TableStream, scan
from augment_core.data.dataset_settings import build_from_settings, default_settings
from augment_core.data.limits import Limits
from augment_core.errors import InputError

SEND_ROWS = 5_000
"""Records per message back: unpickling one takes the server's interpreter a few ms."""
PIECE = 8 << 20
"""Bytes of the file per message to the worker."""
PARSE_SLOTS = 2
"""Parses that run at once; more wait their turn (each may take several GB at the limits)."""
_slots = threading.BoundedSemaphore(PARSE_SLOTS)
_CODE = Path(__file__).resolve().parents[2]
"""The folder holding this package: the worker imports the same code as the server."""


@dataclass(frozen=True)
class Parsed:
    """What a parse gives the page: the file's preview; ``settings`` the dataset was built
    with (guessed, or as asked), None when a guess did not fit; the dataset or None (always
    None with ``derive``); ``derived``: what ``derive`` made of the dataset, None without;
    ``size`` about how many bytes the preview and the dataset (or what was derived) take in
    memory; the worker's pid."""

    preview: TablePreview | None
    settings: dict[str, Any] | None
    dataset: Dataset | None
    size: int
    pid: int
    derived: Any = None
    derived_size: int = 0


def memory_cap(limits: Limits) -> int | None:
    """The worker's address-space cap: room for the file's decoded bytes several times over
    (Arrow's copy, the Python strings, the records, the messages back) plus the
    interpreter and its libraries; None without a byte limit."""
    if limits.max_bytes is None:
        return None
    return 8 * limits.max_bytes + (4 << 30)


def parse(data: bytes | Iterable[bytes], name: str, limits: Limits, *, settings: Mapping[str, Any] | None = None,
          guess: bool = False, preview_only: bool = False, derive: Callable[[Dataset], Any] | None = None,
          keep_records: bool = False) -> Parsed:
    """Parse ``data`` (the file's bytes, or its bytes in pieces) in a worker process.

    ``guess``: guess the settings and build the dataset when they fit (an upload);
    ``settings``: build the dataset under them; ``preview_only``: check the whole file and
    describe it; ``derive``: a function of the built dataset, run in the worker, whose
    result comes back instead of the records (it must pickle by reference: a module-level
    function, or a ``functools.partial`` of one); with ``keep_records`` too, beside them (a
    page that needs both gets them from one parse). Raises InputError with one line for
    anything the worker refused, and for a worker that died (out of memory)."""
    pieces = [data[i : i + PIECE] for i in range(0, len(data), PIECE)] if isinstance(data, bytes) else data
    job = {"name": name, "limits": limits, "settings": dict(settings) if settings else None, "guess": guess,
           "preview_only": preview_only, "derive": derive, "keep_records": keep_records}
    with _slots:
        here, there = socket.socketpair()
        # a fresh interpreter (not a fork of the server's threads), running this same code
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(_CODE), os.environ.get("PYTHONPATH")]))}
        try:
            proc = subprocess.Popen([sys.executable, "-m", __name__, str(there.fileno())], pass_fds=[there.fileno()],
                                    stdin=subprocess.DEVNULL, env=env)
        finally:
            there.close()
        conn = Connection(here.detach())
        try:
            conn.send(job)
            return _receive(conn, pieces, name)
        finally:
            conn.close()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _receive(conn: Any, pieces: Iterable[bytes], name: str) -> Parsed:
    label = Path(name).name
    try:
        for piece in pieces:
            conn.send_bytes(piece)
        conn.send_bytes(b"")
        head = conn.recv()
        if head[0] == "error":
            raise InputError(head[1])
        _, parsed, n_records = head
        if parsed.dataset is None:
            return parsed
        records: list[Any] = []
        while len(records) < n_records:
            records.extend(conn.recv())
        return replace(parsed, dataset=replace(parsed.dataset, records=records))
    except (EOFError, OSError):
        raise InputError(f"{label} could not be read: parsing it took more memory than this server gives a parse "
                         "(lower the file's size or rows); nothing was stored") from None


WORKER_NICENESS = 10
"""How much lower the worker's CPU priority is than the server's: on a server with few cores
the parse takes a whole one, and reviewers' saves (the server, their browsers on the same
machine) come first; an idle core still runs the parse at full speed."""


def _yield_cpu() -> None:
    if hasattr(os, "nice"):
        os.nice(WORKER_NICENESS)


def _bound_memory(limits: Limits) -> None:
    try:  # the kernel's first choice when memory runs out: this worker, never the server
        with open("/proc/self/oom_score_adj", "w") as fh:
            fh.write("1000")
    except OSError:
        pass
    cap = memory_cap(limits)
    if cap is not None and sys.platform != "win32":
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard == resource.RLIM_INFINITY or cap < hard:
            resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def serve(fd: int) -> None:
    """The worker's main: one job from the socket ``fd``, answered on it."""
    conn = Connection(fd)
    job = conn.recv()
    _bound_memory(job["limits"])
    _yield_cpu()
    try:
        _worker(conn, job)
    finally:
        conn.close()


def _worker(conn: Any, job: dict[str, Any]) -> None:
    try:
        pieces = []
        while piece := conn.recv_bytes():
            pieces.append(piece)
        data = b"".join(pieces)
        del pieces
        parsed = _parse_here(data, job["name"], job["limits"], job["settings"], job["guess"], job["preview_only"])
        del data
        if parsed.dataset is not None and job["derive"] is not None:
            derived = job["derive"](parsed.dataset)
            derived_size = len(pickle.dumps(derived, pickle.HIGHEST_PROTOCOL))
            if job["keep_records"]:
                parsed = replace(parsed, derived=derived, derived_size=derived_size)
            else:
                parsed = replace(parsed, dataset=None, derived=derived, derived_size=derived_size,
                                 size=approx_size(parsed.preview) + derived_size)
    except InputError as exc:
        conn.send(("error", str(exc)))
        return
    except MemoryError:
        conn.send(("error", f"{Path(job['name']).name} could not be read: parsing it took more memory than this "
                            "server gives a parse (lower the file's size or rows); nothing was stored"))
        return
    dataset = parsed.dataset
    if dataset is None:
        conn.send(("ok", parsed, 0))
        return
    records = dataset.records
    conn.send(("ok", replace(parsed, dataset=replace(dataset, records=[])), len(records)))
    for i in range(0, len(records), SEND_ROWS):
        conn.send(records[i : i + SEND_ROWS])


def _parse_here(data: bytes, name: str, limits: Limits, settings: dict[str, Any] | None, guess: bool,
                preview_only: bool) -> Parsed:
    """The parse itself (in the worker)."""
    preview: TablePreview | None = None
    dataset: Dataset | None = None
    if preview_only:
        preview = scan(data, name, limits)
    elif guess:
        stream = TableStream(data, name, limits=limits)
        settings = default_settings(stream)  # guessed from the first rows
        try:
            dataset = build_from_settings(stream, settings)
            preview = stream.preview()
        except InputError:  # the guess does not fit, or the file is unreadable further down
            del stream
            preview = scan(data, name, limits)  # unreadable: raises; else the reviewer maps the columns
            settings, dataset = None, None
    else:
        assert settings is not None
        dataset = build_from_settings(TableStream(data, name, limits=limits), settings)
    return Parsed(preview, settings, dataset, approx_size(preview) + approx_size(dataset), os.getpid())


def approx_size(obj: TablePreview | Dataset | None) -> int:
    """About how many bytes a preview or a dataset takes in memory: every record, its text
    and its cells (shared strings counted once per record, so a little over)."""
    if obj is None:
        return 0
    getsize = sys.getsizeof
    if isinstance(obj, TablePreview):
        return sum(getsize(r) + sum(getsize(v) for v in r.values()) for r in obj.rows) + 1024
    total = getsize(obj.records)
    for r in obj.records:
        total += getsize(r) + getsize(r.text) + getsize(r.cells) + sum(getsize(c) for c in r.cells if c is not r.text)
    return total


if __name__ == "__main__":  # run as ``python -m``: serve through the module itself, so what it sends unpickles
    import augment_core.data.parse_worker as worker

    worker.serve(int(sys.argv[1]))
