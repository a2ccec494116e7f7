"""What the store hands back: plain frozen values, never a live database row."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

__all__ = ["ChangeRecord", "Opened", "ProjectKey", "ScenarioInfo", "VersionInfo"]


@dataclass(frozen=True)
class ProjectKey:
    """The data a scenario is made on, by the SHA-256 of each input; ``label`` says them in words."""

    network: str
    facilities: str
    residents: str
    units: str
    label: str = ""

    @property
    def key(self) -> str:
        """One SHA-256 over the four.

        Examples
        --------
        >>> ProjectKey("a", "b", "c", "d").key == ProjectKey("a", "b", "c", "d", label="other words").key
        True
        """
        text = "|".join((self.network, self.facilities, self.residents, self.units))
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class ChangeRecord:
    """A stored change: the change row (``geo.scenario.CHANGE_COLUMNS`` and lon/lat), who made it and when."""

    action: str
    facility_id: str | None
    name: str
    category: str
    lon: float
    lat: float
    author: str = ""
    made_at: dt.datetime | None = None

    @property
    def row(self) -> tuple:
        """``(action, facility_id, name, category, lon, lat)``, as ``ui.values.Change`` and ``changes_frame`` take."""
        return (self.action, self.facility_id, self.name, self.category, self.lon, self.lat)


@dataclass(frozen=True)
class ScenarioInfo:
    """A scenario as listed: its name, unit, author, status and newest version."""

    id: int
    project_id: int
    name: str
    unit: str
    author: str
    status: str
    head: int
    updated_at: dt.datetime
    status_version: int | None = None
    reviewer: str | None = None
    review_comment: str | None = None
    reviewed_at: dt.datetime | None = None
    submitted_at: dt.datetime | None = None


@dataclass(frozen=True)
class VersionInfo:
    """One saved version: its number, who saved it and when, how many changes, the result summary."""

    number: int
    author: str
    saved_at: dt.datetime
    n_changes: int
    summary: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Opened:
    """A version opened: the scenario, the version's number, its changes, parameters and result summary."""

    scenario: ScenarioInfo
    version: int
    changes: tuple[ChangeRecord, ...]
    params: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)

    @property
    def rows(self) -> tuple[tuple, ...]:
        """The change rows, in order."""
        return tuple(c.row for c in self.changes)
