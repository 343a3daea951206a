"""The command line: ``augment-review`` (``python -m augment_core``), a thin shell that builds
one job from its arguments and hands it to a runner (``commands``), and the commands over stored
runs, ``import-run`` and ``export-run`` (``runs``)."""

from augment_core.cli.commands import build_parser, main, run

__all__ = ["build_parser", "main", "run"]
