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

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from augment_core.augment.agreement import AMBIGUOUS_BELOW, MIN_SUPPORT, is_ambiguous
from augment_core.augment.aliases import AliasTable
from augment_core.errors import InputError

FLAG_KEYWORD_ADDED = "keyword_added"
FLAG_KEYWORD_LOST = "keyword_lost"
FLAG_UNCHANGED = "unchanged"
FLAG_DUPLICATE = "duplicate"
FLAG_LOW_SIMILARITY = "low_similarity"
FLAG_ARTIFACT = "artifact"
FLAG_LEAK = "leak"
FLAG_AMBIGUOUS_KEYWORD = "ambiguous_keyword"
FLAG_KEYWORD_CHANGED = "keyword_changed"
FLAG_LABEL_DRIFT = "label_drift"

FLAGS: tuple[str, ...] = (
    FLAG_KEYWORD_ADDED,
    FLAG_KEYWORD_LOST,
    FLAG_AMBIGUOUS_KEYWORD,
    FLAG_UNCHANGED,
    FLAG_DUPLICATE,
    FLAG_LOW_SIMILARITY,
    FLAG_ARTIFACT,
    FLAG_LEAK,
    FLAG_KEYWORD_CHANGED,
    FLAG_LABEL_DRIFT,
)
"""Every flag name, in display order (the app filters on these)."""

FLAGS_COLUMN = "flags"
"""A JSON list of :data:`FLAGS`: in every run's output, quality signals on or off."""
QUALITY_COLUMNS: tuple[str, ...] = ("similarity", FLAGS_COLUMN, "heldout_similarity", "leak")
HELDOUT_SPLITS = frozenset({"val", "valid", "validation", "dev", "test"})
DEFAULT_LOW_SIMILARITY = 0.8
DEFAULT_LEAK_THRESHOLD = 0.95


@dataclass(frozen=True)
class QualitySettings:
    """The thresholds a run's quality signals are computed with (every runner, the CLI's
    flags and the Augment page take their defaults from here)."""

    low_similarity: float = DEFAULT_LOW_SIMILARITY
    leak_threshold: float = DEFAULT_LEAK_THRESHOLD
    ambiguous_below: float = AMBIGUOUS_BELOW

    def check(self) -> "QualitySettings":
        """One-line errors, named as the CLI's flags."""
        if not 0.0 <= self.ambiguous_below <= 1.0:
            raise InputError("--ambiguous-below must be between 0 and 1")
        return self

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


def add_flag(row: dict[str, Any], flag: str) -> None:
    """Add ``flag`` to a row's ``flags`` (a JSON list), keeping :data:`FLAGS` order: the flags
    computed after the quality signals (``keyword_changed``, ``label_drift``) go in the
    same cell, so the review filters by them with no column of their own."""
    flags = _carried(row)
    order = {f: n for n, f in enumerate(FLAGS)}
    row[FLAGS_COLUMN] = json.dumps(sorted({*flags, flag}, key=lambda f: (order.get(f, len(order)), f)))


def swaps_ambiguous_keyword(changes: Any, below: float = AMBIGUOUS_BELOW, min_support: int = MIN_SUPPORT) -> bool:
    """A change span records the agreement of the keyword it replaced (alias swaps)."""
    items = json.loads(changes) if isinstance(changes, str) and changes else (changes or [])
    return any(is_ambiguous(c.get("agreement"), c.get("support"), below, min_support) for c in items)


def _carried(row: Mapping[str, Any]) -> list[str]:
    """The flags a row holds before it is scored (``keyword_changed``, decided as the run's
    rows are built): scoring adds to them and never drops them."""
    cell = row.get(FLAGS_COLUMN)
    try:
        flags = json.loads(cell) if isinstance(cell, str) and cell else list(cell or [])
    except ValueError:
        return []
    return [f for f in flags if isinstance(f, str)]


def _is_generated(row: Mapping[str, Any]) -> bool:
    return row.get("augmenter") not in (None, "", "original")


def score_rows(
    rows: list[dict[str, Any]],
    *,
    table: AliasTable,
    labels_by_id: Mapping[str, Sequence[str]],
    heldout_texts: Sequence[str] = (),
    encoder: Any = None,
    quality: QualitySettings = QualitySettings(),
    batch_size: int = 64,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Add ``similarity``, ``flags`` (JSON list), ``heldout_similarity`` and ``leak`` to
    every row, in place. Originals get ``None``/``"[]"``/``None``/``False``.

    ``heldout_texts`` are the val/test texts; rows whose split is val/test count as
    held out too. ``encoder`` is anything with sentence-transformers' ``encode``; by
    default the packaged all-MiniLM-L6-v2 (see :func:`augment_core.augment.models.load_sentence_encoder`).
    ``progress`` is called with (texts encoded, texts to encode) as encoding goes, the
    slow part.

    The run's global knowledge (which texts repeat, the held-out texts and their
    embeddings) is a :class:`MemoryIndex` here; a run in chunks builds a :class:`HashIndex`
    in a pass of its own and scores each chunk with :func:`score_chunk`, the same code.
    """
    if not any(_is_generated(r) for r in rows):
        score_chunk(rows, MemoryIndex({}, set(), None), table=table, labels_by_id=labels_by_id, encoder=encoder)
        return
    if encoder is None:
        from augment_core.augment.models import load_sentence_encoder

        encoder = load_sentence_encoder()
    heldout = heldout_of(rows, heldout_texts)

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
    to_encode = len(heldout) + len(generated_texts(rows))
    held = encode(encoder, heldout, batch_size, (lambda d, _t: progress(d, to_encode)) if progress else None) \
        if heldout else None
    base = len(heldout)
    score_chunk(rows, MemoryIndex(counts, heldout_norm, held), table=table, labels_by_id=labels_by_id,
                encoder=encoder, quality=quality, batch_size=batch_size,
                progress=(lambda d, _t: progress(base + d, to_encode)) if progress else None)


def heldout_of(rows: Sequence[Mapping[str, Any]], heldout_texts: Sequence[str] = ()) -> list[str]:
    """The held-out texts, distinct, in order: those given and the held-out rows' own."""
    return list(dict.fromkeys(
        [str(t) for t in heldout_texts if t is not None]
        + [str(r["text"]) for r in rows if not _is_generated(r) and str(r.get("split", "")).lower() in HELDOUT_SPLITS]
    ))


def generated_texts(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The distinct texts a chunk's generated rows need encoded: each variant and its original."""
    distinct: dict[str, None] = {}
    for r in rows:
        if _is_generated(r):
            distinct.setdefault(str(r["text"]), None)
            distinct.setdefault(str(r.get("original_text", "")), None)
    return list(distinct)


class MemoryIndex:
    """What the global signals need, for rows held in memory: every normalised text's count,
    the normalised held-out texts and the held-out embeddings (rows, L2-normalised)."""

    def __init__(self, counts: Mapping[str, int], heldout_norm: set[str], held: Any) -> None:
        self._counts, self._heldout, self.held = counts, heldout_norm, held

    def duplicates(self, norms: Sequence[str]) -> list[bool]:
        return [self._counts.get(n, 0) > 1 for n in norms]

    def in_heldout(self, norms: Sequence[str]) -> list[bool]:
        return [n in self._heldout for n in norms]


def text_hash(norm: str) -> int:
    """A normalised text's 64-bit hash (BLAKE2b): what a chunked run keeps of each text.
    Two different texts share one with odds of about n^2 / 2^65 (1e-7 at 2 million texts)."""
    return int.from_bytes(hashlib.blake2b(norm.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


class HashIndex:
    """What the global signals need, for a run in chunks, small beside the texts: the
    sorted hashes of the normalised texts that occur more than once among the output
    rows, of the normalised held-out texts, and the held-out embeddings (an array or a
    ``numpy.memmap`` on disk, read in blocks)."""

    def __init__(self, repeated: Any, heldout: Any, held: Any) -> None:
        import numpy as np

        self.repeated = np.asarray(repeated, dtype=np.uint64)
        self.heldout = np.asarray(heldout, dtype=np.uint64)
        self.held = held

    @classmethod
    def from_hashes(cls, row_hashes: Any, heldout_hashes: Any, held: Any) -> "HashIndex":
        """From the hash of every output row's normalised text (in any order, any chunks)
        and of every held-out text (held-out texts not among the rows count once more, as
        :func:`score_rows` counts them)."""
        import numpy as np

        rows = np.asarray(row_hashes, dtype=np.uint64)
        heldout = np.unique(np.asarray(heldout_hashes, dtype=np.uint64))
        extra = np.setdiff1d(heldout, rows, assume_unique=False)
        values, counts = np.unique(np.concatenate([rows, extra]), return_counts=True)
        return cls(values[counts > 1], heldout, held)

    def duplicates(self, norms: Sequence[str]) -> list[bool]:
        return self._member([text_hash(n) for n in norms], self.repeated)

    def in_heldout(self, norms: Sequence[str]) -> list[bool]:
        return self._member([text_hash(n) for n in norms], self.heldout)

    @staticmethod
    def _member(hashes: list[int], sorted_values: Any) -> list[bool]:
        import numpy as np

        if not len(sorted_values) or not hashes:
            return [False] * len(hashes)
        return [bool(x) for x in np.isin(np.array(hashes, dtype=np.uint64), sorted_values)]


def heldout_max(emb: Any, held: Any, block: int = 1 << 15) -> Any:
    """Each row of ``emb``'s largest cosine similarity to a held-out row (``held`` read in
    blocks, so a memory-mapped matrix larger than memory works)."""
    import numpy as np

    out = np.full(len(emb), -np.inf, dtype=np.float32)
    for h in range(0, len(held), block):
        part = np.asarray(held[h : h + block], dtype=np.float32)
        for s in range(0, len(emb), 1024):
            np.maximum(out[s : s + 1024], (emb[s : s + 1024] @ part.T).max(axis=1), out=out[s : s + 1024])
    return out


def score_chunk(
    rows: list[dict[str, Any]],
    index: Any,
    *,
    table: AliasTable,
    labels_by_id: Mapping[str, Sequence[str]],
    encoder: Any = None,
    quality: QualitySettings = QualitySettings(),
    batch_size: int = 64,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """:func:`score_rows` on some of a run's rows (a chunk, a batch), with the run's global
    knowledge in ``index`` (a :class:`MemoryIndex` or a :class:`HashIndex`)."""
    generated = [i for i, r in enumerate(rows) if _is_generated(r)]
    for r in rows:
        if not _is_generated(r):
            r["similarity"] = None
            r["flags"] = "[]"
            r["heldout_similarity"] = None
            r["leak"] = False
    if not generated:
        return
    import numpy as np

    if encoder is None:
        from augment_core.augment.models import load_sentence_encoder

        encoder = load_sentence_encoder()
    texts = generated_texts(rows)
    distinct = {t: k for k, t in enumerate(texts)}
    emb = encode(encoder, texts, batch_size, progress)
    gen_idx = np.array([distinct[str(rows[i]["text"])] for i in generated])
    orig_idx = np.array([distinct[str(rows[i].get("original_text", ""))] for i in generated])
    sims = np.einsum("ij,ij->i", emb[gen_idx], emb[orig_idx])
    held = index.held
    held_max = heldout_max(emb[gen_idx], held) if held is not None and len(held) else None
    norms = [normalize_text(str(rows[i]["text"])) for i in generated]
    repeated = index.duplicates(norms)
    leaked = index.in_heldout(norms)
    order = {f: n for n, f in enumerate(FLAGS)}

    for k, i in enumerate(generated):
        r = rows[i]
        text = str(r["text"])
        original = str(r.get("original_text", ""))
        labels = labels_by_id.get(str(r.get("parent_id", "")), ())
        flags = keyword_flags(original, text, labels, table)
        if swaps_ambiguous_keyword(r.get("changes"), quality.ambiguous_below):
            flags.append(FLAG_AMBIGUOUS_KEYWORD)
        if text == original:
            flags.append(FLAG_UNCHANGED)
        if repeated[k]:
            flags.append(FLAG_DUPLICATE)
        similarity = float(np.clip(sims[k], -1.0, 1.0))
        if similarity < quality.low_similarity:
            flags.append(FLAG_LOW_SIMILARITY)
        if artifact_count(text) > artifact_count(original):
            flags.append(FLAG_ARTIFACT)
        hs = float(np.clip(held_max[k], -1.0, 1.0)) if held_max is not None else None
        leak = bool((hs is not None and hs >= quality.leak_threshold) or leaked[k])
        if leak:
            flags.append(FLAG_LEAK)
        flags.extend(f for f in _carried(r) if f in order)  # keyword_changed, set as the rows were built
        r["similarity"] = round(similarity, 4)
        r["flags"] = json.dumps(sorted(set(flags), key=order.__getitem__))
        r["heldout_similarity"] = round(hs, 4) if hs is not None else None
        r["leak"] = leak


def encode(encoder: Any, texts: list[str], batch_size: int, progress: Callable[[int, int], None] | None = None) -> Any:
    """``texts`` as L2-normalised float32 rows (cosine similarity is then a dot product),
    encoded a few batches at a time so ``progress`` moves; every runner encodes through it."""
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
