"""What the Data and Augment pages show of a mapped dataset, computed in the parse worker.

Counting a million rows per split and tag, and fitting the alias table to the train split,
are seconds of work that never let another thread run; done in the server, every other
reviewer's save waits behind them, and the server holds the records (a gigabyte) to do
it. :func:`overview` runs in the parse worker instead
(``augment_core.data.parse_worker.parse(..., derive=...)``): only the counts and the
fitted keywords come back. No Streamlit here: the worker imports this module.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable

from augment_core.augment.agreement import TrainKeywords, fit_to_train
from augment_core.augment.aliases import BUNDLED_TAGS, load_alias_table
from augment_core.data.dataset import Dataset
from augment_core.data.splitting import split_tag_counts, split_tag_table
from augment_core.runners.run import without_swappable_keyword


@dataclass(frozen=True)
class DatasetOverview:
    """A split dataset's facts for the pages: rows per split (most first), rows with no
    text, tag counts per split (``split_tag_counts``) and per tag (``split_tag_table``),
    the alias table fitted to the train split, and (train originals an alias swap leaves
    without a variant, train originals)."""

    rows_per_split: dict[str, int]
    n_empty_text: int
    tag_counts: list[dict[str, object]]
    tag_table: list[dict[str, object]]
    keywords: TrainKeywords
    without_swappable: tuple[int, int]


def overview(dataset: Dataset, tags: bytes | None) -> DatasetOverview:
    """The overview of ``dataset`` under the tags file ``tags`` (None: the bundled vocabulary)."""
    keywords = fit_to_train(load_alias_table(tags if tags is not None else BUNDLED_TAGS), dataset)
    per_split = Counter(r.split for r in dataset.records)
    tag_counts = split_tag_counts(dataset)
    return DatasetOverview(
        rows_per_split=dict(per_split.most_common()),
        n_empty_text=len(dataset.empty_text_ids),
        tag_counts=tag_counts,
        tag_table=split_tag_table(tag_counts),
        keywords=keywords,
        without_swappable=without_swappable_keyword(dataset, keywords),
    )


def overview_of(tags: bytes | None) -> Callable[[Dataset], Any]:
    """:func:`overview` under ``tags``, as the parse worker's ``derive`` (pickled by reference)."""
    return partial(overview, tags=tags)
