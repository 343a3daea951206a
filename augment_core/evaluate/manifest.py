"""What an export's manifest says of the dataset's latest evaluation.

The results themselves are kept in the review store with the dataset
(:mod:`augment_core.review.evaluations`); this is the summary an export writes of the newest
one, and whether it describes the variants being exported.
"""

from __future__ import annotations

import hashlib
from typing import Any, Iterable, Mapping


def variants_fingerprint(keys: Iterable[str]) -> str:
    """A hash of the variant keys an evaluation trained on: the manifest says whether the
    stored result still describes the decisions being exported."""
    return hashlib.sha256("\n".join(sorted(keys)).encode("utf-8")).hexdigest()


def manifest_entry(result: Mapping[str, Any] | None, accepted_keys: Iterable[str]) -> dict[str, Any] | None:
    """The manifest's summary of ``result`` (the dataset's latest evaluation, as the store
    gives it; None: there is none): its verdict and figures on val, and whether it was run on
    the variants now accepted (``matches_export``)."""
    if result is None:
        return None
    val = result["splits"]["val"]
    return {
        "id": result["id"],
        "created_at": result["created_at"],
        "baseline": result["baseline"],
        "config": result["config"],
        "data": result["data"],
        "primary_metric": result["primary_metric"],
        "verdict": val["verdict"],
        "val": {"arms": val["arms"], "differences": val["differences"]},
        "test_used": result["data"].get("test_used", False),
        "matches_export": result.get("variants_sha256") == variants_fingerprint(accepted_keys)
        and result["data"].get("variants_source") == "accepted",
    }
