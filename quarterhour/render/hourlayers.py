"""The map at a time of the week: facilities closed then, and the reach they would have, in grey."""

from __future__ import annotations

import pandas as pd

from analysis.hours import OPEN_NOW
from analysis.pipeline import CircleResult
from quarterhour.i18n import category_name, t
from quarterhour.render.maplayers import Layer
from quarterhour.render.palette import CLOSED_COLOR, FACILITY_EDGE_COLOR
from quarterhour.render.webgeo import geojson

__all__ = ["closed_layers", "not_open"]


def not_open(result: CircleResult) -> pd.Series:
    """Per facility: not known to be open at the time asked (closed, or hours unknown); all False with no time."""
    fac = result.facilities
    if OPEN_NOW not in fac or getattr(result, "hours", None) is None:
        return pd.Series(False, index=fac.index)
    return ~fac[OPEN_NOW].astype("boolean").fillna(False).astype(bool)


def closed_layers(result: CircleResult, lang: str) -> list[Layer]:
    """Grey: the reach the closed facilities would have, and the facilities not open at the time asked."""
    shut = not_open(result)
    if not shut.any():
        return []
    layers = []
    reach = getattr(result.hours, "closed_reach", None)
    if reach is not None and len(reach):
        layers.append(
            Layer(
                t("hours_closed_reach", lang),
                geojson(reach[["geometry"]], simplify_m=2.0),
                {
                    "color": CLOSED_COLOR,
                    "weight": 1,
                    "fillColor": CLOSED_COLOR,
                    "fillOpacity": 0.25,
                    "dashArray": "4 4",
                },
            )
        )
    fac = result.facilities[shut]
    fac = fac.assign(
        category_label=[category_name(c, lang) for c in fac["category"]],
        hours_label=[
            str(h) if isinstance(h, str) and h else t("hours_unknown_label", lang) for h in fac.get("hours", "")
        ],
    )
    layers.append(
        Layer(
            t("hours_closed_facilities", lang),
            geojson(fac[["name", "category_label", "hours_label", "geometry"]]),
            marker={
                "radius": 7,
                "weight": 2,
                "color": FACILITY_EDGE_COLOR,
                "fill": True,
                "fill_color": CLOSED_COLOR,
                "fill_opacity": 1.0,
            },
            tooltip=(
                ("name", t("name", lang)),
                ("category_label", t("category", lang)),
                ("hours_label", t("hours_label", lang)),
            ),
        )
    )
    return layers
