"""The audit log, the sign-in throttle (per name and global), the review units' polygons; SSO subjects marked.

Revision ID: 0005_audit_and_lockout
Revises: 0003
Create Date: 2026-12-07

(issue 28: the lead re-chains ``down_revision`` onto ``0004_project_inputs`` at the merge.)
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_audit_and_lockout"
down_revision = "0004_project_inputs"
branch_labels = None
depends_on = None

_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    """``audit``, ``signin_throttle`` and ``unit_shapes``; an SSO identity without ``@`` becomes ``sub:`` + it."""
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", _WHEN, nullable=False, index=True),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("action", sa.String(40), nullable=False, index=True),
        sa.Column("scenario_id", sa.Integer, index=True),
        sa.Column("version", sa.Integer),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_table(
        "signin_throttle",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("failed", sa.Integer, nullable=False),
        sa.Column("locked_until", _WHEN),
        sa.Column("window_start", _WHEN),
    )
    op.create_table(
        "unit_shapes",
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("code", sa.String(100), primary_key=True),
        sa.Column("wkt", sa.Text, nullable=False),
    )
    # a subject is matched exactly and never as an e-mail: kept as "sub:<subject>"
    op.execute("UPDATE accounts SET oidc = 'sub:' || oidc WHERE oidc IS NOT NULL AND oidc NOT LIKE '%@%'")


def downgrade() -> None:
    """Drop them."""
    op.execute("UPDATE accounts SET oidc = substr(oidc, 5) WHERE oidc LIKE 'sub:%'")
    op.drop_table("unit_shapes")
    op.drop_table("signin_throttle")
    op.drop_table("audit")
