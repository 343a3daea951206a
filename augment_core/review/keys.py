"""The keys decisions are stored and undone under.

A variant's decision is keyed ``"<run id>:<row id>"`` (:func:`candidate_key`), because row
ids repeat across runs; a decision on a whole alias rule of a run imported by sample is keyed
``"rule:<run id>:<rule>"`` (:func:`rule_key`) and goes through the same path as row decisions
(expected states, conflicts, actions, undo).
"""

from __future__ import annotations


def candidate_key(run_id: int, row_id: str) -> str:
    return f"{run_id}:{row_id}"


def split_key(key: str) -> tuple[int, str]:
    run, _, row_id = key.partition(":")
    return int(run), row_id


RULE_KEY = "rule:"
"""Keys of rule decisions in the undo log start so (row keys start with a run id)."""


def rule_key(run_id: int, rule: str) -> str:
    """The key a decision on a whole alias rule of a run is written and undone under."""
    return f"{RULE_KEY}{run_id}:{rule}"


def split_rule_key(key: str) -> tuple[int, str] | None:
    """(run id, rule) of a rule key; None for a row key."""
    if not key.startswith(RULE_KEY):
        return None
    run, _, rule = key[len(RULE_KEY):].partition(":")
    return int(run), rule
