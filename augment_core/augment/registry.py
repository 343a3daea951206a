"""The augmenters a run can name, found rather than listed.

Every augmenter, the built-ins included, is registered under the entry point group
``augment_review.augmenters`` (the built-ins in this project's ``pyproject.toml``), so adding
one touches no file here. ``--augmenter snorkel:MODULE:ATTR`` and ``nlpaug:CLASS`` are
adapters, made on demand. Each augmenter declares its parameters once, as a settings
dataclass; a job carries, per augmenter, an instance of it (or ``None`` when it declares
none), and this module builds the augmenters from those.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Mapping, Sequence

from augment_core.augment.adapters import adapter
from augment_core.augment.agreement import TrainKeywords
from augment_core.augment.augmenter import Augmenter
from augment_core.augment.builtins import EVERY_BUILTIN
from augment_core.augment.params import apply_sets, params_of, parse_set, settings_dict, settings_from
from augment_core.augment.plugins import discover
from augment_core.augment.protection import Protector
from augment_core.augment.spec import AugmenterSpec, BuildContext
from augment_core.errors import InputError


@lru_cache(maxsize=1)
def _found() -> tuple[tuple[AugmenterSpec, ...], tuple[str, ...], Mapping[str, str]]:
    errors: list[str] = []
    failed: dict[str, str] = {}
    return tuple(discover(errors, failed=failed).values()), tuple(errors), failed


def registered() -> dict[str, AugmenterSpec]:
    """Every augmenter by name: the built-ins first, in their display order, then the
    plug-ins by name. A built-in whose entry point is not installed (a source checkout
    never ``pip install``-ed) is still offered, from :data:`EVERY_BUILTIN`."""
    found = {s.name: s for s in _found()[0]}
    out = {b.name: found.pop(b.name, b) for b in EVERY_BUILTIN}
    out.update(found)
    return out


def plugin_problems() -> tuple[str, ...]:
    """One line per plug-in that could not be loaded (listed by ``augment-review augmenters``)."""
    return _found()[1]


def spec_of(name: str) -> AugmenterSpec:
    """The spec ``--augmenter NAME`` means: an adapter reference, or a registered name."""
    spec = adapter(name)
    if spec is not None:
        return spec
    known = registered()
    if name not in known and name in _found()[2]:  # installed, but its package's code failed to load
        raise InputError(f"--augmenter {name}: {_found()[2][name]}")
    if name not in known:
        raise InputError(f"unknown augmenter {name!r}: use {', '.join(known)}, snorkel:MODULE:ATTR or nlpaug:CLASS "
                         "(augment-review augmenters lists them)")
    return known[name]


def specs_of(names: Sequence[str]) -> dict[str, AugmenterSpec]:
    if not names:
        raise InputError("choose at least one augmenter")
    return {n: spec_of(n) for n in dict.fromkeys(names)}


def resolve_settings(names: Sequence[str], sets: Sequence[str] = (),
                     shared: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Each named augmenter's settings: its defaults, then ``shared`` values (the CLI's
    older flags such as ``--aug-p``, given to every augmenter that declares a parameter
    of that name), then the ``--set NAME.PARAM=VALUE`` assignments, which win."""
    specs = specs_of(names)
    for assignment in sets:
        name = parse_set(assignment)[0]
        if name not in specs and name in registered():
            raise InputError(f"--set {assignment}: {name} is not one of this run's augmenters ({', '.join(specs)}): "
                             f"add --augmenter {name}")
    out = apply_sets(sets, {n: s.settings for n, s in specs.items()})
    for name, spec in specs.items():
        if spec.settings is None or not shared:
            continue
        explicit = {param for n, param, _ in map(parse_set, sets) if n == name}
        given = {k: v for k, v in shared.items() if k not in explicit and k in {p.name for p in spec.params()}}
        if given:
            try:
                out[name] = settings_from(spec.settings, {**settings_dict(out[name]), **given})
            except InputError as e:
                raise InputError(f"{name}: {e}") from None
    return out


def checked_settings(names: Sequence[str], settings: Mapping[str, Any]) -> dict[str, Any]:
    """``settings`` (name -> settings instance, or a dict of values, or missing for the
    defaults) checked against each augmenter's declaration: one line for the first wrong."""
    out: dict[str, Any] = {}
    for name, spec in specs_of(names).items():
        given = settings.get(name)
        if spec.settings is None:
            out[name] = None
            continue
        values = settings_dict(given) if given is not None and not isinstance(given, Mapping) else dict(given or {})
        try:
            out[name] = settings_from(spec.settings, values)
        except InputError as e:
            raise InputError(f"{name}: {e}") from None
    return out


def plain_settings(settings: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Settings instances as plain values (JSON-ready, picklable whatever the class): how
    they travel to worker processes, which rebuild them with :func:`checked_settings`."""
    return {name: settings_dict(s) for name, s in settings.items()}


def protect_words(settings: Mapping[str, Any], extra: Sequence[str] = ()) -> tuple[str, ...]:
    """The run's protected words: ``extra`` and every augmenter's own ``protect`` parameter."""
    words = list(extra)
    for s in settings.values():
        words.extend(getattr(s, "protect", ()) or ())
    return tuple(dict.fromkeys(words))


def build_augmenters(names: Sequence[str], settings: Mapping[str, Any], keywords: TrainKeywords,
                     protect: Sequence[str] = (), train_texts: Sequence[str] = ()) -> list[Augmenter]:
    """The augmenters of a run, in the order named. ``settings``: as :func:`checked_settings`
    takes them (values travel as plain dicts to worker processes)."""
    typed = checked_settings(names, settings)
    context = BuildContext(keywords, run_protector(typed, keywords, protect), tuple(train_texts))
    return [spec_of(n).build(typed[n], context) for n in typed]


def run_protector(settings: Mapping[str, Any], keywords: TrainKeywords, protect: Sequence[str] = ()) -> Protector:
    """The keywords a run keeps safe: its augmenters protect them, and a variant that alters
    one anyway is flagged ``keyword_changed``. ``settings``: as :func:`checked_settings` gives."""
    return Protector(keywords.table, protect_words(settings, protect))


def uses_model(names: Sequence[str]) -> bool:
    """Whether an augmenter of ``names`` runs a model: it declares where (a ``device``)."""
    return any(any(p.name == "device" for p in spec_of(n).params()) for n in dict.fromkeys(names))


def fits_train(names: Sequence[str]) -> bool:
    """Whether an augmenter of ``names`` is fitted on the train split's texts."""
    return any(spec_of(n).fits_train for n in dict.fromkeys(names))


def device_of(settings: Mapping[str, Any]) -> str:
    """The device the run's model augmenters ask for (``auto`` when none says)."""
    for s in settings.values():
        if getattr(s, "device", "auto") != "auto":
            return str(s.device)
    return "auto"


def settings_from_params(augmenters: Sequence[Mapping[str, Any]]) -> tuple[list[str], dict[str, Any]]:
    """The augmenter names and settings a run's ``params["augmenters"]`` were made with
    (``[{"name": a.name, **a.params()}]``), as far as they are still known and readable:
    what the Augment page offers again for the next run. Recorded values that no longer
    fit a declaration fall back to its defaults."""
    names: list[str] = []
    settings: dict[str, Any] = {}
    known = registered()
    for entry in augmenters:
        spec = known.get(str(entry.get("name")))
        if spec is None:
            continue
        names.append(spec.name)
        if spec.settings is None:
            settings[spec.name] = None
            continue
        declared = {p.name for p in params_of(spec.settings)}
        values = {k: v for k, v in entry.items() if k in declared}
        try:
            settings[spec.name] = settings_from(spec.settings, values)
        except InputError:
            settings[spec.name] = spec.settings()
    return names, settings
