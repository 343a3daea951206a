"""The baseline: the schema of the release that split the store by job.

A new database gets every table of :mod:`augment_core.review.schema`. A SQLite database made
by an older release (no ``alembic_version`` table yet, but the product's tables) is first
brought to this schema by the hand-written migration those releases ran on every open
(:func:`augment_core.review.legacy.migrate`), in place, its decisions kept; Alembic takes
over from here. When a later revision changes a table, copy that table's definition as it
is now into this file, so a new database still starts from the baseline.

Revision ID: 0001_baseline
Revises:
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import inspect

from augment_core.review.database import Conn
from augment_core.review.legacy import migrate
from augment_core.review.schema import metadata

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite" and inspect(bind).has_table("datasets"):
        migrate(Conn(bind))
    metadata.create_all(bind)


def downgrade() -> None:
    raise NotImplementedError("the baseline is the oldest schema Alembic knows: restore a backup instead")
