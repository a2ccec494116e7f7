"""The workspace's first schema: projects, scenarios, versions, changes.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the tables; on PostgreSQL also the PostGIS point of each change, computed from lon/lat."""
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(64), nullable=False, unique=True),
        sa.Column("network_sha", sa.String(64), nullable=False),
        sa.Column("facilities_sha", sa.String(64), nullable=False),
        sa.Column("residents_sha", sa.String(64), nullable=False),
        sa.Column("units_sha", sa.String(64), nullable=False),
        sa.Column("label", sa.String(400), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
    )
    op.create_table(
        "scenarios",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("unit", sa.String(100), nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("head", sa.Integer, nullable=False),
        sa.Column("status_version", sa.Integer),
        sa.Column("reviewer", sa.String(100)),
        sa.Column("review_comment", sa.Text),
        sa.Column("reviewed_at", _WHEN),
        sa.Column("submitted_at", _WHEN),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
    )
    op.create_index("ix_scenarios_project_id", "scenarios", ["project_id"])
    op.create_index("ix_scenarios_unit", "scenarios", ["unit"])
    op.create_table(
        "versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("scenario_id", sa.Integer, sa.ForeignKey("scenarios.id", ondelete="CASCADE"), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("saved_at", _WHEN, nullable=False),
        sa.Column("params_sha", sa.String(64), nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.UniqueConstraint("scenario_id", "number"),
    )
    op.create_index("ix_versions_scenario_id", "versions", ["scenario_id"])
    op.create_table(
        "changes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("versions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("facility_id", sa.String(200)),
        sa.Column("name", sa.String(400), nullable=False),
        sa.Column("category", sa.String(60), nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("made_at", _WHEN, nullable=False),
    )
    op.create_index("ix_changes_version_id", "changes", ["version_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        op.execute(
            "ALTER TABLE changes ADD COLUMN geom geometry(Point, 4326) "
            "GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)) STORED"
        )
        op.execute("CREATE INDEX ix_changes_geom ON changes USING GIST (geom)")


def downgrade() -> None:
    """Drop the tables."""
    for table in ("changes", "versions", "scenarios", "projects"):
        op.drop_table(table)
