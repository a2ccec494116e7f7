"""Demand: residents as weighted points, from whatever the planner has.

Three sources, each giving points with ``pop`` and a ``source`` column that says
which was used:

- ``buildings``: footprints, residents from footprint x levels x persons per m²,
  or scaled to a known total;
- ``grid``: a population grid, as points or as cells;
- ``areas``: community or sub-district polygons, or population cells (a raster's,
  a heat grid's), with resident counts, spread over the buildings inside them
  (dasymetric) or, given the street network, along the streets inside them, the
  part with no street near counted off the network (``analysis.spread``, to the
  person); with neither, over a regular grid clipped to each polygon.

Weights add up to the stated total (along the streets: exactly; else to float precision).
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from analysis import columns as C
from analysis.groups import group_headers
from analysis.spread import Spread, spread_units, whole_persons
from geo._validate import first_bad_row
from geo.crs import require_projected
from geo.errors import InputError
from geo.network import StreetNetwork
from geo.notes import Note, note
from geo.snap import DEFAULT_MAX_SNAP_M

__all__ = [
    "LEVELS_COLUMNS",
    "MAX_AREA_TO_NETWORK",
    "MAX_GRID_CELLS",
    "PERSONS_PER_M2",
    "check_areas",
    "demand_from_areas",
    "demand_from_buildings",
    "demand_from_grid",
    "prepare_demand",
    "scale_to_total",
]

#: Column names of a building's number of floors, as footprints come (OSM, 高德 exports).
LEVELS_COLUMNS = ("levels", "building:levels", "floors", "层数", "楼层数", "楼层")
#: Residents per m² of residential floor area when no total is known: China's urban
#: housing floor area is about 35–40 m² per person (NBS 2020), so 1 / 36.
PERSONS_PER_M2 = 1 / 36
#: Areas are spread over at most this many grid cells in all (a 100 m grid over 20,000 km², a large city).
MAX_GRID_CELLS = 2_000_000
#: An area whose bounding box is this many times the street network's, or more, is refused (a world-spanning polygon).
MAX_AREA_TO_NETWORK = 100


def _points(polys_or_points: gpd.GeoDataFrame, pop: np.ndarray, source: str, prefix: str) -> gpd.GeoDataFrame:
    geoms = polys_or_points.geometry
    pts = geoms.where(geoms.geom_type == "Point", geoms.representative_point())
    out = gpd.GeoDataFrame(
        {"demand_id": [f"{prefix}{i + 1:06d}" for i in range(len(pop))], C.POP: pop, "source": source},
        geometry=pts.to_numpy(),
        crs=polys_or_points.crs,
    )
    return out.set_index("demand_id", drop=False).rename_axis(None)


def scale_to_total(demand: gpd.GeoDataFrame, total: float) -> gpd.GeoDataFrame:
    """Scale ``pop`` so that it adds up to ``total`` residents, in whole persons (``analysis.spread.whole_persons``)."""
    current = float(demand[C.POP].sum())
    if not total > 0:
        raise InputError("demand_resident_total_must_more", total=total)
    if current <= 0:
        raise InputError("demand_demand_has_no_residents", column=C.POP)
    return demand.assign(**{C.POP: whole_persons(demand[C.POP].to_numpy(dtype=float) * (total / current))})


def demand_from_buildings(
    buildings: gpd.GeoDataFrame,
    *,
    total: float | None = None,
    persons_per_m2: float = PERSONS_PER_M2,
    levels_column: str = "levels",
    default_levels: float | None = None,
) -> gpd.GeoDataFrame:
    """Residents in building footprints: footprint area x levels x ``persons_per_m2``, or scaled to ``total``.

    Levels come from ``levels_column`` where given, else ``default_levels``, else
    the median of the buildings that have them (1 if none has).

    Parameters
    ----------
    buildings
        Building footprints (polygons) in a metric CRS.
    total
        Residents to scale the result to; ``None`` keeps the floor-area estimate.
    persons_per_m2
        Residents per m² of floor area.
    levels_column
        The column with each building's number of floors.
    default_levels
        Floors for buildings without a number.

    Returns
    -------
    geopandas.GeoDataFrame
        One resident point (inside the footprint) per building, with ``pop``.
    """
    require_projected(buildings.crs, what="buildings")
    area = buildings.geometry.area.to_numpy()
    levels = pd.to_numeric(buildings.get(levels_column), errors="coerce") if levels_column in buildings else None
    if levels is None or levels.isna().all():
        fill = default_levels or 1.0
        levels = pd.Series(fill, index=buildings.index)
    else:
        levels = levels.fillna(default_levels or float(levels.median()))
    floor = area * levels.to_numpy()
    out = _points(buildings, floor * persons_per_m2, "buildings", "B")
    return scale_to_total(out, total) if total is not None else out


def demand_from_grid(
    cells: gpd.GeoDataFrame, *, pop_column: str = C.POP, total: float | None = None
) -> gpd.GeoDataFrame:
    """A population grid, as points or cells (polygons), to resident points.

    Parameters
    ----------
    cells
        Grid points or cells with residents in ``pop_column``.
    pop_column
        The column with the residents.
    total
        Residents to scale the result to; ``None`` keeps the grid's.

    Returns
    -------
    geopandas.GeoDataFrame
        One point per cell with residents, with ``pop``.
    """
    require_projected(cells.crs, what="the population grid")
    pop = pd.to_numeric(cells[pop_column], errors="coerce").fillna(0).to_numpy(dtype=float)
    out = _points(cells, pop, "grid", "G")
    out = out[out[C.POP] > 0]
    return scale_to_total(out, total) if total is not None else out


def demand_from_areas(
    areas: gpd.GeoDataFrame,
    *,
    pop_column: str = C.POP,
    buildings: gpd.GeoDataFrame | None = None,
    grid_m: float = 100.0,
    levels_column: str = "levels",
    network: StreetNetwork | None = None,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
) -> gpd.GeoDataFrame:
    """Spread each area's residents over what lies inside it.

    With ``buildings``: over the buildings whose inside point falls in the area,
    by floor area (dasymetric). With ``network``, an area without buildings is
    spread along the streets inside it, and only its part with no street within
    ``max_snap_m`` is off the network (``analysis.spread``); without, over a
    ``grid_m`` grid clipped to the area, by cell area. Every area's residents
    are kept exactly (with a network: to the person).

    Parameters
    ----------
    areas
        Polygons (communities, census areas, population cells) with residents in ``pop_column``, in a metric CRS.
    pop_column
        The column with the residents.
    buildings
        Building footprints to spread over; ``None`` uses the streets (or the grid).
    grid_m
        Side in metres of the grid cells, when no network is given.
    levels_column
        The buildings' column with their number of floors.
    network
        The street network (same CRS): areas are spread along its streets.
    max_snap_m
        The part of an area farther than this from every street is off the network.

    Returns
    -------
    geopandas.GeoDataFrame
        Resident points with ``pop`` and ``source``; ``attrs["spread"]`` (``analysis.spread.Spread``) says how,
        when spread along the streets.
    """
    require_projected(areas.crs, what="areas")
    pop = pd.to_numeric(areas[pop_column], errors="coerce")
    bad = first_bad_row(pop.isna() | (pop < 0))
    if bad:
        raise InputError("demand_area_resident_counts_must", row=bad.row, column=pop_column)
    if network is not None:
        weight = _buildings_in(areas, buildings, levels_column) if buildings is not None and len(buildings) else None
        groups = {
            c: pd.to_numeric(areas[c], errors="coerce").fillna(0).to_numpy() for c in group_headers(areas.columns)
        }
        out, how = spread_units(areas, pop.to_numpy(dtype=float), network.edges.geometry, max_snap_m=max_snap_m,
                                building_weight=weight, counts=groups)  # fmt: skip
        out["demand_id"] = [f"A{i + 1:06d}" for i in range(len(out))]
        out = out.set_index("demand_id", drop=False).rename_axis(None)
        out.attrs["spread"] = how
        return out
    parts = []
    left = np.ones(len(areas), dtype=bool)
    if buildings is not None and len(buildings):
        b_unit, b_pt, b_floor = _buildings_in(areas, buildings, levels_column)
        weight = b_floor / np.bincount(b_unit, weights=b_floor, minlength=len(areas))[b_unit]
        parts.append(
            gpd.GeoDataFrame(
                {C.POP: weight * pop.to_numpy()[b_unit], "source": "areas+buildings"}, geometry=b_pt, crs=areas.crs
            )
        )
        left[np.unique(b_unit)] = False
    if left.any():
        parts.append(_spread_on_grid(areas[left], pop.to_numpy()[left], grid_m))
    out = pd.concat(parts, ignore_index=True)
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=areas.crs)
    out["demand_id"] = [f"A{i + 1:06d}" for i in range(len(out))]
    return out.set_index("demand_id", drop=False).rename_axis(None)


def _buildings_in(
    areas: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, levels_column: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The buildings whose inside point falls in an area: (area position, point, floor area); once each."""
    bpts = _points(buildings, np.zeros(len(buildings)), "areas+buildings", "A")
    lv = pd.to_numeric(buildings.get(levels_column), errors="coerce") if levels_column in buildings else None
    floor = buildings.geometry.area.to_numpy() * (lv.fillna(lv.median()).fillna(1).to_numpy() if lv is not None else 1)
    joined = gpd.sjoin(bpts.assign(floor=floor), areas[["geometry"]].reset_index(drop=True), predicate="within")
    joined = joined[~joined.index.duplicated()]  # a point on a shared edge counts once
    return joined["index_right"].to_numpy(), joined.geometry.to_numpy(), joined["floor"].to_numpy(dtype=float)


def _spread_on_grid(areas: gpd.GeoDataFrame, pop: np.ndarray, grid_m: float) -> gpd.GeoDataFrame:
    rows_geom, rows_pop = [], []
    for geom, p in zip(areas.geometry, pop, strict=True):
        x0, y0, x1, y1 = geom.bounds
        xs = np.arange(np.floor(x0 / grid_m) * grid_m, x1, grid_m)
        ys = np.arange(np.floor(y0 / grid_m) * grid_m, y1, grid_m)
        gx, gy = np.meshgrid(xs, ys)
        cells = shapely.intersection(
            shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + grid_m, gy.ravel() + grid_m), geom
        )
        area = shapely.area(cells)
        keep = area > 0
        cells, area = cells[keep], area[keep]
        rows_geom.append(shapely.point_on_surface(cells))
        rows_pop.append(p * area / area.sum())
    return gpd.GeoDataFrame(
        {C.POP: np.concatenate(rows_pop), "source": "areas+grid"},
        geometry=np.concatenate(rows_geom),
        crs=areas.crs,
    )


def check_areas(
    layer: gpd.GeoDataFrame, *, grid_m: float = 100.0, extent: Sequence[float] | None = None, cells: bool = True
) -> None:
    """Refuse areas too large to spread: far larger than the network's extent, or over too many grid cells.

    A polygon spanning the world (a careless export) would be spread over billions of cells.

    Parameters
    ----------
    layer
        Areas with residents, in a metric CRS.
    grid_m
        Side in metres of the grid they are spread over.
    extent
        The street network's ``(minx, miny, maxx, maxy)`` in the same CRS; None skips that check.
    cells
        Whether the areas are spread over a grid (its number of cells checked); not when spread along streets.
    """
    b = layer.geometry.bounds.to_numpy()
    box = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    if extent is not None:
        net = max((extent[2] - extent[0]) * (extent[3] - extent[1]), 1e6)  # a network of at least 1 km²
        bad = first_bad_row(~(box <= MAX_AREA_TO_NETWORK * net), box)  # NaN and infinity refused too
        if bad:
            raise InputError(
                "demand_residents_area_spans_bad",
                row=bad.row,
                column="geometry",
                bad_value_1000000=bad.value / 1000000.0,
                max_area_to_network=MAX_AREA_TO_NETWORK,
                net_1000000_0=net / 1000000.0,
            )
    n_cells = float(np.sum(box)) / grid_m**2
    if cells and not n_cells <= MAX_GRID_CELLS:
        raise InputError(
            "demand_residents_areas_would_spread",
            column="geometry",
            n_cells=n_cells,
            grid_m=grid_m,
            max_grid_cells=MAX_GRID_CELLS,
        )


def prepare_demand(
    layer: gpd.GeoDataFrame,
    *,
    total: float | None = None,
    grid_m: float = 100.0,
    extent: Sequence[float] | None = None,
    network: StreetNetwork | None = None,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    buildings: gpd.GeoDataFrame | None = None,
) -> tuple[gpd.GeoDataFrame, Note]:
    """Resident points from a demand layer as read by ``geo.read_demand``, and a line saying how.

    Points with ``pop`` are used as they are (a population grid or resident
    points); polygons with ``pop`` are areas or cells, spread along the streets
    inside them when ``network`` is given (``analysis.spread``), else over a
    ``grid_m`` grid; polygons without are building footprints. ``total`` scales the result.

    Parameters
    ----------
    layer
        The demand layer, in a metric CRS.
    total
        Residents to scale the result to; ``None`` keeps the layer's.
    grid_m
        Side in metres of the grid that areas are spread over without a network.
    extent
        The street network's bounds in the layer's CRS: areas far larger are refused (``check_areas``);
        taken from ``network`` when given.
    network
        The street network, in the layer's CRS: areas and cells are spread along its streets.
    max_snap_m
        The part of an area farther than this from every street counts off the network.
    buildings
        Building footprints (same CRS; floors in one of ``LEVELS_COLUMNS``): areas with buildings inside
        are spread over them by floor area, with ``network``.

    Returns
    -------
    (geopandas.GeoDataFrame, geo.notes.Note)
        Resident points with ``pop``, and the note saying how they were made (``str`` of it in English).
    """
    require_projected(layer.crs, what="demand")
    if network is not None and extent is None:
        extent = network.nodes.total_bounds
    if (layer.geom_type == "Point").all():
        out, how = layer.copy(), note("how_points")
        if "source" not in out:
            out["source"] = "points"
    elif C.POP in layer.columns and network is not None:
        check_areas(layer, grid_m=grid_m, extent=extent, cells=False)
        levels = next((c for c in LEVELS_COLUMNS if buildings is not None and c in buildings), "levels")
        out = demand_from_areas(
            layer, network=network, max_snap_m=max_snap_m, buildings=buildings, levels_column=levels
        )
        how = _spread_note(out.attrs["spread"], total=float(layer[C.POP].sum()), max_snap_m=max_snap_m)
    elif C.POP in layer.columns:
        check_areas(layer, grid_m=grid_m, extent=extent)
        out = demand_from_areas(layer, grid_m=grid_m)
        how = note("how_areas", n=len(layer), grid_m=grid_m)
    else:
        out = demand_from_buildings(layer, total=total)
        how = (
            note("how_buildings_scaled", n=len(layer), total=total)
            if total is not None
            else note("how_buildings", n=len(layer), per_m2=PERSONS_PER_M2)
        )
    if total is not None:
        out = scale_to_total(out, total)
        if how.key != "how_buildings_scaled":
            how = note("how_scaled", how=how, total=total)
    return out, how


def _spread_note(spread: Spread, *, total: float, max_snap_m: float) -> Note:
    """The note saying how many residents of how many areas went where."""
    return note(
        "how_spread",
        n=spread.units,
        pop=total,
        streets=spread.streets,
        km=spread.street_km,
        buildings=spread.buildings,
        point=spread.point,
        off=spread.off,
        max_snap_m=max_snap_m,
    )
