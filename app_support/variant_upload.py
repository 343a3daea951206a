"""The Augment page's upload of variants made elsewhere (nlpaug, TextAttack, a language
model): a file in the dataset's own columns plus a parent column, imported as a run
(:mod:`augment_core.review.variant_import`). Admins only: the handler authorizes before it
reads anything. Session-state keys start with ``augment_variants_``."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import streamlit as st

import app_common as common
from app_support import access, loaders
from app_support.markup import markdown_escape
from augment_core.augment.quality import QualitySettings
from augment_core.review.store import Store
from augment_core.review.variant_import import DEFAULT_AUGMENTER, FORMATS, VariantImport, import_variants
from augment_core.serve.policy import Action

WHAT = "import variants made elsewhere"


def upload_variants(store: Store, hash: str, dataset: Any, name: str, data: bytes, parent_column: str,
                    augmenter_column: str | None, quality: bool) -> VariantImport:
    """Import an uploaded file of variants for an admin (Forbidden, one line, nothing read,
    otherwise)."""
    access.authorize(Action.LOAD_RUN)
    suffix = Path(name).suffix.lower()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"variants{suffix}"
        path.write_bytes(data)
        return import_variants(store, hash, path, dataset, parent_column=parent_column,
                               augmenter_column=augmenter_column or None, tags=loaders.load_aliases(store, hash),
                               quality=QualitySettings() if quality else None)


def variants_upload_section(store: Store, hash: str, dataset: Any) -> None:
    """The upload, its columns and the button; the counts or one error line."""
    st.subheader("Import variants made elsewhere")
    if not access.reviewer_note(Action.LOAD_RUN, WHAT):
        return
    st.caption("A file of variants made by another tool (nlpaug, TextAttack, a language model, your own script): this "
               "dataset's columns with the edited text, plus a column naming each variant's parent id. Variants of "
               "val/test rows are refused, unchanged and repeated ones dropped; the changes are highlighted and "
               "flagged as for this app's own runs.")
    upload = st.file_uploader("Variants file", type=list(FORMATS), key="augment_variants_file")
    c1, c2, c3 = st.columns(3)
    parent = c1.text_input("Parent id column", value="parent_id", key="augment_variants_parent")
    augmenter = c2.text_input("Augmenter column (optional)", value="", key="augment_variants_augmenter",
                              help=markdown_escape(f"Empty: every variant is recorded as '{DEFAULT_AUGMENTER}'."))
    quality = c3.checkbox("Quality signals and label_drift", value=True, key="augment_variants_quality")
    if st.button("Import variants", key="augment_variants_go", disabled=upload is None or not parent.strip()):
        common.load_then_rerun(
            "augment_variants_result", "Reading, diffing and scoring the variants…",
            "The variants were not imported: ",
            lambda: upload_variants(store, hash, dataset, upload.name if upload else "",
                                    upload.getvalue() if upload else b"", parent.strip(), augmenter.strip() or None,
                                    quality))
    counts = common.loaded_result(store, hash, "augment_variants_result")
    if counts is not None:
        st.success(f"Imported run {counts.run_id:d}: {counts.stored:,} variants.")
        for line in counts.lines():
            st.text(line)
        st.page_link("pages/review.py", label="Next: review them", icon=":material/fact_check:")
