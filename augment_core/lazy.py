"""Public names of a package, imported when first used (PEP 562).

A package's ``__init__`` states its public API in one place, but importing the package
must not import what the API names: the CLI reads ``augment_core.review.rule_sample`` for a
parser default, and importing the review store (SQLAlchemy, Alembic, pandas) with it cost
every CLI run most of a second. :func:`lazy_names` gives the package a ``__getattr__`` that
imports the module of a public name on first use.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Mapping


def lazy_names(package: str, api: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: each name of ``api`` (name -> module) is
    taken from its module, imported then."""

    def __getattr__(name: str) -> Any:
        if name in api:
            return getattr(importlib.import_module(api[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
