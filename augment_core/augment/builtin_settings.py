"""How a built-in augmenter declares its parameters: a frozen dataclass whose fields carry
their help and bounds in ``metadata``.

One declaration gives the checks (one line per bad value, named as the CLI's
``--set NAME.PARAM=VALUE``), the run's recorded parameters, and later the CLI options and
the Augment page's form, which read the same fields.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from augment_core.errors import InputError


def param(default: Any, help: str, *, min: float | None = None, max: float | None = None,
          choices: tuple[str, ...] | None = None) -> Any:
    """A settings field: ``default`` plus what a form or ``--help`` shows and what is checked."""
    meta: dict[str, Any] = {"help": help}
    if min is not None:
        meta["min"] = min
    if max is not None:
        meta["max"] = max
    if choices is not None:
        meta["choices"] = choices
    return dataclasses.field(default=default, metadata=meta)


def check_settings(augmenter: str, settings: Any) -> None:
    """Each field within its declared bounds and choices, else one line naming the option."""
    for f in dataclasses.fields(settings):
        value = getattr(settings, f.name)
        option = f"--set {augmenter}.{f.name}"
        lo, hi, choices = f.metadata.get("min"), f.metadata.get("max"), f.metadata.get("choices")
        if choices is not None and value not in choices:
            raise InputError(f"{option} must be one of {', '.join(choices)}, got {value!r}")
        if value is None or isinstance(value, str):
            continue
        if lo is not None and value < lo:
            raise InputError(f"{option} must be at least {lo}, got {value}")
        if hi is not None and value > hi:
            raise InputError(f"{option} must be at most {hi}, got {value}")


def recorded(settings: Any) -> dict[str, Any]:
    """The settings as a run records them (JSON-ready)."""
    return {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}
