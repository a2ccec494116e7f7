"""Write ``sample/boundaries_grid.geojson``: the sample's four levels and made-up grids (网格) below its communities.

Monaco has no grids (网格, the areas of the grid party branches, 网格党支部), as it has no communities:
so that the fifth review level can be shown, each made-up community of ``sample/boundaries.geojson`` is
cut by a 200 m grid (UTM 32N), and a piece under 0.5 ha joins the nearest larger piece of the same
community ("made-up grid"). Every grid lies inside its community. Run from the project root (also run by
``build_sample.py`` after the boundaries)::

    python data/build_grids.py

The output is deterministic: ``tests/test_grid.py`` rebuilds it and compares the bytes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parent
SAMPLE = ROOT / "sample"
METRIC_CRS = "EPSG:32632"  # UTM 32N, as build_sample.py cuts the communities
GRID_CELL_M = 200.0
MIN_GRID_M2 = 5_000.0


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def made_up_grids(communities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Each community cut by a ``GRID_CELL_M`` grid; pieces under ``MIN_GRID_M2`` join the nearest larger one."""
    rows = []
    for _, c in communities.to_crs(METRIC_CRS).iterrows():
        x0, y0, x1, y1 = c.geometry.bounds
        step = GRID_CELL_M
        cells = [
            _polygonal(shapely.box(x, y, x + step, y + step).intersection(c.geometry))
            for x in np.arange(np.floor(x0 / step) * step, x1, step)
            for y in np.arange(np.floor(y0 / step) * step, y1, step)
        ]
        cells = sorted((g for g in cells if g.area > 0), key=lambda g: -g.area)
        big = [g for g in cells if g.area >= MIN_GRID_M2] or cells[:1]
        for small in (g for g in cells if g.area < MIN_GRID_M2 and g not in big):
            k = int(np.argmin([b.distance(small) for b in big]))
            big[k] = _polygonal(big[k].union(small))
        base = str(c["name"]).replace(" (made-up community)", "")
        rows += [
            {"code": f"{c['code']}-G{i + 1}", "name": f"{base} 网格{i + 1} (made-up grid)", "geometry": g}
            for i, g in enumerate(big)
        ]
    return gpd.GeoDataFrame(rows, crs=METRIC_CRS).assign(level="grid", osm_id="<NA>").to_crs("EPSG:4326")


def build(out: Path) -> None:
    """Read ``out/boundaries.geojson`` and write ``out/boundaries_grid.geojson`` (five levels)."""
    levels = gpd.read_file(out / "boundaries.geojson", engine="pyogrio")
    grids = made_up_grids(levels[levels["level"] == "community"])
    cols = ["code", "name", "level", "osm_id", "geometry"]
    both = gpd.GeoDataFrame(pd.concat([levels[cols], grids[cols]], ignore_index=True), crs="EPSG:4326")
    both.to_file(
        out / "boundaries_grid.geojson", driver="GeoJSON", engine="pyogrio", layer_options={"COORDINATE_PRECISION": 7}
    )
    print(f"grids: {len(grids)} made-up grids in {len(levels[levels['level'] == 'community'])} communities")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SAMPLE, help="the sample folder (default: %(default)s)")
    build(parser.parse_args().out)


if __name__ == "__main__":
    main()
