"""Augmenters other packages provide, found through entry points.

A package registers an augmenter under the ``augment_review.augmenters`` group; the entry
point names either a plain function ``(text, rng) -> text`` (wrapped in a
:class:`FunctionAugmenter`, no parameters) or an :class:`AugmenterSpec`-like object (``name``,
``settings``, ``factory``). Loading runs the package's code, so a broken one is reported
in one line and skipped: it never hides the others, nor stops the CLI or the app.
"""

from __future__ import annotations

import inspect
import logging
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from augment_core.augment.function import FunctionAugmenter, one_line
from augment_core.augment.params import params_of
from augment_core.augment.spec import AugmenterSpec

GROUP = "augment_review.augmenters"
log = logging.getLogger(__name__)


def discover(errors: list[str] | None = None, group: str = GROUP,
             failed: dict[str, str] | None = None) -> dict[str, AugmenterSpec]:
    """Every loadable augmenter registered under ``group``, by name, sorted. Problems (an
    import error, an object that is no augmenter, a name taken twice) are appended to
    ``errors`` as one line each, or logged as a warning when ``errors`` is not given;
    ``failed`` gets each skipped entry point's name and line, so a run that names one can
    say why it cannot be used rather than that no such augmenter exists."""
    specs: dict[str, AugmenterSpec] = {}
    problems: list[str] = []
    failed = {} if failed is None else failed
    for ep in sorted(entry_points(group=group), key=lambda e: (e.name, e.value)):
        try:
            spec = as_spec(ep.name, ep.load())
            params_of(spec.settings)  # a bad declaration fails here, not when listed
        except Exception as e:
            problems.append(f"augmenter plug-in {ep.name} ({_origin(ep)}) skipped: {one_line(e)}")
            failed.setdefault(ep.name, problems[-1])
            continue
        if spec.name in specs:
            problems.append(f"augmenter plug-in {ep.name} ({_origin(ep)}) skipped: the name {spec.name} is taken")
            failed.setdefault(ep.name, problems[-1])
            continue
        specs[spec.name] = spec
    if errors is not None:
        errors.extend(problems)
    else:
        for line in problems:
            log.warning(line)
    return specs


def as_spec(name: str, obj: Any) -> AugmenterSpec:
    """What an entry point names, as a spec: a spec-like object, or a text function."""
    if isinstance(obj, AugmenterSpec):
        return obj
    if all(hasattr(obj, a) for a in ("name", "settings", "factory")):
        return AugmenterSpec(str(obj.name), obj.settings, obj.factory, str(getattr(obj, "help", "")))
    if callable(obj) and not inspect.isclass(obj):
        _check_text_function(obj)
        doc = (inspect.getdoc(obj) or "").strip().splitlines()
        return AugmenterSpec(name, None, lambda _settings, _context: FunctionAugmenter(name, obj),
                             doc[0] if doc else "")
    raise TypeError(f"{type(obj).__name__} is neither a function (text, rng) -> text nor an AugmenterSpec")


def _check_text_function(fn: Any) -> None:
    try:
        inspect.signature(fn).bind("text", None)
    except TypeError:
        raise TypeError("the function must take (text, rng)") from None
    except ValueError:  # no signature to read (a builtin): trust it
        pass


def _origin(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return f"{ep.value} from {dist.name}" if dist is not None else ep.value
