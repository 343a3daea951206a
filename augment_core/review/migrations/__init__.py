"""Alembic's environment and revisions of the review database (see :mod:`augment_core.review.migrate`)."""
