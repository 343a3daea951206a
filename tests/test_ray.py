"""Issue 10, points 2 and 3: ``--runner ray`` on a local Ray (2 CPUs, no dashboard, one per
test session) gives the local runner's rows, and survives a worker killed mid-run."""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
from pathlib import Path

import pytest
import ray
from helpers import drifting_input, repeated_rows, sample_inputs

from augment_core.cli.commands import main
from augment_core.data.manifest import RunManifest

pytestmark = pytest.mark.ray

BASE = ["--text-column", "title", "--text-column", "description", "--label-column", "tags", "--id-column", "id",
        "--no-quality", "--keep-original", "--seed", "5", "--chunk-rows", "60"]


@pytest.fixture(scope="session")
def s3_endpoint():
    """A local S3 (moto's server on 127.0.0.1), named the way every AWS client reads it
    (``AWS_ENDPOINT_URL`` and keys in the environment), set before Ray starts so its workers
    see it too: reading ``s3://`` goes through the same pyarrow code as on a real bucket."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {"AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}
    before = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield env["AWS_ENDPOINT_URL"]
    for k, v in before.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    server.stop()


@pytest.fixture(scope="session")
def local_ray(s3_endpoint):
    from augment_core.runners.ray import ray_init_kwargs

    ray.init(num_cpus=2, **ray_init_kwargs())
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    return sample_inputs(tmp_path_factory.mktemp("ray-in"), 240)


def _by_id(row: dict) -> str:
    """A row's own id: the provenance ``aug_id`` (the input has an ``id`` column, which a
    variant copies from its parent: see augment_core.data.user_schema)."""
    return row["aug_id"]


def shards(folder: Path) -> list[dict]:
    import pyarrow.parquet as pq

    rows = [r for f in sorted(folder.glob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    return sorted(rows, key=_by_id)


def local_rows(src: Path, tmp: Path) -> list[dict]:
    import pyarrow.parquet as pq

    assert main(["augment", str(src), *BASE, "--output", str(tmp / "local.parquet")]) == 0
    return sorted(pq.read_table(tmp / "local.parquet").to_pylist(), key=_by_id)


@pytest.mark.parametrize("source", ["csv", "jsonl", "parquet"])
def test_ray_rows_sorted_by_id_are_the_local_rows(local_ray, inputs, tmp_path, source):
    out = tmp_path / "run"
    assert main(["augment", str(inputs[source]), *BASE, "--runner", "ray", "--output", str(out)]) == 0
    expected = local_rows(inputs[source], tmp_path)
    assert shards(out) == expected
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["rows"] == len(expected) and manifest["runner"] == "ray"
    written = RunManifest.from_json(manifest)  # the typed shape, in this release's keys
    assert (written.output_format, written.rows, written.created_at.endswith("Z")) == ("parquet", len(expected), True)
    assert sorted(manifest["files"]) == sorted(p.name for p in out.glob("*.parquet"))
    assert not list(tmp_path.glob(".run.*"))  # written beside, renamed into place


@pytest.mark.parametrize("source,output", [("csv", "local"), ("parquet", "s3")])
def test_an_s3_run_gives_the_local_rows(local_ray, s3_endpoint, inputs, tmp_path, source, output):
    """``augment s3://bucket/data.parquet --runner ray --output s3://bucket/augmented/``, as the
    cluster recipe in docs/scale-out.md runs it, against a local S3 server: the input read from the
    bucket, the shards and the manifest written to it (or to a local folder)."""
    import boto3
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    bucket = f"corpus-{source}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=f"in/data.{source}", Body=inputs[source].read_bytes())
    out = str(tmp_path / "run") if output == "local" else f"s3://{bucket}/augmented/"
    assert main(["augment", f"s3://{bucket}/in/data.{source}", *BASE, "--runner", "ray", "--output", out]) == 0
    if output == "local":
        rows, manifest = shards(Path(out)), json.loads((Path(out) / "manifest.json").read_text())
    else:
        fs, root = pafs.FileSystem.from_uri(out)
        files = [f.path for f in fs.get_file_info(pafs.FileSelector(root)) if f.path.endswith(".parquet")]
        rows = sorted((r for f in files for r in pq.read_table(f, filesystem=fs).to_pylist()), key=_by_id)
        with fs.open_input_stream(f"{root.rstrip('/')}/manifest.json") as fh:
            manifest = json.loads(fh.read())
        assert sorted(manifest["files"]) == sorted(f.rsplit("/", 1)[1] for f in files)
    assert rows == local_rows(inputs[source], tmp_path)
    assert manifest["input"] == f"s3://{bucket}/in/data.{source}" and manifest["rows"] == len(rows)


def _kill_once(marker: Path, ids: list[str]) -> None:
    """In a worker: the first batch holding row 5 kills its own process (SIGKILL), once."""
    if "5" in ids and not marker.exists():
        marker.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)


def test_a_killed_worker_is_retried_and_the_output_is_complete(local_ray, inputs, tmp_path):
    from ray import cloudpickle  # Ray serialises with its own copy

    from augment_core.cli.commands import build_parser, job_from_args
    from augment_core.runners.ray import run_ray

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    marker = tmp_path / "killed"
    out = tmp_path / "run"
    args = build_parser().parse_args(["augment", str(inputs["csv"]), *BASE, "--runner", "ray", "--output", str(out)])
    try:
        report = run_ray(job_from_args(args).check(), hook=functools.partial(_kill_once, marker))
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert marker.exists(), "no worker was killed"
    assert report.rows == len(shards(out)) and shards(out) == local_rows(inputs["csv"], tmp_path)


def test_quality_on_ray_gives_the_local_flags(local_ray, tmp_path):
    """Quality on Ray: hashes and held-out embeddings gathered first, then an actor pool
    scores every batch: the rows, sorted by id, are the local runner's, quality columns
    included, with duplicates and leaks among the flags."""
    import pyarrow.parquet as pq

    src = tmp_path / "in.csv"
    src.write_bytes(repeated_rows(40, 3))
    argv = ["augment", str(src), *[a for a in BASE if a != "--no-quality"], "--n-per-original", "2"]
    assert main([*argv, "--output", str(tmp_path / "local.parquet")]) == 0
    assert main([*argv, "--runner", "ray", "--workers", "1", "--output", str(tmp_path / "run")]) == 0
    expected = sorted(pq.read_table(tmp_path / "local.parquet").to_pylist(), key=_by_id)
    got = shards(tmp_path / "run")
    assert got == expected
    flags = {f for r in got for f in json.loads(r["aug_flags"])}
    assert {"duplicate", "leak"} <= flags
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["quality"]["heldout_texts"] > 0 and manifest["quality"]["repeated_texts"] > 0


def test_label_drift_on_ray_is_the_local_runners(local_ray, tmp_path):
    """Issue 23, point 5: Ray fits ``label_drift``'s baseline once on the driver and its
    scoring actors flag with it: the rows, sorted by id, are the local runner's, with the
    variants the baseline reads as another label flagged."""
    import pyarrow.parquet as pq

    argv = ["augment", *drifting_input(tmp_path), "--chunk-rows", "5"]
    assert main([*argv, "--output", str(tmp_path / "local.parquet")]) == 0
    assert main([*argv, "--runner", "ray", "--workers", "1", "--output", str(tmp_path / "run")]) == 0
    expected = sorted(pq.read_table(tmp_path / "local.parquet").to_pylist(), key=_by_id)
    got = shards(tmp_path / "run")
    assert got == expected
    assert {r["tags"] for r in got if "label_drift" in json.loads(r["aug_flags"])} == {"vision"}


@pytest.mark.parametrize("extra,message", [
    (["--no-quality", "--id-column", ""], "--runner ray needs --id-column"),
    (["--no-quality", "--format", "hf"], "--runner ray writes a folder of Parquet shards, not --format hf"),
    (["--no-quality", "--format", "jsonl"], "--runner ray writes a folder of Parquet shards, not --format jsonl"),
])
def test_ray_refusals_are_one_line(tmp_path, inputs, capsys, extra, message):
    argv = ["augment", str(inputs["csv"]), "--text-column", "title", "--label-column", "tags", *extra,
            "--runner", "ray", "--output", str(tmp_path / "run")]
    if "--id-column" not in extra:
        argv += ["--id-column", "id"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not (tmp_path / "run").exists()


def test_contextual_on_an_actor_pool_gives_the_local_rows(local_ray, inputs, tmp_path, tiny_mlm):
    import pyarrow.parquet as pq

    few = tmp_path / "few.csv"  # 40 rows: an actor loads torch and the model
    few.write_text("".join(inputs["csv"].read_text(encoding="utf-8").splitlines(keepends=True)[:41]), encoding="utf-8")
    argv = ["augment", str(few), *BASE, "--augmenter", "contextual_substitute", "--model", tiny_mlm, "--device", "cpu",
            "--precision", "fp32", "--n-per-original", "2", "--chunk-rows", "15"]
    assert main([*argv, "--output", str(tmp_path / "local.parquet")]) == 0
    assert main([*argv, "--runner", "ray", "--workers", "1", "--output", str(tmp_path / "run")]) == 0
    expected = sorted(pq.read_table(tmp_path / "local.parquet").to_pylist(), key=_by_id)
    assert any(r["aug_augmenter"] == "contextual_substitute" for r in expected)
    assert shards(tmp_path / "run") == expected
    assert json.loads((tmp_path / "run" / "manifest.json").read_text())["runner_options"]["workers"] == 1


def test_a_cpu_actor_pool_leaves_a_cpu_for_the_reads():
    """Two CPU actors on a 2-CPU Ray held both CPUs and the read tasks never ran: a CPU pool
    is capped at the CPUs but one, whatever --workers asks; GPU pools are not capped."""
    from augment_core.runners.ray import actor_pool_size

    assert actor_pool_size(2, 0, 2) == 1 and actor_pool_size(None, 0, 2) == 1 and actor_pool_size(None, 0, 1) == 1
    assert actor_pool_size(3, 0, 16) == 3 and actor_pool_size(None, 0, 16) == 15
    assert actor_pool_size(None, 4, 16) == 4 and actor_pool_size(2, 4, 16) == 2


def test_ray_counts_the_variants_dropped_at_the_joiner_as_the_local_runner(local_ray, inputs, tmp_path, capsys):
    """A plug-in that rewrites the whole text of title + description keeps no variant: Ray's
    summary says how many the joiner dropped, over every batch, as the local run's does."""
    args = [str(inputs["csv"]), *BASE, "--augmenter", "snorkel:tests.lesson_tfs:rewrite_whole"]
    assert main(["augment", *args, "--output", str(tmp_path / "local.parquet")]) == 0
    local = capsys.readouterr().err
    assert main(["augment", *args, "--runner", "ray", "--output", str(tmp_path / "run")]) == 0
    on_ray = capsys.readouterr().err
    line = [x for x in local.splitlines() if "edit crosses the space joining two text columns" in x]
    assert len(line) == 1 and line[0].startswith("warning: ") and " 0 generated" not in line[0]
    assert line[0] in on_ray.splitlines() and "(0 generated)" in on_ray
