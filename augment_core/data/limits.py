"""How much a dataset file may hold, and how deep a JSON value may nest.

A served app parses files its users upload. A small file can decode to far more than its
size (a 2 MB Parquet file of 3 million rows whose text is stored once, in its dictionary,
is gigabytes of Python strings), so an upload is bounded by what it decodes to, not by its
size: at most :data:`DEFAULT_MAX_ROWS` rows and :data:`DEFAULT_MAX_BYTES` bytes of decoded
cells unless the operator sets others (``.streamlit/secrets.toml`` ``[augment_review]
max_upload_rows`` / ``max_upload_bytes``, or the environment variables :data:`ROWS_ENV` /
:data:`BYTES_ENV`). Parquet is checked from its footer before any data page is read, and
again as each row group is read (a footer can lie); CSV and JSONL are counted as they
stream, and reading stops at the first row over. Text formats decode to at most as many
characters as they have bytes, so their bytes are checked on the file itself.

The command line reads the user's own files on the user's own machine and has no row or
byte limit; the JSON depth limit holds everywhere, since a value nested 100,000 deep would
otherwise end in a RecursionError (a traceback) wherever it is read or written.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from augment_core.errors import InputError

DEFAULT_MAX_ROWS = 2_000_000
"""Rows an upload may have by default: about 3 GB of records in the server at most."""
DEFAULT_MAX_BYTES = 1 << 30
"""Decoded bytes (all cells) an upload may hold by default: 1 GiB."""
DEFAULT_CACHE_BYTES = 2 << 30
"""Bytes of parsed datasets the app keeps in memory for all sessions together (2 GiB)."""
ROWS_ENV = "AUGMENT_REVIEW_MAX_ROWS"
BYTES_ENV = "AUGMENT_REVIEW_MAX_BYTES"
CACHE_ENV = "AUGMENT_REVIEW_CACHE_BYTES"
ROWS_KEY = "max_upload_rows"
BYTES_KEY = "max_upload_bytes"
CACHE_KEY = "dataset_cache_bytes"
MAX_JSON_DEPTH = 100
"""Levels of nesting a JSON value in a dataset may have: far more than any real cell, far
fewer than the interpreter's recursion limit, which every reader and writer of the value
(JSON, Arrow, repr) would otherwise run into."""


@dataclass(frozen=True)
class Limits:
    """An upload's bounds; None: unbounded (the command line)."""

    max_rows: int | None = None
    max_bytes: int | None = None

    def check_rows(self, n_rows: int, name: str) -> None:
        if self.max_rows is not None and n_rows > self.max_rows:
            raise InputError(f"{Path(name).name} has more than {self.max_rows:,} rows, the most this server "
                             f"accepts ({ROWS_ENV} or [augment_review] {ROWS_KEY}); nothing was stored")

    def check_bytes(self, n_bytes: int, name: str) -> None:
        if self.max_bytes is not None and n_bytes > self.max_bytes:
            raise InputError(f"{Path(name).name} decodes to more than {_size(self.max_bytes)}, the most this server "
                             f"accepts ({BYTES_ENV} or [augment_review] {BYTES_KEY}); nothing was stored")


NO_LIMITS = Limits()


def _size(n: int) -> str:
    """``1 GiB`` for a whole number of a unit, else the bytes (``1,500,000 bytes``)."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale:,} {unit}"
    return f"{n:,} bytes"


def _setting(section: Mapping[str, Any], key: str, env: Mapping[str, str], env_name: str, default: int) -> int:
    """The environment variable, else the secrets key, else the default; a positive integer."""
    raw: Any = env.get(env_name)
    where = env_name
    if raw is None or raw == "":
        raw, where = section.get(key), f"[augment_review] {key}"
    if raw is None:
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise InputError(f"{where} must be a whole number, not {str(raw)[:40]!r}") from None
    if isinstance(raw, bool) or value < 1:
        raise InputError(f"{where} must be a whole number of at least 1, not {str(raw)[:40]!r}")
    return value


def server_limits(section: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> Limits:
    """The upload limits an operator set (environment over secrets over the defaults);
    a malformed setting is one line (InputError)."""
    section = section or {}
    env = os.environ if env is None else env
    return Limits(max_rows=_setting(section, ROWS_KEY, env, ROWS_ENV, DEFAULT_MAX_ROWS),
                  max_bytes=_setting(section, BYTES_KEY, env, BYTES_ENV, DEFAULT_MAX_BYTES))


def cache_budget(section: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Bytes of parsed datasets the app may keep (environment over secrets over the default)."""
    return _setting(section or {}, CACHE_KEY, os.environ if env is None else env, CACHE_ENV, DEFAULT_CACHE_BYTES)


# --- Parquet: from the footer, before any data page -------------------------------------


def parquet_estimate(metadata: Any) -> tuple[int, int]:
    """(rows, decoded bytes) of a Parquet file from its footer alone.

    A column chunk's uncompressed size counts a dictionary-encoded column's text once (in
    its dictionary) however many rows repeat it; when the chunk's statistics show one
    value (min equal to max), every row decodes to that value, and the chunk counts as
    ``rows x len(value)``. Other dictionary chunks are counted as they decode, row group by
    row group (:func:`augment_core.data.dataset` reads them as dictionaries first).
    """
    total = 0
    for g in range(metadata.num_row_groups):
        group = metadata.row_group(g)
        for c in range(group.num_columns):
            col = group.column(c)
            size = col.total_uncompressed_size
            stats = col.statistics if col.is_stats_set else None
            if col.has_dictionary_page and stats is not None and stats.has_min_max and stats.min == stats.max:
                one = stats.min
                width = len(one.encode("utf-8")) if isinstance(one, str) else len(one) if isinstance(one, bytes) else 8
                size = max(size, (col.num_values - (stats.null_count or 0)) * width)
            total += size
    return metadata.num_rows, total


def check_parquet(metadata: Any, limits: Limits, name: str) -> None:
    """Refuse a Parquet file over the limits from its footer (nothing decoded)."""
    rows, decoded = parquet_estimate(metadata)
    limits.check_rows(rows, name)
    limits.check_bytes(decoded, name)


# --- JSON nesting -------------------------------------------------------------------------


def too_deep(where: str) -> InputError:
    return InputError(f"{where} is nested more than {MAX_JSON_DEPTH} levels deep (JSON lists or objects "
                      "inside each other): not a file this tool reads")


def json_loads(text: str | bytes, where: str) -> Any:
    """``json.loads`` that answers a value nested deeper than :data:`MAX_JSON_DEPTH` with one
    line (InputError naming ``where``) rather than a RecursionError; JSONDecodeError passes
    through for the caller to word."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise too_deep(where) from None
    check_depth(value, where)
    return value


def check_depth(value: Any, where: str, limit: int = MAX_JSON_DEPTH) -> None:
    """Raise :func:`too_deep` when ``value`` nests lists/dicts more than ``limit`` deep
    (walked with a stack, so any depth is measured without recursion)."""
    if not isinstance(value, (list, dict)):
        return
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise too_deep(where)
        children = item.values() if isinstance(item, dict) else item
        stack.extend((c, depth + 1) for c in children if isinstance(c, (list, dict)))
