"""The workspace's tables: projects, scenarios, their versions and each version's changes.

A project is the data a scenario is made on, named by content: the SHA-256 of
the network, the facilities, the residents and the review units (an uploaded
file that is uploaded again finds its project). A scenario belongs to one
project and one review unit, has an author and a status (draft, submitted,
reviewed), and keeps every version: each save adds one, whole (the changes in
order, with the parameters and the result summary it was saved with), so any
version opens exactly as it was saved.

Places are plain WGS-84 ``lon``/``lat`` columns on every database, so SQLite and
PostgreSQL share one schema and the code never reads a geometry type. On
PostgreSQL the initial migration adds a PostGIS point column computed from them
(``changes.geom``, generated and indexed) for a GIS to read; nothing writes it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from quarterhour.workspace.access import STATUSES

__all__ = [
    "STATUSES",
    "Account",
    "AuditRow",
    "Base",
    "ChangeRow",
    "InputFile",
    "Page",
    "Project",
    "ProjectInput",
    "Scenario",
    "SignIn",
    "SignInThrottle",
    "UnitRow",
    "UnitShape",
    "Version",
]


class Base(DeclarativeBase):
    """The workspace's tables."""


class Project(Base):
    """The data scenarios are made on, by content hash."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  #: SHA-256 over the four hashes below
    network_sha: Mapped[str] = mapped_column(String(64))
    facilities_sha: Mapped[str] = mapped_column(String(64))
    residents_sha: Mapped[str] = mapped_column(String(64))
    units_sha: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(400), default="")  #: the sources as the planner named them
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    scenarios: Mapped[list[Scenario]] = relationship(back_populates="project")


class UnitRow(Base):
    """A project's unit tree: each review unit and the unit it lies in (a 社区 in its 街道, a 街道 in its district)."""

    __tablename__ = "units"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(String(100), primary_key=True)
    parent: Mapped[str] = mapped_column(String(100))


class Scenario(Base):
    """A named proposal for one review unit; ``head`` is its newest version number."""

    __tablename__ = "scenarios"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(100), default="", index=True)  #: review unit code ("" = whole city)
    author: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="draft")
    head: Mapped[int] = mapped_column(Integer, default=0)  #: the newest version; a save names the one it was made on
    status_version: Mapped[int | None] = mapped_column(Integer, nullable=True)  #: the version submitted or reviewed
    reviewer: Mapped[str | None] = mapped_column(String(100), nullable=True)
    review_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    project: Mapped[Project] = relationship(back_populates="scenarios")
    versions: Mapped[list[Version]] = relationship(back_populates="scenario", order_by="Version.number")


class Version(Base):
    """One save of a scenario: its changes, parameters and result summary, as saved."""

    __tablename__ = "versions"
    __table_args__ = (UniqueConstraint("scenario_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    author: Mapped[str] = mapped_column(String(100))
    saved_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    params_sha: Mapped[str] = mapped_column(String(64), default="")
    params: Mapped[str] = mapped_column(Text, default="{}")  #: JSON: the parameters the figures were computed with
    summary: Mapped[str] = mapped_column(Text, default="{}")  #: JSON: the result figures (residents covered, ...)
    #: JSON: the inputs the figures were computed on (``workspace.inputs``: role -> kind, source, sha, name)
    inputs: Mapped[str] = mapped_column(Text, default="{}")

    scenario: Mapped[Scenario] = relationship(back_populates="versions")
    changes: Mapped[list[ChangeRow]] = relationship(
        back_populates="version", order_by="ChangeRow.seq", cascade="all, delete-orphan"
    )


class ChangeRow(Base):
    """One change of a version: add, move or close, where (WGS-84), by whom and when it was made."""

    __tablename__ = "changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(10))
    facility_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    name: Mapped[str] = mapped_column(String(400), default="")
    category: Mapped[str] = mapped_column(String(60), default="")
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    author: Mapped[str] = mapped_column(String(100))
    made_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    version: Mapped[Version] = relationship(back_populates="changes")


class Account(Base):
    """A planner, reviewer or admin: the argon2 hash of the password, never the password."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    units: Mapped[str] = mapped_column(Text, default="")  #: review unit codes, comma-separated
    password_hash: Mapped[str] = mapped_column(String(200))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed: Mapped[int] = mapped_column(Integer, default=0)  #: failed sign-ins in a row
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_sign_in: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: the single sign-on identity (``st.user``'s e-mail, lower case, or its ``sub``) that signs in as this account
    oidc: Mapped[str | None] = mapped_column(String(320), unique=True, index=True, nullable=True)


class SignIn(Base):
    """A signed-in session: the SHA-256 of its token (the token itself stays with the browser session)."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


# --- issue 28: i28-accounts ---
class AuditRow(Base):
    """One action in the audit log: who (account and role), what, when, on which scenario and version."""

    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(100))  #: the account's name ("" for a sign-in refused of no account)
    role: Mapped[str] = mapped_column(String(20), default="")
    action: Mapped[str] = mapped_column(String(40), index=True)
    scenario_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    detail: Mapped[str] = mapped_column(Text, default="")


class SignInThrottle(Base):
    """Failed sign-ins per name (known or not, so the lockout says nothing about which names exist), and ``*``.

    ``failed`` counts the tries in a row that were not a success (a try is counted before its password is
    checked, so parallel tries cannot pass the count); ``locked_until`` is when the next try is checked. The
    row ``*`` counts every name's failures in the window that began at ``window_start`` (the global limit).
    """

    __tablename__ = "signin_throttle"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    window_start: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class UnitShape(Base):
    """A project's review unit's polygon (WGS-84 WKT): a planner's changes must lie inside their units."""

    __tablename__ = "unit_shapes"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(String(100), primary_key=True)
    wkt: Mapped[str] = mapped_column(Text)


# --- issue 28: i28-projects: projects that hold their inputs (migration 0004_project_inputs) ---
class InputFile(Base):
    """An input file's content, kept once by its SHA-256: in the row (PostgreSQL) or in the store's file area."""

    __tablename__ = "input_files"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  #: None: in the file area (SQLite)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ProjectInput(Base):
    """One input a project stands on: ``network``, ``facilities``, ``demand``, ``units`` or ``candidates``.

    ``kind`` is ``sample`` (the bundled file), ``file`` (kept in ``input_files`` by ``sha256``), or ``text``
    (an OpenStreetMap place or box, a prepared network's store key, a bundled unit set); ``name`` is the
    planner's name of it (the uploaded file's, the network's source name); ``options`` how it is read (JSON:
    the coordinate and column choices).
    """

    __tablename__ = "project_inputs"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(Text, default="")
    sha256: Mapped[str | None] = mapped_column(ForeignKey("input_files.sha256"), nullable=True)
    name: Mapped[str] = mapped_column(String(400), default="")
    options: Mapped[str] = mapped_column(Text, default="{}")


class Page(Base):
    """An account's page on a project as last left: the scenario and version open, the parameters, candidates.

    The account's newest page is the one a new session (a reload, another machine, a server restart) reopens.
    """

    __tablename__ = "pages"

    account: Mapped[str] = mapped_column(String(100), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    scenario_id: Mapped[int | None] = mapped_column(ForeignKey("scenarios.id", ondelete="SET NULL"), nullable=True)
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)  #: the version shown
    base: Mapped[int | None] = mapped_column(Integer, nullable=True)  #: the version the next change goes on
    params: Mapped[str] = mapped_column(Text, default="{}")
    extra: Mapped[str] = mapped_column(Text, default="{}")  #: JSON: other inputs of the page (a candidates file)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
