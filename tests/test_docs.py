"""The README documents every command-line flag (Datasette's habit: a setting nobody can
find is a setting nobody uses)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from augment_core.cli import build_parser

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


FLAGS = sorted(
    {(name, opt) for name, p in _subcommands().items() for a in p._actions for opt in a.option_strings
     if opt.startswith("--") and opt != "--help"}
)


@pytest.mark.parametrize("command,flag", FLAGS)
def test_every_cli_flag_is_in_the_readme(command, flag):
    assert f"`{flag}" in README, f"{command} {flag} is not documented in README.md"


def test_every_subcommand_is_in_the_readme():
    for name in _subcommands():
        assert f"augment-review {name}" in README or f"python -m augment_core {name}" in README
