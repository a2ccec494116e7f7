"""Alembic migrations of the workspace (``quarterhour.workspace.db.migrate`` runs them to head)."""
