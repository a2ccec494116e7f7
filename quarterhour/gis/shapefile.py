"""Shapefile field names: the format keeps 10 bytes of a name, so long names are shortened, the same way each time.

``short_names`` shortens each column name that does not fit, unique within the
layer: a name of one or two words is cut (``pop_uncovered`` -> ``pop_uncove``); in a
longer one the words after the first become their initials (``pct_covered_service_centre``
-> ``pct_csc``, ``minutes_study_room`` -> ``minutes_sr``), then the first word is cut;
a name still taken gets a number at the end. ``fields_readme`` is the table of
the names (long -> short) that travels in the zip beside the Shapefile, for
ArcGIS and QGIS users, whose attribute tables show the short names.

Examples
--------
>>> names = short_names(["name", "pct_covered_service_centre", "minutes_study_room", "catchment_pop"])
>>> list(names.values())
['name', 'pct_csc', 'minutes_sr', 'catchment']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import geopandas as gpd
import numpy as np

from quarterhour.i18n import t

__all__ = ["MAX_BYTES", "fields_readme", "short_names", "shp_ready"]

MAX_BYTES = 10  #: a dBASE field name's length at most (bytes)


def _fit(text: str, n: int = MAX_BYTES) -> str:
    """``text`` cut to ``n`` bytes of UTF-8, never inside a character."""
    return text.encode()[:n].decode(errors="ignore")


def _shorten(name: str) -> str:
    """One name within ``MAX_BYTES``: as it is, cut (two words), else later words as initials, else cut."""
    if len(name.encode()) <= MAX_BYTES:
        return name
    words = [w for w in name.split("_") if w]
    if len(words) <= 2:  # one or two words: the plain cut reads best (pop_uncovered -> pop_uncove)
        return _fit(name).rstrip("_") or _fit(name)
    for keep in range(len(words) - 1, 0, -1):  # the last words first become initials
        candidate = "_".join([*words[:keep], "".join(w[0] for w in words[keep:])])
        if len(candidate.encode()) <= MAX_BYTES:
            return candidate
    if len(words) > 1:
        tail = "".join(w[0] for w in words[1:])
        head = _fit(words[0], MAX_BYTES - len(tail.encode()) - 1)
        if head:
            return f"{head}_{tail}"
    return _fit(name)


def short_names(columns: Iterable[str]) -> dict[str, str]:
    """Each column's Shapefile field name: ``MAX_BYTES`` at most, unique (case-insensitively), deterministic.

    Parameters
    ----------
    columns
        The column names, in the layer's order (earlier columns keep the plainer name).

    Returns
    -------
    dict[str, str]
        Column name -> field name.
    """
    out: dict[str, str] = {}
    taken: set[str] = set()
    for col in columns:
        short, n = _shorten(str(col)), 1
        while short.casefold() in taken:
            tail = str(n)
            short, n = _fit(_shorten(str(col)), MAX_BYTES - len(tail)) + tail, n + 1
        taken.add(short.casefold())
        out[col] = short
    return out


def shp_ready(gdf: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, dict[str, str]]:
    """The layer as a Shapefile holds it, and its names (long -> short).

    Field names shortened (``short_names``), booleans as integers, other objects as text.

    Parameters
    ----------
    gdf
        The layer.

    Returns
    -------
    tuple
        The layer ready to write, and column name -> field name.
    """
    out = gdf.reset_index(drop=True).copy()
    names = short_names([c for c in out.columns if c != out.geometry.name])
    out = out.rename(columns=names)
    for col in names.values():
        if out[col].dtype == bool:
            out[col] = out[col].astype(int)
        elif out[col].dtype == object:
            out[col] = out[col].map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
    return out, names


def fields_readme(layer: str, names: Mapping[str, str], *, lang: str = "zh") -> str:
    """The README that travels with a zipped Shapefile: its field names, short -> long.

    Parameters
    ----------
    layer
        The layer's name (the Shapefile's).
    names
        Column name -> field name (``short_names``).
    lang
        ``"zh"`` (with the English below) or ``"en"``.

    Returns
    -------
    str
        Plain text, one field a line.
    """
    width = max([MAX_BYTES, *(len(s) for s in names.values())])
    head = [t("shp_readme", "zh", layer=layer, n=MAX_BYTES)] if lang == "zh" else []
    head.append(t("shp_readme", "en", layer=layer, n=MAX_BYTES))
    rows = [f"{short:<{width}}  {long}" for long, short in names.items()]
    return "\n".join([*head, "", *rows, ""])
