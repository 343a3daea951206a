"""Runners: each takes a :class:`augment_core.job.Job`, writes its output, and returns a
:class:`augment_core.job.Report` for the caller to print. None reads the CLI's arguments
or the app's state: whoever runs a job builds it first.

* ``local`` (:mod:`augment_core.runners.local`): one machine, streamed in chunks (constant
  memory), in memory only where a format needs the whole table;
* ``ray`` (:mod:`augment_core.runners.ray`): Ray Data, on a cluster or a local Ray.

Both share :mod:`augment_core.runners.core` (key scan, fit, worker protocol) and read
through :class:`augment_core.data.sources.RowSource`.
"""

from __future__ import annotations

from typing import Callable

from augment_core.job import Job, Report
from augment_core.runners.local import run_local
from augment_core.runners.ray import run_ray
from augment_core.runners.run import PhaseProgress

RUNNERS: dict[str, Callable[[Job, PhaseProgress | None], Report]] = {"local": run_local, "ray": run_ray}


def run_job(job: Job, progress: PhaseProgress | None = None) -> Report:
    """The job on the runner it names."""
    return RUNNERS[job.runner.name](job, progress)
