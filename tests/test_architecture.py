"""The package's layering, read from its source: no import cycle, no import of another
module's ``_private`` name.

The import graph is built with :mod:`ast` from each module's top-level imports (including
those under ``if TYPE_CHECKING:`` or ``try:``: a cycle hidden there is still a cycle); an
import inside a function is not an edge, so hiding a cycle that way is caught by review, not
here, and a second check counts the imports inside functions too: those may defer a heavy
import (torch, the review store) for a fast start, never hide a cycle. ``SCOPE`` is the whole
package and the app's shared modules (``app_common`` and ``app_support``, which the pages import).
"""

from __future__ import annotations

import ast
from pathlib import Path

import augment_core

SCOPE = ("augment_core", "app_support", "app_common")
"""Modules (these and those under them) whose imports must form no cycle and name no private
name of another module."""
ROOT = Path(augment_core.__file__).resolve().parent.parent


def _modules() -> dict[str, Path]:
    out = {}
    for path in [p for top in SCOPE for p in (ROOT / top).rglob("*.py")] + [ROOT / "app_common.py"]:
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _top_level(body: list[ast.stmt]) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        elif isinstance(node, ast.If):
            found += _top_level(node.body) + _top_level(node.orelse)
        elif isinstance(node, ast.Try):
            found += _top_level(node.body) + _top_level(node.orelse) + _top_level(node.finalbody)
            for handler in node.handlers:
                found += _top_level(handler.body)
    return found


def _imported(node: ast.Import | ast.ImportFrom, module: str, modules: dict[str, Path]) -> list[tuple[str, str]]:
    """``(module, name)`` pairs the import statement names inside the package (name "" for a
    whole module)."""
    if isinstance(node, ast.Import):
        return [(a.name, "") for a in node.names if a.name in modules]
    base = node.module or ""
    if node.level:
        package = module if modules[module].name == "__init__.py" else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{base}" if base else package
    out = []
    for alias in node.names:
        if f"{base}.{alias.name}" in modules:  # a submodule: from augment_core.review import store
            out.append((f"{base}.{alias.name}", ""))
        elif base in modules:
            out.append((base, alias.name))
    return out


def _in_scope(module: str) -> bool:
    return module.partition(".")[0] in SCOPE


def import_graph() -> tuple[dict[str, set[str]], list[str]]:
    """module -> the package modules it imports at top level; and every import of another
    module's private name, as ``"importer: module._name"``."""
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    private = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in _top_level(tree.body):
            for target, name in _imported(node, module, modules):
                if target != module:  # a script's ``if __name__ == "__main__"`` importing itself
                    graph[module].add(target)
        for node in ast.walk(tree):  # a private name is private wherever it is imported
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target, name in _imported(node, module, modules):
                    if name.startswith("_") and not name.startswith("__") and target != module:
                        private.append(f"{module}: {target}.{name}")
    return graph, private


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph[v]:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle():
    graph, _ = import_graph()
    scoped = {m: {t for t in targets if _in_scope(t)} for m, targets in graph.items() if _in_scope(m)}
    assert cycles(scoped) == []


def test_no_cycle_even_through_imports_inside_functions():
    """An import inside a function defers a module's cost to when it is needed; it must not
    be the way a cycle is hidden, so the graph with those imports added has none either."""
    modules = _modules()
    graph, _ = import_graph()
    for module, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                graph[module].update(t for t, _name in _imported(node, module, modules) if t != module)
    scoped = {m: {t for t in targets if _in_scope(t)} for m, targets in graph.items() if _in_scope(m)}
    assert cycles(scoped) == []


def test_no_import_of_another_modules_private_name():
    _, private = import_graph()
    assert [p for p in private if _in_scope(p.partition(":")[0])] == []


def test_the_checks_see_a_cycle_and_a_private_import():
    """The checks themselves: a made-up graph with a cycle through three modules is caught,
    and the package's own graph has the edges it should (so an empty answer means something)."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    graph, _ = import_graph()
    assert "augment_core.review.database" in graph["augment_core.review.store"]
    assert "augment_core.review.store" in graph["augment_core.review.facts"]
    assert "app_support.loaders" in graph["app_common"]


def test_storage_imports_no_review_domain_module():
    """The store and its modules read and write rows: they import the connection layer, the
    schema and each other, never the review's domain (facts, filters, candidates, query...),
    so the facts are computed before they are stored and the storage can be swapped."""
    storage = {"database", "datasets", "runs", "index", "keys", "rules", "decisions", "decide", "history",
               "client_actions", "evaluations", "schema", "legacy", "migrate", "store"}
    graph, _ = import_graph()
    review = "augment_core.review"
    for name in storage:
        module = f"{review}.{name}"
        review_imports = {t.rpartition(".")[2] for t in graph[module] if t.startswith(review + ".")}
        assert review_imports <= storage, module


def test_the_public_api_resolves_and_costs_nothing_until_used():
    """``augment_core``'s names are the public API; importing the package alone imports none
    of them (the CLI's alias swap starts fast), and each resolves when first used."""
    import subprocess
    import sys

    loaded = subprocess.run([sys.executable, "-c", "import sys, augment_core; print(sorted(m for m in sys.modules "
                             "if m.startswith('augment_core.')))"], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "['augment_core.lazy']"
    for name in augment_core.__all__:
        assert getattr(augment_core, name).__name__ == name


def test_the_cli_parser_imports_no_review_store():
    """Building the parser (every CLI run, ``--help`` included) reads the run-import defaults
    from ``review.rule_sample``: that must not import the review package's store
    (SQLAlchemy, Alembic), which cost every run most of a second."""
    import subprocess
    import sys

    import augment_core.review as review

    loaded = subprocess.run([sys.executable, "-c", "import sys; from augment_core.cli import build_parser; "
                             "build_parser(); print(sorted(m for m in sys.modules if m.split('.')[0] in "
                             "('sqlalchemy', 'alembic', 'pandas', 'torch') or m == 'augment_core.review.store'))"],
                            capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]", loaded.stdout
    for name in review.__all__:  # the review package's public names still resolve
        assert getattr(review, name).__name__ == name
