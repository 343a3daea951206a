"""Issue 22, points 1-3: one job object, runners that take it, no import cycle."""

from __future__ import annotations

import subprocess
import sys

import pytest
from helpers import ROOT

from augment_core.augment.quality import QualitySettings
from augment_core.augment.registry import AugmenterSettings
from augment_core.cli.commands import build_parser, job_from_args
from augment_core.data.splitting import DEFAULT_RATIOS
from augment_core.errors import InputError
from augment_core.job import Augmentation, Policy, Report


def _job(*flags: str):
    return job_from_args(build_parser().parse_args(["augment", "in.csv", "--text-column", "t", "--label-column", "l",
                                                    "--output", "o.csv", *flags]))


def test_the_cli_flags_default_to_the_job_defaults():
    """Each default has one home: the CLI with no flags builds the library's defaults."""
    job = _job().check()
    assert job.augmentation == Augmentation()
    assert job.augmentation.settings == AugmenterSettings() and job.augmentation.quality == QualitySettings()
    assert job.augmentation.policy == Policy() and job.split_ratios == DEFAULT_RATIOS
    assert job.runner.name == "local"


def test_stream_builds_the_local_runners_job():
    assert _job("--runner", "stream", "--chunk-rows", "7").runner == _job("--chunk-rows", "7").runner


@pytest.mark.parametrize("flags,message", [
    (["--n-per-original", "-1"], "--n-per-original must be >= 0"),
    (["--ambiguous-below", "2"], "--ambiguous-below must be between 0 and 1"),
    (["--chunk-rows", "0"], "--chunk-rows must be at least 1"),
    (["--workers", "0"], "--workers must be at least 1"),
    (["--split-ratios", "0.5,0.5,0.5"], "split ratios must be"),
    (["--format", "jsonl"], "does not match the output's extension"),
    (["--csv-formula-guard", "--format", "parquet"], "does not match"),
    (["--runner", "ray"], "--runner ray needs --id-column"),
    (["--max-swaps", "0"], "--max-swaps must be at least 1"),
])
def test_check_gives_one_line(flags, message):
    with pytest.raises(InputError) as err:
        _job(*flags).check()
    assert message in str(err.value) and "\n" not in str(err.value)


def test_the_report_line_is_the_closing_line():
    assert Report(12, 10, "o.csv", 1.25).line() == "wrote 12 rows (10 generated) to o.csv in 1.2s"
    assert Report(3, 2, "run", 0.5, shards=2).line() == "wrote 3 rows (2 generated) to run as 2 Parquet shards and manifest.json in 0.5s"
    assert Report(3, 2, "o.csv", 0.5, guarded=4).line().endswith("; the formula guard prefixed 4 cells with '")


@pytest.mark.parametrize("module,never", [
    ("augment_core.runners", "augment_core.cli.commands"),  # runners take a job, not the CLI's arguments
    ("augment_core.data.hf", "augment_core.data.dataset"),  # the dataset <-> hf cycle
])
def test_a_layer_does_not_import_the_one_above(module, never):
    code = f"import sys, {module}; print({never!r} in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "False", out.stderr
