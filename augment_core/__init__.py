"""augment-review's library: datasets, splits, augmenters, provenance and quality signals.

The package is laid out by what each part does:

- ``data``: reading a dataset under limits, its column mapping and split, one reader
  interface for every runner, writing rows in the user's own schema;
- ``augment``: the augmenters (alias swap, contextual, the built-ins, plug-ins and adapters),
  change spans and the word-level diff, quality signals;
- ``job`` and ``runners``: one typed job, run on one machine (streamed) or on Ray;
- ``review``: the review store (one module per concern), the review index and queries,
  reviewers, export;
- ``evaluate``: does the curated augmentation help?
- ``serve``: the served app's rules (sign-in allow-list, roles, server folders);
- ``cli``: the ``augment-review`` command, a thin shell over the rest.

The public API is the names below. They are imported when first used, not with the package:
nothing here imports Streamlit, and nothing heavy (torch, transformers, pandas, the review
store) is imported until something that needs it runs, so the CLI's alias swap starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from augment_core.lazy import lazy_names

if TYPE_CHECKING:
    from augment_core.augment import AugmenterSpec, FunctionAugmenter, diff_changes
    from augment_core.job import Augmentation, Job, Policy, Report
    from augment_core.review import Store
    from augment_core.runners import run_job

__version__ = "0.1.0"

_API = {
    "Job": "augment_core.job", "Augmentation": "augment_core.job", "Policy": "augment_core.job",
    "Report": "augment_core.job", "run_job": "augment_core.runners", "AugmenterSpec": "augment_core.augment",
    "FunctionAugmenter": "augment_core.augment", "diff_changes": "augment_core.augment",
    "Store": "augment_core.review",
}
__all__ = [
    "Augmentation", "AugmenterSpec", "FunctionAugmenter", "Job", "Policy", "Report", "Store", "diff_changes", "run_job",
]


__getattr__ = lazy_names(__name__, _API)
