"""Quality signals for generated rows: what a reviewer triages on.

A generated sample can hurt a tag classifier in ways that are cheap to detect and easy
to miss by eye: it gained a keyword of a tag the row does not carry (a false-positive
tag, the lesson's main risk), lost the keyword that justified a tag, swapped a keyword
that in this dataset often means something else than its tag, is a copy of another
row, drifted in meaning, carries tokenizer debris, or is (nearly) a val/test text, which
would leak the held-out split into training. Each becomes a flag; similarities are kept
as numbers so the app can sort and threshold them.

Embeddings: each distinct text is encoded once, in batches, L2-normalised, so cosine
similarity is a dot product; the held-out maximum is a chunked matrix product.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Mapping, Sequence

from augment_core.agreement import AMBIGUOUS_BELOW, MIN_SUPPORT, is_ambiguous
from augment_core.aliases import AliasTable

FLAG_KEYWORD_ADDED = "keyword_added"
FLAG_KEYWORD_LOST = "keyword_lost"
FLAG_UNCHANGED = "unchanged"
FLAG_DUPLICATE = "duplicate"
FLAG_LOW_SIMILARITY = "low_similarity"
FLAG_ARTIFACT = "artifact"
FLAG_LEAK = "leak"
FLAG_AMBIGUOUS_KEYWORD = "ambiguous_keyword"

FLAGS: tuple[str, ...] = (
    FLAG_KEYWORD_ADDED,
    FLAG_KEYWORD_LOST,
    FLAG_AMBIGUOUS_KEYWORD,
    FLAG_UNCHANGED,
    FLAG_DUPLICATE,
    FLAG_LOW_SIMILARITY,
    FLAG_ARTIFACT,
    FLAG_LEAK,
)
"""Every flag name, in display order (the app filters on these)."""

QUALITY_COLUMNS: tuple[str, ...] = ("similarity", "flags", "heldout_similarity", "leak")
HELDOUT_SPLITS = frozenset({"val", "valid", "validation", "dev", "test"})
DEFAULT_LOW_SIMILARITY = 0.8
DEFAULT_LEAK_THRESHOLD = 0.95

_SPACES = re.compile(r"\s+")
# Debris a tokenizer round trip leaves: special tokens, WordPiece/BPE/SentencePiece
# markers. Counted in the variant against the original, so a text that legitimately
# contains e.g. "##" is not flagged for keeping it.
_ARTIFACT = re.compile(
    r"\[(?:UNK|MASK|CLS|SEP|PAD|unused\d+)\]|<(?:unk|mask|pad|s|/s)>|##|\u0120|\u2581",
    re.IGNORECASE,
)
_DOUBLE_SPACE = re.compile(r"(?<=\S)  +(?=\S)")


def normalize_text(text: str) -> str:
    """Case- and space-insensitive form used by ``duplicate`` and the exact-match leak."""
    return _SPACES.sub(" ", text.casefold()).strip()


def artifact_count(text: str) -> int:
    return len(_ARTIFACT.findall(text)) + len(_DOUBLE_SPACE.findall(text))


def keyword_flags(
    original: str, variant: str, labels: Sequence[str], table: AliasTable
) -> list[str]:
    """``keyword_added``/``keyword_lost``, compared at the level of tags, not keys: an
    alias swap replaces one key by another of the same tag, which loses nothing and adds
    nothing."""
    before = table.tags_in(original)
    after = table.tags_in(variant)
    flags = []
    if (after - before) - set(labels):
        flags.append(FLAG_KEYWORD_ADDED)
    if before - after:
        flags.append(FLAG_KEYWORD_LOST)
    return flags


def swaps_ambiguous_keyword(changes: Any, below: float = AMBIGUOUS_BELOW, min_support: int = MIN_SUPPORT) -> bool:
    """A change span records the agreement of the keyword it replaced (alias swaps)."""
    items = json.loads(changes) if isinstance(changes, str) and changes else (changes or [])
    return any(is_ambiguous(c.get("agreement"), c.get("support"), below, min_support) for c in items)


def _is_generated(row: Mapping[str, Any]) -> bool:
    return row.get("augmenter") not in (None, "", "original")


def score_rows(
    rows: list[dict[str, Any]],
    *,
    table: AliasTable,
    labels_by_id: Mapping[str, Sequence[str]],
    heldout_texts: Sequence[str] = (),
    encoder: Any = None,
    low_similarity: float = DEFAULT_LOW_SIMILARITY,
    leak_threshold: float = DEFAULT_LEAK_THRESHOLD,
    ambiguous_below: float = AMBIGUOUS_BELOW,
    batch_size: int = 64,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Add ``similarity``, ``flags`` (JSON list), ``heldout_similarity`` and ``leak`` to
    every row, in place. Originals get ``None``/``"[]"``/``None``/``False``.

    ``heldout_texts`` are the val/test texts; rows whose split is val/test count as
    held out too. ``encoder`` is anything with sentence-transformers' ``encode``; by
    default the packaged all-MiniLM-L6-v2 (see :func:`augment_core.models.load_sentence_encoder`).
    ``progress`` is called with (texts encoded, texts to encode) as encoding goes, the
    slow part.
    """
    generated = [i for i, r in enumerate(rows) if _is_generated(r)]
    for r in rows:
        if not _is_generated(r):
            r["similarity"] = None
            r["flags"] = "[]"
            r["heldout_similarity"] = None
            r["leak"] = False
    if not generated:
        return

    heldout = list(dict.fromkeys(
        [str(t) for t in heldout_texts if t is not None]
        + [str(r["text"]) for r in rows if not _is_generated(r) and str(r.get("split", "")).lower() in HELDOUT_SPLITS]
    ))

    # duplicates: every row's text plus held-out texts not already present as rows
    counts: dict[str, int] = {}
    for r in rows:
        key = normalize_text(str(r.get("text", "")))
        counts[key] = counts.get(key, 0) + 1
    heldout_norm = {normalize_text(t) for t in heldout}
    heldout_rows_norm = {
        normalize_text(str(r.get("text", ""))) for r in rows if str(r.get("split", "")).lower() in HELDOUT_SPLITS
    }
    for key in heldout_norm - heldout_rows_norm:  # held-out texts given only as texts
        counts[key] = counts.get(key, 0) + 1

    # embeddings of every distinct text involved, once
    import numpy as np

    if encoder is None:
        from augment_core.models import load_sentence_encoder

        encoder = load_sentence_encoder()
    distinct: dict[str, int] = {}
    for i in generated:
        for t in (str(rows[i]["text"]), str(rows[i].get("original_text", ""))):
            distinct.setdefault(t, len(distinct))
    for t in heldout:
        distinct.setdefault(t, len(distinct))
    texts = list(distinct)
    emb = _encode(encoder, texts, batch_size, progress)

    gen_idx = np.array([distinct[str(rows[i]["text"])] for i in generated])
    orig_idx = np.array([distinct[str(rows[i].get("original_text", ""))] for i in generated])
    sims = np.einsum("ij,ij->i", emb[gen_idx], emb[orig_idx])
    if heldout:
        held = emb[np.array([distinct[t] for t in heldout])]
        held_max = np.empty(len(generated), dtype=np.float32)
        chunk = 1024
        for s in range(0, len(generated), chunk):
            held_max[s : s + chunk] = (emb[gen_idx[s : s + chunk]] @ held.T).max(axis=1)
    else:
        held_max = None

    for k, i in enumerate(generated):
        r = rows[i]
        text = str(r["text"])
        original = str(r.get("original_text", ""))
        labels = labels_by_id.get(str(r.get("parent_id", "")), ())
        flags = keyword_flags(original, text, labels, table)
        if swaps_ambiguous_keyword(r.get("changes"), ambiguous_below):
            flags.append(FLAG_AMBIGUOUS_KEYWORD)
        norm = normalize_text(text)
        if text == original:
            flags.append(FLAG_UNCHANGED)
        if counts.get(norm, 0) > 1:
            flags.append(FLAG_DUPLICATE)
        similarity = float(np.clip(sims[k], -1.0, 1.0))
        if similarity < low_similarity:
            flags.append(FLAG_LOW_SIMILARITY)
        if artifact_count(text) > artifact_count(original):
            flags.append(FLAG_ARTIFACT)
        hs = float(np.clip(held_max[k], -1.0, 1.0)) if held_max is not None else None
        leak = bool((hs is not None and hs >= leak_threshold) or norm in heldout_norm)
        if leak:
            flags.append(FLAG_LEAK)
        order = {f: n for n, f in enumerate(FLAGS)}
        r["similarity"] = round(similarity, 4)
        r["flags"] = json.dumps(sorted(set(flags), key=order.__getitem__))
        r["heldout_similarity"] = round(hs, 4) if hs is not None else None
        r["leak"] = leak


def _encode(encoder: Any, texts: list[str], batch_size: int, progress: Callable[[int, int], None] | None = None) -> Any:
    import numpy as np

    # in slices of a few batches, so progress moves at least every couple of seconds
    step = batch_size * 4
    parts = []
    for start in range(0, len(texts), step):
        part = encoder.encode(
            texts[start : start + step],
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        parts.append(np.asarray(part, dtype=np.float32).reshape(len(texts[start : start + step]), -1))
        if progress is not None:
            progress(min(start + step, len(texts)), len(texts))
    emb = np.concatenate(parts) if parts else np.zeros((0, 1), dtype=np.float32)
    norms = np.linalg.norm(emb, axis=1, keepdims=True)
    return emb / np.maximum(norms, 1e-12)
