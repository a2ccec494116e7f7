"""The whole circle in one call: snap, time, cover, find gaps, suggest a site, draw the reach."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import geopandas as gpd

from analysis import columns as C
from analysis.coverage import nearest_facility, summarize
from analysis.gaps import CELL_M, gap_cells
from analysis.isochrones import STREET_SIDE_M, facility_isochrones, merge_isochrones, nearest_isochrones
from analysis.siting import SPACING_M, suggest_sites
from analysis.traveltime import WALK_KMH
from geo.crs import require_projected
from geo.errors import InputError
from geo.network import StreetNetwork
from geo.snap import DEFAULT_MAX_SNAP_M, snap_points

__all__ = ["ISOCHRONE_KINDS", "CircleResult", "run_circle"]

#: The three ways to draw the reach: one polygon per facility, all facilities merged,
#: and the merged reach split to the facility that reaches each place first.
ISOCHRONE_KINDS = ("facility", "merged", "nearest")

log = logging.getLogger(__name__)


@dataclass
class CircleResult:
    """Everything one run produces, each layer in the network's metric CRS."""

    facilities: gpd.GeoDataFrame  #: input facilities with ``on_network`` and ``snap_m``
    demand: gpd.GeoDataFrame  #: resident points with ``minutes``, ``nearest_facility``, ``covered``
    isochrones: gpd.GeoDataFrame  #: per facility and band: ``facility_id``, ``band_min``
    reach: gpd.GeoDataFrame  #: all facilities together, one polygon per band
    catchments: gpd.GeoDataFrame  #: the reach split to the facility that reaches each place first
    gaps: gpd.GeoDataFrame  #: ranked gap cells
    sites: gpd.GeoDataFrame  #: suggested new sites
    summary: dict[str, float]  #: headline figures
    skipped: list[str] = field(default_factory=list)  #: what was left out, and why

    def layers(self, isochrones: str = "facility") -> dict[str, gpd.GeoDataFrame]:
        """The layers by their export names (the GeoPackage layers of ``quarterhour run``).

        The ``isochrones`` layer holds the kind asked for (see ``ISOCHRONE_KINDS``),
        always with the columns ``facility_id`` (empty when merged), ``minutes``, geometry.
        """
        merged = self.reach.assign(**{C.FACILITY_ID: None})[[C.FACILITY_ID, C.BAND_MIN, "geometry"]]
        chosen = {"facility": self.isochrones, "merged": merged, "nearest": self.catchments}[isochrones]
        return {
            "facilities": self.facilities,
            "demand": self.demand,
            "isochrones": chosen,
            "gaps": self.gaps,
            "sites": self.sites,
        }


def run_circle(
    network: StreetNetwork,
    facilities: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    *,
    minutes: float = 15,
    bands: Sequence[float] = (),
    isochrones: Sequence[str] = ISOCHRONE_KINDS,
    speed_kmh: float = WALK_KMH,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    street_side_m: float = STREET_SIDE_M,
    gap_cell_m: float = CELL_M,
    n_sites: int = 1,
    site_spacing_m: float = SPACING_M,
) -> CircleResult:
    """Run the service-circle analysis end to end.

    Residents count as covered within ``minutes`` of the nearest facility;
    isochrones are drawn for ``minutes`` and every threshold in ``bands``, of
    the kinds in ``isochrones`` (those not asked for come back empty: the
    nearest-facility split is the slowest at city scale).

    Examples
    --------
    >>> from geo import load_sample
    >>> r = run_circle(*load_sample())
    >>> r.summary["pop_total"]
    38367.0
    """
    require_projected(network.crs, what="the street network")
    for what, gdf in (("facilities", facilities), ("demand", demand)):
        require_projected(gdf.crs, what=what)
        if gdf.crs != network.crs:
            raise InputError(
                f"{what} are in {gdf.crs.to_string()}, the network in {network.crs.to_string()}",
                fix="reproject them first: gdf.to_crs(network.crs)",
            )
    f_snap = snap_points(facilities, network, max_snap_m=max_snap_m)
    d_snap = snap_points(demand, network, max_snap_m=max_snap_m)
    skipped = []
    off = ~f_snap["on_network"]
    if off.any():
        skipped.append(
            f"{int(off.sum())} facilities more than {max_snap_m:g} m from any street were left out: "
            + ", ".join(map(str, facilities.index[off][:10]))
        )
    off_d = ~d_snap["on_network"]
    if off_d.any():
        skipped.append(
            f"{int(off_d.sum())} resident points ({demand.loc[off_d, C.POP].sum():,.0f} residents) "
            f"more than {max_snap_m:g} m from any street count as not covered"
        )
    for what, snap, weight in (("facilities", f_snap, None), ("resident points", d_snap, demand[C.POP])):
        frag = snap["component"] > 0
        if frag.any():
            who = f" ({weight[frag].sum():,.0f} residents)" if weight is not None else ""
            skipped.append(
                f"{int(frag.sum())} {what}{who} lie on {snap.loc[frag, 'component'].nunique()} street fragments "
                f"cut off from the main network: they reach, and are reached from, only their own fragment"
            )
    fac = facilities.assign(on_network=f_snap["on_network"], snap_m=f_snap["offset_m"].round(1))
    dem = nearest_facility(network, facilities, demand, f_snap, d_snap, minutes=minutes, speed_kmh=speed_kmh)
    all_bands = sorted({float(minutes), *map(float, bands)})
    unknown = set(isochrones) - set(ISOCHRONE_KINDS)
    if unknown:
        raise InputError(f"unknown isochrone kind {sorted(unknown)}", fix=f"use {', '.join(ISOCHRONE_KINDS)}")
    opts = {"minutes": all_bands, "speed_kmh": speed_kmh, "street_side_m": street_side_m}
    empty = gpd.GeoDataFrame(columns=[C.FACILITY_ID, C.BAND_MIN, "geometry"], geometry="geometry", crs=network.crs)
    iso = (
        facility_isochrones(network, facilities, f_snap, **opts) if {"facility", "merged"} & set(isochrones) else empty
    )
    reach = merge_isochrones(iso) if "merged" in isochrones else empty.drop(columns=C.FACILITY_ID)
    catchments = nearest_isochrones(network, facilities, f_snap, **opts) if "nearest" in isochrones else empty
    sites = suggest_sites(
        network, dem, d_snap, minutes=minutes, speed_kmh=speed_kmh, k=n_sites, spacing_m=site_spacing_m
    )
    summary = summarize(dem) | {
        "minutes": float(minutes),
        "speed_kmh": float(speed_kmh),
        "n_facilities": float(len(facilities)),
        "n_facilities_used": float(f_snap["on_network"].sum()),
        "n_points": float(len(demand)),
    }
    for line in skipped:
        log.info(line)
    return CircleResult(
        facilities=fac,
        demand=dem,
        isochrones=iso,
        reach=reach,
        catchments=catchments,
        gaps=gap_cells(dem, cell_m=gap_cell_m),
        sites=sites,
        summary=summary,
        skipped=skipped,
    )
