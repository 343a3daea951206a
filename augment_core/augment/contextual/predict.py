"""Prediction: a variant's chosen words become masks in one sequence, and the masked LM
fills them.

All masks of a variant go into one sequence; adjacent masked words are split into two
passes (alternating), so a word is never predicted next to a still-unknown neighbour *and*
its already-predicted neighbour at once. Insertion masks are never adjacent (one per gap
between words): one pass. Variants of all rows are batched together, sorted by length; the
encoder runs once per batch and the vocabulary head only on the mask positions. The token
drawn among the ``top_k`` comes from a torch generator seeded with ``row_seed(seed, name,
row_id, variant)``, so a row's output does not depend on the other rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from augment_core.augment.contextual.session import ModelSession
from augment_core.augment.contextual.settings import Action
from augment_core.augment.contextual.words import Prepared, Slot, count, spread
from augment_core.augment.protection import fold
from augment_core.rng import row_rng, row_seed


@dataclass
class Job:
    """One variant to predict: its masked sequence and, once predicted, the words."""

    row: int
    variant: int
    ids: list[int]
    slots: list[Slot]
    positions: list[int]  # index of each slot's mask in ``ids`` (special tokens included)
    passes: list[int]
    generator: Any
    chosen: list[str | None] = field(default_factory=list)
    chosen_ids: list[int | None] = field(default_factory=list)


def plan(
    session: ModelSession,
    action: Action,
    slots_of: Callable[[Prepared, int], list[Slot]],
    aug_p: float,
    aug_max: int | None,
    key: tuple[str, str, int, int],
    row: int,
    prep: Prepared,
) -> Job | None:
    """The masked sequence for variant ``key = (name, row_id, variant, seed)`` of a row."""
    import torch

    name, row_id, variant, seed = key
    window = session.window
    n_words = prep.words_within(window)
    fit = max(0, window - count(aug_p, aug_max, n_words, n_words)) if action == "insert" else window
    slots = slots_of(prep, fit)
    k = count(aug_p, aug_max, prep.words_within(fit), len(slots))
    if k == 0:
        return None
    rng = row_rng(seed, name, row_id, variant)
    picked = spread(slots, k, rng) if action == "substitute" else rng.sample(slots, k)
    chosen = sorted(picked, key=lambda s: s.chunk)
    ids: list[int] = []
    positions: list[int] = []
    pos = 0
    for slot in chosen:
        ids.extend(prep.ids[pos : slot.tok])
        positions.append(session.prefix + len(ids))
        ids.append(session.mask_id)
        pos = slot.tok_end
    ids.extend(prep.ids[pos:fit])
    full = session.tokenizer.build_inputs_with_special_tokens(ids)
    passes: list[int] = []
    for j, slot in enumerate(chosen):
        adjacent = action == "substitute" and j > 0 and chosen[j - 1].chunk == slot.chunk - 1
        passes.append(1 - passes[-1] if adjacent else 0)
    gen = torch.Generator().manual_seed(row_seed(seed, name, row_id, variant))
    return Job(row, variant, full, chosen, positions, passes, gen, [None] * len(chosen), [None] * len(chosen))


def predict(session: ModelSession, jobs: list[Job], batch_size: int, top_k: int) -> None:
    """Fill every job's masks, in place."""
    import torch

    for p in (0, 1):
        work = [(job, [j for j, q in enumerate(job.passes) if q == p]) for job in jobs]
        work = [(job, idx) for job, idx in work if idx]
        if not work:
            continue
        work.sort(key=lambda w: len(w[0].ids))
        device_type = "cuda" if str(session.device).startswith("cuda") else "cpu"
        with torch.inference_mode(), torch.autocast(device_type, dtype=torch.bfloat16, enabled=session.bf16):
            for b in range(0, len(work), batch_size):
                _predict_batch(session, work[b : b + batch_size], top_k)


def _predict_batch(session: ModelSession, batch: list[tuple[Job, list[int]]], top_k: int) -> None:
    import torch

    lm = session.lm
    tok = session.tokenizer
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
    logits = mask_logits(lm.model, input_ids, attention, torch.tensor(rows, device=lm.device),
                         torch.tensor(cols, device=lm.device))
    logits = logits.float().masked_fill(session.banned, float("-inf"))
    extra = 8
    k = min(top_k + extra, logits.shape[-1])
    values, indices = torch.topk(logits, k, dim=-1)
    values = values.cpu()
    indices = indices.cpu()
    m = 0
    for job, idx in batch:
        for j in idx:
            token_id = _sample(session, job, j, values[m], indices[m], top_k)
            m += 1
            if token_id is not None:
                job.chosen_ids[j] = token_id
                job.chosen[j] = session.token_string(token_id)
                # the next pass sees this prediction as context
                job.ids[job.positions[j]] = token_id


def _sample(session: ModelSession, job: Job, j: int, values: Any, indices: Any, top_k: int) -> int | None:
    """A token among the ``top_k`` allowed ones, none equal to the word or a neighbour."""
    import torch

    slot = job.slots[j]
    avoid = {slot.word.casefold(), slot.prev_word.casefold(), slot.next_word.casefold()} - {""}
    keep_vals: list[float] = []
    keep_ids: list[int] = []
    for v, i in zip(values.tolist(), indices.tolist()):
        if v == float("-inf"):
            break
        s = session.token_string(i)
        if fold(s) in avoid or s.casefold() in avoid:
            continue
        keep_vals.append(v)
        keep_ids.append(i)
        if len(keep_ids) >= top_k:
            break
    if not keep_ids:
        torch.rand(1, generator=job.generator)  # keep the generator's stream aligned
        return None
    probs = torch.softmax(torch.tensor(keep_vals, dtype=torch.float64), dim=0)
    pick = int(torch.multinomial(probs, 1, generator=job.generator).item())
    return keep_ids[pick]


def mask_logits(model: Any, input_ids: Any, attention: Any, rows: Any, cols: Any) -> Any:
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
