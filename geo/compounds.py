"""Gated compounds (封闭小区): residents reach the public streets only through the gates.

The model, exact on the network's segments and kept in one place (the network and ``geo.snap_points``):

* A segment that crosses a gated compound's boundary (part inside, part outside; or ending on the
  boundary at a node that also leads outside) is **cut**, unless every place it crosses the boundary is
  within ``gate_m`` of one of the compound's gates: then it is a **gate segment** and kept.
* A segment inside a gated compound belongs to it. A point (resident, facility, candidate site) inside a
  gated compound snaps only to its compound's segments (inside or gate segments), or walks straight to a
  gate and from there to the street the gate opens on; a point outside every gated compound snaps only to
  public segments and gate segments. So a walk between inside and outside passes through a gate.
* A compound with no gate within ``gate_m`` of its boundary is open: nothing is cut (the notes say so).
* A facility flagged ``compound_only`` (a liaison point for its own compound's residents) serves the
  residents of its compound only (``analysis.traveltime``).

Compounds are taken not to overlap; where they do, the one listed first holds a point.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo._validate import POLYGONS, existing, require_kind
from geo._vector import VECTOR_SUFFIXES, read_vector
from geo.chinacrs import SYSTEMS, CrsChoice, geometries_to_wgs84, points_to_wgs84, settle_coordinate_system
from geo.errors import InputError, plain_text
from geo.network import StreetNetwork, network_from_arrays
from geo.tables import COLUMN_NAMES, is_table, read_point_table
from geo.vocab import DEFAULT_GATE_M  # issue 32: read by the parsers without geopandas

__all__ = [
    "COMPOUND_ONLY_COLUMNS",
    "DEFAULT_GATE_M",
    "Compounds",
    "Walls",
    "compound_of",
    "compound_only_flags",
    "read_compounds",
    "read_gates",
    "read_walls",
    "settle_walls",
    "wall_network",
    "walled_network",
]

#: Columns of a facilities table that mark a facility as serving its own compound only.
COMPOUND_ONLY_COLUMNS = ("compound_only", "仅本小区", "本小区")
_YES = {"1", "true", "yes", "y", "是", "仅本小区", "x", "✓"}
_OSM_SUFFIXES = (".osm", ".pbf")
_MAX_MB = 200


@dataclass(frozen=True, eq=False)
class Compounds:
    """The gated compounds a walled network honours (``network.derived["compounds"]``).

    Attributes
    ----------
    polygons
        One polygon per gated compound, in the network's CRS, in order (position = compound number).
    names
        A name per compound (the file's ``name`` column, else its row number).
    gates
        The gates, in the network's CRS, with ``compound`` (the compound number each opens).
    gate_snap
        Per gate: the public segment it opens on (``edge``, ``pos_m``, ``offset_m``; ``edge`` -1 if none near).
    report
        What was read and what it did: counts for the notes.
    open_network
        The same network with every compound open (what the gates' toll is measured against).
    """

    polygons: gpd.GeoSeries
    names: list[str]
    gates: gpd.GeoDataFrame
    gate_snap: pd.DataFrame
    report: dict = field(default_factory=dict)
    open_network: StreetNetwork | None = None


def _is_osm(path: Path) -> bool:
    return path.suffix.lower() in _OSM_SUFFIXES


def _osm_error(path: Path, exc: Exception) -> InputError:
    return InputError("compounds_osm_unreadable", file=path.name, exc=plain_text(exc))


def _osm_compounds(path: Path) -> gpd.GeoDataFrame:
    """OSM areas that are gated compounds: ``landuse=residential`` with ``access=private``, or closed walls/fences."""
    import osmium  # a core dependency, imported when an OSM source is read

    wkb = osmium.geom.WKBFactory()
    rows: list[tuple[str, bytes]] = []
    try:
        for obj in osmium.FileProcessor(str(path)).with_areas():
            if not obj.is_area():
                continue
            tags = dict(obj.tags)
            private = tags.get("landuse") == "residential" and tags.get("access") in {"private", "no"}
            walled = tags.get("barrier") in {"wall", "fence"} and obj.from_way()
            if private or walled:
                try:
                    rows.append((tags.get("name", f"osm {obj.orig_id()}"), wkb.create_multipolygon(obj)))
                except RuntimeError:  # an area the extract cut open
                    continue
    except RuntimeError as exc:
        raise _osm_error(path, exc) from exc
    geoms = shapely.from_wkb([g for _, g in rows]) if rows else np.array([], dtype=object)
    return gpd.GeoDataFrame({"name": [n for n, _ in rows]}, geometry=geoms, crs=4326)


def _osm_gates(path: Path) -> gpd.GeoDataFrame:
    """OSM nodes that are gates or entrances (``barrier=gate``, ``entrance=*``)."""
    import osmium

    rows: list[tuple[str, float, float]] = []
    try:
        for n in osmium.FileProcessor(str(path), osmium.osm.NODE):
            tags = n.tags
            if tags.get("barrier") in {"gate", "lift_gate", "swing_gate", "turnstile"} or "entrance" in tags:
                rows.append((tags.get("name", f"osm {n.id}"), n.location.lon, n.location.lat))
    except RuntimeError as exc:
        raise _osm_error(path, exc) from exc
    xy = np.array([(x, y) for _, x, y in rows]).reshape(-1, 2)
    return gpd.GeoDataFrame({"name": [n for n, _, _ in rows]}, geometry=shapely.points(xy), crs=4326)


def read_compounds(path: str | Path) -> gpd.GeoDataFrame:
    """Gated compounds (小区 boundaries) as polygons: a GeoJSON, GeoPackage, (zipped) Shapefile, or an OSM source.

    From ``.osm`` / ``.osm.pbf``: ``landuse=residential`` areas with ``access=private``, and areas closed by
    ``barrier=wall`` / ``fence`` ways; the file's gates are then read with ``read_gates`` of the same file.

    Returns
    -------
    geopandas.GeoDataFrame
        ``name`` and the polygons, in the file's CRS.
    """
    path = existing(path, "compounds", max_mb=_MAX_MB)
    if _is_osm(path):
        gdf = _osm_compounds(path)
        if gdf.empty:
            raise InputError("compounds_osm_none_gated", file=path.name)
        return gdf
    if path.suffix.lower() not in VECTOR_SUFFIXES:
        raise InputError("compounds_compounds_format", file=path.name, suffix=path.suffix)
    gdf = read_vector(path, what="compounds")
    require_kind(gdf, POLYGONS, path, what="compounds", fix="give the compounds (小区 boundaries) as polygons")
    return gdf


def read_gates(path: str | Path, *, crs: str = "wgs84") -> gpd.GeoDataFrame:
    """Compound gates as points: GeoJSON, GeoPackage, Shapefile, a CSV/XLSX of lon/lat, or an OSM source.

    A table's columns are 经度/纬度 (or lon/lat) and a name; an OSM source gives its gate and entrance nodes.

    ``crs`` is the system of a table's lon/lat (wgs84, gcj02 for 高德, bd09 for 百度), as for facilities.

    Returns
    -------
    geopandas.GeoDataFrame
        The points, in the file's CRS (a table's: WGS-84).
    """
    path = existing(path, "gates", max_mb=_MAX_MB)
    if _is_osm(path):
        return _osm_gates(path)
    if is_table(path):
        lonlat = {k: COLUMN_NAMES[k] for k in ("lon", "lat", "name") if k in COLUMN_NAMES}
        gdf, _ = read_point_table(path, what="gates", crs=crs, columns=lonlat)
        return gdf
    if path.suffix.lower() not in VECTOR_SUFFIXES:
        raise InputError("compounds_gates_format", file=path.name, suffix=path.suffix)
    gdf = read_vector(path, what="gates")
    require_kind(gdf, ("Point",), path, what="gates", fix="give each gate as a point on the compound's edge")
    return gdf


@dataclass(frozen=True, eq=False)
class Walls:
    """Gated compounds and their gates as read, before they wall a network (``read_walls``).

    ``system`` is how their lon/lat are read: ``auto`` (as the files say, then checked against the streets by
    ``settle_walls``) or one of ``geo.chinacrs.SYSTEMS`` (already converted to WGS-84).
    """

    compounds: gpd.GeoDataFrame  #: the polygons
    gates: gpd.GeoDataFrame | None  #: the gates' points; None: none given (every compound is open)
    file: str  #: the compounds' file name, as the planner knows it
    gates_from: Path | None  #: the gates' file (the compounds' own OSM file, or the network's), if any
    system: str = "auto"
    choice: CrsChoice | None = None  #: what ``settle_walls`` did (None before)


def read_walls(
    compounds: str | Path,
    gates: str | Path | None = None,
    *,
    system: str = "auto",
    network: str | Path | None = None,
) -> Walls:
    """Gated compounds and their gates, read and checked (before the network: fail fast); one reader for every face.

    Parameters
    ----------
    compounds
        The compounds' polygons (``read_compounds``), or an OSM file.
    gates
        Their gates' points (``read_gates``); None: the gates of the compounds' OSM file, else of ``network``
        when it is an OSM file, else none.
    system
        ``auto`` (as the files say; ``settle_walls`` checks them against the streets), ``wgs84``, ``gcj02``
        (高德 AOIs and entrances) or ``bd09`` (百度): the latter two converted to WGS-84, vertex by vertex.
    network
        The network's source, whose OSM file may hold the gates.
    """
    if system != "auto" and system not in SYSTEMS:
        raise InputError("tables_unknown_coordinate_system_crs", crs=system, systems=", ".join(SYSTEMS))
    polygons = read_compounds(compounds)
    gates_from = gates
    if gates_from is None:
        gates_from = next((p for p in (compounds, network) if p is not None and _is_osm(Path(p))), None)
    points = read_gates(gates_from, crs="wgs84" if system == "auto" else system) if gates_from is not None else None
    if _is_osm(Path(compounds)):
        system = "wgs84"  # OpenStreetMap is WGS-84
    elif system not in ("auto", "wgs84"):  # e.g. 高德 AOIs: GCJ-02 lon/lat
        polygons = geometries_to_wgs84(polygons, system)
        if points is not None and not is_table(gates_from):  # a table's are converted as read
            points = points_to_wgs84(points, system)
    return Walls(polygons, points, Path(compounds).name, Path(gates_from) if gates_from else None, system)


#: At most this many vertices of the compounds' edges are measured against the streets (evenly spread).
_VERTICES_JUDGED = 2000


def settle_walls(walls: Walls, network: StreetNetwork) -> Walls:
    """The compounds checked against the streets when read as the files say (``auto``): what was done, in ``choice``.

    A compound's edge runs along streets, and its gates sit on them: read in the wrong system (a 高德 AOI
    export labelled WGS-84) every vertex moves 300-1,000 m. The vertices and gates are judged as
    ``geo.chinacrs.settle_coordinate_system`` judges a file that states its CRS: kept as read, and
    ``choice.looks`` names the system they sit clearly closer to the streets in (the notes tell the planner to
    choose it: ``--compounds-crs``, or the app's choice).
    """
    if walls.system != "auto":
        return replace(walls, choice=CrsChoice(walls.system, "given"))
    ll = walls.compounds.to_crs(4326)
    xy = shapely.get_coordinates(shapely.boundary(shapely.make_valid(ll.geometry.to_numpy())))
    xy = xy[:: max(1, len(xy) // _VERTICES_JUDGED)]
    if walls.gates is not None and len(walls.gates):
        xy = np.vstack([xy, shapely.get_coordinates(walls.gates.to_crs(4326).geometry.to_numpy())])
    points = gpd.GeoDataFrame(geometry=shapely.points(xy), crs=4326)
    _, choice = settle_coordinate_system(points, network, "auto", declared=True, file=walls.file, role="compounds")
    return replace(walls, choice=choice)


def walled_network(network: StreetNetwork, walls: Walls, *, gate_m: float = DEFAULT_GATE_M) -> StreetNetwork:
    """``wall_network`` of ``walls`` checked against the streets first (``settle_walls``); the check kept for the notes.

    ``derived["compounds_crs"]`` holds (the compounds' file name, the ``CrsChoice``): ``analysis.compounds``
    says when the compounds sit closer to the streets read in another system.
    """
    walls = settle_walls(walls, network)
    out = wall_network(network, walls.compounds, walls.gates, gate_m=gate_m)
    out.derived["compounds_crs"] = (walls.file, walls.choice)
    return out


def compound_only_flags(points: gpd.GeoDataFrame) -> np.ndarray:
    """Per point: True where a ``compound_only`` column (or 仅本小区) says yes."""
    col = next((c for c in COMPOUND_ONLY_COLUMNS if c in points.columns), None)
    if col is None:
        return np.zeros(len(points), dtype=bool)
    values = points[col]
    if values.dtype == bool:
        return values.fillna(False).to_numpy(dtype=bool)
    return values.map(lambda v: str(v).strip().lower() in _YES).to_numpy(dtype=bool)


def _polygons(compounds: gpd.GeoDataFrame, crs: object) -> tuple[np.ndarray, list[str]]:
    gdf = compounds.to_crs(crs)
    geoms = shapely.make_valid(gdf.geometry.to_numpy())
    geoms = np.array([_polygonal(g) for g in geoms], dtype=object)
    name_col = next((c for c in ("name", "名称", "小区", "小区名称") if c in gdf.columns), None)
    names = [str(v) for v in gdf[name_col]] if name_col else [f"#{i + 1}" for i in range(len(gdf))]
    return geoms, names


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygonal part of a (made valid) geometry."""
    if geom is None or geom.is_empty:
        return shapely.Polygon()
    if geom.geom_type in {"Polygon", "MultiPolygon"}:
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in {"Polygon", "MultiPolygon"}]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def compound_of(geoms: np.ndarray, polygons: gpd.GeoSeries | np.ndarray) -> np.ndarray:
    """Per geometry, the number of the compound holding it (strictly inside), -1 for none; the first listed wins."""
    polys = np.asarray(polygons.to_numpy() if isinstance(polygons, gpd.GeoSeries) else polygons, dtype=object)
    out = np.full(len(geoms), -1, dtype=np.int64)
    if not len(polys) or not len(geoms):
        return out
    tree = shapely.STRtree(polys)
    pi, ci = tree.query(geoms, predicate="within")
    order = np.lexsort((ci, pi))[::-1]  # the lowest compound number written last: it wins
    out[pi[order]] = ci[order]
    return out


def wall_network(
    network: StreetNetwork,
    compounds: gpd.GeoDataFrame,
    gates: gpd.GeoDataFrame | None = None,
    *,
    gate_m: float = DEFAULT_GATE_M,
) -> StreetNetwork:
    """The network with gated compounds' walls: boundary-crossing segments cut except at gates.

    Parameters
    ----------
    network
        The street network.
    compounds
        Polygons of the compounds (any CRS).
    gates
        Points of the gates (any CRS); None: every compound is open.
    gate_m
        How far a gate may be from where a segment crosses the boundary (and from the boundary itself).

    Returns
    -------
    StreetNetwork
        The same nodes, the segments that are kept, with ``compound`` (the compound a segment belongs to,
        -1 for public streets) and ``gate`` (a kept boundary-crossing segment); ``derived["compounds"]``
        holds the ``Compounds`` (``geo.snap_points`` reads it). When no compound is gated: the same segments, with
        only ``derived["compounds_open"]`` (the report) for the notes.
    """
    polys, names = _polygons(compounds, network.crs)
    if gates is None:
        gates = gpd.GeoDataFrame(geometry=[], crs=network.crs)
    gates = gates.to_crs(network.crs)
    gate_geoms = gates.geometry.to_numpy()
    # Which compounds each gate opens: its boundary within gate_m.
    boundaries = shapely.boundary(polys)
    g_idx, c_idx = (
        shapely.STRtree(boundaries).query(gate_geoms, predicate="dwithin", distance=gate_m)
        if len(gate_geoms) and len(polys)
        else (np.empty(0, np.int64), np.empty(0, np.int64))
    )
    gated = np.zeros(len(polys), dtype=bool)
    gated[c_idx] = True
    report = {
        "compounds": len(polys),
        "gated": int(gated.sum()),
        "open": [names[i] for i in np.flatnonzero(~gated)],
        "gates": len(gate_geoms),
        "gates_off": int(len(gate_geoms) - len(np.unique(g_idx))),
        "cut": 0,
        "gate_segments": 0,
    }
    if not gated.any():  # the same streets (sharing what was derived from them), with the report for the notes
        derived = {**network.derived, "compounds_open": report}
        return StreetNetwork(network.graph, network.nodes, network.edges, network.crs, derived)
    e = network.edges
    geoms = e.geometry.to_numpy()
    u, v = e["u"].to_numpy(), e["v"].to_numpy()
    node_pts = network.nodes.geometry.to_numpy()
    tree = network.derived.get("edge_tree") or shapely.STRtree(geoms)
    compound = np.full(len(e), -1, dtype=np.int64)
    gate_edge = np.zeros(len(e), dtype=bool)
    cut = np.zeros(len(e), dtype=bool)
    keep = np.flatnonzero(gated)
    new_number = np.full(len(polys), -1, dtype=np.int64)
    new_number[keep] = np.arange(len(keep))
    for c in keep:
        cand = tree.query(polys[c], predicate="intersects")
        inside, crossing, where = _crossings(polys[c], boundaries[c], geoms[cand], u[cand], v[cand], node_pts=node_pts)
        mine = gate_geoms[g_idx[c_idx == c]]
        opened = shapely.buffer(shapely.multipoints(shapely.get_coordinates(mine)), gate_m)
        through_gate = np.array(
            [bool(shapely.covered_by(w, opened)) if w is not None else False for w in where], dtype=bool
        )
        in_edges = cand[inside & ~crossing]
        compound[in_edges] = new_number[c]
        gate_here = cand[crossing & through_gate]
        gate_edge[gate_here] = True
        compound[gate_here] = new_number[c]
        cut[cand[crossing & ~through_gate]] = True
    cut &= ~gate_edge  # a segment a gate opens stays, though another compound's wall crosses it too
    kept = np.flatnonzero(~cut)
    xy = network.nodes[["x", "y"]].to_numpy()
    walled = network_from_arrays(xy, u[kept], v[kept], geoms[kept], crs=network.crs, node_ids=network.nodes.index)
    walled.edges["length_m"] = e["length_m"].to_numpy()[kept]  # as measured before: the same segments
    walled.edges["compound"] = compound[kept]
    walled.edges["gate"] = gate_edge[kept]
    report.update(cut=int(cut.sum()), gate_segments=int(gate_edge.sum()))
    # Each gate of a gated compound opens on the public segment nearest it (a compound with no inside path).
    open_gates = np.unique(g_idx[np.isin(c_idx, keep)])
    gate_tab = gpd.GeoDataFrame(
        {"compound": [int(new_number[c_idx[g_idx == gi][0]]) for gi in open_gates]},
        geometry=gate_geoms[open_gates],
        crs=network.crs,
    )
    walled.derived["compounds"] = Compounds(
        polygons=gpd.GeoSeries(polys[keep], crs=network.crs),
        names=[names[i] for i in keep],
        gates=gate_tab,
        gate_snap=_gate_snap(walled, gate_tab, gate_m),
        report=report,
        open_network=network,
    )
    return walled


def _crossings(
    poly: shapely.Geometry,
    wall: shapely.Geometry,
    g: np.ndarray,
    cu: np.ndarray,
    cv: np.ndarray,
    *,
    node_pts: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Of the segments ``g`` (ends ``cu``, ``cv``) touching a compound: inside it, crossing its wall, and where.

    A segment inside ending on the wall at a node that leads outside also crosses there.
    """
    inside = shapely.covered_by(g, poly) & ~shapely.covered_by(g, wall)
    crossing = shapely.crosses(g, poly)
    where = np.where(crossing, shapely.intersection(g, wall), None)
    strictly = shapely.contains_properly(poly, node_pts[np.concatenate([cu, cv])])
    on_wall_u, on_wall_v = ~strictly[: len(cu)] & inside, ~strictly[len(cu) :] & inside
    for k in np.flatnonzero(on_wall_u | on_wall_v):  # every segment at a node on the wall is among ``g``
        ends = [n for n, on in ((cu[k], on_wall_u[k]), (cv[k], on_wall_v[k])) if on]
        leads_out = [n for n in ends if np.any(((cu == n) | (cv == n)) & ~inside)]
        if leads_out:
            crossing[k] = True
            where[k] = shapely.multipoints([node_pts[n] for n in leads_out])
    return inside, crossing, where


def _gate_snap(walled: StreetNetwork, gate_tab: gpd.GeoDataFrame, gate_m: float) -> pd.DataFrame:
    """Where each gate opens: the public (or gate) segment nearest it within ``gate_m``; -1 for none."""
    public = np.flatnonzero((walled.edges["compound"].to_numpy() < 0) | walled.edges["gate"].to_numpy())
    wgeoms = walled.edges.geometry.to_numpy()
    snap = pd.DataFrame({"edge": np.full(len(gate_tab), -1), "pos_m": np.nan, "offset_m": np.nan})
    if len(gate_tab) and len(public):
        (gi, ei), dist = shapely.STRtree(wgeoms[public]).query_nearest(
            gate_tab.geometry.to_numpy(), max_distance=gate_m, return_distance=True, all_matches=False
        )
        snap.loc[gi, "edge"] = public[ei]
        snap.loc[gi, "offset_m"] = dist
        snap.loc[gi, "pos_m"] = shapely.line_locate_point(wgeoms[public[ei]], gate_tab.geometry.to_numpy()[gi])
    return snap
