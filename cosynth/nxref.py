"""networkx references for the standard algorithms, in the kernels' conventions.

Each function takes a ``cs.Graph`` and the kernel's bound arguments and returns what the
example kernel of the same name must compute, as NumPy arrays indexed by vertex.  Where
networkx has no such algorithm for the graph at hand (triangles of a directed graph,
core numbers with self-loops) it raises ``NoReference`` with the reason.

networkx's ``Graph``/``DiGraph`` hold one edge per vertex pair, while a ``cs.Graph`` keeps
parallel edges: each reference either gives the answer the parallel edges imply (the
shortest paths use the lightest of them) or refuses such graphs.

An example kernel names its reference with ``@cs.kernel(reference=nxref.bfs)``.

Building a networkx graph costs a Python object per edge (38 s of a 55 s check at
kron-18): beyond ``NX_MAX_EDGES`` stored edges, ``bfs``, ``sssp``, ``sssp_int``,
``pagerank``, ``cc`` and ``tc`` compute the same answer with scipy.sparse/numpy
(``cosynth.spref``); ``engine(reference, g)`` names the one that runs.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from . import spref
from .errors import NoReference
from .graph import Graph

__all__ = ["NoReference", "bfs", "sssp", "sssp_int", "pagerank", "cc", "bc", "tc", "kcore",
           "engine", "NX_MAX_EDGES"]

I64_MAX = np.iinfo(np.int64).max

#: above this many stored edges the vectorised references run instead of networkx's
NX_MAX_EDGES = 200_000


def _vectorised(g: Graph) -> bool:
    return g.m > NX_MAX_EDGES


def engine(reference, g: Graph) -> str:
    """Which implementation ``reference(g, ...)`` uses: "networkx", "scipy" (the
    vectorised ``cosynth.spref``), or "reference" for a function not of this module."""
    if getattr(reference, "__module__", None) != __name__:
        return "reference"
    name = getattr(reference, "__name__", "")
    return "scipy" if name in spref.__all__ and _vectorised(g) else "networkx"


def _nx(g: Graph):
    """``g`` without weights (parallel edges merge)."""
    G = nx.DiGraph() if g.directed else nx.Graph()
    G.add_nodes_from(range(g.n))
    G.add_edges_from(zip(g.edge_src.tolist(), g.out_dst.tolist()))
    return G


def bfs(g: Graph, source: int) -> np.ndarray:
    """Hop distance from ``source``; unreachable vertices hold the i64 maximum."""
    if _vectorised(g):
        return spref.bfs(g, source)
    out = np.full(g.n, I64_MAX, dtype=np.int64)
    for v, d in nx.single_source_shortest_path_length(_nx(g), source).items():
        out[v] = d
    return out


def sssp(g: Graph, source: int) -> np.ndarray:
    """Weighted distance from ``source`` (Dijkstra); unreachable vertices hold inf."""
    if _vectorised(g):
        return spref.sssp(g, source)
    if g.weight is not None and np.any(g.weight < 0):
        raise NoReference("networkx's Dijkstra needs non-negative weights")
    out = np.full(g.n, np.inf)
    G = _lightest_edges(g, g.weights_or_ones().tolist())
    for v, d in nx.single_source_dijkstra_path_length(G, source, weight="weight").items():
        out[v] = d
    return out


def sssp_int(g: Graph, source: int) -> np.ndarray:
    """Integer-weight distances from ``source``; unreachable vertices hold the i64
    maximum (Dijkstra on the graph's integer weights)."""
    if _vectorised(g):
        return spref.sssp_int(g, source)
    w = g.integer_weights()
    if np.any(w < 0):
        raise NoReference("networkx's Dijkstra needs non-negative weights")
    G = _lightest_edges(g, w.tolist())
    out = np.full(g.n, I64_MAX, dtype=np.int64)
    for v, d in nx.single_source_dijkstra_path_length(G, source, weight="weight").items():
        out[v] = d
    return out


def pagerank(g: Graph, alpha: float = 0.85, tol: float = 1e-6, max_iter: int = 100):
    """``networkx.pagerank(G, weight=None)`` (dangling rank spread uniformly)."""
    if _has_parallel_edges(g):
        raise NoReference("networkx's DiGraph merges parallel edges")
    if _vectorised(g):
        return spref.pagerank(g, alpha, tol, max_iter)
    try:
        pr = nx.pagerank(_nx(g), alpha=alpha, tol=tol, max_iter=max_iter, weight=None)
    except nx.PowerIterationFailedConvergence as exc:
        raise NoReference(f"networkx did not converge: {exc}") from None
    return np.array([pr[v] for v in range(g.n)])


def cc(g: Graph) -> np.ndarray:
    """Smallest vertex id of each vertex's (weakly) connected component."""
    if _vectorised(g):
        return spref.cc(g)
    G = _nx(g)
    comps = nx.weakly_connected_components(G) if g.directed else nx.connected_components(G)
    out = np.zeros(g.n, dtype=np.int64)
    for comp in comps:
        members = np.fromiter(comp, dtype=np.int64)
        out[members] = members.min()
    return out


def bc(g: Graph, normalized: bool = False, undirected: bool = False) -> np.ndarray:
    """Brandes betweenness as the ``bc`` example defines it (see its docstring)."""
    if _has_parallel_edges(g):
        raise NoReference("networkx's graphs merge parallel edges, which change path counts")
    b = nx.betweenness_centrality(_nx(g), normalized=normalized, weight=None)
    out = np.array([b[v] for v in range(g.n)])
    if not normalized:
        if not g.directed and not undirected:
            out = out * 2.0
        elif g.directed and undirected:
            out = out * 0.5
    return out


def tc(g: Graph):
    """(total triangles, per-vertex triangles) of an undirected graph."""
    if g.directed:
        raise NoReference("networkx counts triangles of undirected graphs only")
    if _has_parallel_edges(g):
        raise NoReference("networkx's Graph merges parallel edges")
    if _vectorised(g):
        return spref.tc(g)
    t = nx.triangles(_nx(g))
    per = np.array([t[v] for v in range(g.n)], dtype=np.int64)
    return int(per.sum() // 3), per


def kcore(g: Graph, use_in_edges: bool = False) -> np.ndarray:
    """``networkx.core_number`` (degree = in + out for a directed graph)."""
    if np.any(g.edge_src == g.out_dst):
        raise NoReference("networkx.core_number refuses graphs with self-loops")
    if _has_parallel_edges(g):
        raise NoReference("networkx's graphs merge parallel edges")
    if g.directed != use_in_edges:
        raise NoReference("core_number of a directed graph counts in + out degree: pass "
                          "use_in_edges=True exactly for directed graphs")
    c = nx.core_number(_nx(g))
    return np.array([c[v] for v in range(g.n)], dtype=np.int64)


def _lightest_edges(g: Graph, weights: list):
    """``g`` as a networkx graph whose edge ``(u, v)`` weighs the least of ``g``'s parallel
    ``u -> v`` edges: the only one a shortest path uses (networkx would keep the last)."""
    G = nx.DiGraph() if g.directed else nx.Graph()
    G.add_nodes_from(range(g.n))
    for u, v, x in zip(g.edge_src.tolist(), g.out_dst.tolist(), weights):
        if not G.has_edge(u, v) or G[u][v]["weight"] > x:
            G.add_edge(u, v, weight=x)
    return G


def _has_parallel_edges(g: Graph) -> bool:
    if g.m < 2:
        return False
    same = (g.edge_src[1:] == g.edge_src[:-1]) & (g.out_dst[1:] == g.out_dst[:-1])
    return bool(same.any())
