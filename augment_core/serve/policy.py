"""Who may do what on a served app: two roles, the actions they may take, one check.

Kept apart from the pages (as Argilla keeps its server's policies apart from its handlers):
a page asks :func:`allows` to decide what to show, and every handler that changes something
on the server calls :func:`authorize` before it acts, so a control that is hidden is also
refused when its request is forged or sent from a tab opened before a role changed.

- **admin**: everything: add datasets (upload, the bundled sample), change a dataset's
  mapping or tags file, run augmentations, load runs from the server's disk, write files
  on the server, and everything a reviewer does.
- **reviewer**: review (decide, bulk-decide, undo their own actions), evaluate, download
  exports.

Without sign-in the one local user is an admin. With sign-in, the admins are the addresses
and ``@domains`` listed as ``admins`` in the ``[augment_review]`` section of the secrets
(parsed like the allow-list, :func:`augment_core.serve.access.parse_allow_list`); everyone else the
allow-list admits is a reviewer, so a server with no ``admins`` has reviewers only.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Iterable

from augment_core.errors import InputError
from augment_core.serve import access

ADMINS_KEY = "admins"
"""In the ``[augment_review]`` secrets section: who is an admin (addresses and ``@domains``)."""


class Role(enum.Enum):
    ADMIN = "admin"
    REVIEWER = "reviewer"


class Action(enum.Enum):
    """What a handler is about to do; the value is how a refusal names it."""

    ADD_DATASET = "add a dataset"
    CHANGE_MAPPING = "change a dataset's column mapping"
    CHANGE_TAGS = "change a dataset's tags file"
    RUN_AUGMENTATION = "run an augmentation"
    LOAD_RUN = "load a run from the server's disk"
    WRITE_SERVER_FILE = "write a file on the server"
    REVIEW = "review variants"
    EVALUATE = "evaluate"
    DOWNLOAD_EXPORT = "download an export"


REVIEWER_ACTIONS = frozenset({Action.REVIEW, Action.EVALUATE, Action.DOWNLOAD_EXPORT})
POLICY: dict[Role, frozenset[Action]] = {
    Role.ADMIN: frozenset(Action),
    Role.REVIEWER: REVIEWER_ACTIONS,
}
"""The one table of who may do what."""


@dataclass(frozen=True)
class User:
    """Who a session acts for: an e-mail address (or ``"local"`` without sign-in) and a role."""

    name: str
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


class Forbidden(InputError):
    """The user's role does not allow the action: one line, and nothing was done."""


def allows(user: User, action: Action) -> bool:
    """Whether ``user`` may take ``action`` (pages use it to decide what to show)."""
    return action in POLICY[user.role]


def authorize(user: User, action: Action) -> None:
    """Raise :class:`Forbidden` unless ``user`` may take ``action``; handlers call it before
    they act, whatever the page showed."""
    if not allows(user, action):
        raise Forbidden(f"not allowed: {user.name} is a {user.role.value} here, and only an admin may "
                        f"{action.value}")


def parse_admins(raw: Any) -> tuple[str, ...]:
    """The ``admins`` setting's entries (``alice@example.com``, ``@example.com``), lower-cased;
    raises :class:`augment_core.serve.access.AllowListError` naming the setting when malformed."""
    return access.parse_allow_list(raw, key=ADMINS_KEY)


def role_of(email: str | None, admins: Iterable[str], signed_in: bool) -> Role:
    """Without sign-in: admin (the one local user). With it: admin only when the address or
    its ``@domain`` is listed in ``admins``; an empty list makes nobody an admin (unlike the
    allow-list, where empty means everyone)."""
    if not signed_in:
        return Role.ADMIN
    entries = tuple(admins)
    return Role.ADMIN if entries and access.is_allowed(email, entries) else Role.REVIEWER
