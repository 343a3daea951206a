"""The augmenters by name, and how each is built from one set of settings.

The CLI and the Augment page list, check and build augmenters through this one table, so
a new augmenter (or a new parameter) is added in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Callable, Mapping, Sequence

from augment_core.augment.agreement import TrainKeywords
from augment_core.augment.augmenter import Augmenter
from augment_core.errors import InputError


@dataclass(frozen=True)
class AugmenterSettings:
    """Every augmenter's parameters; each factory takes the ones it needs."""

    max_swaps: int = 1
    min_agreement: float | None = None
    engine: str = "native"
    model: str | None = None
    aug_p: float = 0.3
    aug_max: int | None = None
    top_k: int = 50
    device: str = "auto"
    precision: str = "auto"
    protect: tuple[str, ...] = field(default=())
    batch_size: int = 32

    @classmethod
    def from_values(cls, values: Mapping[str, Any], prefix: str = "") -> "AugmenterSettings":
        """The settings named in ``values`` (the CLI's parsed flags, the Augment page's form
        under ``prefix``, a run's recorded parameters); those not named keep their defaults,
        other keys are ignored. The one place settings are built from a bag of values."""
        given = {f.name: values[prefix + f.name] for f in fields(cls) if prefix + f.name in values}
        if given.get("protect") is not None:
            given["protect"] = tuple(given["protect"])
        return cls(**given)

    def check(self) -> None:
        """One-line errors, named as the CLI's flags (the app rewords them)."""
        if self.max_swaps < 1:
            raise InputError("--max-swaps must be at least 1")
        if self.min_agreement is not None and not 0.0 <= self.min_agreement <= 1.0:
            raise InputError("--min-agreement must be between 0 and 1")
        if not 0.0 < self.aug_p <= 1.0:
            raise InputError("--aug-p must be in (0, 1]")
        if self.engine not in ("native", "nlpaug"):
            raise InputError(f"unknown engine {self.engine!r}: use native or nlpaug")


Factory = Callable[[AugmenterSettings, TrainKeywords], Augmenter]


def _alias_swap(s: AugmenterSettings, keywords: TrainKeywords) -> Augmenter:
    from augment_core.augment.alias_swap import AliasSwap

    return AliasSwap(keywords.table, max_swaps=s.max_swaps, agreement=keywords.by_key, min_agreement=s.min_agreement)


def _contextual(action: str) -> Factory:
    def build(s: AugmenterSettings, keywords: TrainKeywords) -> Augmenter:
        from augment_core.augment.contextual import make_contextual

        native: dict[str, Any] = {"precision": s.precision} if s.engine == "native" else {}
        return make_contextual(
            action, s.engine, model=s.model, aug_p=s.aug_p, aug_max=s.aug_max, top_k=s.top_k,  # type: ignore[arg-type]
            device=s.device, protected_table=keywords.table, protect_words=s.protect, batch_size=s.batch_size,
            **native,
        )

    return build


AUGMENTERS: dict[str, Factory] = {
    "alias_swap": _alias_swap,
    "contextual_substitute": _contextual("substitute"),
    "contextual_insert": _contextual("insert"),
}
"""name -> factory, in display order."""

USES_MODEL = frozenset({"contextual_substitute", "contextual_insert"})


def build_augmenters(names: Sequence[str], settings: AugmenterSettings, keywords: TrainKeywords) -> list[Augmenter]:
    unknown = [n for n in names if n not in AUGMENTERS]
    if unknown:
        raise InputError(f"unknown augmenter {unknown[0]!r}: use {', '.join(AUGMENTERS)}")
    if not names:
        raise InputError("choose at least one augmenter")
    settings.check()
    return [AUGMENTERS[n](settings, keywords) for n in dict.fromkeys(names)]


def settings_from_params(augmenters: Sequence[dict[str, Any]]) -> tuple[list[str], AugmenterSettings]:
    """The augmenter names and settings a run's ``params["augmenters"]`` were made with
    (the inverse of ``[{"name": a.name, **a.params()}]``, as far as the params record it):
    what the Augment page offers again for the next run."""
    names: list[str] = []
    values: dict[str, Any] = {}
    for entry in augmenters:
        if entry.get("name") in AUGMENTERS:
            names.append(entry["name"])
        values.update(entry)
    return names, AugmenterSettings.from_values(values)
