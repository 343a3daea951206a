"""The documentation stays true (Datasette's habit: a setting nobody can find is a setting
nobody uses). The README is short and links into the site in ``docs/``; the site builds
with ``mkdocs build --strict`` (no broken link or anchor, no page outside the navigation);
the CLI reference is generated from the parser and fails here when stale; every flag and
command is explained in the narrative pages; every benchmark table names its machine, date
and ``bench/`` script."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cogapp import Cog

from augment_core.cli.commands import build_parser

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text(encoding="utf-8")
REFERENCE = DOCS / "cli-reference.md"
NARRATIVE = "\n".join(p.read_text(encoding="utf-8") for p in sorted(DOCS.glob("*.md")) if p != REFERENCE)
README_MAX_LINES = 250


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


FLAGS = sorted(
    {(name, opt) for name, p in _subcommands().items() for a in p._actions for opt in a.option_strings
     if opt.startswith("--") and opt != "--help"}
)


@pytest.mark.parametrize("command,flag", FLAGS)
def test_every_cli_flag_is_explained_in_the_docs(command, flag):
    assert f"`{flag}" in NARRATIVE, f"{command} {flag} is not explained in any page of docs/ (the reference alone lists it)"


def test_every_subcommand_is_in_the_docs():
    for name in _subcommands():
        assert f"augment-review {name}" in NARRATIVE or f"python -m augment_core {name}" in NARRATIVE, name


def test_the_cli_reference_is_generated_from_the_parser():
    """``cog --check`` fails when the parser's help differs from the page."""
    status = Cog().main(["cog", "--check", str(REFERENCE)])
    assert status == 0, "docs/cli-reference.md is stale: run  cog -r docs/cli-reference.md"


def test_the_site_builds_strictly(tmp_path):
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                            cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-3000:]


def test_the_readme_is_short_and_its_links_resolve():
    assert len(README.splitlines()) <= README_MAX_LINES
    for target in re.findall(r"\]\((docs/[^)#]+)", README):
        assert (ROOT / target).exists(), target


STAMP = re.compile(r"^\*Measured on (?P<machine>[^,]+(?:\([^)]*\))?), (?P<date>\d{4}-\d{2}-\d{2}), `(?P<script>bench/[\w/]+\.py)`")


def test_every_benchmark_table_names_its_machine_date_and_script():
    lines = (DOCS / "benchmarks.md").read_text(encoding="utf-8").splitlines()
    tables = [i for i, line in enumerate(lines) if line.startswith("|") and not lines[i - 1].startswith("|")]
    assert tables
    for i in tables:
        stamp = STAMP.match(lines[i - 2])
        assert stamp, f"docs/benchmarks.md line {i + 1}: the table has no stamp line above it"
        assert (ROOT / stamp["script"]).exists(), stamp["script"]


def test_no_page_has_a_bare_string_that_streamlit_would_show():
    """Streamlit's "magic" writes any bare expression of a page to the screen: a docstring
    under a constant turned into stray text at the top of the Review page."""
    import ast

    root = Path(__file__).resolve().parent.parent
    for path in [root / "app.py", *sorted((root / "pages").glob("*.py"))]:
        body = ast.parse(path.read_text(encoding="utf-8")).body
        bare = [n.lineno for n in body[1:] if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)]
        assert not bare, f"{path.name}: bare strings at lines {bare} would be shown on the page"
