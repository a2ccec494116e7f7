"""The named, hashable values the panels pass around and the caches key on.

Frozen, holding tuples rather than lists: Streamlit hashes a dataclass by its
fields, so an equal value finds the cached result and a changed field computes
afresh.

Examples
--------
>>> Params(15.0, 4.5, ("study_room",), (("study_room", 15.0),), (5.0, 10.0)).minutes
15.0
>>> from geo.scenario import CHANGE_COLUMNS
>>> Change._fields[:4] == CHANGE_COLUMNS
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import geopandas as gpd
import pandas as pd

from analysis.groups import Group
from analysis.options import CircleOptions
from analysis.scenario import ScenarioResult
from analysis.yardstick import Measured
from geo.chinacrs import CrsChoice

__all__ = ["SAMPLE", "STORE", "Change", "Inputs", "Params", "Plan", "Points", "ScenarioView", "Sources"]

#: The bundled sample, wherever a source can be a file.
SAMPLE = "sample"
#: The prefix of a network source that is a prepared network in the store: ``store:<entry folder>``.
STORE = "store:"


@dataclass(frozen=True)
class Inputs:
    """Where the network, facilities and residents come from.

    Each is ``sample`` or a path; the network also ``osm:<place>``, ``bbox:...`` or ``store:<entry folder>``.
    """

    network: str = SAMPLE
    facilities: str = SAMPLE
    facilities_crs: str = "auto"  #: auto (judged against the streets), wgs84, gcj02 or bd09
    demand: str = SAMPLE
    demand_total: float | None = None  #: residents to spread over the points, if the file has no counts
    demand_crs: str = "auto"  #: as ``facilities_crs``, for a residents table
    #: (role, the planner's file name) of each uploaded input: provenance names the planner's files, not the
    #: server's hash-named copies (``quarterhour.ui.uploads.planner_names``)
    names: tuple[tuple[str, str], ...] = ()
    compounds: str | None = None  #: issue 30: gated compounds (polygons or an OSM file); None: none
    gates: str | None = None  #: issue 30: their gates (points or an OSM file); None: from an OSM compounds file
    #: the review units (``sample``, ``luoyang`` or a file), when the residents are a table that may name units
    #: instead of places (issue 25: matched to them, as ``quarterhour run --boundaries`` does); None: not asked
    units: str | None = None


@dataclass(frozen=True)
class Params(Measured):
    """The analysis parameters from the sidebar."""

    minutes: float
    speed_kmh: float
    categories: tuple[str, ...]  #: the facility categories counted
    category_minutes: tuple[tuple[str, float], ...]  #: (category, minutes) pairs
    bands: tuple[float, ...]  #: the reach bands drawn, sorted
    standard: str = "minutes"  #: the yardstick (``analysis.yardstick.STANDARDS``)
    group_speeds: tuple[tuple[str, float], ...] = ()  #: (population group, its walking speed) where one is set
    at: int | None = None  #: a minute of the week: only the facilities open then count (issue 31); None: all

    def options(self, mode: str = "walk") -> CircleOptions:
        """The panel's choices as the circle's options (issue 25: ``analysis.options.CircleOptions``).

        The categories counted are chosen before a run (the facilities shown); ``categories`` says which.

        Examples
        --------
        >>> Params(10.0, 4.0, ("study_room",), (("study_room", 12.0),), (5.0,)).options().category_minutes
        (('study_room', 12.0),)
        """
        return CircleOptions(
            minutes=self.minutes,
            mode=mode,
            speed_kmh=self.speed_kmh,
            standard=self.standard,
            bands=self.bands,
            categories=self.categories,
            category_minutes=self.category_minutes,
            groups=tuple(Group(g, v) for g, v in self.group_speeds),
        )


@dataclass(frozen=True)
class Plan:
    """A siting run the planner asked for."""

    model: str  #: one of ``analysis.siting.MODELS``
    k: int
    target: float
    spacing_m: float = 200.0  #: grid candidates: one street corner per cell of this side


@dataclass(frozen=True)
class Sources:
    """What the data panel chose: the inputs, the review units, and a candidates file if any."""

    inputs: Inputs
    units: str
    candidates: str | None


class Change(NamedTuple):
    """One change of the scenario: its fields are ``geo.scenario.CHANGE_COLUMNS`` and the point."""

    action: str  #: add, move or close
    facility_id: str | None
    name: str
    category: str
    lon: float
    lat: float


class Points(NamedTuple):
    """Facilities and residents in the network's CRS, the residents' places on the streets, and what was read."""

    facilities: gpd.GeoDataFrame
    demand: gpd.GeoDataFrame
    demand_snap: pd.DataFrame
    notes: tuple[object, ...]  #: ``geo.notes.Note``s (``quarterhour.i18n.note_text`` says them) or plain text
    crs_choices: tuple[tuple[str, CrsChoice], ...] = ()  #: (file name, how its coordinates were read)


class ScenarioView(NamedTuple):
    """A scenario's coverage, its comparison with now, and the reach of the new and moved centres."""

    after: ScenarioResult
    figures: dict
    tables: dict
    reach: gpd.GeoDataFrame
