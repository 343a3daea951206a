"""Types of the compiled diff (compiled/diff.pyx), for mypy."""

from augment_core.augment.changes import Change

def diff_changes(original: str, variant: str) -> tuple[Change, ...]: ...
