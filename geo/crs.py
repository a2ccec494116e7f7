"""One metric CRS for a study area: chosen once, checked everywhere."""

from __future__ import annotations

from pyproj import CRS

from geo.errors import InputError

__all__ = ["require_projected"]


def require_projected(crs: object, *, what: str) -> CRS:
    """Return ``crs`` as a pyproj CRS if it is projected in metres, else raise InputError.

    Parameters
    ----------
    crs
        Anything ``pyproj.CRS.from_user_input`` takes, or ``None``.
    what
        What carries the CRS, for the message ("the street network", "demand").

    Returns
    -------
    pyproj.CRS
        The CRS, projected in metres.

    Raises
    ------
    InputError
        No CRS, or one not projected in metres.
    """
    if crs is None:
        raise InputError(f"{what} has no coordinate reference system", fix="set one, e.g. EPSG:4326 for lon/lat")
    crs = CRS.from_user_input(crs)
    if not crs.is_projected or crs.axis_info[0].unit_name not in ("metre", "meter"):
        raise InputError(
            f"{what} is in {crs.name} ({crs.to_string()}), not a projected CRS in metres",
            fix="project it first: a network with geo.network.prepare_network, "
            "a layer with gdf.to_crs(gdf.estimate_utm_crs()) or to the network's CRS",
        )
    return crs
