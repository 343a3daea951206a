"""Contextual substitute and insert on a masked language model (the native engine).

Why not nlpaug's ``ContextualWordEmbsAug``: it rewrites the keywords that decide the tags,
is not reproducible, runs one forward pass per masked word and computes the full
vocabulary head at every position, and returns re-tokenized lower-case text with no
record of what changed. Here:

* We work on the words of the *original* text with character offsets, so untouched text
  keeps its spacing, case and punctuation, and :func:`apply_edits` yields the change spans.
* A word is a whitespace chunk without its edge punctuation; only all-letter words are
  substituted (``TF2.0``, ``state-of-the-art``, ``don't`` are kept as written, so nothing is
  ever split at a dash or apostrophe). A word of several subword tokens is masked as a
  whole by *one* mask and replaced by one whole-word token: a subword-by-subword
  replacement would produce non-words.
* Protected spans (keywords and ``--protect`` words) are never masked, and an insertion
  never lands strictly inside one. A sampled token that is itself a keyword is banned,
  and an edit that forms a keyword with its neighbours is reverted: either would add a
  tag the row may not have.
* All masks of a variant go into one sequence; adjacent masked words are split into two
  passes (alternating), so a word is never predicted next to a still-unknown neighbour
  *and* its already-predicted neighbour at once. Insertion masks are never adjacent (one
  per gap between words): one pass. Variants of all rows are batched together, sorted by
  length; the encoder runs once per batch and the vocabulary head only on the mask
  positions.
* Which words change comes from ``row_rng(seed, name, row_id, variant)``; the token drawn
  among the ``top_k`` comes from a torch generator seeded with ``row_seed`` of the same
  parts, so a row's output does not depend on the other rows.

torch and transformers are imported lazily (constructing an augmenter does not load
them; the first ``generate`` does), so the alias-swap CLI starts without them.
"""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal, Sequence

from augment_core.aliases import AliasTable, match_case
from augment_core.augmenter import Progress
from augment_core.changes import Candidate, Edit, apply_edits
from augment_core.errors import InputError
from augment_core.protection import Protector, Span, fold, overlaps, strictly_inside
from augment_core.rng import row_rng, row_seed

Action = Literal["substitute", "insert"]
Engine = Literal["native", "nlpaug"]

DEFAULT_TOP_K = 50
DEFAULT_BATCH_SIZE = 32
MAX_ROUNDS = 3
"""Attempts (rounds of ``n`` variants) per row before giving up on reaching ``n`` distinct
variants: a short text with few free words may have fewer than ``n``."""

_CHUNK = re.compile(r"\S+")
_LETTERS = re.compile(r"[^\W\d_]+")
_BRACKETED = re.compile(r"^(\[.*\]|<.*>)$")


@dataclass(frozen=True)
class _Slot:
    """A word that may be substituted (``start < end``) or a gap where a word may be
    inserted (``start == end``, the end of the previous chunk). ``tok`` is the first
    token index (insertion: the token index the mask goes in front of), ``tok_end`` the
    end of the word's tokens; ``chunk`` orders slots and tells adjacency."""

    start: int
    end: int
    tok: int
    tok_end: int
    chunk: int
    word: str = ""
    prev_word: str = ""
    next_word: str = ""


@dataclass
class _Job:
    row: int
    variant: int
    ids: list[int]
    slots: list[_Slot]
    positions: list[int]  # index of each slot's mask in ``ids`` (special tokens included)
    passes: list[int]
    generator: Any
    chosen: list[str | None] = field(default_factory=list)
    chosen_ids: list[int | None] = field(default_factory=list)


class ContextualSettings:
    """What both engines (native and nlpaug) take, checked once, and how it is recorded."""

    engine = "native"

    def __init__(
        self,
        model: str | None = None,
        aug_p: float = 0.3,
        aug_max: int | None = None,
        top_k: int = DEFAULT_TOP_K,
        device: str = "auto",
        protected_table: AliasTable | None = None,
        protect_words: Sequence[str] = (),
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        from augment_core.models import resolve_model_name

        if not 0.0 < aug_p <= 1.0:
            raise InputError(f"--aug-p must be in (0, 1], got {aug_p}")
        if aug_max is not None and aug_max < 1:
            raise InputError(f"--aug-max must be at least 1, got {aug_max}")
        if top_k < 1:
            raise InputError(f"--top-k must be at least 1, got {top_k}")
        if batch_size < 1:
            raise InputError(f"--batch-size must be at least 1, got {batch_size}")
        self.model_name = resolve_model_name(model)
        self.aug_p = float(aug_p)
        self.aug_max = aug_max
        self.top_k = int(top_k)
        self.device = device
        self.batch_size = int(batch_size)
        self.protect_words = tuple(protect_words)
        self.protector = Protector(protected_table, self.protect_words)

    def params(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "model": self.model_name,
            "aug_p": self.aug_p,
            "aug_max": self.aug_max,
            "top_k": self.top_k,
            "protect": list(self.protect_words),
        }


class _ContextualBase(ContextualSettings):
    action: Action = "substitute"
    name = "contextual"

    def __init__(self, *args: Any, precision: str = "auto", **kwargs: Any) -> None:
        from augment_core.models import PRECISIONS

        if precision not in PRECISIONS:
            raise InputError(f"--precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        super().__init__(*args, **kwargs)
        self.precision = precision
        self._lm: Any = None
        self._banned: Any = None
        self._strings: dict[int, str] = {}

    # --- protocol ------------------------------------------------------------------

    def params(self) -> dict[str, Any]:
        return {**super().params(), "precision": self._resolved_precision()}

    def _resolved_precision(self) -> str:
        from augment_core.models import resolve_device, resolve_precision

        device = self._lm.device if self._lm is not None else resolve_device(self.device)
        return resolve_precision(self.precision, str(device))

    def generate(
        self,
        texts: Sequence[str],
        row_ids: Sequence[str],
        n_per_original: int,
        seed: int,
        progress: Progress | None = None,
    ) -> list[list[Candidate]]:
        if len(texts) != len(row_ids):
            raise ValueError("texts and row_ids differ in length")
        results: list[list[Candidate]] = [[] for _ in texts]
        if n_per_original < 1 or not texts:
            if progress and texts:
                progress(len(texts))
            return results
        self._ensure_model()
        prepared = [self._prepare(t) for t in texts]
        seen: list[set[str]] = [{t} for t in texts]
        pending = [i for i, p in enumerate(prepared) if p is not None]
        done_without_work = len(texts) - len(pending)
        if progress and done_without_work:
            progress(done_without_work)
        for round_index in range(MAX_ROUNDS):
            if not pending:
                break
            jobs: list[_Job] = []
            for i in pending:
                need = n_per_original - len(results[i])
                for k in range(need if round_index == 0 else need * 2):
                    v = round_index * n_per_original * 2 + k
                    job = self._plan(i, texts[i], row_ids[i], prepared[i], v, seed)
                    if job is not None:
                        jobs.append(job)
            self._predict(jobs)
            for job in sorted(jobs, key=lambda j: (j.row, j.variant)):
                i = job.row
                if len(results[i]) >= n_per_original:
                    continue
                cand = self._build(texts[i], job)
                if cand is not None and cand.text not in seen[i]:
                    seen[i].add(cand.text)
                    results[i].append(cand)
            still = [i for i in pending if len(results[i]) < n_per_original]
            finished = len(pending) - len(still)
            if round_index == MAX_ROUNDS - 1:
                finished = len(pending)
            if progress and finished:
                progress(finished)
            pending = still
        return results

    # --- model ---------------------------------------------------------------------

    def _ensure_model(self) -> None:
        if self._lm is not None:
            return
        from augment_core.models import load_masked_lm

        self._lm = load_masked_lm(self.model_name, self.device)
        tok = self._lm.tokenizer
        config = self._lm.model.config
        limits = [getattr(config, "max_position_embeddings", None), getattr(tok, "model_max_length", None)]
        max_len = min(x for x in limits if isinstance(x, int) and 0 < x < 1_000_000) if any(
            isinstance(x, int) and 0 < x < 1_000_000 for x in limits
        ) else 512
        if getattr(config, "model_type", "") in ("roberta", "xlm-roberta", "camembert"):
            max_len = min(max_len, 512)  # position ids start at pad_id + 1
        self._special = len(tok.build_inputs_with_special_tokens([])) if hasattr(tok, "build_inputs_with_special_tokens") else 2
        probe = tok.build_inputs_with_special_tokens([tok.mask_token_id])
        self._prefix = probe.index(tok.mask_token_id)
        self._window = max_len - self._special
        self._banned = self._banned_vocab()

    def _token_string(self, token_id: int) -> str:
        s = self._strings.get(token_id)
        if s is None:
            tok = self._lm.tokenizer
            s = tok.convert_tokens_to_string([tok.convert_ids_to_tokens(token_id)]).strip()
            self._strings[token_id] = s
        return s

    def _banned_vocab(self) -> Any:
        """Tokens never drawn: special and bracketed tokens, subword continuations, tokens
        without a letter or digit (lone punctuation), and keywords."""
        import torch

        tok = self._lm.tokenizer
        vocab_size = int(self._lm.model.get_output_embeddings().weight.shape[0])
        pieces = tok.convert_ids_to_tokens(list(range(min(vocab_size, len(tok)))))
        wordpiece = any(p.startswith("##") for p in pieces[:50000] if p)
        bpe_space = "\u0120" if any(p.startswith("\u0120") for p in pieces if p) else ("\u2581" if any(p.startswith("\u2581") for p in pieces if p) else None)
        special = set(tok.all_special_ids)
        banned = torch.ones(vocab_size, dtype=torch.bool)
        for i, piece in enumerate(pieces):
            if i in special or piece is None:
                continue
            if wordpiece and piece.startswith("##"):
                continue
            if bpe_space and not piece.startswith(bpe_space):
                continue
            s = self._token_string(i)
            if not s or _BRACKETED.match(s) or not any(c.isalnum() for c in s) or "##" in s or " " in s:
                continue
            if len(s) == 1 and not s.isascii():  # lone CJK/other-script characters of the vocab
                continue
            if self.protector.is_keyword(s):
                continue
            banned[i] = False
        return banned.to(self._lm.device)

    # --- planning ------------------------------------------------------------------

    def _prepare(self, text: str) -> Any:
        """Words/gaps of ``text`` within the model window, their tokens, protected spans."""
        if not text or not text.strip():
            return None
        tok = self._lm.tokenizer
        enc = tok(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        ids: list[int] = list(enc["input_ids"])
        offsets: list[tuple[int, int]] = [tuple(o) for o in enc["offset_mapping"]]
        if not ids:
            return None
        starts = [o[0] for o in offsets]
        chunks = [(m.start(), m.end()) for m in _CHUNK.finditer(text)]
        spans = self.protector.spans(text)
        return _Prepared(text, ids, offsets, starts, chunks, spans)

    def _slots(self, prep: "_Prepared", fit: int) -> list[_Slot]:
        raise NotImplementedError

    def _count(self, n_words: int, n_slots: int) -> int:
        if n_slots == 0 or n_words == 0:
            return 0
        k = max(1, int(math.ceil(self.aug_p * n_words - 1e-9)))
        if self.aug_max is not None:
            k = min(k, self.aug_max)
        return min(k, n_slots)

    def _plan(self, row: int, text: str, row_id: str, prep: "_Prepared", variant: int, seed: int) -> _Job | None:
        import torch

        window = self._window
        n_words = prep.words_within(window)
        if self.action == "insert":
            k_cap = self._count(n_words, n_words)
            fit = max(0, window - k_cap)
        else:
            fit = window
        slots = self._slots(prep, fit)
        k = self._count(prep.words_within(fit), len(slots))
        if k == 0:
            return None
        rng = row_rng(seed, self.name, row_id, variant)
        picked = _spread(slots, k, rng) if self.action == "substitute" else rng.sample(slots, k)
        chosen = sorted(picked, key=lambda s: s.chunk)
        ids: list[int] = []
        positions: list[int] = []
        pos = 0
        mask_id = self._lm.tokenizer.mask_token_id
        for slot in chosen:
            ids.extend(prep.ids[pos : slot.tok])
            positions.append(self._prefix + len(ids))
            ids.append(mask_id)
            pos = slot.tok_end
        ids.extend(prep.ids[pos:fit])
        full = self._lm.tokenizer.build_inputs_with_special_tokens(ids)
        passes: list[int] = []
        for j, slot in enumerate(chosen):
            adjacent = self.action == "substitute" and j > 0 and chosen[j - 1].chunk == slot.chunk - 1
            passes.append(1 - passes[-1] if adjacent else 0)
        gen = torch.Generator().manual_seed(row_seed(seed, self.name, row_id, variant))
        return _Job(row, variant, full, chosen, positions, passes, gen, [None] * len(chosen), [None] * len(chosen))

    # --- prediction ----------------------------------------------------------------

    def _predict(self, jobs: list[_Job]) -> None:
        import torch

        for p in (0, 1):
            work = [(job, [j for j, q in enumerate(job.passes) if q == p]) for job in jobs]
            work = [(job, idx) for job, idx in work if idx]
            if not work:
                continue
            work.sort(key=lambda w: len(w[0].ids))
            bf16 = self._resolved_precision() == "bf16"
            device_type = "cuda" if str(self._lm.device).startswith("cuda") else "cpu"
            with torch.inference_mode(), torch.autocast(device_type, dtype=torch.bfloat16, enabled=bf16):
                for b in range(0, len(work), self.batch_size):
                    self._predict_batch(work[b : b + self.batch_size])

    def _predict_batch(self, batch: list[tuple[_Job, list[int]]]) -> None:
        import torch

        lm = self._lm
        tok = lm.tokenizer
        pad = tok.pad_token_id if tok.pad_token_id is not None else 0
        length = max(len(job.ids) for job, _ in batch)
        input_ids = torch.full((len(batch), length), pad, dtype=torch.long)
        attention = torch.zeros((len(batch), length), dtype=torch.long)
        rows: list[int] = []
        cols: list[int] = []
        for b, (job, idx) in enumerate(batch):
            input_ids[b, : len(job.ids)] = torch.tensor(job.ids, dtype=torch.long)
            attention[b, : len(job.ids)] = 1
            for j in idx:
                rows.append(b)
                cols.append(job.positions[j])
        input_ids = input_ids.to(lm.device)
        attention = attention.to(lm.device)
        logits = _mask_logits(lm.model, input_ids, attention, torch.tensor(rows, device=lm.device), torch.tensor(cols, device=lm.device))
        logits = logits.float().masked_fill(self._banned, float("-inf"))
        extra = 8
        k = min(self.top_k + extra, logits.shape[-1])
        values, indices = torch.topk(logits, k, dim=-1)
        values = values.cpu()
        indices = indices.cpu()
        m = 0
        for job, idx in batch:
            for j in idx:
                token_id = self._sample(job, j, values[m], indices[m])
                m += 1
                if token_id is not None:
                    job.chosen_ids[j] = token_id
                    job.chosen[j] = self._token_string(token_id)
                    # the next pass sees this prediction as context
                    job.ids[job.positions[j]] = token_id

    def _sample(self, job: _Job, j: int, values: Any, indices: Any) -> int | None:
        import torch

        slot = job.slots[j]
        avoid = {slot.word.casefold(), slot.prev_word.casefold(), slot.next_word.casefold()} - {""}
        keep_vals: list[float] = []
        keep_ids: list[int] = []
        for v, i in zip(values.tolist(), indices.tolist()):
            if v == float("-inf"):
                break
            s = self._token_string(i)
            if fold(s) in avoid or s.casefold() in avoid:
                continue
            keep_vals.append(v)
            keep_ids.append(i)
            if len(keep_ids) >= self.top_k:
                break
        if not keep_ids:
            torch.rand(1, generator=job.generator)  # keep the generator's stream aligned
            return None
        probs = torch.softmax(torch.tensor(keep_vals, dtype=torch.float64), dim=0)
        pick = int(torch.multinomial(probs, 1, generator=job.generator).item())
        return keep_ids[pick]

    # --- building ------------------------------------------------------------------

    def _edit(self, slot: _Slot, choice: str) -> Edit:
        raise NotImplementedError

    def _build(self, text: str, job: _Job) -> Candidate | None:
        edits = [self._edit(slot, c) for slot, c in zip(job.slots, job.chosen) if c]
        for _ in range(4):
            if not edits:
                return None
            cand = apply_edits(text, edits)
            guarded = self.protector.spans(cand.text)
            ordered = sorted(edits, key=lambda e: (e.start, e.end))
            bad = {k for k, ch in enumerate(cand.changes) if overlaps(ch.start, ch.end, guarded)}
            if not bad:
                return cand if cand.text != text else None
            edits = [e for k, e in enumerate(ordered) if k not in bad]
        return None


@dataclass
class _Prepared:
    text: str
    ids: list[int]
    offsets: list[tuple[int, int]]
    starts: list[int]
    chunks: list[tuple[int, int]]
    spans: list[Span]

    def token_range(self, start: int, end: int) -> tuple[int, int] | None:
        """Tokens exactly covering ``text[start:end]``, or None when a token straddles
        its edges (then the word cannot be replaced without touching its neighbours)."""
        a = bisect.bisect_left(self.starts, start)
        if a > 0 and self.offsets[a - 1][1] > start:
            return None
        b = a
        while b < len(self.offsets) and self.offsets[b][0] < end:
            if self.offsets[b][1] > end:
                return None
            b += 1
        if b == a:
            return None
        return a, b

    def first_token_at_or_after(self, pos: int) -> int:
        return bisect.bisect_left(self.starts, pos)

    def words_within(self, fit: int) -> int:
        """Whitespace chunks whose tokens all lie in the first ``fit`` tokens."""
        if fit <= 0:
            return 0
        if fit >= len(self.ids):
            return len(self.chunks)
        limit = self.offsets[fit - 1][1]
        return bisect.bisect_right([c[1] for c in self.chunks], limit)


def _spread(slots: list[_Slot], k: int, rng: Any) -> list[_Slot]:
    """``k`` random slots, no two on neighbouring words while that is possible.

    A mask next to another mask is predicted without its neighbour, and needs a second
    pass to see it; words picked apart need one pass and each mask sees real words on both
    sides. Only when ``aug_p`` asks for more words than fit apart do neighbours change
    together (then in two passes)."""
    order = rng.sample(slots, len(slots))
    taken: list[_Slot] = []
    used: set[int] = set()
    for slot in order:
        if len(taken) == k:
            return taken
        if slot.chunk - 1 in used or slot.chunk + 1 in used:
            continue
        taken.append(slot)
        used.add(slot.chunk)
    rest = [slot for slot in order if slot.chunk not in used]
    return taken + rest[: k - len(taken)]


def _core(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    return start, end


class ContextualSubstitute(_ContextualBase):
    """Replace a share ``aug_p`` of the unprotected words by a masked LM's guesses."""

    action: Action = "substitute"
    name = "contextual_substitute"

    def _slots(self, prep: _Prepared, fit: int) -> list[_Slot]:
        text = prep.text
        slots: list[_Slot] = []
        for ci, (cs, ce) in enumerate(prep.chunks):
            s, e = _core(text, cs, ce)
            if s >= e or not _LETTERS.fullmatch(text[s:e]) or overlaps(s, e, prep.spans):
                continue
            rng = prep.token_range(s, e)
            if rng is None or rng[1] > fit:
                continue
            prev_word = text[slice(*_core(text, *prep.chunks[ci - 1]))] if ci > 0 else ""
            next_word = text[slice(*_core(text, *prep.chunks[ci + 1]))] if ci + 1 < len(prep.chunks) else ""
            slots.append(_Slot(s, e, rng[0], rng[1], ci, text[s:e], prev_word, next_word))
        return slots

    def _edit(self, slot: _Slot, choice: str) -> Edit:
        return Edit(slot.start, slot.end, match_case(slot.word, choice), "substitute")


class ContextualInsert(_ContextualBase):
    """Insert a masked LM's guesses into a share ``aug_p`` of the gaps between words
    (never before the first word, never inside a protected phrase)."""

    action: Action = "insert"
    name = "contextual_insert"

    def _slots(self, prep: _Prepared, fit: int) -> list[_Slot]:
        text = prep.text
        slots: list[_Slot] = []
        for ci in range(1, len(prep.chunks)):
            gap = prep.chunks[ci - 1][1]
            nxt = prep.chunks[ci][0]
            if strictly_inside(gap, prep.spans) or strictly_inside(nxt, prep.spans):
                continue
            t = prep.first_token_at_or_after(nxt)
            if t >= fit or t >= len(prep.ids):
                continue
            prev_word = text[slice(*_core(text, *prep.chunks[ci - 1]))]
            next_word = text[slice(*_core(text, *prep.chunks[ci]))]
            slots.append(_Slot(gap, gap, t, t, ci, "", prev_word, next_word))
        return slots

    def _edit(self, slot: _Slot, choice: str) -> Edit:
        return Edit(slot.start, slot.start, " " + choice, "insert")


def _mask_logits(model: Any, input_ids: Any, attention: Any, rows: Any, cols: Any) -> Any:
    """Vocabulary logits at the mask positions only: run the encoder, gather the hidden
    states at the masks, and apply the LM head to those (the head is a vocab-sized
    projection; applying it to every position costs more than the encoder itself for
    short texts)."""
    base = getattr(model, getattr(model, "base_model_prefix", ""), None)
    head = _head(model)
    if base is None or head is None:
        return model(input_ids=input_ids, attention_mask=attention).logits[rows, cols]
    hidden = base(input_ids=input_ids, attention_mask=attention)[0]
    return head(hidden[rows, cols])


def _head(model: Any) -> Any:
    if hasattr(model, "vocab_projector") and hasattr(model, "vocab_transform"):  # DistilBERT
        def distil_head(h: Any) -> Any:
            h = model.vocab_transform(h)
            h = model.activation(h)
            h = model.vocab_layer_norm(h)
            return model.vocab_projector(h)

        return distil_head
    if hasattr(model, "cls"):  # BERT and relatives
        return model.cls
    if hasattr(model, "lm_head"):  # RoBERTa and relatives
        return model.lm_head
    return None


def make_contextual(action: Action, engine: Engine = "native", **params: Any) -> Any:
    """The augmenter for ``--augmenter contextual_<action> --engine <engine>``."""
    if action not in ("substitute", "insert"):
        raise InputError(f"unknown contextual action {action!r}: use substitute or insert")
    if engine == "native":
        return (ContextualSubstitute if action == "substitute" else ContextualInsert)(**params)
    if engine == "nlpaug":
        from augment_core.nlpaug_engine import NlpaugContextual

        return NlpaugContextual(action=action, **params)
    raise InputError(f"unknown engine {engine!r}: use native or nlpaug")
