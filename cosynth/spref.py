"""Vectorised references (scipy.sparse / numpy) for graphs where networkx is slow.

Each function computes what the ``cosynth.nxref`` function of the same name computes,
with the same conventions (parallel edges, unreachable vertices, refusals), from the
graph's CSR arrays directly: no Python object per vertex or edge.  ``cosynth.nxref``
chooses between the two by the graph's size (``nxref.engine``); the tests run both on
the same small graphs and require equal answers.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph

from .errors import NoReference
from .graph import Graph

__all__ = ["bfs", "sssp", "sssp_int", "pagerank", "cc", "tc"]

I64_MAX = np.iinfo(np.int64).max
_EXACT = float(2 ** 53)  # integers below this are exact in float64


def _pattern(g: Graph, data=None):
    """The adjacency matrix (row = source), duplicates kept as stored."""
    vals = np.ones(g.m) if data is None else data
    return sp.csr_array((vals, g.out_dst, g.out_indptr), shape=(g.n, g.n))


def _lightest(g: Graph, w: np.ndarray):
    """The adjacency matrix whose entry ``(u, v)`` is the least weight of the parallel
    ``u -> v`` edges (rows are sorted by destination, so parallel edges are adjacent).
    A stored zero is an edge of weight 0 to csgraph (only a missing entry is no edge)."""
    if g.m == 0:
        return _pattern(g)
    first = np.empty(g.m, dtype=bool)
    first[0] = True
    np.not_equal(g.edge_src[1:] * g.n + g.out_dst[1:],
                 g.edge_src[:-1] * g.n + g.out_dst[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    wmin = np.minimum.reduceat(np.asarray(w, dtype=np.float64), starts)
    indptr = np.zeros(g.n + 1, dtype=np.int64)
    np.cumsum(np.bincount(g.edge_src[starts], minlength=g.n), out=indptr[1:])
    return sp.csr_array((wmin, g.out_dst[starts], indptr), shape=(g.n, g.n))


def bfs(g: Graph, source: int) -> np.ndarray:
    """Hop distance from ``source``, level by level over the CSR (i64 max: unreachable)."""
    depth = np.full(g.n, I64_MAX, dtype=np.int64)
    depth[source] = 0
    front = np.array([source], dtype=np.int64)
    level = 0
    while front.size:
        lo, hi = g.out_indptr[front], g.out_indptr[front + 1]
        cnt = hi - lo
        total = int(cnt.sum())
        if total == 0:
            break
        # positions lo[i] .. hi[i]-1 of every frontier vertex, concatenated
        offs = np.repeat(lo - np.cumsum(cnt) + cnt, cnt) + np.arange(total)
        nbr = g.out_dst[offs]
        nbr = nbr[depth[nbr] == I64_MAX]
        level += 1
        depth[nbr] = level
        front = np.flatnonzero(np.bincount(nbr, minlength=0)) if nbr.size else nbr
    return depth


def _dijkstra(g: Graph, source: int, w: np.ndarray) -> np.ndarray:
    if np.any(w < 0):
        raise NoReference("Dijkstra needs non-negative weights")
    return csgraph.dijkstra(_lightest(g, w), directed=True, indices=source)


def sssp(g: Graph, source: int) -> np.ndarray:
    """Weighted distance from ``source`` (scipy's Dijkstra); unreachable: inf."""
    return _dijkstra(g, source, g.weights_or_ones())


def sssp_int(g: Graph, source: int) -> np.ndarray:
    """Integer-weight distances from ``source``; unreachable: the i64 maximum."""
    w = np.asarray(g.integer_weights(), dtype=np.float64)
    d = _dijkstra(g, source, w)
    reach = np.isfinite(d)
    if np.any(d[reach] >= _EXACT):
        raise NoReference("distances beyond 2**53 are not exact in scipy's float Dijkstra")
    out = np.full(g.n, I64_MAX, dtype=np.int64)
    out[reach] = d[reach].astype(np.int64)
    return out


def pagerank(g: Graph, alpha: float = 0.85, tol: float = 1e-6, max_iter: int = 100):
    """networkx's power iteration (``_pagerank_scipy``, uniform teleport and dangling
    vectors) on the CSR; raises ``NoReference`` where networkx would not converge."""
    n = g.n
    if n == 0:
        return np.zeros(0)
    deg = np.diff(g.out_indptr).astype(np.float64)
    inv = np.zeros(n)
    inv[deg != 0] = 1.0 / deg[deg != 0]
    At = _pattern(g, inv[g.edge_src]).T.tocsr()  # x @ A as a product with A's transpose
    dangling = np.flatnonzero(deg == 0)
    x = np.full(n, 1.0 / n)
    p = np.full(n, 1.0 / n)
    for _ in range(max_iter):
        last = x
        x = alpha * (At @ x + float(np.sum(x[dangling])) * p) + (1 - alpha) * p
        if np.abs(x - last).sum() < n * tol:
            return x
    raise NoReference(f"the power iteration did not converge in {max_iter} iterations")


def cc(g: Graph) -> np.ndarray:
    """Smallest vertex id of each vertex's (weakly) connected component."""
    # an undirected graph is stored with both directions: its strong components are its
    # components, and finding them needs no transpose (the weak search builds one)
    k, lab = csgraph.connected_components(_pattern(g), directed=True,
                                          connection="weak" if g.directed else "strong")
    first = np.full(k, g.n, dtype=np.int64)
    np.minimum.at(first, lab, np.arange(g.n, dtype=np.int64))
    return first[lab]


def tc(g: Graph):
    """(total, per-vertex) triangles of an undirected simple graph, self-loops ignored.

    With ``U`` the strictly upper adjacency (u < w), a triangle u < v < w is the product
    ``U[u,v] U[v,w] U[u,w]``: ``C = (U @ U) * U`` puts it at its edge (u, w) (row sums
    count it for u, column sums for w) and ``(U.T @ U) * U`` at (v, w) for v."""
    und = g.edge_src < g.out_dst
    U = sp.csr_array((np.ones(int(und.sum()), dtype=np.int64),
                      (g.edge_src[und], g.out_dst[und])), shape=(g.n, g.n))
    C = (U @ U).multiply(U)
    M = (U.T @ U).multiply(U)
    per = (np.asarray(C.sum(axis=1)).ravel() + np.asarray(C.sum(axis=0)).ravel()
           + np.asarray(M.sum(axis=1)).ravel()).astype(np.int64)
    return int(C.sum()), per
