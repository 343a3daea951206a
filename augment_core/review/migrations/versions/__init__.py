"""The review database's revisions, oldest first; each names the one before it."""
