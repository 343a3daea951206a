"""Types of the compiled diff (compiled_diff.pyx), for mypy."""

from augment_core.augment.changes import Change

def diff_changes(original: str, variant: str) -> tuple[Change, ...]: ...
