"""Errors a user can act on.

Everything that goes wrong because of what the user gave us (a file, a column name, a
tags file, a model path) is raised as :class:`InputError` with a one-line message that is
shown as-is, in the CLI on stderr and in the app as an error box. Anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations


class InputError(Exception):
    """Bad input: the message says what is wrong and what to do about it."""


class ModelUnavailable(InputError):
    """A model could not be loaded (offline, wrong path, not a masked LM)."""
