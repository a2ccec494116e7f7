"""Shared fixtures: the bundled sample (loaded once) and hand-made toy networks."""

from __future__ import annotations

import os

import geopandas as gpd
import networkx as nx
import pytest
import shapely

from geo import StreetNetwork, load_sample, prepare_network

TOY_CRS = "EPSG:32632"


def toy_network(nodes: dict[int, tuple[float, float]], edges: list[tuple[int, int]]) -> StreetNetwork:
    """A metric street network from node coordinates and straight two-way edges."""
    g = nx.MultiDiGraph(crs=TOY_CRS)
    for n, (x, y) in nodes.items():
        g.add_node(n, x=x, y=y)
    for u, v in edges:
        (x1, y1), (x2, y2) = nodes[u], nodes[v]
        length = ((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5
        g.add_edge(u, v, length=length, geometry=shapely.LineString([nodes[u], nodes[v]]))
        g.add_edge(v, u, length=length, geometry=shapely.LineString([nodes[v], nodes[u]]))
    return prepare_network(g)


def points(xy: list[tuple[float, float]], **columns: list) -> gpd.GeoDataFrame:
    gdf = gpd.GeoDataFrame(columns, geometry=[shapely.Point(p) for p in xy], crs=TOY_CRS)
    return gdf.set_index(gdf.index.map(lambda i: f"P{i}"))


@pytest.fixture(scope="session", autouse=True)
def _own_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The network store in a temporary folder, never the user's (the app and subprocesses inherit it)."""
    before = os.environ.get("QUARTERHOUR_CACHE")
    os.environ["QUARTERHOUR_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if before is None:
        os.environ.pop("QUARTERHOUR_CACHE", None)
    else:
        os.environ["QUARTERHOUR_CACHE"] = before


@pytest.fixture(scope="session")
def sample():
    """(network, facilities, demand) of the bundled Monaco sample, projected."""
    return load_sample()


@pytest.fixture
def diamond() -> StreetNetwork:
    r"""A(0,0) -100- B(100,0) -100- C(200,0), and B -100- D(100,100) -141.4- C.

    At 3.6 km/h (1 m/s) seconds equal metres, so every time is checked by hand.
    """
    return toy_network({0: (0, 0), 1: (100, 0), 2: (200, 0), 3: (100, 100)}, [(0, 1), (1, 2), (1, 3), (3, 2)])
