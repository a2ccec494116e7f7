"""One metric CRS for a study area: chosen once, checked everywhere."""

from __future__ import annotations

import geopandas as gpd
from pyproj import CRS

from geo.errors import InputError

__all__ = ["require_projected", "to_crs"]


def require_projected(crs: object, *, what: str) -> CRS:
    """Return ``crs`` as a pyproj CRS if it is projected in metres, else raise InputError."""
    if crs is None:
        raise InputError(f"{what} has no coordinate reference system", fix="set one, e.g. EPSG:4326 for lon/lat")
    crs = CRS.from_user_input(crs)
    if not crs.is_projected or crs.axis_info[0].unit_name not in ("metre", "meter"):
        raise InputError(
            f"{what} is in {crs.name} ({crs.to_string()}), not a projected CRS in metres",
            fix="project it first with geo.network.prepare_network / geo.crs.to_crs",
        )
    return crs


def to_crs(gdf: gpd.GeoDataFrame, crs: CRS, *, what: str, file: str | None = None) -> gpd.GeoDataFrame:
    """Reproject ``gdf`` to the study area's metric CRS; refuse data with no CRS."""
    if gdf.crs is None:
        raise InputError(
            f"{what} has no coordinate reference system",
            file=file,
            fix="save the file with its CRS (GeoJSON is always EPSG:4326), or give lon/lat columns",
        )
    return gdf.to_crs(crs)
