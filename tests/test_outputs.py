"""Issue 21, items 4, 5 and 9: an output is never one of its inputs (the dataset, the tags
file, the run's files and manifest) under any spelling; the curated file and its manifest
are replaced together or not at all; the temporary files of a killed run are removed (and
said so) by the next run on the same target."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import pytest
from helpers import BASE, ROOT, big_csv, cli, make_runs, one_line, sample_input, snapshot
from streamlit.testing.v1 import AppTest

from augment_core import interrupts
from augment_core.cli.commands import build_parser, job_from_args, main
from augment_core.data.dataset import content_hash
from augment_core.data.io import manifest_path, open_output, open_output_dir, open_output_pair
from augment_core.errors import InputError
from augment_core.review.store import Store, rule_key
from augment_core.runners import run_job

APP = str(ROOT / "app.py")


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_runs(tmp_path_factory.mktemp("runs"), 120)


@pytest.fixture
def reviewed(tmp_path: Path, made: dict[str, Path]) -> SimpleNamespace:
    """A copy of the Ray run and of its dataset in ``work``, loaded by sample into a store
    (``db``), its first rule accepted."""
    work = tmp_path / "work"
    shutil.copytree(made["ray"], work / "ray-out")
    dataset = work / "in.csv"
    shutil.copyfile(made["csv"], dataset)
    db = tmp_path / "db"
    assert main(["import-run", str(work / "ray-out"), "--dataset", str(dataset), "--store", "sample",
                 "--sample-per-rule", "2", "--data-dir", str(db)]) == 0
    store = Store(db)
    h = content_hash(dataset.read_bytes())
    (run,) = store.runs(h)
    rules = store.run_rules(run.id)
    store.decide_many(h, {rule_key(run.id, rules[0].rule): "accepted"})
    store.close()
    return SimpleNamespace(work=work, dataset=dataset, db=db, hash=h, run=run.id, rules=[r.rule for r in rules])


def export_args(r: SimpleNamespace, out: Path, dataset: str | None = None) -> list[str]:
    return [str(r.run), "--dataset", dataset or str(r.dataset), "--data-dir", str(r.db), "--output", str(out)]


# --- item 4: an output equal to any input is refused -----------------------------------------

def _same_path(w: Path) -> Path:
    return w / "in.csv"


def _dotdot(w: Path) -> Path:
    (w / "sub").mkdir()
    return w / "sub" / ".." / "in.csv"


def _symlink(w: Path) -> Path:
    (w / "link.csv").symlink_to(w / "in.csv")
    return w / "link.csv"


def _hard_link(w: Path) -> Path:
    os.link(w / "in.csv", w / "hard.csv")
    return w / "hard.csv"


def _run_file(w: Path) -> Path:
    return w / "ray-out" / "part-00001.parquet"


def _run_manifest(w: Path) -> Path:
    (w / "m.csv").symlink_to(w / "ray-out" / "manifest.json")
    return w / "m.csv"


def _bundled_tags(w: Path) -> Path:
    (w / "t.csv").symlink_to(ROOT / "data" / "tags.json")
    return w / "t.csv"


SAME: dict[str, tuple[Callable[[Path], Path], bool, str]] = {
    "the dataset": (_same_path, False, "is the dataset"),
    "the dataset as sub/../in.csv": (_dotdot, False, "is the dataset"),
    "a symlink to the dataset": (_symlink, False, "is the dataset"),
    "a hard link to the dataset": (_hard_link, False, "is the dataset"),
    "the dataset's file, the dataset named by its hash": (_same_path, True, "is the dataset"),
    "a run file": (_run_file, False, "is the run file"),
    "a symlink to the run's manifest": (_run_manifest, False, "is the run's manifest"),
    "a symlink to the tags file": (_bundled_tags, False, "is the tags file"),
}


@pytest.mark.parametrize("case", list(SAME))
def test_export_run_refuses_an_output_that_is_an_input(reviewed, case):
    setup, by_hash, message = SAME[case]
    out = setup(reviewed.work)
    before = snapshot(reviewed.work)
    result = cli(*export_args(reviewed, out, reviewed.hash[:12] if by_hash else None), command="export-run")
    assert result.returncode == 2, result.stderr
    one_line(result.stderr, message)
    assert snapshot(reviewed.work) == before  # no output, no manifest, no temporary file, inputs untouched


@pytest.mark.app
def test_the_pages_sampled_export_refuses_the_dataset_file(reviewed, monkeypatch):
    monkeypatch.setenv("AUGMENT_REVIEW_DATA_DIR", str(reviewed.db))
    monkeypatch.setenv("AUGMENT_REVIEW_INSTANT", "0")
    monkeypatch.setenv("AUGMENT_REVIEW_SERVER_DIRS", str(reviewed.work))  # inside the server folders: the input check
    before = snapshot(reviewed.work)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["dataset"] = reviewed.hash
    at.run()
    at.switch_page("pages/export.py").run()
    assert not at.exception, [e.value for e in at.exception]
    at.text_input(key="export_sampled_path").set_value(str(reviewed.dataset)).run()
    at.button(key="export_sampled_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    (error,) = [e.value.replace("\\", "") for e in at.error]
    assert error.startswith("Not written: ") and "is the dataset" in error, error
    assert not at.success
    assert snapshot(reviewed.work) == before


# --- item 5: the curated file and its manifest are a pair -----------------------------------

def _first_export(r: SimpleNamespace) -> Path:
    """The pair written once; then another rule accepted, so that a second export differs."""
    out = r.work / "curated.csv"
    result = cli(*export_args(r, out), command="export-run")
    assert result.returncode == 0, result.stderr
    assert manifest_path(out).is_file()
    store = Store(r.db)
    store.decide_many(r.hash, {rule_key(r.run, r.rules[1]): "accepted"})
    store.close()
    return out


def test_a_read_only_manifest_leaves_the_old_pair(reviewed):
    out = _first_export(reviewed)
    manifest_path(out).chmod(0o444)
    before = snapshot(reviewed.work)
    result = cli(*export_args(reviewed, out), command="export-run")
    assert result.returncode == 2, result.stderr
    one_line(result.stderr, "read-only")
    assert snapshot(reviewed.work) == before


def test_a_full_disk_while_the_manifest_is_written_leaves_the_old_pair(reviewed, monkeypatch, capsys):
    out = _first_export(reviewed)
    before = snapshot(reviewed.work)
    real = os.fsync

    def fsync(fd: int) -> None:  # the disk fills up as the manifest's temporary file is flushed
        if ".manifest.json." in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    capsys.readouterr()
    assert main(["export-run", *export_args(reviewed, out)]) == 2
    one_line(capsys.readouterr().err, "No space left on device")
    assert snapshot(reviewed.work) == before


def test_a_failed_second_rename_puts_the_first_file_back(tmp_path, monkeypatch):
    out = tmp_path / "out.csv"
    out.write_bytes(b"old rows\n")
    manifest_path(out).write_bytes(b'{"rows": 1}\n')
    before = snapshot(tmp_path)
    real = os.replace

    def replace(src: object, dst: object) -> None:
        if str(dst).endswith(".manifest.json"):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(InputError, match="Input/output error"):
        with open_output_pair(out) as pair:
            pair.data.write(b"new rows\nmore rows\n")
            pair.manifest = {"rows": 2}
    assert snapshot(tmp_path) == before
    monkeypatch.setattr(os, "replace", real)
    with open_output_pair(out) as pair:  # and when nothing fails, both are replaced
        pair.data.write(b"new rows\n")
        pair.manifest = {"rows": 2}
    assert out.read_bytes() == b"new rows\n" and b'"rows": 2' in manifest_path(out).read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "out.csv.manifest.json"]


# --- item 9: the temporary files of a killed run ---------------------------------------------

def test_a_killed_runs_temporary_file_is_removed_and_reported_by_the_next_run(tmp_path):
    out = tmp_path / "out.csv"
    proc = subprocess.Popen([sys.executable, "-m", "augment_core", "augment", str(big_csv(tmp_path)), *BASE,
                             "--output", str(out)], stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob(".out.csv.*.tmp")):  # the run has started writing
            assert proc.poll() is None
            assert time.monotonic() < deadline, "no temporary output within 60 s"
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    (left,) = tmp_path.glob(".out.csv.*.tmp")  # a killed run cleans nothing up
    result = cli(str(sample_input(tmp_path)), *BASE, "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert not list(tmp_path.glob(".out.csv.*.tmp"))
    (line,) = [x for x in result.stderr.splitlines() if "removed" in x]
    assert left.name in line and "killed" in line, result.stderr


def test_only_the_targets_temporary_files_of_gone_processes_are_removed(tmp_path):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    dead = int(gone.stdout)
    stale = [tmp_path / f".out.csv.{dead}.{'ab' * 6}.tmp", tmp_path / f".out.csv.manifest.json.{dead}.{'ab' * 6}.tmp"]
    kept = [
        tmp_path / f".out.csv.{os.getpid()}.{'cd' * 6}.tmp",  # a live process's
        tmp_path / f".other.csv.{dead}.{'ef' * 6}.tmp",  # another target's
        tmp_path / f".out.csv.{dead}.notours.tmp",  # not our naming
    ]
    for p in (*stale, *kept):
        p.write_bytes(b"partial\n")
    result = cli(str(sample_input(tmp_path)), *BASE, "--output", str(tmp_path / "out.csv"))
    assert result.returncode == 0, result.stderr
    assert all(p.exists() for p in kept) and not stale[0].exists()
    assert stale[1].exists()  # the manifest's: another target (a run that writes one removes it)
    (line,) = [x for x in result.stderr.splitlines() if "removed" in x]
    assert stale[0].name in line and str(dead) in line, result.stderr


class _SignalsWhenCollected:
    """Sends this process ``signum`` from its finalizer: Python runs the handler there, and
    the exception it raises is printed as "Exception ignored" and dropped (as when a signal
    lands while the garbage collector closes a reader's generator)."""

    def __init__(self, signum: int) -> None:
        self.signum = signum

    def __del__(self) -> None:
        os.kill(os.getpid(), self.signum)


def _write_pair(path: Path) -> None:
    with open_output_pair(path) as pair:
        pair.data.write(b"new")
        _SignalsWhenCollected(signal.SIGTERM)  # collected at once: the exception is lost here
        pair.manifest = {"new": True}


def _write_file(path: Path) -> None:
    with open_output(path) as fh:
        fh.write(b"new")
        _SignalsWhenCollected(signal.SIGTERM)


def _write_dir(path: Path) -> None:
    with open_output_dir(path) as folder:
        (folder / "part-0.csv").write_bytes(b"new")
        _SignalsWhenCollected(signal.SIGTERM)


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")  # the drop printed nothing
@pytest.mark.parametrize("write", [_write_file, _write_pair, _write_dir], ids=["file", "pair", "folder"])
def test_a_signal_whose_exception_python_dropped_still_keeps_the_old_output(tmp_path, write):
    """Seen once in a few dozen SIGTERMs of a CLI run: the signal landed in a finalizer, its
    exception was dropped, and the run went on to replace its output with exit status 0. The
    commit raises the noted interrupt instead, and the old output stays (a folder output:
    none, as before); the dropped exception is not printed (the run's one line stays one)."""
    target = tmp_path / "out.csv"
    if write is not _write_dir:
        target.write_bytes(b"old")
    before = snapshot(tmp_path)
    with interrupts.handled(), pytest.raises(interrupts.Terminated):
        write(target)
    assert snapshot(tmp_path) == before
    with interrupts.handled():  # the next run, not asked to stop, commits as ever
        with open_output(tmp_path / "later.csv") as fh:
            fh.write(b"later")
    assert (tmp_path / "later.csv").read_bytes() == b"later"


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_a_streamed_run_asked_to_stop_where_the_exception_was_dropped_stops_at_its_next_chunk(tmp_path):
    """A run of many chunks does not go on to its end before the commit refuses it: the
    interrupt lost in a finalizer is raised again at the next chunk."""
    out = tmp_path / "out.csv"
    args = build_parser().parse_args(["augment", str(big_csv(tmp_path)), *BASE, "--chunk-rows", "1000",
                                      "--workers", "1", "--output", str(out)])
    written: list[int] = []

    def progress(phase: str, done: int, total: int) -> None:
        if phase == "generate":
            written.append(done)
            if len(written) == 1:
                _SignalsWhenCollected(signal.SIGTERM)  # lost in the finalizer, noted

    with interrupts.handled(), pytest.raises(interrupts.Terminated):
        run_job(job_from_args(args).check(), progress)
    assert len(written) == 1 and not out.exists()
