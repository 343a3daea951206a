"""What an augmenter registers: its name, its settings class and how to build it.

Built-ins and plug-ins alike publish an :class:`AugmenterSpec` (a plain function is wrapped
into one by :mod:`augment_core.augment.plugins`); the CLI and the app list, configure and
build augmenters through specs only, so none of them needs a central table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from augment_core.augment.agreement import TrainKeywords
from augment_core.augment.augmenter import Augmenter
from augment_core.augment.params import Param, params_of
from augment_core.augment.protection import Protector


@dataclass(frozen=True)
class BuildContext:
    """What a run knows besides the settings, for the augmenters that need it. New fields
    are only ever added, with defaults, so existing factories keep working."""

    keywords: TrainKeywords | None = None
    """The alias table as the train split attests it (alias swap, agreement)."""
    protector: Protector | None = None
    """The run's protected spans: tag keywords and ``--protect`` words."""
    train_texts: Sequence[str] = ()
    """The train split's texts, for augmenters fitted on data (TF-IDF): never the others."""


Factory = Callable[[Any, BuildContext], Augmenter]
"""(settings instance or ``None``, context) -> augmenter."""

NAME = re.compile(r"[A-Za-z0-9_.:-]+")
"""What an augmenter's name may hold: it is part of every variant's id (``parent~name~k``)
and of ``--set NAME.PARAM=VALUE``, so no ``~``, ``=`` or spaces."""


@dataclass(frozen=True)
class AugmenterSpec:
    name: str
    settings: type | None
    """A dataclass declaring the parameters (see :func:`augment_core.augment.params.setting`),
    or ``None`` for an augmenter without any."""
    factory: Factory
    help: str = ""
    """One line for listings."""

    def __post_init__(self) -> None:
        if not NAME.fullmatch(self.name):
            raise ValueError(f"augmenter name {self.name!r} may hold only letters, digits and _ . : -")

    def params(self) -> list[Param]:
        return params_of(self.settings)

    def build(self, settings: Any = None, context: BuildContext | None = None) -> Augmenter:
        """The augmenter for ``settings`` (the declared defaults when ``None``)."""
        if settings is None and self.settings is not None:
            settings = self.settings()
        return self.factory(settings, context or BuildContext())
