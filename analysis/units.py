"""One review unit's share of a run: its layers cut to the unit, its gaps, and new sites for its residents.

A district (or sub-district, community) review looks at its own residents. Each
resident point and facility belongs to exactly one unit of a level, assigned as
the coverage tables assign them (``coverage.assign_units``), so unit figures add
up to the level table and to the city. Gap zones that cross a border are split:
each unit gets the part where its residents live, with its own residents left
out, so a unit's gaps add up to its uncovered residents.

Siting is per unit (``unit_sites``): up to ``k`` new sites inside the unit, chosen
by exact MCLP for the unit's residents left out. A review then discusses sites
it can act on; a whole-area solve would put every site in the densest unit.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from analysis import columns as C
from analysis.coverage import assign_units
from analysis.pipeline import CircleResult
from analysis.siting import SPACING_M, SiteResult, candidate_sites, left_out, plan_sites
from analysis.traveltime import WALK_KMH
from geo.errors import InputError
from geo.network import StreetNetwork
from geo.snap import DEFAULT_MAX_SNAP_M, snap_points
from geo.vocab import levels_below

__all__ = ["UnitLayers", "split_by_unit", "unit_sites"]


@dataclass
class UnitLayers:
    """One unit's layers, in the run's metric CRS."""

    level: str
    code: str
    name: str
    row: pd.Series  #: the unit's row of the level's coverage table
    geometry: shapely.Geometry
    facilities: gpd.GeoDataFrame  #: facilities inside the unit (``on_network`` False: left out of the analysis)
    demand: gpd.GeoDataFrame  #: resident points inside the unit
    isochrones: gpd.GeoDataFrame  #: every facility's reach, cut to the unit (neighbours' reach counts too)
    coverage: dict[str, gpd.GeoDataFrame]  #: the unit's own row and the rows of the levels below it
    gaps: gpd.GeoDataFrame  #: gap zones cut to the unit, ranked by the unit's residents left out

    @property
    def sub_level(self) -> str | None:
        """The next level below this unit's, if the run has it."""
        below = [lvl for lvl in levels_below(self.level) if lvl in self.coverage]
        return below[0] if below else None


def _require_level(result: CircleResult, level: str) -> gpd.GeoDataFrame:
    if level not in result.levels:
        raise InputError("units_boundaries_have_no_level", level=level, levels=", ".join(result.levels))
    return result.levels[level]


def split_by_unit(result: CircleResult, level: str, codes: list[str] | None = None) -> dict[str, UnitLayers]:
    """Each unit's layers for one admin ``level`` (all units, or those in ``codes``), in the table's order.

    Parameters
    ----------
    result
        A run with boundaries (``run_circle(..., boundaries=...)``).
    level
        The admin level to split by (``district``, ``subdistrict``, ``community``, ...).
    codes
        The unit codes to keep; ``None`` keeps every unit of the level.

    Returns
    -------
    dict of str to UnitLayers
        One entry per unit code: its facilities, residents, isochrones and gap zones cut to it,
        and its coverage rows (its own and those of the levels below).

    Examples
    --------
    >>> from geo import load_sample, read_boundaries, sample_paths
    >>> from analysis.pipeline import run_circle
    >>> net, fac, dem = load_sample()
    >>> units = {k: v.to_crs(net.crs) for k, v in read_boundaries(sample_paths()["boundaries"]).items()}
    >>> r = run_circle(net, fac, dem, boundaries=units, isochrones=("facility",))
    >>> parts = split_by_unit(r, "district")
    >>> used = sum(int(p.facilities["on_network"].sum()) for p in parts.values())
    >>> bool(used == r.levels["district"]["n_facilities"].sum())
    True
    """
    table = _require_level(result, level)
    if codes is not None:
        unknown = sorted(set(codes) - set(table["code"]))
        if unknown:
            raise InputError("units_no_level_with_code", level=level, unknown=", ".join(unknown))
    units = table[["code", "geometry"]]
    d_code = assign_units(result.demand, units)
    f_code = assign_units(result.facilities, units)
    # the gap zone of each uncovered resident point (zones are unions of the cells holding them)
    left = result.demand.loc[~result.demand[C.COVERED]]
    zone = pd.Series(pd.NA, index=left.index, dtype=object)
    if len(left) and len(result.gaps):
        hit = gpd.sjoin(left[["geometry"]], result.gaps[[C.GAP_ID, "geometry"]], predicate="intersects", how="inner")
        hit = hit[~hit.index.duplicated(keep="first")]
        zone.loc[hit.index] = hit[C.GAP_ID]
    # the unit of each row of the levels below, by a point inside it
    below: dict[str, pd.Series] = {}
    for lvl in levels_below(level):
        if lvl in result.levels:
            sub = result.levels[lvl]
            pts = gpd.GeoSeries(sub.representative_point().values, index=sub.index, crs=sub.crs)
            below[lvl] = assign_units(pts, units)
    out = {}
    for _, row in table.iterrows():
        code = row["code"]
        if codes is not None and code not in codes:
            continue
        poly = row.geometry
        iso = result.isochrones[result.isochrones.intersects(poly)].copy()
        iso["geometry"] = iso.intersection(poly)
        iso = iso[~iso.is_empty & iso.geom_type.isin(["Polygon", "MultiPolygon"])]
        coverage = {level: table[table["code"] == code].reset_index(drop=True)}
        for lvl, parent in below.items():
            coverage[lvl] = result.levels[lvl][(parent == code).to_numpy()].reset_index(drop=True)
        out[code] = UnitLayers(
            level=level,
            code=str(code),
            name=str(row["name"]),
            row=row.drop(labels="geometry"),
            geometry=poly,
            facilities=result.facilities[(f_code == code).to_numpy()],
            demand=result.demand[(d_code == code).to_numpy()],
            isochrones=iso,
            coverage=coverage,
            gaps=_unit_gaps(result, left, zone, d_code, code=code, poly=poly),
        )
    return out


def _unit_gaps(
    result: CircleResult,
    left: gpd.GeoDataFrame,
    zone: pd.Series,
    d_code: pd.Series,
    *,
    code: str,
    poly: shapely.Geometry,
) -> gpd.GeoDataFrame:
    mine = left[(d_code.reindex(left.index) == code).to_numpy() & zone.notna().to_numpy()]
    gaps = result.gaps.set_index(C.GAP_ID, drop=False)
    cols = [C.GAP_ID, C.RANK, C.POP_UNCOVERED, "pop_uncovered_zone", "n_points", C.MINUTES, "rank_city", "geometry"]
    if mine.empty:
        return gpd.GeoDataFrame(columns=cols, geometry="geometry", crs=result.demand.crs)
    z = zone.loc[mine.index]
    pop = mine[C.POP].groupby(z.to_numpy()).sum()
    n = mine[C.POP].groupby(z.to_numpy()).size()
    ids = pop.index.to_numpy()
    part = gpd.GeoDataFrame(
        {
            C.GAP_ID: ids,
            C.POP_UNCOVERED: pop.to_numpy(),
            "pop_uncovered_zone": gaps.loc[ids, C.POP_UNCOVERED].to_numpy(),
            "n_points": n.reindex(ids).to_numpy(),
            C.MINUTES: gaps.loc[ids, C.MINUTES].to_numpy(),
            "rank_city": gaps.loc[ids, C.RANK].to_numpy(),
        },
        geometry=gaps.loc[ids].geometry.intersection(poly).to_numpy(),
        crs=result.demand.crs,
    )
    part = part.sort_values([C.POP_UNCOVERED, "rank_city"], ascending=[False, True], kind="stable")
    part = part.reset_index(drop=True)
    part.insert(1, C.RANK, np.arange(1, len(part) + 1))
    return part[cols]


def unit_sites(  # noqa: PLR0913 -- keyword-only options, each documented (as osmnx's entry points)
    network: StreetNetwork,
    unit: UnitLayers,
    *,
    k: int = 3,
    minutes: float = 15,
    speed_kmh: float = WALK_KMH,
    spacing_m: float = SPACING_M,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    time_limit_s: float = 10,
    boundaries: dict[str, gpd.GeoDataFrame] | None = None,
) -> SiteResult | None:
    """Up to ``k`` new sites inside the unit covering the most of its residents left out (exact MCLP).

    Candidates are network nodes on a ``spacing_m`` grid inside the unit; only
    the unit's residents count. Sites that add nobody are dropped.

    Parameters
    ----------
    network
        The street network, in the run's metric CRS.
    unit
        One unit's layers (``split_by_unit``).
    k
        The most new sites inside the unit.
    minutes
        The walking threshold in minutes that counts as covered.
    speed_kmh
        Walking speed in km/h.
    spacing_m
        Grid spacing in metres of the candidate sites on network nodes.
    max_snap_m
        Residents more than this many metres from any street are not reached.
    time_limit_s
        The solver's time limit in seconds.
    boundaries
        Admin units per level; each site gets the code of the unit it lies in at each level.

    Returns
    -------
    SiteResult or None
        ``None`` when the unit has no one left out, ``k`` is below 1, or there is no candidate.
    """
    dem = unit.demand
    if dem.empty or dem[C.COVERED].all() or k < 1:
        return None
    area = gpd.GeoDataFrame(geometry=[unit.geometry], crs=dem.crs)
    snaps = snap_points(dem, network, max_snap_m=max_snap_m)
    left = left_out(dem, snaps, minutes=minutes, speed_kmh=speed_kmh)
    cands = candidate_sites(network, spacing_m=spacing_m, within=area, left=left)
    if cands.empty:
        return None
    res = plan_sites(
        network,
        dem,
        snaps,
        model="mclp",
        k=k,
        minutes=minutes,
        speed_kmh=speed_kmh,
        candidates=cands,
        time_limit_s=time_limit_s,
        boundaries=boundaries,
    )
    keep = res.sites[C.POP_NEW] > 0
    res.sites = res.sites[keep]
    res.isochrones = res.isochrones[res.isochrones[C.FACILITY_ID].isin(res.sites.index)]
    return res
