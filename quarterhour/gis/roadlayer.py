"""A network read from a road layer, for the faces (issue 30): its notes and its ``network_issues`` layer.

``geo.roads`` builds the network and its topology report (``network.derived["road_report"]``);
here the report is said in the planner's language and made a layer a GeoPackage holds, for QGIS.
"""

from __future__ import annotations

import argparse

import geopandas as gpd

from geo.network import StreetNetwork
from geo.roads import RoadOptions, RoadReport, road_notes
from quarterhour.i18n import note_text, t

__all__ = ["ISSUES_LAYER", "issues_layer", "issues_near", "road_options", "road_report", "road_text"]

#: The GeoPackage layer of the points and lines the network check found.
ISSUES_LAYER = "network_issues"


def road_report(network: StreetNetwork) -> RoadReport | None:
    """The topology report of a network read from a road layer; None for a GraphML / OSM one."""
    return network.derived.get("road_report")


def road_options(args: argparse.Namespace) -> RoadOptions:
    """The road-layer options of a command (``--network-crs``, ``--join-ends-m``, ``--walkable``)."""
    return RoadOptions.of(
        getattr(args, "network_crs", None), getattr(args, "join_ends_m", None), getattr(args, "walkable", None)
    )


def road_text(network: StreetNetwork, source: str, lang: str = "zh") -> list[str]:
    """What was read from a road layer, one line each, in ``lang``; none for another network."""
    report = road_report(network)
    return [] if report is None else [note_text(n, lang) for n in road_notes(report, source)]


def issues_near(network: StreetNetwork, bounds: tuple, lang: str = "zh", *, pad: float = 200.0) -> dict:
    """``issues_layer`` cut to a unit's box (``bounds``, grown by ``pad`` metres): a review pack's own."""
    found = issues_layer(network, lang)
    if not found:
        return {}
    x0, y0, x1, y1 = bounds
    layer = found[ISSUES_LAYER]
    return {ISSUES_LAYER: layer.cx[x0 - pad : x1 + pad, y0 - pad : y1 + pad].reset_index(drop=True)}


def issues_layer(network: StreetNetwork, lang: str = "zh") -> dict[str, gpd.GeoDataFrame]:
    """``{"network_issues": layer}``: ``kind``, its words, points and lines in the network's CRS; {} for another."""
    report = road_report(network)
    if report is None:
        return {}
    layer = report.issues.copy()
    layer.insert(1, "what", [t(f"road_issue_{k}", lang) for k in layer["kind"]])
    return {ISSUES_LAYER: layer}
