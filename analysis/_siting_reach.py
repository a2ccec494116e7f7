"""Lean siting at city scale: who is still left out, which candidates can reach them, and the coverage matrix.

Walking is symmetric on the prepared network (every segment both ways at the
same time, a point joined to both ends of its segment by the same walk), so the
candidates that reach some resident left out are found by one bounded,
multi-source Dijkstra *from* those residents (``nearest_times``): a candidate
farther than the cutoff from every one of them can never count, and is dropped
before any origin-destination work. The coverage of the candidates that remain
is measured in chunks (``od_table`` per chunk), each chunk going straight into
a ``scipy.sparse`` block: no city-wide long table is ever built.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp

from analysis import columns as C
from analysis.traveltime import WALK_KMH, nearest_times, od_table, speed_ms
from geo.network import StreetNetwork

__all__ = ["EPS_S", "LeftOut", "coverage_matrix", "left_out", "nearest_corners", "reaching"]

#: Added to every stored time, so a walk of 0 s stays a stored entry of a sparse matrix.
EPS_S = 1e-9
#: Candidates per chunk of the coverage matrix (each chunk: one ``od_table``).
CHUNK = 2048


@dataclass(frozen=True)
class LeftOut:
    """The residents still left out, as the siting sees them."""

    rows: np.ndarray  #: their positions in the demand table
    snaps: pd.DataFrame  #: their snap table rows (``geo.snap_points``)
    pop: np.ndarray  #: residents per point
    cutoff_s: float  #: the walk that counts as covered, seconds
    speed_kmh: float  #: walking speed


def left_out(
    demand: gpd.GeoDataFrame, demand_snaps: pd.DataFrame, *, minutes: float, speed_kmh: float = WALK_KMH
) -> LeftOut:
    """The resident points not covered (and with someone living there).

    Parameters
    ----------
    demand
        Resident points with ``pop`` and ``covered``.
    demand_snaps
        ``geo.snap_points(demand, network)``.
    minutes
        The walk in minutes that counts as covered.
    speed_kmh
        Walking speed in km/h.

    Returns
    -------
    LeftOut
        Their positions, snaps and residents, with the cutoff and the speed.
    """
    pop = demand[C.POP].to_numpy(dtype=float)
    rows = np.flatnonzero(~demand[C.COVERED].to_numpy(dtype=bool) & (pop > 0))
    return LeftOut(rows, demand_snaps.iloc[rows], pop[rows], float(minutes) * 60, float(speed_kmh))


def _within(seconds: np.ndarray, limit_s: float) -> np.ndarray:
    """Within the limit, with room for the rounding of a walk summed the other way round."""
    return seconds <= limit_s * (1 + 1e-9) + 1e-9


def reaching(network: StreetNetwork, cand_snaps: pd.DataFrame, left: LeftOut, *, limit_s: float) -> np.ndarray:
    """Which candidates reach at least one resident left out within ``limit_s`` (one multi-source Dijkstra).

    Parameters
    ----------
    network
        The street network.
    cand_snaps
        The candidates' snap table.
    left
        The residents left out.
    limit_s
        The longest walk in seconds.

    Returns
    -------
    numpy.ndarray
        A boolean mask over the candidates.
    """
    if len(left.rows) == 0 or len(cand_snaps) == 0:
        return np.zeros(len(cand_snaps), dtype=bool)
    t = nearest_times(network, left.snaps, cand_snaps, speed_kmh=left.speed_kmh, limit_s=limit_s)
    return _within(t.point_s, limit_s)


def coverage_matrix(
    network: StreetNetwork,
    cand_snaps: pd.DataFrame,
    target_snaps: pd.DataFrame,
    *,
    cutoff_s: float,
    speed_kmh: float = WALK_KMH,
) -> sp.csr_matrix:
    """Seconds from each candidate to each target within ``cutoff_s``, as a sparse candidates x targets matrix.

    Built ``CHUNK`` candidates at a time, each chunk's pairs going straight into
    its sparse block. A stored entry is the walk plus ``EPS_S`` (so 0 s is kept);
    an absent entry is out of reach.

    Parameters
    ----------
    network
        The street network.
    cand_snaps, target_snaps
        Snap tables of the candidates (rows) and the targets (columns).
    cutoff_s
        The longest walk in seconds kept.
    speed_kmh
        Walking speed in km/h.

    Returns
    -------
    scipy.sparse.csr_matrix
        Seconds + ``EPS_S`` where in reach.
    """
    n_t = len(target_snaps)
    blocks = []
    for start in range(0, len(cand_snaps), CHUNK):
        part = cand_snaps.iloc[start : start + CHUNK]
        od = od_table(network, part, target_snaps, cutoff_s=cutoff_s, speed_kmh=speed_kmh)
        blocks.append(
            sp.csr_matrix(
                (od["seconds"].to_numpy() + EPS_S, (od["source"].to_numpy(), od["target"].to_numpy())),
                shape=(len(part), n_t),
            )
        )
    if not blocks:
        return sp.csr_matrix((0, n_t))
    return sp.vstack(blocks, format="csr")


def nearest_corners(network: StreetNetwork, left: LeftOut, missed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each missed resident, the street corner (node) nearest it along its street, when within the cutoff.

    A resident's walk to any node passes an end of its own segment, so when
    neither end is within the cutoff no street corner covers it.

    Parameters
    ----------
    network
        The street network.
    left
        The residents left out.
    missed
        Positions (in ``left``) of the residents no candidate reaches.

    Returns
    -------
    tuple of numpy.ndarray
        The nodes (positions in ``network.nodes``, unique), and a mask over ``missed``:
        reachable by some street corner.
    """
    snaps = left.snaps.iloc[missed]
    edge = snaps["edge"].to_numpy()
    on = edge >= 0
    e = network.edges
    speed = speed_ms(left.speed_kmh)
    pos, off = snaps["pos_m"].to_numpy()[on], snaps["offset_m"].to_numpy()[on]
    length = e["length_m"].to_numpy()[edge[on]]
    t_u, t_v = (off + pos) / speed, (off + length - pos) / speed
    node = np.where(t_u <= t_v, e["u"].to_numpy()[edge[on]], e["v"].to_numpy()[edge[on]])
    near = np.minimum(t_u, t_v) <= left.cutoff_s - 1e-6
    reachable = np.zeros(len(missed), dtype=bool)
    reachable[np.flatnonzero(on)[near]] = True
    return np.unique(node[near]), reachable
