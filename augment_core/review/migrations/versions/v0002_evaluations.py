"""Evaluation results in the review database (both backends).

Before this revision the Evaluate page kept its results in a table of the SQLite file in the
data folder, made outside Alembic (``CREATE TABLE IF NOT EXISTS evaluations``, the same
columns and index as :data:`augment_core.review.schema.evaluations`). On PostgreSQL that file
was each server's own, so one server never saw another's evaluations. A SQLite database that
has the table keeps it and its rows as they are; any other gets the table. (A new database
gets it from the baseline, which creates every table of the schema.)

Revision ID: 0002_evaluations
Revises: 0001_baseline
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import inspect

from augment_core.review.schema import evaluations

revision = "0002_evaluations"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if not inspect(bind).has_table(evaluations.name):
        evaluations.create(bind)


def downgrade() -> None:
    op.drop_table(evaluations.name)
