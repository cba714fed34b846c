"""networkx / SciPy references of the kernels in ``cosynth.examples.more``.

Each function takes a ``cs.Graph`` and the kernel's bound arguments and returns what the
kernel of the same name must compute, independently of cosynth's IR (networkx traversals
or SciPy sparse algebra on the graph's edge list, parallel edges included unless the
function raises ``NoReference``).
"""

from __future__ import annotations

import networkx as nx
import numpy as np
from scipy import sparse

from cosynth.errors import NoReference
from cosynth.graph import Graph

__all__ = ["reach", "max_label", "khop", "walks", "wdegree", "ppr", "common_neighbours",
           "lp_rounds", "hits"]

I64_MAX = np.iinfo(np.int64).max


def _nx(g: Graph) -> nx.DiGraph:
    """The stored edges as a DiGraph (an undirected graph is stored both ways)."""
    G = nx.DiGraph()
    G.add_nodes_from(range(g.n))
    G.add_edges_from(zip(g.edge_src.tolist(), g.out_dst.tolist()))
    return G


def _adjacency(g: Graph, weights=None) -> sparse.csr_matrix:
    """A[u, v] = number (or total weight) of the stored u -> v edges."""
    w = np.ones(g.m) if weights is None else np.asarray(weights, dtype=np.float64)
    return sparse.csr_matrix((w, (g.edge_src, g.out_dst)), shape=(g.n, g.n))


def reach(g: Graph, source: int) -> np.ndarray:
    """Vertices reachable from ``source`` (itself included)."""
    out = np.zeros(g.n, dtype=bool)
    out[list(nx.descendants(_nx(g), source) | {source})] = True
    return out


def max_label(g: Graph) -> np.ndarray:
    """The largest vertex id that reaches each vertex (the vertex itself included)."""
    G = _nx(g)
    out = np.arange(g.n, dtype=np.int64)
    for v in range(g.n):
        anc = nx.ancestors(G, v)
        if anc:
            out[v] = max(out[v], max(anc))
    return out


def khop(g: Graph, source: int, k: int = 3) -> np.ndarray:
    """Hop distance from ``source`` up to ``k``; farther vertices hold the i64 maximum."""
    out = np.full(g.n, I64_MAX, dtype=np.int64)
    for v, d in nx.single_source_shortest_path_length(_nx(g), source, cutoff=k).items():
        out[v] = d
    return out


def walks(g: Graph, source: int, k: int = 3) -> np.ndarray:
    """Number of walks of exactly ``k`` edges from ``source`` to each vertex (row
    ``source`` of A^k, parallel edges counted)."""
    A = _adjacency(g).astype(np.int64)
    x = np.zeros(g.n, dtype=np.int64)
    x[source] = 1
    for _ in range(k):
        x = A.T @ x
    return np.asarray(x, dtype=np.int64)


def wdegree(g: Graph) -> np.ndarray:
    """Total weight of each vertex's out-edges (1 per edge on an unweighted graph)."""
    return np.asarray(_adjacency(g, g.weights_or_ones()).sum(axis=1)).ravel()


def ppr(g: Graph, personal, alpha: float = 0.85, tol: float = 1e-6,
        max_iter: int = 100) -> np.ndarray:
    """``networkx.pagerank(G, personalization=..., dangling=...)`` with the dangling rank
    following the personalisation vector, as networkx does by default."""
    if g.m > 1 and bool(((g.edge_src[1:] == g.edge_src[:-1]) &
                         (g.out_dst[1:] == g.out_dst[:-1])).any()):
        raise NoReference("networkx's DiGraph merges parallel edges")
    p = np.asarray(personal, dtype=np.float64)
    if p.sum() <= 0 or np.any(p < 0):
        raise NoReference("the personalisation vector must be non-negative, not all zero")
    try:
        pr = nx.pagerank(_nx(g), alpha=alpha, tol=tol, max_iter=max_iter, weight=None,
                         personalization={v: float(p[v]) for v in range(g.n)})
    except nx.PowerIterationFailedConvergence as exc:
        raise NoReference(f"networkx did not converge: {exc}") from None
    return np.array([pr[v] for v in range(g.n)])


def common_neighbours(g: Graph) -> np.ndarray:
    """Per stored edge u -> v: how many vertices are successors of both u and v."""
    if g.m > 1 and bool(((g.edge_src[1:] == g.edge_src[:-1]) &
                         (g.out_dst[1:] == g.out_dst[:-1])).any()):
        raise NoReference("parallel edges count each shared successor several times")
    G = _nx(g)
    return np.array([len(set(G.successors(u)) & set(G.successors(v)))
                     for u, v in zip(g.edge_src.tolist(), g.out_dst.tolist())],
                    dtype=np.int64)


def lp_rounds(g: Graph, rounds: int = 3) -> np.ndarray:
    """After ``rounds`` synchronous rounds of max-label propagation along out-edges: the
    largest id among the vertices within ``rounds`` hops upstream of each vertex."""
    R = _nx(g).reverse(copy=True)
    out = np.zeros(g.n, dtype=np.int64)
    for v in range(g.n):
        out[v] = max(nx.single_source_shortest_path_length(R, v, cutoff=rounds))
    return out


def hits(g: Graph, max_iter: int = 50, tol: float = 1e-8):
    """(hubs, authorities) by power iteration as networkx 2's ``hits`` did (each step
    scaled by its maximum, the result by its sum), on the sparse adjacency matrix."""
    A = _adjacency(g)
    h = np.full(g.n, 1.0 / g.n)
    a = np.zeros(g.n)
    for _ in range(max_iter):
        last = h
        a = A.T @ last
        h = A @ a
        hm, am = h.max(initial=0.0), a.max(initial=0.0)
        if hm <= 0 or am <= 0:
            raise NoReference("the graph has no edge: hubs and authorities are undefined")
        h, a = h / hm, a / am
        if np.abs(h - last).sum() < tol:
            break
    return h / h.sum(), a / a.sum()
