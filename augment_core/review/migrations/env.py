"""Alembic's environment: migrations run on the connection the store passes in
(:func:`augment_core.review.migrate.upgrade`), inside its write transaction."""

from __future__ import annotations

from alembic import context

from augment_core.review.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("the review database is migrated when a store opens it: open it with the app or the CLI")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
