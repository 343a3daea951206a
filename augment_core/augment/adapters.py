"""Adapters: Snorkel transformation functions and nlpaug augmenters as augmenters here.

Both libraries draw from Python's global ``random`` and NumPy's global generator, so before
each call both are seeded from (seed, augmenter, row id, variant number), and put back as
they were afterwards: a row's variants depend only on the row, the parameters and the seed.
Their output is only text; the change spans come from the word-level diff, and protected
keywords are checked afterwards (:func:`augment_core.augment.keyword_changed`), the
variant kept either way for the reviewer to decide.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import random
from contextlib import contextmanager
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from augment_core.augment.augmenter import Progress
from augment_core.augment.changes import Candidate
from augment_core.augment.function import collect_variants, one_line, run_rows, with_spans
from augment_core.augment.params import setting
from augment_core.augment.spec import AugmenterSpec
from augment_core.errors import InputError
from augment_core.rng import row_seed

SNORKEL = "snorkel:"
NLPAUG = "nlpaug:"


def seed_globals(seed: int, *parts: object) -> None:
    """Seed Python's and NumPy's global generators for one call (``random.seed`` with the
    string :func:`augment_core.rng.row_rng` uses, so both give the same stream)."""
    random.seed("|".join([str(seed), *map(str, parts)]))
    np.random.seed(row_seed(seed, *parts) % 2**32)


@contextmanager
def global_rng_kept() -> Iterator[None]:
    """The caller's global random states, back as they were once the block ends."""
    py, npy = random.getstate(), np.random.get_state()
    try:
        yield
    finally:
        random.setstate(py)
        np.random.set_state(npy)


def _import(module: str, attr: str, ref: str) -> Any:
    try:
        obj: Any = importlib.import_module(module)
    except Exception as e:
        raise InputError(f"{ref}: cannot import {module}: {one_line(e)}") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise InputError(f"{ref}: {module} has no {attr}")
        obj = getattr(obj, part)
    return obj


# --- Snorkel -------------------------------------------------------------------------------

class SnorkelAugmenter:
    """A Snorkel transformation function on each row (a pandas Series of the user's columns
    plus ``text``, the joined text); the returned row's ``text`` is the variant, ``None`` no
    variant. Called like Snorkel's pandas applier does, one row at a time."""

    def __init__(self, name: str, tf: Any, reference: str) -> None:
        self._name = name
        self.tf = tf
        self.reference = reference

    @property
    def name(self) -> str:
        return self._name

    def params(self) -> dict[str, Any]:
        return {"transformation_function": self.reference}

    def generate(self, texts: Sequence[str], row_ids: Sequence[str], n_per_original: int, seed: int,
                 progress: Progress | None = None, rows: Sequence[Mapping[str, Any]] | None = None,
                 ) -> list[list[Candidate]]:
        """``rows``: each row's own columns (the Series the function sees holds them and
        ``text``); without them it holds ``id`` and ``text``."""
        import pandas as pd  # a Snorkel function takes the row as pandas does; an alias-swap run never imports it

        cells = {rid: dict(row) for rid, row in zip(row_ids, rows, strict=True)} if rows is not None else {}

        def one_row(text: str, row_id: str) -> list[str]:
            base = pd.Series({**cells.get(row_id, {"id": row_id}), "text": text})

            def attempt(k: int) -> str | None:
                seed_globals(seed, self._name, row_id, k)
                out = self.tf(base.copy())
                return None if out is None else out["text"]

            return collect_variants(text, n_per_original, attempt, self._name, row_id)

        with global_rng_kept():
            return with_spans(texts, run_rows(texts, row_ids, n_per_original, progress, one_row))


def snorkel_adapter(ref: str) -> AugmenterSpec:
    """``snorkel:MODULE:ATTR`` (a transformation function importable from MODULE) as a spec;
    the augmenter is named as the function is (Snorkel's ``name``)."""
    body = ref[len(SNORKEL):] if ref.startswith(SNORKEL) else ref
    module, sep, attr = body.partition(":")
    if not sep or not module or not attr:
        raise InputError(f"{ref}: expected snorkel:MODULE:ATTR, e.g. snorkel:my_tfs:swap_aliases")
    tf = _import(module, attr, ref)
    if not callable(tf):
        raise InputError(f"{ref}: {attr} is a {type(tf).__name__}, not a transformation function")
    name = f"{SNORKEL}{getattr(tf, 'name', None) or attr}"
    return AugmenterSpec(name, None, lambda _s, _c: SnorkelAugmenter(name, tf, f"{module}:{attr}"),
                         f"Snorkel transformation function {module}:{attr}")


# --- nlpaug --------------------------------------------------------------------------------

_NOT_SETTINGS = frozenset({"self", "name", "verbose", "tokenizer", "reverse_tokenizer", "stopwords_regex"})


class NlpaugAugmenter:
    """Any nlpaug augmenter class, built once with its keyword arguments, called once per
    wanted variant with the global generators seeded for that row and variant."""

    def __init__(self, name: str, class_path: str, kwargs: Mapping[str, Any]) -> None:
        self._name = name
        self.class_path = class_path
        self.kwargs = dict(kwargs)
        cls = _nlpaug_class(class_path)
        try:
            self.aug = cls(**self.kwargs)
        except Exception as e:
            raise InputError(f"{name}: {one_line(e)}") from None

    @property
    def name(self) -> str:
        return self._name

    def params(self) -> dict[str, Any]:
        return {"class": self.class_path, **self.kwargs}

    def generate(self, texts: Sequence[str], row_ids: Sequence[str], n_per_original: int, seed: int,
                 progress: Progress | None = None) -> list[list[Candidate]]:
        def one_row(text: str, row_id: str) -> list[str]:
            def attempt(k: int) -> str | None:
                seed_globals(seed, self._name, row_id, k)
                out = self.aug.augment(text)
                if isinstance(out, list):  # nlpaug 1.1.11 returns a list, older ones a str
                    return out[0] if out else None
                return out

            return collect_variants(text, n_per_original, attempt, self._name, row_id)

        with global_rng_kept():
            return with_spans(texts, run_rows(texts, row_ids, n_per_original, progress, one_row))


def _nlpaug_class(class_path: str) -> Any:
    module, _, attr = class_path.rpartition(".")
    if not class_path.startswith("nlpaug.") or not module:
        raise InputError(f"{NLPAUG}{class_path}: expected an nlpaug class, e.g. nlpaug:nlpaug.augmenter.char.KeyboardAug")
    cls = _import(module, attr, NLPAUG + class_path)
    if not inspect.isclass(cls) or not hasattr(cls, "augment"):
        raise InputError(f"{NLPAUG}{class_path}: not an nlpaug augmenter class")
    return cls


def nlpaug_settings(class_path: str) -> type:
    """A settings dataclass declaring the class's simple keyword arguments (bool, int, float,
    str; those defaulting to ``None`` as ``str | None``, read as Python literals), so
    ``--set nlpaug:CLASS.PARAM=VALUE`` and the form work as for any augmenter."""
    cls = _nlpaug_class(class_path)
    fields = []
    for p in inspect.signature(cls.__init__).parameters.values():
        if p.name in _NOT_SETTINGS or p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            continue
        default = p.default
        if default is None:
            kind: Any = str | None
        elif type(default) in (bool, int, float, str):
            kind = type(default)
        else:
            continue
        fields.append((p.name, kind, setting(default, f"nlpaug {cls.__name__}({p.name}=...)")))
    return dataclasses.make_dataclass(f"{cls.__name__}Settings", fields, frozen=True)


def nlpaug_kwargs(settings: Any) -> dict[str, Any]:
    """The keyword arguments to pass (all of them, so the run records them even if nlpaug's
    defaults change), text given for a ``None``-default parameter read as a Python literal."""
    out = {}
    for f in dataclasses.fields(settings):
        value = getattr(settings, f.name)
        if f.default is None and isinstance(value, str):
            try:
                value = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                pass
        out[f.name] = value
    return out


def nlpaug_adapter(ref: str) -> AugmenterSpec:
    """``nlpaug:nlpaug.augmenter.char.KeyboardAug`` (any nlpaug augmenter class) as a spec
    whose settings are the class's keyword arguments."""
    class_path = ref[len(NLPAUG):] if ref.startswith(NLPAUG) else ref
    name = NLPAUG + class_path
    settings_cls = nlpaug_settings(class_path)
    return AugmenterSpec(name, settings_cls, lambda s, _c: NlpaugAugmenter(name, class_path, nlpaug_kwargs(s)),
                         f"nlpaug {class_path}")


def adapter(ref: str) -> AugmenterSpec | None:
    """The spec an ``--augmenter`` value names when it is an adapter reference, else ``None``."""
    if ref.startswith(SNORKEL):
        return snorkel_adapter(ref)
    if ref.startswith(NLPAUG):
        return nlpaug_adapter(ref)
    return None


