"""Errors a user can act on.

Everything that goes wrong because of what the user gave us (a file, a column name, a
tags file, a model path) is raised as :class:`InputError` with a one-line message that is
shown as-is, in the CLI on stderr and in the app as an error box. Anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations


class InputError(Exception):
    """Bad input: the message says what is wrong and what to do about it."""

    def in_app(self) -> str:
        """The message with the CLI's options named as the app's fields, since "point
        --model at a local copy" means nothing to someone looking at a form."""
        text = str(self)
        for cli, app in APP_WORDING.items():
            text = text.replace(cli, app)
        return text


class ModelUnavailable(InputError):
    """A model could not be loaded (offline, wrong path, not a masked LM)."""


MODEL_OPTION = "--model / AUGMENT_REVIEW_MODEL"
NO_QUALITY = "skip quality with --no-quality"
APP_WORDING = {
    MODEL_OPTION: "the Model field on the Augment page (or AUGMENT_REVIEW_MODEL)",
    NO_QUALITY: "untick \"Compute quality signals\" on the Augment page",
}
