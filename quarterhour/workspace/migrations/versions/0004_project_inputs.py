"""Projects that hold their inputs: input files kept once by hash, each project's inputs, each account's page.

Revision ID: 0004_project_inputs
Revises: 0003
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_project_inputs"
down_revision = "0003"
branch_labels = None
depends_on = None

_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    """``input_files``, ``project_inputs``, ``pages``, and ``versions.inputs`` (the inputs a version pins)."""
    op.create_table(
        "input_files",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=True),
        sa.Column("created_at", _WHEN, nullable=False),
    )
    op.create_table(
        "project_inputs",
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("role", sa.String(20), primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), sa.ForeignKey("input_files.sha256"), nullable=True),
        sa.Column("name", sa.String(400), nullable=False),
        sa.Column("options", sa.Text, nullable=False),
    )
    op.create_table(
        "pages",
        sa.Column("account", sa.String(100), primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("scenario_id", sa.Integer, sa.ForeignKey("scenarios.id", ondelete="SET NULL"), nullable=True),
        sa.Column("version", sa.Integer, nullable=True),
        sa.Column("base", sa.Integer, nullable=True),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("extra", sa.Text, nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
    )
    op.create_index("ix_pages_updated_at", "pages", ["updated_at"])
    # a plain ADD COLUMN (no batch copy of the versions table, whose changes would go with it)
    op.add_column("versions", sa.Column("inputs", sa.Text, nullable=False, server_default="{}"))


def downgrade() -> None:
    """Drop them."""
    op.drop_column("versions", "inputs")
    op.drop_index("ix_pages_updated_at", "pages")
    op.drop_table("pages")
    op.drop_table("project_inputs")
    op.drop_table("input_files")
