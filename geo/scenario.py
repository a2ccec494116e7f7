"""Scenario files: the planner's changes (add / move / close centres) as a GeoJSON of points in WGS-84.

Each feature has ``action`` (add, move, close), ``facility_id`` (the existing
facility moved or closed; for a new centre, empty or an id of the planner's),
``name`` and ``category``. The file opens in any GIS, and loads back with
``read_scenario``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from geo._validate import clean_columns, existing
from geo.errors import InputError, plain_text
from geo.vocab import CATEGORIES, DEFAULT_NEW_CATEGORY

__all__ = [
    "CHANGE_COLUMNS",
    "MAX_CHANGES",
    "SCENARIO_ACTIONS",
    "change_rows",
    "changes_frame",
    "read_scenario",
    "scenario_geojson",
]

SCENARIO_ACTIONS = ("add", "move", "close")
#: A change's attributes (besides its point), in the order of a change row
#: ``(action, facility_id, name, category, lon, lat)``: the one definition the app, the analysis and the files share.
CHANGE_COLUMNS = ("action", "facility_id", "name", "category")
_COLUMNS = list(CHANGE_COLUMNS)
#: The most changes a scenario file may hold: a city's plan changes some dozens of centres, a bold one some
#: hundreds; 20,000 rows (2 MB) are a mistake or an attack. Counted before the rows are read.
MAX_CHANGES = 5_000
#: A scenario file may be this large (5,000 changes with long names take about 1.5 MB).
MAX_SCENARIO_MB = 16


def changes_frame(rows: Iterable[Sequence]) -> gpd.GeoDataFrame:
    """Change rows ``(action, facility_id, name, category, lon, lat)`` as WGS-84 points.

    Examples
    --------
    >>> frame = changes_frame([("add", None, "新中心 1", "study_room", 7.42, 43.73)])
    >>> list(frame.columns), frame.crs.to_epsg()
    (['action', 'facility_id', 'name', 'category', 'geometry'], 4326)
    """
    frame = pd.DataFrame(list(rows), columns=[*CHANGE_COLUMNS, "lon", "lat"])
    return gpd.GeoDataFrame(
        frame.drop(columns=["lon", "lat"]), geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs=4326
    )


def change_rows(changes: gpd.GeoDataFrame) -> list[tuple]:
    """Changes read by ``read_scenario`` as rows ``(action, facility_id, name, category, lon, lat)``.

    An empty cell becomes None (facility id) or empty text; a new centre without a category gets the default one.

    Examples
    --------
    >>> change_rows(changes_frame([("add", None, "新中心 1", None, 7.42, 43.73)]))
    [('add', None, '新中心 1', 'neighbourhood_centre', 7.42, 43.73)]
    """

    def text(value: object) -> str:
        return value if isinstance(value, str) else ""

    return [
        (
            r.action,
            text(r.facility_id) or None,
            text(r.name),
            text(r.category) or DEFAULT_NEW_CATEGORY,
            r.geometry.x,
            r.geometry.y,
        )
        for r in changes.itertuples()
    ]


def scenario_geojson(changes: gpd.GeoDataFrame) -> bytes:
    """The changes as GeoJSON bytes (WGS-84, UTF-8, Chinese names kept as written)."""
    gdf = changes[[*_COLUMNS, "geometry"]].to_crs(4326) if len(changes) else changes
    features = [
        {
            "type": "Feature",
            "properties": {c: (None if pd.isna(row[c]) else str(row[c])) for c in _COLUMNS},
            "geometry": {"type": "Point", "coordinates": [round(row.geometry.x, 7), round(row.geometry.y, 7)]},
        }
        for _, row in gdf.iterrows()
    ]
    doc = {"type": "FeatureCollection", "name": "quarterhour_scenario", "features": features}
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")


def read_scenario(path: str | Path) -> gpd.GeoDataFrame:
    """Read a scenario file written by ``scenario_geojson`` (or by hand in a GIS): changes in WGS-84."""
    path = existing(path, "scenario", max_mb=MAX_SCENARIO_MB)
    try:
        n = pyogrio.read_info(path)["features"]
        if n > MAX_CHANGES:
            raise InputError("scenario_scenario_holds_n_changes", file=path.name, n=n, max_changes=MAX_CHANGES)
        gdf = pyogrio.read_dataframe(path)
    except InputError:
        raise
    except Exception as exc:  # GDAL says why: not JSON, truncated, ...
        raise InputError(
            "scenario_cannot_read_scenario_plain", file=path.name, plain_text_exc=plain_text(exc).rstrip(".")
        ) from None
    missing = [c for c in ("action", "geometry") if c not in gdf.columns]
    if missing:
        raise InputError("scenario_no_missing_0_column", file=path.name, column=missing[0], missing_0=missing[0])
    for col in _COLUMNS:
        if col not in gdf.columns:
            gdf[col] = None
    clean_columns(gdf, path.name)  # names cleaned once, at reading (control characters, stray bytes)
    gdf["action"] = gdf["action"].astype(str).str.strip().str.lower()
    for i, row in enumerate(gdf.itertuples(), start=1):
        if row.action not in SCENARIO_ACTIONS:
            raise InputError(
                "scenario_unknown_action_action",
                file=path.name,
                row=i,
                column="action",
                action=row.action,
                scenario_actions=", ".join(SCENARIO_ACTIONS),
            )
        if row.geometry is None or row.geometry.geom_type != "Point":
            raise InputError("scenario_each_change_needs_point", file=path.name, row=i)
        if row.action != "add" and not (isinstance(row.facility_id, str) and row.facility_id):
            raise InputError(
                "scenario_action_needs_id_existing", file=path.name, row=i, column="facility_id", action=row.action
            )
        if row.action == "add" and isinstance(row.category, str) and row.category not in CATEGORIES:
            raise InputError(
                "scenario_unknown_category_category",
                file=path.name,
                row=i,
                column="category",
                category=row.category,
                categories=", ".join(CATEGORIES),
            )
    if gdf.crs is None:
        gdf = gdf.set_crs(4326)
    return gdf[[*_COLUMNS, "geometry"]].to_crs(4326)
