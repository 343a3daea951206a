"""What the two arms train on and what they are scored on.

Built from a split dataset plus its stored candidates and decisions (the app), or from a
file such as ``augment`` writes (the CLI). Test rows are skipped before their text or
labels are looked at unless ``use_test`` is set: choosing a curated split by its test
score would make the test score meaningless.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from augment_core.errors import InputError

VARIANT_SOURCES = ("auto", "all", "accepted")
ACCEPT_VALUES = frozenset({"accept", "accepted"})
DECISION_COLUMN = "decision"
_KNOWN_COLUMNS = frozenset({
    "id", "parent_id", "split", "augmenter", "text", "original_text", "params", "changes", "run_id", "key",
    DECISION_COLUMN, "similarity", "flags", "heldout_similarity", "leak",
})


@dataclass(frozen=True, slots=True)
class Example:
    """One text with its labels; a variant names the original it came from."""

    id: str
    text: str
    labels: tuple[str, ...]
    parent_id: str


@dataclass(frozen=True)
class EvalData:
    """Arm (a) trains on ``train``; arm (b) on ``train`` plus ``variants``. ``test`` is None
    unless the user asked for it."""

    train: tuple[Example, ...]
    variants: tuple[Example, ...]
    val: tuple[Example, ...]
    test: tuple[Example, ...] | None
    variants_source: str
    """What the variants are: ``accepted`` (reviewed and accepted) or ``all``."""


def _keep_distinct(train: Sequence[Example], variants: Iterable[Example]) -> tuple[Example, ...]:
    """Variants of known originals, each text once per original (two runs can make the
    same variant; a variant equal to its original adds nothing)."""
    seen = {t.id: {t.text} for t in train}
    out = []
    for v in variants:
        texts = seen.get(v.parent_id)
        if texts is None or v.text in texts:
            continue
        texts.add(v.text)
        out.append(v)
    return tuple(out)


def from_dataset(
    dataset: Any,
    candidates: Iterable[Mapping[str, Any]],
    decisions: Mapping[str, str],
    source: str = "accepted",
    use_test: bool = False,
) -> EvalData:
    """From the app's split dataset and the stored candidates of the chosen runs:
    ``source="accepted"`` keeps the variants the reviewer accepted, ``"all"`` every one."""
    if source not in ("all", "accepted"):
        raise InputError(f"variants must be 'all' or 'accepted', not {source!r}")
    train: list[Example] = []
    val: list[Example] = []
    test: list[Example] = []
    for r in dataset.records:
        split = r.split  # the only attribute a test row is asked for unless use_test
        if split == "train":
            train.append(Example(r.id, r.text, tuple(r.labels), r.id))
        elif split == "val":
            val.append(Example(r.id, r.text, tuple(r.labels), r.id))
        elif split == "test" and use_test:
            test.append(Example(r.id, r.text, tuple(r.labels), r.id))
    labels = {t.id: t.labels for t in train}
    chosen = (
        Example(str(c["id"]), str(c.get("text") or ""), labels.get(str(c.get("parent_id")), ()), str(c.get("parent_id")))
        for c in candidates
        if c.get("augmenter") != "original" and (source == "all" or decisions.get(c["key"]) == "accepted")
    )
    return EvalData(tuple(train), _keep_distinct(train, chosen), tuple(val), tuple(test) if use_test else None, source)


LABEL_NAMES = ("tags", "labels", "label", "tag", "category", "class", "target", "y")
"""Names taken for the label column when an output has several columns of the user's."""


def provenance_prefix(columns: Sequence[str]) -> str:
    """The prefix of an ``augment`` output's provenance columns: none, or the one its writer
    chose because an input column had a provenance column's name (``aug_`` by default)."""
    cols = set(columns)
    found = [c[: -len("parent_id")] for c in columns if c.endswith("parent_id") and c[: -len("parent_id")] + "augmenter" in cols]
    return max(found, key=len) if found else ""  # the outermost family, for an output augmented again


def label_column_of(columns: Sequence[str], given: str | None, prefix: str = "") -> str:
    """The label column: as given, else the one column an ``augment`` output has besides its
    own, or among several (the user's other columns) the one named like labels (``tags``...)."""
    if given:
        if given not in columns:
            raise InputError(f"label column {given!r} not found (the file has: {', '.join(columns)})")
        return given
    own = {prefix + c for c in _KNOWN_COLUMNS} | (_KNOWN_COLUMNS if not prefix else set())
    rest = [c for c in columns if c not in own]
    named = [c for n in LABEL_NAMES for c in rest if c.lower() == n]
    if len(rest) > 1 and len(named) == 1:
        return named[0]
    if len(rest) != 1:
        raise InputError(
            "cannot tell which column holds the labels: pass --label-column "
            f"(columns other than augment's own: {', '.join(rest) or 'none'})"
        )
    return rest[0]


def from_augmented_file(
    path: str,
    label_column: str | None = None,
    label_sep: str = ",",
    variants: str = "auto",
    use_test: bool = False,
) -> EvalData:
    """From an ``augment`` output (originals written with ``--keep-original``) or a curated
    export. ``variants="auto"`` keeps only rows whose ``decision`` is accept(ed) when the
    file has a decision column, and every variant when it has none."""
    from augment_core.data.dataset import TableStream, normalize_split, parse_labels

    if variants not in VARIANT_SOURCES:
        raise InputError(f"--variants must be one of {', '.join(VARIANT_SOURCES)}, not {variants!r}")
    table = TableStream.from_path(path)
    cols = list(table.columns)
    pre = provenance_prefix(cols)
    missing = [pre + c for c in ("id", "parent_id", "split", "augmenter", "text") if pre + c not in cols]
    if missing:
        raise InputError(
            f"{path} is not an augment output: column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            "missing (run `python -m augment_core augment ... --keep-original` first)"
        )
    label = label_column_of(cols, label_column, pre)
    has_decision = DECISION_COLUMN in cols or pre + DECISION_COLUMN in cols
    if variants == "accepted" and not has_decision:
        raise InputError(f"--variants accepted needs a {DECISION_COLUMN!r} column, and {path} has none")
    source = ("accepted" if has_decision else "all") if variants == "auto" else variants
    at = {c[len(pre):] if c.startswith(pre) and c[len(pre):] in _KNOWN_COLUMNS else c: i for i, c in enumerate(cols)}
    at.update({c: i for i, c in enumerate(cols) if c == label})
    dec_i = at.get(DECISION_COLUMN)
    train: list[Example] = []
    val: list[Example] = []
    test: list[Example] = []
    chosen: list[Example] = []
    for n, row in enumerate(table.tuples(), start=2):
        split = normalize_split(row[at["split"]])
        if split == "test" and not use_test:
            continue  # never looked at further
        if split is None:
            raise InputError(f"row {n}: split {str(row[at['split']])[:40]!r} is not train, val or test")
        rid, text = str(row[at["id"]]), "" if row[at["text"]] is None else str(row[at["text"]])
        ex = Example(rid, text, parse_labels(row[at[label]], "auto", label_sep), str(row[at["parent_id"]]))
        if str(row[at["augmenter"]]) != "original":
            if split == "train" and (source == "all" or str((row[dec_i] if dec_i is not None else "") or "").strip().lower() in ACCEPT_VALUES):
                chosen.append(ex)
        else:
            {"train": train, "val": val, "test": test}[split].append(ex)
    if not train:
        raise InputError(f"{path} has no train originals: write them with `augment --keep-original`")
    if not val:
        raise InputError(f"{path} has no val rows: the evaluation scores on val (write them with augment's output)")
    known = {t.id for t in train}
    orphan = next((v for v in chosen if v.parent_id not in known), None)
    if orphan is not None:
        raise InputError(f"variant {orphan.id!r} names parent {orphan.parent_id!r}, which is not a train original here")
    return EvalData(tuple(train), _keep_distinct(train, chosen), tuple(val), tuple(test) if use_test else None, source)
