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
        raise InputError("crs_what_has_no_coordinate", what=what)
    crs = CRS.from_user_input(crs)
    if not crs.is_projected or crs.axis_info[0].unit_name not in ("metre", "meter"):
        raise InputError("crs_what_name_crs_string", what=what, name=crs.name, crs_to_string=crs.to_string())
    return crs
