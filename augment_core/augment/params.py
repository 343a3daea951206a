"""Typed parameters: an augmenter declares its settings once, as a dataclass.

The CLI's ``--set NAME.PARAM=VALUE``, the Augment page's form, ``augment-review
augmenters`` and the run's recorded parameters are all derived from that one declaration,
so adding an augmenter (or a parameter) touches no central file. Declare a field with
:func:`setting` to give it help text and bounds::

    @dataclass(frozen=True)
    class KeyboardSettings:
        aug_char_p: float = setting(0.1, "share of characters changed per word", min=0.0, max=1.0)
        include_numeric: bool = setting(True, "may also type a digit")

Supported field types: ``int``, ``float``, ``str``, ``bool``, ``tuple[str, ...]`` (given
comma-separated) and any of those ``| None`` (given as ``none``).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from augment_core.errors import InputError

_TYPES: dict[type, str] = {int: "int", float: "float", str: "str", bool: "bool", tuple: "list[str]"}
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


@dataclass(frozen=True)
class Param:
    """One parameter of an augmenter, as forms, listings and ``--set`` see it."""

    name: str
    type: type
    """``int``, ``float``, ``str``, ``bool`` or ``tuple`` (of strings)."""
    default: Any
    help: str
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] | None = None
    nullable: bool = False
    """Whether ``None`` (``none`` on the command line) is allowed: "not set, use the library's own"."""

    @property
    def type_name(self) -> str:
        return _TYPES[self.type] + (" | None" if self.nullable else "")

    def to_json(self) -> dict[str, Any]:
        """As ``augment-review augmenters --json`` lists it (bounds only when declared)."""
        out: dict[str, Any] = {"name": self.name, "type": self.type_name,
                               "default": list(self.default) if isinstance(self.default, tuple) else self.default,
                               "help": self.help}
        for key in ("min", "max"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.choices is not None:
            out["choices"] = list(self.choices)
        return out

    def parse(self, raw: str) -> Any:
        """A command-line string as this parameter's value, checked; ``InputError`` (no
        prefix: the caller says where the value came from) when it is not one."""
        text = raw.strip()
        if self.nullable and text.lower() in ("none", "null", ""):
            return None
        try:
            if self.type is bool:
                if text.lower() not in _TRUE | _FALSE:
                    raise ValueError
                value: Any = text.lower() in _TRUE
            elif self.type is tuple:
                value = tuple(part.strip() for part in text.split(",") if part.strip())
            else:
                value = self.type(text)
        except ValueError:
            raise InputError(f"{self.name} must be {_AN[self.type]}, not {raw!r}") from None
        return self.check(value)

    def check(self, value: Any) -> Any:
        """``value`` if it fits the declaration (type, bounds, choices), else ``InputError``;
        for values that come typed (a form), not as text."""
        if value is None:
            if self.nullable:
                return None
            raise InputError(f"{self.name} must be set")
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if self.type is tuple and isinstance(value, list):
            value = tuple(value)
        if not isinstance(value, self.type) or (self.type is not bool and isinstance(value, bool)):
            raise InputError(f"{self.name} must be {_AN[self.type]}, not {value!r}")
        return self._in_bounds(value)

    def _in_bounds(self, value: Any) -> Any:
        if self.type is float and not math.isfinite(value):
            raise InputError(f"{self.name} must be a finite number, not {value!r}")
        if self.min is not None and value < self.min:
            raise InputError(f"{self.name} must be at least {self.min:g}, not {value!r}")
        if self.max is not None and value > self.max:
            raise InputError(f"{self.name} must be at most {self.max:g}, not {value!r}")
        if self.choices is not None and value not in self.choices:
            raise InputError(f"{self.name} must be one of {', '.join(map(str, self.choices))}, not {value!r}")
        return value


_AN = {int: "a whole number", float: "a number", str: "text", bool: "true or false", tuple: "a comma-separated list"}


def setting(default: Any, help: str, *, min: float | None = None, max: float | None = None,
            choices: Sequence[Any] | None = None) -> Any:
    """A settings-dataclass field with its help text and bounds (read by :func:`params_of`)."""
    meta = {"help": help, "min": min, "max": max, "choices": tuple(choices) if choices is not None else None}
    return dataclasses.field(default=default, metadata=meta)


def params_of(settings_cls: type | None) -> list[Param]:
    """The parameters a settings dataclass declares, in field order (none for ``None``)."""
    if settings_cls is None:
        return []
    hints = typing.get_type_hints(settings_cls)
    out = []
    for f in dataclasses.fields(settings_cls):
        base, nullable = _base_type(hints[f.name], f"{settings_cls.__name__}.{f.name}")
        if f.default is dataclasses.MISSING:
            raise TypeError(f"{settings_cls.__name__}.{f.name} needs a default")
        out.append(Param(f.name, base, f.default, f.metadata.get("help", ""), f.metadata.get("min"),
                         f.metadata.get("max"), f.metadata.get("choices"), nullable))
    return out


def _base_type(hint: Any, where: str) -> tuple[type, bool]:
    args = typing.get_args(hint)
    nullable = False
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            hint, nullable = rest[0], True
    if typing.get_origin(hint) is tuple and typing.get_args(hint) == (str, ...):
        return tuple, nullable
    if hint in (int, float, str, bool):
        return hint, nullable
    raise TypeError(f"{where}: unsupported parameter type {hint!r} (use int, float, str, bool, tuple[str, ...])")


def settings_from(settings_cls: type, values: Mapping[str, Any]) -> Any:
    """An instance of ``settings_cls`` with ``values`` (typed, or strings to parse) over its
    defaults; ``InputError`` naming the parameter when one is unknown or does not fit."""
    params = {p.name: p for p in params_of(settings_cls)}
    checked = {}
    for name, value in values.items():
        if name not in params:
            known = ", ".join(params) or "none"
            raise InputError(f"unknown parameter {name!r} (parameters: {known})")
        param = params[name]
        checked[name] = param.parse(value) if isinstance(value, str) and param.type is not str else param.check(value)
    return settings_cls(**checked)


def parse_set(assignment: str) -> tuple[str, str, str]:
    """``NAME.PARAM=VALUE`` as (augmenter, parameter, raw value); the parameter is what
    follows the last dot, since adapter names (``nlpaug:nlpaug.augmenter.char.KeyboardAug``)
    hold dots and parameter names never do."""
    target, sep, raw = assignment.partition("=")
    name, dot, param = target.strip().rpartition(".")
    if not sep or not dot or not name or not param:
        raise InputError(f"--set {assignment}: expected NAME.PARAM=VALUE, e.g. --set char_keyboard.aug_char_p=0.2")
    return name, param.strip(), raw


def apply_sets(assignments: Sequence[str], settings: Mapping[str, type | None]) -> dict[str, Any]:
    """Each augmenter's settings instance (``None`` for one without settings) with the
    ``--set`` assignments applied over the defaults; a later assignment of the same
    parameter wins. ``settings``: augmenter name -> its settings class. Errors are one line
    that repeats the assignment."""
    declared = {name: {p.name: p for p in params_of(cls)} for name, cls in settings.items()}
    values: dict[str, dict[str, Any]] = {name: {} for name in settings}
    for assignment in assignments:
        name, param, raw = parse_set(assignment)
        if name not in settings:
            raise InputError(f"--set {assignment}: unknown augmenter {name!r} (augmenters: {', '.join(settings)})")
        if not declared[name]:
            raise InputError(f"--set {assignment}: {name} has no parameters")
        if param not in declared[name]:
            known = ", ".join(declared[name])
            raise InputError(f"--set {assignment}: {name} has no parameter {param!r} (parameters: {known})")
        try:
            values[name][param] = declared[name][param].parse(raw)
        except InputError as e:
            raise InputError(f"--set {assignment}: {e}") from None
    return {name: None if cls is None else cls(**values[name]) for name, cls in settings.items()}


def settings_dict(settings: Any) -> dict[str, Any]:
    """A settings instance as the run records it (JSON-ready: tuples become lists)."""
    if settings is None:
        return {}
    return {f.name: list(v) if isinstance(v := getattr(settings, f.name), tuple) else v
            for f in dataclasses.fields(settings)}
