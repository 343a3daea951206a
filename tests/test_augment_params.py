"""Typed parameter declarations and ``--set NAME.PARAM=VALUE``."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from augment_core.augment import AugmenterSpec, Param, apply_sets, params_of, setting, settings_dict, settings_from
from augment_core.errors import InputError


@dataclass(frozen=True)
class Noise:
    aug_p: float = setting(0.3, "share of words changed", min=0.0, max=1.0)
    aug_max: int | None = setting(None, "at most this many changes", min=1)
    action: str = setting("substitute", "what to do", choices=("substitute", "swap"))
    stopwords: tuple[str, ...] = setting((), "words never changed")
    numeric: bool = setting(True, "may type digits")


SETTINGS = {"noise": Noise, "plain": None}


def test_params_are_derived_from_the_settings_class_in_field_order() -> None:
    params = params_of(Noise)
    assert [p.name for p in params] == ["aug_p", "aug_max", "action", "stopwords", "numeric"]
    assert params[0] == Param("aug_p", float, 0.3, "share of words changed", 0.0, 1.0)
    assert params[1].nullable and params[1].type_name == "int | None"
    assert [p.to_json() for p in params][2] == {
        "name": "action", "type": "str", "default": "substitute", "help": "what to do",
        "choices": ["substitute", "swap"]}
    assert params_of(None) == []


def test_sets_parse_into_a_settings_instance_over_the_defaults() -> None:
    out = apply_sets(["noise.aug_p=0.5", "noise.aug_max=none", "noise.stopwords=a, b", "noise.numeric=no",
                      "noise.action=swap", "noise.aug_p=0.25"], SETTINGS)
    assert out == {"noise": Noise(0.25, None, "swap", ("a", "b"), False), "plain": None}
    assert settings_dict(out["noise"]) == {"aug_p": 0.25, "aug_max": None, "action": "swap",
                                           "stopwords": ["a", "b"], "numeric": False}
    assert apply_sets([], SETTINGS)["noise"] == Noise()


@pytest.mark.parametrize("assignment, message", [
    ("noise.aug_p=2", "--set noise.aug_p=2: aug_p must be at most 1, not 2.0"),
    ("noise.aug_p=lots", "--set noise.aug_p=lots: aug_p must be a number, not 'lots'"),
    ("noise.aug_p=nan", "--set noise.aug_p=nan: aug_p must be a finite number, not nan"),
    ("noise.aug_max=0", "--set noise.aug_max=0: aug_max must be at least 1, not 0"),
    ("noise.aug_max=1.5", "--set noise.aug_max=1.5: aug_max must be a whole number, not '1.5'"),
    ("noise.action=drop", "--set noise.action=drop: action must be one of substitute, swap, not 'drop'"),
    ("noise.numeric=maybe", "--set noise.numeric=maybe: numeric must be true or false, not 'maybe'"),
    ("noise.typo=1", "--set noise.typo=1: noise has no parameter 'typo' (parameters: aug_p, aug_max, action, "
                     "stopwords, numeric)"),
    ("nois.aug_p=1", "--set nois.aug_p=1: unknown augmenter 'nois' (augmenters: noise, plain)"),
    ("plain.x=1", "--set plain.x=1: plain has no parameters"),
    ("noise=1", "--set noise=1: expected NAME.PARAM=VALUE, e.g. --set char_keyboard.aug_char_p=0.2"),
])
def test_bad_sets_are_one_line(assignment: str, message: str) -> None:
    with pytest.raises(InputError) as e:
        apply_sets([assignment], SETTINGS)
    assert str(e.value) == message and "\n" not in message


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_float_is_accepted_exactly_when_in_bounds(x: float) -> None:
    if 0.0 <= x <= 1.0:
        assert apply_sets([f"noise.aug_p={x!r}"], SETTINGS)["noise"].aug_p == x
    else:
        with pytest.raises(InputError):
            apply_sets([f"noise.aug_p={x!r}"], SETTINGS)


def test_typed_values_from_a_form_are_checked_too() -> None:
    assert settings_from(Noise, {"aug_p": 1, "stopwords": ["x"]}) == Noise(aug_p=1.0, stopwords=("x",))
    with pytest.raises(InputError, match="numeric must be true or false"):
        settings_from(Noise, {"numeric": 1})
    with pytest.raises(InputError, match="unknown parameter 'x'"):
        settings_from(Noise, {"x": 1})


def test_an_unsupported_declaration_is_refused_when_listed() -> None:
    @dataclass(frozen=True)
    class Bad:
        ratio: complex = setting(1j, "no")

    with pytest.raises(TypeError, match="unsupported parameter type"):
        params_of(Bad)


def test_a_spec_builds_with_the_declared_defaults() -> None:
    built = []
    spec = AugmenterSpec("noise", Noise, lambda s, ctx: built.append(s) or s)
    spec.build()
    spec.build(Noise(aug_p=0.1))
    assert built == [Noise(), Noise(aug_p=0.1)]
    assert [p.name for p in spec.params()][0] == "aug_p"
