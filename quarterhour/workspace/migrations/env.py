"""Alembic's environment: run on the connection ``quarterhour.workspace.db.migrate`` hands over (no alembic.ini)."""

from alembic import context

from quarterhour.workspace.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
