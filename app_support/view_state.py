"""A page's view (filters, sort, mode, page number) kept in the URL's query parameters, so a
reload or a shared link shows the same view.

A page lists its view fields (widget key -> :class:`Field`), calls :func:`restore` before
drawing the widgets and :func:`publish` after. On entering the page (a reload, a link, or
coming back from another page) the fields are read from the URL, or, when the URL has none
of them, from what this session last showed; values that are not among a widget's options
now (a tag that is gone, a malformed number) are dropped. Only values that differ from the
defaults go in the URL. Other query parameters (``dataset``) are left alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import streamlit as st


@dataclass(frozen=True)
class Field:
    param: str
    """The query parameter's name."""
    kind: str
    """``one`` (a value among options), ``many`` (values among options, repeated parameter),
    ``text``, ``number`` (a float in [lo, hi]), ``range`` (``lo,hi``), ``int`` (>= 1)."""
    default: Any
    lo: float = 0.0
    hi: float = 1.0


def _decode(field: Field, raw: list[str], options: Sequence[Any] | None) -> Any:
    """The widget value for the parameter's strings, or None when they do not fit."""
    if not raw:
        return None
    by_text = {str(o): o for o in options} if options is not None else {}
    if field.kind == "many":
        values = [by_text[v] for v in dict.fromkeys(raw) if v in by_text]
        return values or None
    value = raw[-1]
    if field.kind == "one":
        return by_text.get(value)
    if field.kind == "text":
        return value[:500]
    try:
        if field.kind == "int":
            number = int(value)
            return number if number >= 1 else None
        if field.kind == "number":
            x = float(value)
            return x if math.isfinite(x) and field.lo <= x <= field.hi else None
        if field.kind == "range":
            lo, hi = (float(p) for p in value.split(","))
            ok = all(math.isfinite(x) for x in (lo, hi)) and field.lo <= lo <= hi <= field.hi
            return (lo, hi) if ok else None
    except ValueError:
        return None
    return None


def _encode(field: Field, value: Any) -> str | list[str]:
    if field.kind == "many":
        return [str(v) for v in value]
    if field.kind == "range":
        return f"{value[0]:g},{value[1]:g}"
    if field.kind == "number":
        return f"{value:g}"
    return str(value)


def restore(fields: Mapping[str, Field], options: Mapping[str, Sequence[Any]], memory_key: str, entered: bool) -> None:
    """Put the view in session state before the widgets are drawn (on entering the page,
    or where a key has no value yet)."""
    memory: dict[str, Any] = st.session_state.get(memory_key, {})
    in_url = any(f.param in st.query_params for f in fields.values())
    for key, field in fields.items():
        if not entered and key in st.session_state:
            continue
        if in_url:
            value = _decode(field, st.query_params.get_all(field.param), options.get(key))
        else:
            value = memory.get(key)
            if value is not None and field.kind in ("one", "many") and key in options:
                allowed = set(map(str, options[key]))
                value = [v for v in value if str(v) in allowed] if field.kind == "many" else (
                    value if str(value) in allowed else None)
        st.session_state[key] = field.default if value is None else value


def publish(fields: Mapping[str, Field], memory_key: str) -> None:
    """Write the view as drawn to the URL (defaults left out) and to this session's memory."""
    memory = st.session_state.setdefault(memory_key, {})
    for key, field in fields.items():
        value = st.session_state.get(key, field.default)
        memory[key] = value
        if value == field.default or value in (None, "", []):
            if field.param in st.query_params:
                del st.query_params[field.param]
            continue
        encoded = _encode(field, value)
        current = st.query_params.get_all(field.param)
        if current != (encoded if isinstance(encoded, list) else [encoded]):
            st.query_params[field.param] = encoded
