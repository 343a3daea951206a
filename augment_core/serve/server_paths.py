"""The folders a served app may read and write on its own machine, and the one check.

Fields that take a path on the server (the Augment page's "Load a run" and model path, the
Export page's "Write to" for a run reviewed by sample) read or write as the server's user.
Each path given there must resolve, after symlinks and ``..``, inside a folder the operator
configured; else :class:`OutsideServerDirs`, one line, before anything is read or written.

The folders come from both places, in this order, and every one of them counts (union):

1. ``server_dirs = ["/srv/runs", ...]`` in the ``[augment_review]`` section of the secrets;
2. the environment variable ``AUGMENT_REVIEW_SERVER_DIRS`` (folders separated by
   ``os.pathsep``: ``:`` on Linux and macOS).

A relative path is taken inside the first folder. What the app allows when neither is set
(nothing with sign-in; the working folder and the data folder without) is the app's call,
see ``app_support.access.server_dirs``.

A path that is outside, and a path inside that does not exist (for reads), get the same
message, so the fields never tell whether something outside exists.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from augment_core.errors import MODEL_OPTION, InputError

ENV = "AUGMENT_REVIEW_SERVER_DIRS"
HUB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)?$")
"""A Hugging Face hub id, ``name`` or ``org/name``: what a model field may hold besides a path."""
DIRS_KEY = "server_dirs"
"""In the ``[augment_review]`` secrets section: the folders server paths must stay in."""


class ServerDirsError(ValueError):
    """The ``server_dirs`` setting is not a list of folder paths."""


class OutsideServerDirs(InputError):
    """A path outside the configured folders (or, for a read, missing inside them)."""


def parse_dirs(raw: Any) -> tuple[str, ...]:
    """The ``server_dirs`` setting's entries; None or empty: none. Raises
    :class:`ServerDirsError` for anything but a list of non-empty strings."""
    if raw is None:
        return ()
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, (list, tuple)) or not all(isinstance(d, str) and d.strip() for d in raw):
        raise ServerDirsError(f"{DIRS_KEY} must be a list of folder paths")
    return tuple(d.strip() for d in raw)


def env_dirs(value: str | None) -> tuple[str, ...]:
    """The folders in ``AUGMENT_REVIEW_SERVER_DIRS`` (empty entries skipped)."""
    return tuple(d.strip() for d in (value or "").split(os.pathsep) if d.strip())


def _real(path: str | os.PathLike[str]) -> Path:
    """The path with ``~`` expanded, made absolute, every symlink followed and ``..``
    folded (a part that does not exist yet is kept as written)."""
    return Path(os.path.realpath(os.path.expanduser(os.fspath(path))))


@dataclass(frozen=True)
class ServerDirs:
    """The folders server paths must resolve into (resolved themselves); none: no server path."""

    roots: tuple[Path, ...] = ()

    @classmethod
    def of(cls, *groups: Iterable[str | os.PathLike[str]]) -> ServerDirs:
        """Every folder of every group, resolved, in order, once each."""
        roots: list[Path] = []
        for group in groups:
            for d in group:
                real = _real(d)
                if real not in roots:
                    roots.append(real)
        return cls(tuple(roots))

    def __bool__(self) -> bool:
        return bool(self.roots)

    def describe(self) -> str:
        return ", ".join(str(r) for r in self.roots) or "none configured"

    def _inside(self, real: Path) -> bool:
        return any(real == root or real.is_relative_to(root) for root in self.roots)

    def resolve(self, path: str | os.PathLike[str]) -> Path | None:
        """The path resolved (a relative one inside the first folder), or None when it is
        empty, malformed or resolves outside every folder."""
        given = os.fspath(path).strip() if isinstance(path, (str, os.PathLike)) else ""
        if not given or not self.roots or "\x00" in given:
            return None
        expanded = os.path.expanduser(given)
        try:
            real = _real(expanded if os.path.isabs(expanded) else self.roots[0] / expanded)
        except (OSError, ValueError):
            return None
        return real if self._inside(real) else None

    def confine(self, path: str | os.PathLike[str], *, must_exist: bool = False) -> Path:
        """The path resolved inside a configured folder; :class:`OutsideServerDirs` when it
        is not there (or, with ``must_exist``, does not exist there: the same message, so
        an outside path's existence is never told)."""
        real = self.resolve(path)
        if real is None or (must_exist and not real.exists()):
            shown = os.fspath(path) if isinstance(path, (str, os.PathLike)) else repr(path)
            what = "no such file or folder" if must_exist else "not a place this server may write"
            raise OutsideServerDirs(f"{shown}: {what} inside the server folders ({self.describe()}); nothing was "
                                    f"{'read' if must_exist else 'written'}")
        return real


def model_location(dirs: ServerDirs, model: str) -> str:
    """What to hand the model loader for a model field's value: a hub id (``name`` or
    ``org/name``) as it is; anything else is a path on the server, confined to ``dirs`` and
    required to exist (:class:`OutsideServerDirs` otherwise: one message whether an outside
    path exists or not)."""
    name = model.strip()
    if HUB_NAME.match(name) and ".." not in name.split("/"):
        return name
    try:
        return str(dirs.confine(name, must_exist=True))
    except OutsideServerDirs as exc:
        raise OutsideServerDirs(f"cannot load model {exc}: point {MODEL_OPTION} at a model folder inside "
                                "them, or give a hub name") from None
