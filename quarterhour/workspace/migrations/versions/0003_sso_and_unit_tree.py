"""Single sign-on identities of accounts, and each project's unit tree.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """``accounts.oidc`` (an e-mail or OIDC ``sub``, unique) and ``units`` (project, code → parent code)."""
    # a plain ADD COLUMN and a unique index: no copy of the table (SQLite's batch copy would drop the
    # accounts table, and with foreign keys on, its sessions with it)
    op.add_column("accounts", sa.Column("oidc", sa.String(320), nullable=True))
    op.create_index("ix_accounts_oidc", "accounts", ["oidc"], unique=True)
    op.create_table(
        "units",
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("code", sa.String(100), primary_key=True),
        sa.Column("parent", sa.String(100), nullable=False),
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_table("units")
    op.drop_index("ix_accounts_oidc", "accounts")
    op.drop_column("accounts", "oidc")
