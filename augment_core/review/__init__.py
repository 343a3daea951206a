"""The review workflow: stored work (``store``), review filters (``filters``) and the curated
export (``export``), apart from the augmenters that produce the candidates."""
