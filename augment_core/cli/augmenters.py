"""The CLI's side of the open registry: ``--augmenter``, ``--set NAME.PARAM=VALUE``, the
older per-parameter flags (``--aug-p``, ``--max-swaps``, ...) and ``augment-review
augmenters``. Everything here is derived from the augmenters' settings declarations."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import Any

from augment_core.augment.builtins import ALIAS_SWAP, CONTEXTUAL_SUBSTITUTE
from augment_core.augment.params import Param
from augment_core.augment.registry import plugin_problems, registered, resolve_settings

FLAG_PARAMS: dict[str, Param] = {
    p.name: p for spec in (ALIAS_SWAP, CONTEXTUAL_SUBSTITUTE) for p in spec.params()
}
"""The parameters that keep a flag of their own (``--aug-p`` for ``aug_p``, ...), from
before ``--set``: the flag sets that parameter on every chosen augmenter that declares one
of that name. Their declarations give the flags' defaults and checks."""


def flag_of(param: str) -> str:
    return "--" + param.replace("_", "-")


def default_of(param: str) -> Any:
    return FLAG_PARAMS[param].default


def add_registry_args(p: argparse.ArgumentParser, default_augmenters: tuple[str, ...]) -> None:
    names = list(registered())
    p.add_argument("--augmenter", action="append", metavar="NAME",
                   help=f"augmenter to run, repeatable: {', '.join(names)} (default {', '.join(default_augmenters)}); "
                   "or an adapter: snorkel:MODULE:ATTR (a Snorkel transformation function), nlpaug:CLASS (an nlpaug "
                   "augmenter class, e.g. nlpaug:nlpaug.augmenter.char.KeyboardAug); plug-ins installed as packages "
                   "appear by name (augment-review augmenters lists them all)")
    p.add_argument("--set", action="append", default=[], metavar="NAME.PARAM=VALUE", dest="sets",
                   help="set one parameter of one augmenter, repeatable, e.g. --set char_keyboard.aug_char_p=0.2 "
                   "(augment-review augmenters lists each augmenter's parameters); wins over the flags below")


def shared_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The per-parameter flags the user gave (not their defaults), each checked against
    its declaration under the flag's own name: one line, e.g. ``--max-swaps must be at least 1``."""
    out = {}
    for name, param in FLAG_PARAMS.items():
        value = getattr(args, name, None)
        if value is None or value == []:
            continue
        as_flag = dataclasses.replace(param, name=flag_of(name))
        out[name] = as_flag.check(tuple(value) if isinstance(value, list) else value)
    return out


def settings_from_args(args: argparse.Namespace, names: tuple[str, ...]) -> dict[str, Any]:
    return resolve_settings(names, args.sets, shared_from_args(args))


def add_augmenters_parser(sub: Any) -> None:
    a = sub.add_parser(
        "augmenters",
        help="list every augmenter (built-ins and installed plug-ins) with its parameters and defaults",
        description="One line per augmenter: its name, then each parameter as NAME=DEFAULT. Set a parameter "
        "with augment --set NAME.PARAM=VALUE. Plug-ins are found through the entry point group "
        "augment_review.augmenters; one that fails to load is reported on stderr and skipped.",
    )
    a.add_argument("--json", action="store_true",
                   help='print a JSON list of {"name", "help", "params": [{"name", "type", "default", "help"}]}')


def augmenters_cmd(args: argparse.Namespace) -> int:
    specs = registered()
    for line in plugin_problems():
        print(f"warning: {line}", file=sys.stderr)
    if args.json:
        print(json.dumps([{"name": s.name, "help": s.help, "params": [p.to_json() for p in s.params()]}
                          for s in specs.values()], indent=2))
        return 0
    for spec in specs.values():
        params = " ".join(f"{p.name}={_shown(p.default)}" for p in spec.params())
        print(f"{spec.name}  {params}".rstrip() + (f"  # {spec.help}" if spec.help else ""))
    return 0


def _shown(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(value) or "''"
    if value is None:
        return "none"
    return str(value).lower() if isinstance(value, bool) else (str(value) if value != "" else "''")
