"""The native engine: contextual substitute and insert on a masked language model.

Why not nlpaug's ``ContextualWordEmbsAug``: it rewrites the keywords that decide the tags,
is not reproducible, runs one forward pass per masked word and computes the full
vocabulary head at every position, and returns re-tokenized lower-case text with no
record of what changed. Here a run is: word choice (:mod:`.words`), one masked sequence
per variant and batched prediction (:mod:`.predict`) on a loaded model (:mod:`.session`),
and assembly into exact edits (:mod:`.assembly`). Rounds repeat for the rows that have
fewer distinct variants than asked, up to ``MAX_ROUNDS``.

torch and transformers are imported lazily (constructing an augmenter does not load
them; the first ``generate`` does), so the alias-swap CLI starts without them.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from augment_core.augment.augmenter import Progress
from augment_core.augment.changes import Candidate
from augment_core.augment.contextual.assembly import EditOf, build, insert_edit, substitute_edit
from augment_core.augment.contextual.predict import Job, plan, predict
from augment_core.augment.contextual.session import ModelSession
from augment_core.augment.contextual.settings import MAX_ROUNDS, Action, ContextualSettings
from augment_core.augment.contextual.words import Prepared, Slot, insert_slots, prepare, substitute_slots
from augment_core.errors import InputError


class NativeContextual(ContextualSettings):
    """What substitute and insert share: settings, the model session, the rounds."""

    action: Action = "substitute"
    name = "contextual"
    slots_of: Callable[[Prepared, int], list[Slot]] = staticmethod(substitute_slots)
    edit_of: EditOf = staticmethod(substitute_edit)

    def __init__(self, *args: Any, precision: str = "auto", **kwargs: Any) -> None:
        from augment_core.augment.models import PRECISIONS

        if precision not in PRECISIONS:
            raise InputError(f"--precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        super().__init__(*args, **kwargs)
        self.precision = precision
        self._session: ModelSession | None = None

    def params(self) -> dict[str, Any]:
        from augment_core.augment.models import resolve_device, resolve_precision

        device = self._session.device if self._session is not None else resolve_device(self.device)
        return {**super().params(), "precision": resolve_precision(self.precision, str(device))}

    def load(self) -> None:
        """Load the model now (a run reports it as its own phase)."""
        self.session()

    def session(self) -> ModelSession:
        if self._session is None:
            self._session = ModelSession(self.model_name, self.device, self.precision, self.protector)
        return self._session

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
        session = self.session()
        prepared = [prepare(session.tokenizer, self.protector, t) for t in texts]
        seen: list[set[str]] = [{t} for t in texts]
        pending = [i for i, p in enumerate(prepared) if p is not None]
        if progress and len(texts) > len(pending):
            progress(len(texts) - len(pending))
        for round_index in range(MAX_ROUNDS):
            if not pending:
                break
            jobs: list[Job] = []
            for i in pending:
                prep = prepared[i]
                assert prep is not None
                need = n_per_original - len(results[i])
                for k in range(need if round_index == 0 else need * 2):
                    v = round_index * n_per_original * 2 + k
                    job = plan(session, self.action, type(self).slots_of, self.aug_p, self.aug_max,
                               (self.name, row_ids[i], v, seed), i, prep)
                    if job is not None:
                        jobs.append(job)
            predict(session, jobs, self.batch_size, self.top_k)
            for job in sorted(jobs, key=lambda j: (j.row, j.variant)):
                i = job.row
                if len(results[i]) >= n_per_original:
                    continue
                cand = build(texts[i], job, type(self).edit_of, self.protector)
                if cand is not None and cand.text not in seen[i]:
                    seen[i].add(cand.text)
                    results[i].append(cand)
            still = [i for i in pending if len(results[i]) < n_per_original]
            finished = len(pending) if round_index == MAX_ROUNDS - 1 else len(pending) - len(still)
            if progress and finished:
                progress(finished)
            pending = still
        return results


class ContextualSubstitute(NativeContextual):
    """Replace a share ``aug_p`` of the unprotected words by a masked LM's guesses."""

    action: Action = "substitute"
    name = "contextual_substitute"
    slots_of = staticmethod(substitute_slots)
    edit_of = staticmethod(substitute_edit)


class ContextualInsert(NativeContextual):
    """Insert a masked LM's guesses into a share ``aug_p`` of the gaps between words
    (never before the first word, never inside a protected phrase)."""

    action: Action = "insert"
    name = "contextual_insert"
    slots_of = staticmethod(insert_slots)
    edit_of = staticmethod(insert_edit)
