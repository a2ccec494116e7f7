"""Rebuild the bundled Monaco sample in ``data/sample/`` from a real OSM extract.

The source is ``tests/test_files/monaco.osm.pbf`` in the ``quackosm`` 0.19.0 source
package on PyPI (OSM data as of 2023-12-25, © OpenStreetMap contributors, ODbL).
Run from the project root::

    pip install -e ".[sample]"
    python data/build_sample.py                  # from data/source/monaco.osm.pbf
    python data/build_sample.py --fetch          # first download it again from PyPI

The output is deterministic: the same source file gives byte-identical layers
(checked by ``tests/test_sample.py`` against the SHA-256 below). See
``data/README.md`` for what each layer holds and how residents were estimated.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import subprocess
import sys
import tarfile
import tempfile
import unicodedata
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import osmnx as ox
import pandas as pd
import shapely
from shapely import wkb

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))
import build_grids  # noqa: E402

from geo.osm import walk_graph_from_pbf  # noqa: E402

SAMPLE = ROOT / "sample"
BUNDLED_PBF = ROOT / "source" / "monaco.osm.pbf"
QUACKOSM = "quackosm==0.19.0"
PBF_IN_SDIST = "quackosm-0.19.0/tests/test_files/monaco.osm.pbf"
PBF_SHA256 = "1fdee8b72c48f932cab3aa9f1f74f87dfd954509a3b47cb932556d827189b97c"
MONACO_RELATION = 1124039  # boundary=administrative, admin_level=2, name=Monaco
MONACO_RESIDENTS = 38_367  # 2023 census, IMSEE (Institut Monégasque de la Statistique)
METRIC_CRS = "EPSG:32632"  # UTM 32N, used only to measure footprints here

# Our facility categories and the OSM features that stand in for them in Monaco,
# which has no party-mass service points: the closest public-service analogues.
CATEGORY_RULES: list[tuple[str, str, str]] = [
    # (category code, OSM key, OSM value)
    ("service_centre", "amenity", "townhall"),
    ("service_centre", "office", "government"),
    ("neighbourhood_centre", "amenity", "community_centre"),
    ("neighbourhood_centre", "amenity", "social_centre"),
    ("neighbourhood_centre", "amenity", "kindergarten"),
    ("neighbourhood_centre", "amenity", "doctors"),
    ("neighbourhood_centre", "amenity", "clinic"),
    ("neighbourhood_centre", "healthcare", "centre"),
    ("neighbourhood_centre", "healthcare", "clinic"),
    ("liaison_point", "amenity", "social_facility"),
    ("liaison_point", "amenity", "post_office"),
    ("study_room", "amenity", "library"),
    ("study_room", "amenity", "arts_centre"),
]

RESIDENTIAL = {
    "apartments",
    "residential",
    "house",
    "detached",
    "terrace",
    "semidetached_house",
    "dormitory",
    "bungalow",
}
UNTAGGED = "yes"
UNTAGGED_RESIDENTIAL_SHARE = 0.5  # an untagged building=yes is assumed half residential
NON_RESIDENTIAL_KEYS = (
    "amenity",
    "shop",
    "office",
    "tourism",
    "leisure",
    "craft",
    "healthcare",
    "man_made",
    "public_transport",
    "railway",
    "aeroway",
    "military",
)
MIN_FOOTPRINT_M2 = 30.0  # sheds, kiosks and garages below this hold no residents


def fetch_pbf(workdir: Path) -> Path:
    """Download the quackosm source package from PyPI and extract monaco.osm.pbf."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", QUACKOSM, "-d", str(workdir)],
        check=True,
    )
    sdist = next(workdir.glob("quackosm-*.tar.gz"))
    with tarfile.open(sdist) as tar:
        member = tar.getmember(PBF_IN_SDIST)
        target = workdir / "monaco.osm.pbf"
        target.write_bytes(tar.extractfile(member).read())
    return target


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_network(pbf: Path, out: Path) -> None:
    """Walkable ways -> osmnx graph (simplified, both directions) -> GraphML (``geo.osm.walk_graph_from_pbf``)."""
    graph = walk_graph_from_pbf(pbf)
    graph.graph["source"] = "OpenStreetMap via quackosm 0.19.0 monaco.osm.pbf (2023-12-25), ODbL"
    ox.save_graphml(graph, out / "network.graphml")
    print(f"network: {len(graph.nodes)} nodes, {len(graph.edges)} directed edges")


def _areas(pbf: Path) -> tuple[list[dict], list[dict]]:
    """One pass over the areas: buildings and facilities mapped as outlines."""
    factory = osmium.geom.WKBFactory()
    buildings, facility_areas = [], []
    areas = osmium.FileProcessor(str(pbf)).with_areas().with_filter(osmium.filter.EntityFilter(osmium.osm.AREA))
    for area in areas:
        tags = dict(area.tags)
        if "building" not in tags and not _category(tags):
            continue
        try:
            geom = wkb.loads(factory.create_multipolygon(area), hex=True)
        except RuntimeError:
            continue  # incomplete ring where the extract cuts a feature
        row = {"osm_type": "way" if area.from_way() else "relation", "osm_id": area.orig_id(), "tags": tags}
        if "building" in tags:
            buildings.append({**row, "geometry": geom})
        if _category(tags):
            facility_areas.append({**row, "geometry": geom.representative_point()})
    return buildings, facility_areas


def _boundary_relations(pbf: Path) -> list[dict]:
    """Monaco's quarters (admin_level=10) as polygons.

    The extract cuts a few boundary ways, so osmium cannot assemble three of the
    nine quarters. Each is closed here from its member ways, bridging a missing
    way with a straight line between the loose ends.
    """
    rels = [
        {"osm_id": r.id, "name": r.tags.get("name"), "ways": [m.ref for m in r.members if m.type == "w"]}
        for r in osmium.FileProcessor(str(pbf), osmium.osm.RELATION)
        if r.tags.get("boundary") == "administrative" and r.tags.get("admin_level") == "10"
    ]
    wanted = {w for r in rels for w in r["ways"]}
    lines = {
        w.id: shapely.LineString([(n.lon, n.lat) for n in w.nodes])
        for w in osmium.FileProcessor(str(pbf), osmium.osm.NODE | osmium.osm.WAY).with_locations()
        if w.is_way()
        if w.id in wanted
    }
    out = []
    for rel in rels:
        ring = _close_ring([lines[w] for w in rel["ways"] if w in lines])
        out.append({"osm_id": rel["osm_id"], "name": rel["name"], "geometry": _valid(shapely.Polygon(ring))})
    return out


def _valid(polygon: shapely.Polygon) -> shapely.Geometry:
    """A bridged ring may cross itself (Larvotto): repaired as the readers repair it, its polygon parts kept."""
    if polygon.is_valid:
        return polygon
    fixed = shapely.make_valid(polygon)
    return shapely.union_all(
        [g for g in getattr(fixed, "geoms", [fixed]) if g.geom_type in ("Polygon", "MultiPolygon")]
    )


def _close_ring(parts: list[shapely.LineString]) -> list[tuple[float, float]]:
    """Chain line parts into one closed ring, joining each loose end to the nearest part."""
    merged = shapely.line_merge(shapely.MultiLineString(parts))
    pieces = [list(g.coords) for g in getattr(merged, "geoms", [merged])]
    ring = pieces.pop(0)
    while pieces:
        end = np.array(ring[-1])
        dists = [(np.hypot(*(np.array(p[0]) - end)), i, False) for i, p in enumerate(pieces)]
        dists += [(np.hypot(*(np.array(p[-1]) - end)), i, True) for i, p in enumerate(pieces)]
        _, i, flip = min(dists)
        piece = pieces.pop(i)
        ring += piece[::-1] if flip else piece
    return [*ring, ring[0]]


def _category(tags: dict[str, str]) -> str | None:
    for category, key, value in CATEGORY_RULES:
        if tags.get(key) == value:
            return category
    return None


def build_facilities(pbf: Path, facility_areas: list[dict], monaco: shapely.Geometry, out: Path) -> None:
    rows = list(facility_areas)
    for node in osmium.FileProcessor(str(pbf), osmium.osm.NODE):
        tags = dict(node.tags)
        if _category(tags):
            rows.append(
                {
                    "osm_type": "node",
                    "osm_id": node.id,
                    "tags": tags,
                    "geometry": shapely.Point(node.location.lon, node.location.lat),
                }
            )
    gdf = gpd.GeoDataFrame(
        {
            "name": [r["tags"].get("name") or f"({_osm_tag(r['tags'])} {r['osm_type']}/{r['osm_id']})" for r in rows],
            "category": [_category(r["tags"]) for r in rows],
            "osm_tag": [_osm_tag(r["tags"]) for r in rows],
            "osm_type": [r["osm_type"] for r in rows],
            "osm_id": [r["osm_id"] for r in rows],
        },
        geometry=[r["geometry"] for r in rows],
        crs="EPSG:4326",
    )
    gdf = gdf[gdf.within(monaco)]
    # The same place mapped twice (a node and a building outline with the same name).
    metric = gdf.to_crs(METRIC_CRS)
    keep = []
    for i, row in metric.sort_values(["osm_type", "osm_id"]).iterrows():
        twin = [
            j
            for j in keep
            if _plain(metric.at[j, "name"]) == _plain(row["name"])
            and metric.at[j, "geometry"].distance(row.geometry) < 100
        ]
        if not twin:
            keep.append(i)
    gdf = gdf.loc[keep].sort_values(["category", "name", "osm_id"]).reset_index(drop=True)
    gdf.insert(0, "facility_id", [f"F{i + 1:03d}" for i in range(len(gdf))])
    _write_geojson(gdf, out / "facilities.geojson")
    print(f"facilities: {len(gdf)}", gdf["category"].value_counts().to_dict())


def _osm_tag(tags: dict[str, str]) -> str:
    return next(f"{k}={v}" for _, k, v in CATEGORY_RULES if tags.get(k) == v)


def _plain(name: str) -> str:
    """Name without accents or case, so "Ministère d'État" equals "Ministere d'Etat"."""
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)).casefold()


def _levels(tags: dict[str, str]) -> float:
    try:
        levels = float(tags["building:levels"].replace(",", "."))
    except (KeyError, ValueError):
        return math.nan
    return max(1.0, levels) if math.isfinite(levels) else math.nan


def build_demand(buildings: list[dict], monaco: shapely.Geometry, out: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {
            "osm_type": [b["osm_type"] for b in buildings],
            "osm_id": [b["osm_id"] for b in buildings],
            "building": [b["tags"]["building"] for b in buildings],
            "levels": [_levels(b["tags"]) for b in buildings],
            "non_residential": [any(k in b["tags"] for k in NON_RESIDENTIAL_KEYS) for b in buildings],
        },
        geometry=[b["geometry"] for b in buildings],
        crs="EPSG:4326",
    )
    gdf["share"] = np.select(
        [gdf["building"].isin(RESIDENTIAL), gdf["building"].eq(UNTAGGED)], [1.0, UNTAGGED_RESIDENTIAL_SHARE], 0.0
    )
    gdf.loc[gdf["non_residential"], "share"] = 0.0
    metric = gdf.to_crs(METRIC_CRS)
    gdf["footprint_m2"] = metric.area.round(1)
    gdf = gdf[(gdf["share"] > 0) & (gdf["footprint_m2"] >= MIN_FOOTPRINT_M2)]
    gdf = gdf[gdf.representative_point().within(monaco)].copy()
    median_levels = float(gdf.loc[gdf["levels"].notna() & gdf["building"].isin(RESIDENTIAL), "levels"].median())
    gdf["levels_assumed"] = gdf["levels"].isna()
    gdf["levels"] = gdf["levels"].fillna(median_levels)
    floor_area = gdf["footprint_m2"] * gdf["levels"] * gdf["share"]
    gdf["pop"] = _largest_remainder(floor_area.to_numpy() / floor_area.sum() * MONACO_RESIDENTS)
    gdf = gdf[gdf["pop"] > 0].sort_values(["osm_type", "osm_id"]).reset_index(drop=True)
    points = gdf.drop(columns=["non_residential", "share"]).set_geometry(gdf.representative_point())
    points.insert(0, "demand_id", [f"R{i + 1:04d}" for i in range(len(points))])
    points["geometry"] = shapely.set_precision(points.geometry.values, 1e-7)
    _write_geojson(points, out / "demand.geojson")
    print(
        f"demand: {len(points)} buildings, {int(points['pop'].sum())} residents, median levels assumed {median_levels}"
    )


def _largest_remainder(x: np.ndarray) -> np.ndarray:
    """Round to integers that still add up to round(sum(x)) (Hamilton's method)."""
    floor = np.floor(x).astype(int)
    short = round(x.sum()) - int(floor.sum())
    order = np.argsort(-(x - floor), kind="stable")
    floor[order[:short]] += 1
    return floor


def build_boundaries(pbf: Path, out: Path) -> shapely.Geometry:
    quarters = gpd.GeoDataFrame(_boundary_relations(pbf), crs="EPSG:4326").sort_values("name")
    quarters.insert(0, "code", [f"MC-S{i + 1:02d}" for i in range(len(quarters))])
    quarters["level"] = "subdistrict"
    monaco = shapely.union_all(quarters.geometry.values)
    city = gpd.GeoDataFrame(
        {"code": ["MC"], "name": ["Monaco"], "level": ["city"], "osm_id": [MONACO_RELATION]},
        geometry=[monaco],
        crs="EPSG:4326",
    )
    districts, communities = _made_up_levels(city, quarters)
    cols = ["code", "name", "level", "osm_id", "geometry"]
    levels = [city, districts, quarters, communities]
    _write_geojson(pd.concat([g[cols] for g in levels], ignore_index=True), out / "boundaries.geojson")
    area_km2 = city.to_crs(METRIC_CRS).area.iloc[0] / 1e6
    print(
        f"boundaries: Monaco ({area_km2:.2f} km2), {len(districts)} districts (made up), {len(quarters)} quarters, "
        f"{len(communities)} communities (made up)"
    )
    return monaco


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygon parts of an overlay result (dropping the slivers of lines and points it may hold)."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _made_up_levels(city: gpd.GeoDataFrame, quarters: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Monaco has no districts and no communities: made-up ones so that all four review levels can be shown.

    Districts: a 2 x 2 split of the city's bounding box (UTM), clipped to the city.
    Communities: each quarter cut by a 400 m grid; a piece under 2 ha joins the
    nearest larger piece of the same quarter.
    """
    metric_city = city.to_crs(METRIC_CRS).geometry.iloc[0]
    x0, y0, x1, y1 = metric_city.bounds
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
    boxes = {"西北": (x0, ym, xm, y1), "东北": (xm, ym, x1, y1), "西南": (x0, y0, xm, ym), "东南": (xm, y0, x1, ym)}
    districts = gpd.GeoDataFrame(
        {
            "code": [f"MC-D{i + 1}" for i in range(4)],
            "name": [f"{name}区 (made-up district)" for name in boxes],
            "level": "district",
            "osm_id": pd.NA,
        },
        geometry=[_polygonal(shapely.box(*b).intersection(metric_city)) for b in boxes.values()],
        crs=METRIC_CRS,
    ).to_crs("EPSG:4326")
    rows = []
    for _, q in quarters.to_crs(METRIC_CRS).iterrows():
        qx0, qy0, qx1, qy1 = q.geometry.bounds
        cells = [
            _polygonal(shapely.box(x, y, x + 400, y + 400).intersection(q.geometry))
            for x in np.arange(np.floor(qx0 / 400) * 400, qx1, 400)
            for y in np.arange(np.floor(qy0 / 400) * 400, qy1, 400)
        ]
        cells = sorted((c for c in cells if c.area > 0), key=lambda c: -c.area)
        big = [c for c in cells if c.area >= 20_000] or cells[:1]
        for small in (c for c in cells if c.area < 20_000 and c not in big):
            k = int(np.argmin([b.distance(small) for b in big]))
            big[k] = _polygonal(big[k].union(small))
        rows += [
            {"code": f"{q['code']}-{i + 1}", "name": f"{q['name']} {i + 1} (made-up community)", "geometry": g}
            for i, g in enumerate(big)
        ]
    communities = gpd.GeoDataFrame(rows, crs=METRIC_CRS).assign(level="community", osm_id=pd.NA).to_crs("EPSG:4326")
    return districts, communities


def _write_geojson(gdf: gpd.GeoDataFrame, path: Path) -> None:
    gdf.to_file(path, driver="GeoJSON", engine="pyogrio", layer_options={"COORDINATE_PRECISION": 7})


def build(pbf: Path, out: Path) -> None:
    """Write the four sample layers into ``out`` from the Monaco extract ``pbf``."""
    digest = sha256(pbf)
    print(f"source: {pbf} sha256={digest}")
    if digest != PBF_SHA256:
        print(f"warning: not the extract the sample was made from (sha256 {PBF_SHA256})", file=sys.stderr)
    out.mkdir(parents=True, exist_ok=True)
    buildings, facility_areas = _areas(pbf)
    monaco = build_boundaries(pbf, out)
    build_grids.build(out)  # issue 30: the made-up grids (网格) below the communities, from the file just written
    build_network(pbf, out)
    build_facilities(pbf, facility_areas, monaco, out)
    build_demand(buildings, monaco, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pbf", type=Path, default=BUNDLED_PBF, help="the Monaco extract (default: %(default)s)")
    parser.add_argument("--fetch", action="store_true", help="download the extract from PyPI (quackosm sdist)")
    parser.add_argument("--out", type=Path, default=SAMPLE, help="output folder (default: %(default)s)")
    args = parser.parse_args()
    if args.fetch:
        with tempfile.TemporaryDirectory() as tmp:
            build(fetch_pbf(Path(tmp)), args.out)
    else:
        build(args.pbf, args.out)


if __name__ == "__main__":
    main()
