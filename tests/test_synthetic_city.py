"""The benchmark city is what it claims: deterministic, 80–200 m blocks, a river crossed only on bridges."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from synthetic_city import river_y, synthetic_city


def test_city_is_deterministic_with_a_bridged_river():
    a_net, a_fac, a_dem = synthetic_city(10_000, n_facilities=50, n_residents=2_000, seed=3)
    b_net, b_fac, b_dem = synthetic_city(10_000, n_facilities=50, n_residents=2_000, seed=3)
    assert a_net.edges.geom_equals(b_net.edges).all() and a_fac.geom_equals(b_fac).all()
    assert a_dem["pop"].equals(b_dem["pop"])
    assert a_net.n_nodes == 10_000
    lengths = a_net.edges["length_m"]
    assert lengths.min() > 60 and lengths.max() < 220 and 120 < lengths.mean() < 160  # 80–200 m +- jitter
    xy = a_net.nodes[["x", "y"]].to_numpy()
    river = a_net.nodes.attrs["river"]
    north = xy[:, 1] > river_y(xy[:, 0], river["width"], river["height"])
    u, v = a_net.edges["u"].to_numpy(), a_net.edges["v"].to_numpy()
    crossings = np.count_nonzero(north[u] != north[v])
    assert crossings == river["bridges"] == 3  # max(3, side // 60) bridges for a 100 x 100 grid
    assert a_net.nodes["component"].max() <= 3  # the 8% of streets removed leave few fragments
