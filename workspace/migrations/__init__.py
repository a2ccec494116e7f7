"""Alembic migrations of the workspace (``workspace.db.migrate`` runs them to head)."""
