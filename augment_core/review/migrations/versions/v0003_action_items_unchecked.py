"""action_items without the foreign key to actions.

PostgreSQL checks a foreign key with a trigger per inserted row: a bulk decision over
300,000 variants writes 300,000 action items, and their checks were most of that statement's
time (60% at 30,000). The store writes an action and its items in one transaction and
deletes the items before the action (:mod:`augment_core.review.history`), so the key checked
nothing the store could get wrong. Dropped on SQLite too (the table rebuilt without it, its
rows and index kept), so both databases keep one schema.

A database made after this release never had the key (the baseline creates the tables of
:mod:`augment_core.review.schema`): only one that has it is changed.

Revision ID: 0003_action_items_unchecked
Revises: 0002_evaluations
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import inspect

from augment_core.review.schema import action_items

revision = "0003_action_items_unchecked"
down_revision = "0002_evaluations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    keys = [fk for fk in inspect(bind).get_foreign_keys("action_items") if fk["referred_table"] == "actions"]
    if not keys:
        return
    if bind.dialect.name == "sqlite":  # no ALTER TABLE ... DROP CONSTRAINT: the table is copied
        with op.batch_alter_table("action_items", copy_from=action_items, recreate="always"):
            pass
        return
    for fk in keys:
        op.drop_constraint(str(fk["name"]), "action_items", type_="foreignkey")


def downgrade() -> None:
    raise NotImplementedError("restore a backup to go back to a release before this one")
