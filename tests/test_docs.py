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


def test_no_page_has_a_bare_string_that_streamlit_would_show():
    """Streamlit's "magic" writes any bare expression of a page to the screen: a docstring
    under a constant turned into stray text at the top of the Review page."""
    import ast

    root = Path(__file__).resolve().parent.parent
    for path in [root / "app.py", *sorted((root / "pages").glob("*.py"))]:
        body = ast.parse(path.read_text(encoding="utf-8")).body
        bare = [n.lineno for n in body[1:] if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)]
        assert not bare, f"{path.name}: bare strings at lines {bare} would be shown on the page"
