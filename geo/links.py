"""The links a walk runs on: both directions of every street segment, parallel ones the shortest, as CSR arrays.

Speed-free (metres), so a network's links are made once (or kept in its store entry, ``geo.store``):
``analysis.traveltime`` divides them by a speed. The shortest of parallel segments in metres is the
shortest in seconds too (division by a positive speed keeps the order), so the seconds are those of
dividing every link first and keeping the shortest after, to the bit.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["street_links_m"]


def street_links_m(
    u: np.ndarray, v: np.ndarray, length_m: np.ndarray, n_nodes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both directions of every segment, one link per pair of nodes (the shortest), as CSR arrays.

    Parameters
    ----------
    u, v
        Each segment's end nodes (positions).
    length_m
        Each segment's length in metres.
    n_nodes
        The number of nodes.

    Returns
    -------
    tuple of numpy.ndarray
        ``(indptr, indices, metres)``: each node's links sorted by the node they go to.

    Examples
    --------
    >>> import numpy as np
    >>> street_links_m(np.array([0, 0, 1]), np.array([1, 1, 2]), np.array([5.0, 3.0, 2.0]), 3)[2].tolist()
    [3.0, 3.0, 2.0, 2.0]
    """
    rows, cols, w = np.concatenate([u, v]), np.concatenate([v, u]), np.concatenate([length_m, length_m])
    summed = sp.csr_matrix((w, (rows, cols)), shape=(n_nodes, n_nodes))  # sorted; parallel links added up
    if summed.nnz == len(rows):  # none parallel: each link as it is (one pass in C)
        return summed.indptr.astype(np.int64), summed.indices, summed.data
    # Parallel links: grouped by their first node (a stable sort), sorted within, the shortest of each pair.
    order = np.argsort(rows, kind="stable")
    indptr = np.zeros(n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_nodes), out=indptr[1:])
    links = sp.csr_matrix((w[order], cols[order], indptr), shape=(n_nodes, n_nodes))
    links.sort_indices()
    indptr, indices, w = links.indptr.astype(np.int64), links.indices, links.data
    row = np.repeat(np.arange(n_nodes), np.diff(indptr))
    first = np.ones(len(indices), dtype=bool)
    first[1:] = (row[1:] != row[:-1]) | (indices[1:] != indices[:-1])
    starts = np.flatnonzero(first)
    np.cumsum(np.bincount(row[starts], minlength=n_nodes), out=indptr[1:])
    return indptr, indices[starts], np.minimum.reduceat(w, starts)
