"""Issue 10, point 1 and issue 22, point 2: the local runner (the default; ``--runner
stream`` is its old name) reads, augments and writes in chunks, and its output is the
in-memory run's, byte for byte, with every guarantee of the CLI kept."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import (
    REFUSED,
    ROOT,
    SIMPLE,
    big_csv,
    cli,
    drifting_input,
    in_memory,
    repeated_rows,
    sample_inputs,
    sample_rows,
    simple_csv,
    snapshot,
)

from augment_core.cli.commands import main

BASE = ["--text-column", "title", "--text-column", "description", "--label-column", "tags", "--id-column", "id",
        "--no-quality", "--keep-original", "--seed", "5"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """The same 400 sample rows as CSV, JSONL (labels as JSON lists) and Parquet."""
    return sample_inputs(tmp_path_factory.mktemp("stream-in"), 400)


def run(src: Path, out: Path, *extra: str) -> bytes:
    assert main(["augment", str(src), *BASE, *extra, "--output", str(out)]) == 0
    return out.read_bytes()


def whole(src: Path, out: Path, *extra: str) -> bytes:
    """The in-memory run's bytes, the reference."""
    in_memory(str(src), *BASE, *extra, "--output", str(out))
    return out.read_bytes()


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
@pytest.mark.parametrize("source", ["csv", "jsonl", "parquet"])
def test_streamed_output_is_byte_identical_to_in_memory(inputs, tmp_path, source, fmt):
    expected = whole(inputs[source], tmp_path / f"mem.{fmt}")
    # one chunk: the same bytes for every format (Parquet: one row group, as in memory)
    assert run(inputs[source], tmp_path / f"one.{fmt}", "--workers", "1") == expected


def test_stream_is_the_old_name_of_local(inputs, tmp_path):
    expected = run(inputs["csv"], tmp_path / "local.csv")
    result = cli(str(inputs["csv"]), *BASE, "--runner", "stream", "--output", str(tmp_path / "s.csv"))
    assert result.returncode == 0 and "--runner stream is now --runner local" in result.stderr, result.stderr
    assert (tmp_path / "s.csv").read_bytes() == expected


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@pytest.mark.parametrize("workers", ["1", "2"])
def test_many_small_chunks_and_workers_give_the_same_bytes(inputs, tmp_path, fmt, workers):
    expected = whole(inputs["csv"], tmp_path / f"mem.{fmt}")
    got = run(inputs["csv"], tmp_path / f"s.{fmt}", "--chunk-rows", "37", "--workers", workers)
    assert got == expected


def test_parquet_in_many_row_groups_holds_the_same_table(inputs, tmp_path):
    import pyarrow.parquet as pq

    whole(inputs["jsonl"], tmp_path / "mem.parquet")
    run(inputs["jsonl"], tmp_path / "s.parquet", "--chunk-rows", "50", "--workers", "2")
    mem, streamed = pq.read_table(tmp_path / "mem.parquet"), pq.ParquetFile(tmp_path / "s.parquet")
    assert streamed.metadata.num_row_groups == 8  # 400 rows in chunks of 50: written as they came
    assert streamed.read().equals(mem)


def test_split_column_and_empty_texts_as_in_memory(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("id,text,tags,split\n1,a gan paper,gan,train\n2,,nlp,train\n3,nlp with transformers,nlp,val\n"
                   "4,cv and gans,computer-vision,dev\n", encoding="utf-8")
    argv = ["--text-column", "text", "--label-column", "tags", "--split-column", "split", "--id-column", "id",
            "--no-quality", "--keep-original"]
    mem = in_memory(str(src), *argv, "--output", str(tmp_path / "mem.csv"))
    streamed = cli(str(src), *argv, "--output", str(tmp_path / "s.csv"))
    assert streamed.returncode == 0, streamed.stderr
    assert (tmp_path / "mem.csv").read_bytes() == (tmp_path / "s.csv").read_bytes()
    assert mem.warnings == ("1 rows have empty text and are not augmented (ids: 2)",)
    assert "1 rows have empty text" in streamed.stderr and "(ids: 2)" in streamed.stderr



@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_quality_streamed_in_two_passes_gives_the_in_memory_flags(tmp_path, fmt):
    """Duplicates and leaks need the whole run: the streamed run's two passes (hashes and
    held-out embeddings first, then each chunk scored) flag exactly what the in-memory run
    flags, chunks of 50 rows included."""
    src = tmp_path / "in.csv"
    src.write_bytes(repeated_rows(40, 3))
    argv = [a for a in BASE if a != "--no-quality"] + ["--n-per-original", "2"]
    in_memory(str(src), *argv, "--output", str(tmp_path / f"mem.{fmt}"))
    assert main(["augment", str(src), *argv, "--chunk-rows", "50",
                 "--output", str(tmp_path / f"s.{fmt}")]) == 0
    if fmt == "csv":
        expected = (tmp_path / "mem.csv").read_bytes()
        assert (tmp_path / "s.csv").read_bytes() == expected
        rows = list(csv.DictReader(io.StringIO(expected.decode())))
    else:
        import pyarrow.parquet as pq

        mem, streamed = pq.read_table(tmp_path / "mem.parquet"), pq.read_table(tmp_path / "s.parquet")
        assert streamed.equals(mem)
        rows = mem.to_pylist()
    flags = [f for r in rows for f in json.loads(r["aug_flags"] or "[]")]
    assert "duplicate" in flags and "leak" in flags  # the global signals are exercised


def test_label_drift_flagged_by_a_cli_run_with_quality_streamed_as_in_memory(tmp_path):
    """Issue 23, point 5: every run with quality signals flags ``label_drift`` from the quick
    baseline fitted on the train originals: the streamed run (its baseline fitted once, its
    chunks of 5 rows scored one by one) writes the in-memory run's bytes, the variants the
    baseline reads as another label are flagged and the harmless ones are not; with
    ``--no-quality`` nothing is."""
    argv = drifting_input(tmp_path)
    in_memory(*argv, "--output", str(tmp_path / "mem.csv"))
    assert main(["augment", *argv, "--chunk-rows", "5", "--output", str(tmp_path / "s.csv")]) == 0
    expected = (tmp_path / "mem.csv").read_bytes()
    assert (tmp_path / "s.csv").read_bytes() == expected
    rows = list(csv.DictReader(io.StringIO(expected.decode())))
    drifted = [r for r in rows if "label_drift" in json.loads(r["aug_flags"])]
    assert {r["tags"] for r in drifted} == {"vision"}  # graph texts keep their graph words: never flagged
    assert [r for r in rows if r["aug_text"].startswith("gnn ")] == [r for r in drifted if r["aug_text"].startswith("gnn ")] != []
    assert main(["augment", *argv, "--no-quality", "--output", str(tmp_path / "off.csv")]) == 0
    assert "label_drift" not in (tmp_path / "off.csv").read_text()


@pytest.mark.parametrize("case", list(REFUSED))
def test_streamed_bad_input_is_refused_like_in_memory(tmp_path, case):
    setup, message = REFUSED[case]
    args = [*setup(tmp_path), "--runner", "stream"]
    before = snapshot(tmp_path)
    result = cli(*args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr and message in result.stderr, result.stderr
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("body,message", [
    (b"id,text,tags\n1,a,b\n1,c,d\n", "appears more than once"),
    (b"id,text,tags\n", "has a header but no rows"),
    (b"", "is empty"),
    (b"id,text,tags\n1,\"open quote,b\n", "not valid CSV"),
    (b"id,text,tags\n1,caf\xe9,b\n", "not UTF-8"),
])
def test_streamed_reader_refuses_what_the_reader_refuses(tmp_path, body, message):
    src = tmp_path / "in.csv"
    src.write_bytes(body)
    args = [str(src), "--text-column", "text", "--label-column", "tags", "--id-column", "id", "--no-quality"]
    for runner in ("local", "stream"):
        result = cli(*args, "--runner", runner, "--output", str(tmp_path / "o.csv"))
        assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr, result.stderr
        assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("runner", ["local", "stream"])
def test_alias_swap_run_imports_neither_torch_nor_pandas_nor_ray(inputs, tmp_path, runner):
    """Nor scikit-learn: ``label_drift``'s baseline is fitted only by a run with quality signals."""
    code = (
        "import sys; from augment_core.cli.commands import main; "
        f"rc = main(['augment', {str(inputs['csv'])!r}, *{BASE!r}, '--runner', {runner!r}, '--workers', '1', "
        f"'--output', {str(tmp_path / 'o.csv')!r}]); "
        "heavy = [m for m in ('torch', 'transformers', 'pandas', 'ray', 'sklearn') if m in sys.modules]; "
        "print(heavy); sys.exit(1 if rc or heavy else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_ends_the_workers_and_leaves_no_temp_file(tmp_path, sig):
    src = big_csv(tmp_path)
    out = tmp_path / "out.csv"
    out.write_bytes(b"the previous output\n")
    before = snapshot(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "augment_core", "augment", str(src), *BASE, "--runner", "stream", "--workers", "2",
         "--chunk-rows", "500", "--output", str(out)],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        _wait_for_rows(tmp_path, proc)
        children = _children(proc.pid)
        assert children, "the workers run in their own processes"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + sig, err
    assert err.count("\n") == 1 and "Traceback" not in err and "no output written" in err, err
    assert snapshot(tmp_path) == before
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{pid}").exists() and _state(pid) != "Z" for pid in children):
        assert time.monotonic() < deadline, "worker processes outlived the run"
        time.sleep(0.01)


def test_a_worker_killed_mid_run_is_replaced_and_the_output_is_the_same(tmp_path):
    """The kernel's out-of-memory killer ends a worker: a new one runs its chunk again and the
    file is byte for byte an uninterrupted run's (multiprocessing.Pool, used before, waited
    for a chunk whose worker was killed forever)."""
    src = big_csv(tmp_path)
    args = ["augment", str(src), *BASE, "--runner", "stream", "--workers", "2", "--chunk-rows", "500"]
    whole = tmp_path / "whole.csv"
    assert main([*args, "--output", str(whole)]) == 0
    out = tmp_path / "out.csv"
    proc = subprocess.Popen([sys.executable, "-m", "augment_core", *args, "--output", str(out)], stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        _wait_for_rows(tmp_path, proc)
        workers = [c for c in _children(proc.pid)
                   if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]
        assert len(workers) == 2, workers
        os.kill(workers[0], signal.SIGKILL)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "a worker process ended (killed by signal 9)" in err, err
    assert out.read_bytes() == whole.read_bytes()


def _end_this_worker(start: int, rows: list, splits: list) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_chunk_that_kills_every_worker_it_is_given_ends_the_run_with_one_line():
    from augment_core.data.dataset import ColumnMapping
    from augment_core.runners.core import RETRIES, WorkerLost, WorkerPool, WorkSpec

    runner = WorkerPool(WorkSpec(["id", "text"], ColumnMapping(("text",), "tags"), None), 2)  # type: ignore[arg-type]
    try:
        with pytest.raises(WorkerLost) as lost:
            list(runner.map(_end_this_worker, iter([[("1", "a")]]), ["train"]))
    finally:
        runner.close(False)
    assert "killed by signal 9" in str(lost.value) and f"{RETRIES + 1} times" in str(lost.value)
    assert "\n" not in str(lost.value)


class _ExitsWhenUnpickled:
    """Ends the process that unpickles it, before it reads what follows."""

    def __reduce__(self):
        return (os._exit, (1,))


def test_a_worker_that_dies_while_reading_a_large_spec_is_lost_not_waited_for():
    """A worker that died before it had read its spec (often over a pipe's 64 KB: alias
    tables) hung the run for good: multiprocessing wrote the spec in ``Process.start`` while
    holding the pipe's read end itself (seen once in the whole suite on both cores). Now the
    spec is the pipe's first message, and such a worker is lost like any other."""
    import threading

    from augment_core.data.dataset import ColumnMapping
    from augment_core.runners.core import WorkerLost, WorkerPool, WorkSpec

    spec = WorkSpec(["id", "text"], ColumnMapping(("text",), "tags"), None,  # type: ignore[arg-type]
                    settings={"x": {"dies": _ExitsWhenUnpickled(), "then": "y" * (1 << 20)}})
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            runner = WorkerPool(spec, 2)
            try:
                list(runner.map(_end_this_worker, iter([[("1", "a")]]), ["train"]))
            finally:
                runner.close(False)
        except BaseException as exc:  # noqa: BLE001 - what the run ended with
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(120)  # an upper bound: the run ends in seconds, or never
    assert not thread.is_alive(), "the pool waited for a dead worker"
    assert len(outcome) == 1 and isinstance(outcome[0], WorkerLost), outcome


def _wait_for_rows(tmp_path: Path, proc: subprocess.Popen) -> None:
    """Until the run's temporary output holds rows."""
    deadline = time.monotonic() + 60
    tmp: list[Path] = []
    while not tmp or tmp[0].stat().st_size == 0:
        tmp = list(tmp_path.glob(".out.csv.*.tmp"))
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "no rows written within 60 s"
        time.sleep(0.002)


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        kids = (task / "children").read_text().split()
        out += [int(k) for k in kids]
    return out


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


def test_formula_guard_streamed_gives_the_same_bytes_and_count(tmp_path):

    cells = ["=HYPERLINK(\"http://x\")", "+1", "-2 gan", "@SUM(A1)", "\tgan", "plain gan"]
    src = tmp_path / "f.csv"
    src.write_bytes(simple_csv(*[(str(i), c, "gan") for i, c in enumerate(cells, 1)]))
    argv = [str(src), *SIMPLE, "--keep-original", "--csv-formula-guard"]
    mem = in_memory(*argv, "--output", str(tmp_path / "mem.csv"))
    streamed = cli(*argv, "--chunk-rows", "2", "--output", str(tmp_path / "s.csv"))
    assert streamed.returncode == 0, streamed.stderr
    assert (tmp_path / "mem.csv").read_bytes() == (tmp_path / "s.csv").read_bytes()
    assert mem.guarded and f"prefixed {mem.guarded} cells" in streamed.stderr


def test_utf16_csv_streamed_as_in_memory(tmp_path):
    src = tmp_path / "u16.csv"
    src.write_bytes("id\ttext\ttags\n1\ta gan paper\tgan\n2\tnlp with transformers\tnlp\n".encode("utf-16"))
    argv = [str(src), "--text-column", "text", "--label-column", "tags", "--id-column", "id", "--no-quality",
            "--keep-original", "--split-ratios", "1,0,0"]
    in_memory(*argv, "--output", str(tmp_path / "mem.jsonl"))
    streamed = cli(*argv, "--output", str(tmp_path / "s.jsonl"))
    assert streamed.returncode == 0, streamed.stderr
    assert (tmp_path / "mem.jsonl").read_bytes() == (tmp_path / "s.jsonl").read_bytes()


@pytest.mark.parametrize("runner", ["local", "stream"])
def test_formats_that_need_the_whole_table_run_in_memory_by_themselves(inputs, tmp_path, runner):
    """Issue 22: a DatasetDict output and a .json list input are run in memory, chosen by
    the local runner (under its old name too), with the in-memory run's output."""
    result = cli(str(inputs["csv"]), *BASE, "--runner", runner, "--format", "hf", "--output", str(tmp_path / "ds"))
    assert result.returncode == 0 and (tmp_path / "ds" / "dataset_dict.json").is_file(), result.stderr
    rows = [json.loads(line) for line in inputs["jsonl"].read_text(encoding="utf-8").splitlines()]
    (tmp_path / "in.json").write_text(json.dumps(rows), encoding="utf-8")
    streamed = run(tmp_path / "in.json", tmp_path / "s.csv", "--runner", runner)
    assert streamed == whole(inputs["jsonl"], tmp_path / "mem.csv")


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_user_schema_prefix_and_exact_text_streamed_as_in_memory(tmp_path, fmt):
    """The user's columns (an extra one, one named like a provenance column), texts kept
    exactly as read (spaces, tabs, a whitespace-only row), a keyword across the joiner, an
    explicit --provenance-prefix: the streamed run writes the in-memory run's bytes."""
    src = tmp_path / "in.csv"
    src.write_text(
        "key,title,description,tags,text,notes\n"
        "1,  Learning  computer,vision with GANs ,computer-vision,x,keep me\n"
        "2, ,\t,natural-language-processing,y,\n"
        "3,nlp for cv, a gan paper,natural-language-processing,z,n3\n"
        "4,gan\tand nlp,computer vision,generative-adversarial-networks,w,n4\n"
        "5,cv,nlp,computer-vision,v,n5\n",
        encoding="utf-8")
    argv = [str(src), "--text-column", "title", "--text-column", "description", "--label-column", "tags",
            "--id-column", "key", "--no-quality", "--keep-original", "--split-ratios", "1,0,0"]
    for prefix in ([], ["--provenance-prefix", "p_"]):
        in_memory(*argv, *prefix, "--output", str(tmp_path / f"mem.{fmt}"))
        streamed = cli(*argv, *prefix, "--chunk-rows", "2", "--output", str(tmp_path / f"s.{fmt}"))
        assert streamed.returncode == 0, streamed.stderr
        if fmt == "parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(tmp_path / f"mem.{fmt}")
            assert pq.read_table(tmp_path / f"s.{fmt}").equals(table)
            want = "p_" if prefix else "aug_"
            assert table.column_names[:6] == ["key", "title", "description", "tags", "text", "notes"]
            assert table.column_names[6] == f"{want}id"
        else:
            assert (tmp_path / f"mem.{fmt}").read_bytes() == (tmp_path / f"s.{fmt}").read_bytes()
        assert "1 rows have empty text" in streamed.stderr and "(ids: 2)" in streamed.stderr, streamed.stderr


def test_a_hugging_face_folder_input_is_refused_by_ray(tmp_path):
    """(The local runner reads one whole, by itself: tests/test_user_schema.py, the round trip.)"""
    runner = "ray"
    src = tmp_path / "in.csv"
    src.write_bytes(sample_rows(20))
    argv = ["--text-column", "title", "--label-column", "tags", "--id-column", "id", "--no-quality"]
    made = cli(str(src), *argv, "--format", "hf", "--output", str(tmp_path / "ds"))
    assert made.returncode == 0, made.stderr
    before = snapshot(tmp_path)
    result = cli(str(tmp_path / "ds"), *argv, "--split-column", "split", "--runner", runner,
                 "--output", str(tmp_path / "run"))
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "is read by --runner local only" in result.stderr
    assert snapshot(tmp_path) == before
