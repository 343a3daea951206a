"""A dataset's settings (column mapping and how to split it) and the split dataset they give.

The app stores the settings with a dataset, and a copy with every run, as plain JSON:
``{"mapping": ColumnMapping.to_json(), "split_ratios": [train, val, test], "split_seed": 0}``.
Rebuilding from the file's bytes and these settings gives the same records and splits
every time (the split is seeded), so nothing derived needs storing. This lives with the
dataset layer, not with the store: persistence keeps the JSON and builds nothing from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

from augment_core.data.dataset import (
    ColumnMapping,
    Dataset,
    Table,
    TablePreview,
    TableStream,
    build_dataset,
    guess_mapping,
)
from augment_core.data.splitting import DEFAULT_RATIOS, assign_splits


def default_settings(table: Table | TablePreview | TableStream) -> dict[str, Any]:
    """The guessed mapping, the default ratios and seed 0."""
    return {"mapping": guess_mapping(table).to_json(), "split_ratios": list(DEFAULT_RATIOS), "split_seed": 0}


def build_from_settings(table: Table | TableStream, settings: Mapping[str, Any]) -> Dataset:
    """The split dataset the settings describe (raises ``InputError`` when they do not fit)."""
    mapping = ColumnMapping.from_json(dict(settings["mapping"]))
    dataset = build_dataset(table, mapping)
    ratios = settings.get("split_ratios") or DEFAULT_RATIOS
    return assign_splits(dataset, ratios=ratios, seed=int(settings.get("split_seed") or 0))


def settings_key(settings: Mapping[str, Any] | None) -> str:
    """A canonical string for settings, so equal settings compare (and cache) equal."""
    return json.dumps(settings or {}, sort_keys=True, ensure_ascii=False, default=str)


@dataclass(frozen=True)
class RemapImpact:
    """What saving new settings would do to the rows that already have decisions.

    ``decided`` originals (rows of the file that have a decided variant) of which
    ``changed`` get another id, split, text or labels under the new settings: of those,
    ``new_id`` another id, ``left_train`` are no longer in the train split, ``relabelled``
    have other labels.
    """

    decided: int
    changed: int
    new_id: int
    left_train: int
    relabelled: int


def remap_impact(old: Dataset, new: Dataset, decided_parent_ids: set[str]) -> RemapImpact:
    """Compare the decided originals row by row (a record is a row of the file, in order)."""
    changed = new_id = left_train = relabelled = decided = 0
    for before, after in zip(old.records, new.records):
        if before.id not in decided_parent_ids:
            continue
        decided += 1
        diff = False
        if before.id != after.id:
            new_id += 1
            diff = True
        if after.split != before.split:
            if before.split == "train":
                left_train += 1
            diff = True
        if after.labels != before.labels:
            relabelled += 1
            diff = True
        if after.text != before.text:
            diff = True
        changed += diff
    return RemapImpact(decided=decided, changed=changed, new_id=new_id, left_train=left_train, relabelled=relabelled)
