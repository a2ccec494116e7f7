"""The ways our results are measured against: what a planner would write from the osmnx tutorials."""

from __future__ import annotations

import networkx as nx
import shapely

__all__ = ["tutorial_isochrones"]


def tutorial_isochrones(g: nx.MultiDiGraph, centre_nodes: list, cutoff_s: float, side_m: float) -> list:
    """The osmnx isochrone tutorial, per facility.

    ``nx.ego_graph`` by time, buffer the reached nodes and edges, ``unary_union``.
    """
    out = []
    for centre in centre_nodes:
        sub = nx.ego_graph(g, centre, radius=cutoff_s, distance="time")
        pts = [shapely.Point(d["x"], d["y"]) for _, d in sub.nodes(data=True)]
        lines = [
            g.get_edge_data(u, v)[0].get(
                "geometry", shapely.LineString([(g.nodes[u]["x"], g.nodes[u]["y"]), (g.nodes[v]["x"], g.nodes[v]["y"])])
            )
            for u, v in sub.edges()
        ]
        out.append(shapely.unary_union([p.buffer(side_m) for p in pts] + [ln.buffer(side_m) for ln in lines]))
    return out
