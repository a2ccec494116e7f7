"""Capacity-aware accessibility: the two-step floating catchment area method (2SFCA, E2SFCA).

Step 1, for each facility j with capacity S_j, the supply-to-demand ratio over
the residents k who reach it within the cutoff d0::

    R_j = S_j / sum_k P_k W(d_kj)

Step 2, for each resident point i, the capacity it can reach::

    A_i = sum_j R_j W(d_ij)

``W`` is the distance decay: 1 everywhere (plain 2SFCA), a Gaussian
``(exp(-(d/d0)^2/2) - exp(-1/2)) / (1 - exp(-1/2))``, or steps (E2SFCA, by default
1.00 / 0.68 / 0.22 for the first, second and last third of the cutoff, after
Luo and Qi 2009). We report ``A_i x 1000`` (capacity per 1,000 residents) and each
facility's load ``1 / R_j`` (residents per unit of capacity).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.defaults import DECAYS  # issue 32: read by the parsers without pandas

__all__ = ["DECAYS", "STEPS", "decay_weights", "two_step_fca"]

#: E2SFCA steps: (upper bound as a share of the cutoff, weight)
STEPS: tuple[tuple[float, float], ...] = ((1 / 3, 1.0), (2 / 3, 0.68), (1.0, 0.22))


def decay_weights(
    seconds: np.ndarray, cutoff_s: float, decay: str = "none", steps: Sequence[tuple[float, float]] = STEPS
) -> np.ndarray:
    """Weights in [0, 1] for travel times; 0 beyond the cutoff.

    Parameters
    ----------
    seconds
        Travel times in seconds.
    cutoff_s
        The catchment in seconds: one number, or one per travel time.
    decay
        ``none`` (1 inside), ``gaussian``, or ``stepped`` (``DECAYS``).
    steps
        For ``stepped``: (share of the cutoff, weight) pairs, shares rising to 1.

    Returns
    -------
    numpy.ndarray
        One weight per travel time.

    Examples
    --------
    >>> decay_weights(np.array([0.0, 300.0, 600.0, 900.0, 901.0]), 900, "stepped").tolist()
    [1.0, 1.0, 0.68, 0.22, 0.0]
    """
    seconds = np.asarray(seconds, dtype=float)
    cutoff_s = np.broadcast_to(np.asarray(cutoff_s, dtype=float), seconds.shape)
    inside = seconds <= cutoff_s
    if decay == "none":
        w = np.ones_like(seconds)
    elif decay == "gaussian":
        edge = np.exp(-0.5)
        w = (np.exp(-0.5 * (seconds / cutoff_s) ** 2) - edge) / (1 - edge)
    elif decay == "stepped":
        share = seconds / cutoff_s
        bounds = np.array([b for b, _ in steps])
        weights = np.array([wt for _, wt in steps])
        w = weights[np.minimum(np.searchsorted(bounds, share - 1e-12, side="left"), len(weights) - 1)]
    else:
        raise ValueError(f"unknown decay '{decay}': use one of {', '.join(DECAYS)}")
    return np.where(inside, w, 0.0)


def two_step_fca(
    od: pd.DataFrame,
    supply: np.ndarray,
    pop: np.ndarray,
    *,
    cutoff_s: float | np.ndarray,
    decay: str = "none",
) -> tuple[np.ndarray, np.ndarray]:
    """2SFCA on a long origin-destination table.

    Parameters
    ----------
    od
        ``source`` (facility position), ``target`` (resident point position), ``seconds``.
    supply
        Capacity per facility (floor area in m², staff, or 1 each).
    pop
        Residents per point.
    cutoff_s
        The catchment: one number, or one per facility.

    Returns
    -------
    (access, served)
        ``access``: capacity reachable per resident at each point (A_i);
        ``served``: decay-weighted residents in each facility's catchment (1 / R_j x S_j).

    Examples
    --------
    Two facilities of 100 and 50 m²; three resident points of 10, 20 and 30:

    >>> od = pd.DataFrame({"source": [0, 0, 1, 1], "target": [0, 1, 1, 2], "seconds": [60, 120, 60, 60]})
    >>> access, served = two_step_fca(od, np.array([100.0, 50.0]), np.array([10.0, 20.0, 30.0]), cutoff_s=900)
    >>> served.tolist()
    [30.0, 50.0]
    >>> np.round(access, 4).tolist()
    [3.3333, 4.3333, 1.0]
    """
    src, tgt = od["source"].to_numpy(), od["target"].to_numpy()
    cut = np.asarray(cutoff_s, dtype=float)
    w = decay_weights(od["seconds"].to_numpy(), cut[src] if cut.ndim else cut, decay)
    served = np.bincount(src, weights=pop[tgt] * w, minlength=len(supply))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(served > 0, supply / served, 0.0)
    access = np.bincount(tgt, weights=ratio[src] * w, minlength=len(pop))
    return access, served
