"""``cs.Graph``: a directed graph held as CSR (out-edges) and CSC (in-edges) numpy arrays.

Invariants:

* vertices are ``0 .. n-1``; edge ``i`` is the ``i``-th entry of the CSR arrays, so the CSR
  order *is* the edge-id order, and rows are sorted by destination (``has_edge`` bisects);
* ``in_eid[k]`` is the id of the ``k``-th CSC entry, so an edge has the same ``id`` whether
  it is reached through ``out_edges`` or ``in_edges``;
* an undirected graph is stored with both directions (a self-loop once); ``directed``
  records what the user gave, for converting back to networkx;
* an unweighted graph has ``weight is None`` and every edge weighs ``1``.

The methods ``nodes``, ``out_edges`` ... are the kernel language: called from plain
Python they are the reference semantics of a kernel.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

from . import generators
from .dtypes import DType, fill_value, from_numpy
from .errors import ArgumentError, GraphError

__all__ = ["Graph", "Edge"]


class Edge:
    """One edge as a kernel sees it: ``src``, ``dst``, ``weight``, ``id``."""

    __slots__ = ("src", "dst", "weight", "id")

    def __init__(self, src: int, dst: int, weight, id: int):
        self.src = src
        self.dst = dst
        self.weight = weight
        self.id = id

    def __repr__(self) -> str:
        return f"Edge({self.src}->{self.dst}, w={self.weight}, id={self.id})"


@dataclass
class _PyLists:
    """Python-list copies of the arrays, for the speed of plain-Python kernels."""

    indptr: list
    dst: list
    src: list
    weight: list
    in_indptr: list
    in_src: list
    in_eid: list


class Graph:
    """A directed graph (an undirected one is stored with both directions).

    >>> g = Graph.from_edges([0, 1], [1, 2], weight=[2.0, 3.0])
    >>> g.num_nodes(), g.num_edges(), [e.dst for e in g.out_edges(1)]
    (3, 2, [2])
    """

    def __init__(self, num_nodes: int, src, dst, weight=None, *, directed: bool = True,
                 labels: list | None = None):
        src = np.asarray(src, dtype=np.int64)
        dst = np.asarray(dst, dtype=np.int64)
        n = int(num_nodes)
        order = _row_order(src, dst, n)
        self.n = n
        self.m = int(src.size)
        self.directed = bool(directed)
        self.labels = labels
        self.edge_src = np.ascontiguousarray(src[order])
        self.out_dst = np.ascontiguousarray(dst[order])
        self.out_indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.edge_src, minlength=n), out=self.out_indptr[1:])
        self.weight = None if weight is None else np.ascontiguousarray(
            np.asarray(weight, dtype=np.float64)[order])
        corder = _row_order(self.out_dst, self.edge_src, n)
        self.in_eid = np.ascontiguousarray(corder.astype(np.int64))
        self.in_src = np.ascontiguousarray(self.edge_src[corder])
        self.in_indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.out_dst, minlength=n), out=self.in_indptr[1:])
        self._py: _PyLists | None = None
        self._int_weights: list | None = None

    # ----------------------------------------------------------------- constructors
    @classmethod
    def from_edges(cls, src, dst, weight=None, num_nodes: int | None = None,
                   directed: bool = True, dedupe: bool = False) -> Graph:
        """Build a graph from parallel arrays of sources, destinations and weights.

        ``directed=False`` stores each edge in both directions.  ``dedupe=True`` drops
        repeated edges (keeping the first weight) and self-loops; otherwise the edges are
        kept exactly as given, parallel edges included.
        """
        src = _int_array(src, "src")
        dst = _int_array(dst, "dst")
        if src.shape != dst.shape:
            raise ArgumentError(f"src has {src.size} entries but dst has {dst.size}",
                                hint="pass one source and one destination per edge")
        if weight is not None:
            weight = np.asarray(weight, dtype=np.float64).ravel()
            if weight.shape != src.shape:
                raise ArgumentError(f"weight has {weight.size} entries for {src.size} edges",
                                    hint="pass one weight per edge, or weight=None")
            if not np.all(np.isfinite(weight)):
                bad = int(np.flatnonzero(~np.isfinite(weight))[0])
                raise ArgumentError(f"edge {bad} has a non-finite weight {weight[bad]}",
                                    hint="weights must be finite numbers")
        top = int(max(src.max(initial=-1), dst.max(initial=-1))) + 1
        if num_nodes is None:
            num_nodes = top
        elif num_nodes < top:
            raise ArgumentError(f"num_nodes={num_nodes} but an edge names vertex {top - 1}",
                                hint=f"pass num_nodes >= {top}, or leave it out")
        if dedupe:
            keep = src != dst
            if not directed:
                a, b = np.minimum(src, dst), np.maximum(src, dst)
            else:
                a, b = src, dst
            key = a[keep] * max(num_nodes, 1) + b[keep]
            _, first = np.unique(key, return_index=True)
            idx = np.flatnonzero(keep)[np.sort(first)]
            src, dst = a[idx], b[idx]
            weight = None if weight is None else weight[idx]
        if not directed:
            loop = src == dst
            src, dst = (np.concatenate([src, dst[~loop]]), np.concatenate([dst, src[~loop]]))
            if weight is not None:
                weight = np.concatenate([weight, weight[~loop]])
        return cls(num_nodes, src, dst, weight, directed=directed)

    @classmethod
    def from_networkx(cls, G, weight: str | None = "weight") -> Graph:
        """Convert a networkx graph; vertices are numbered in ``G``'s node order.

        The graph is weighted when some edge carries the ``weight`` attribute (edges
        without it weigh 1, as in networkx); ``weight=None`` ignores weights.
        """
        nodes = list(G)
        index = {u: i for i, u in enumerate(nodes)}
        edges = list(G.edges(data=weight, default=None)) if weight else list(G.edges())
        src = np.fromiter((index[e[0]] for e in edges), dtype=np.int64, count=len(edges))
        dst = np.fromiter((index[e[1]] for e in edges), dtype=np.int64, count=len(edges))
        w = None
        if weight and any(e[2] is not None for e in edges):
            w = np.array([1.0 if e[2] is None else e[2] for e in edges], dtype=np.float64)
        g = cls.from_edges(src, dst, w, num_nodes=len(nodes), directed=G.is_directed())
        g.labels = nodes
        return g

    @classmethod
    def kronecker(cls, scale: int, edge_factor: int = 16, seed: int = 0,
                  weighted: bool = True) -> Graph:
        """Graph500 R-MAT graph (A=0.57, B=0.19, C=0.19), undirected, as GAP builds it."""
        src, dst, w, n = generators.kronecker(scale, edge_factor, seed=seed, weighted=weighted)
        return cls.from_edges(src, dst, w, num_nodes=n, directed=False)

    @classmethod
    def uniform(cls, n: int, m: int, seed: int = 0, weighted: bool = True) -> Graph:
        """Undirected graph with exactly ``m`` distinct edges drawn uniformly at random."""
        src, dst, w, n = generators.uniform(n, m, seed=seed, weighted=weighted)
        return cls.from_edges(src, dst, w, num_nodes=n, directed=False)

    # ----------------------------------------------------------------- conversions
    def to_networkx(self, weight: str = "weight"):
        """The same graph as a networkx (Di)Graph on vertices ``0 .. n-1``."""
        import networkx as nx  # lazy: `import cosynth` must not load networkx
        G = nx.DiGraph() if self.directed else nx.Graph()
        G.add_nodes_from(range(self.n))
        if self.weight is None:
            G.add_edges_from(zip(self.edge_src.tolist(), self.out_dst.tolist()))
        else:
            G.add_weighted_edges_from(
                zip(self.edge_src.tolist(), self.out_dst.tolist(), self.weight.tolist()),
                weight=weight)
        return G

    def to_scipy(self):
        """The adjacency matrix (row = source) as a ``scipy.sparse.csr_array``."""
        import scipy.sparse as sp  # lazy: `import cosynth` must not load SciPy
        data = self.weights_or_ones()
        return sp.csr_array((data, self.out_dst, self.out_indptr), shape=(self.n, self.n))

    def weights_or_ones(self) -> np.ndarray:
        return self.weight if self.weight is not None else np.ones(self.m, dtype=np.float64)

    def out_degrees(self) -> np.ndarray:
        return np.diff(self.out_indptr)

    def in_degrees(self) -> np.ndarray:
        return np.diff(self.in_indptr)

    def __repr__(self) -> str:
        kind = "directed" if self.directed else "undirected"
        w = "weighted" if self.weight is not None else "unweighted"
        return f"<cs.Graph {kind} {w}, {self.n} vertices, {self.m} edges>"

    # ----------------------------------------------------------------- kernel language
    def num_nodes(self) -> int:
        return self.n

    def num_edges(self) -> int:
        return self.m

    def nodes(self) -> range:
        return range(self.n)

    def out_degree(self, v: int) -> int:
        p = self._lists().indptr
        return p[v + 1] - p[v]

    def in_degree(self, v: int) -> int:
        p = self._lists().in_indptr
        return p[v + 1] - p[v]

    def out_edges(self, v: int):
        L = self._lists()
        dst, w = L.dst, L.weight
        for i in range(L.indptr[v], L.indptr[v + 1]):
            yield Edge(v, dst[i], w[i], i)

    def in_edges(self, v: int):
        L = self._lists()
        src, eid, w = L.in_src, L.in_eid, L.weight
        for k in range(L.in_indptr[v], L.in_indptr[v + 1]):
            i = eid[k]
            yield Edge(src[k], v, w[i], i)

    def edges(self):
        L = self._lists()
        src, dst, w = L.src, L.dst, L.weight
        for i in range(self.m):
            yield Edge(src[i], dst[i], w[i], i)

    def has_edge(self, u: int, v: int) -> bool:
        L = self._lists()
        lo, hi = L.indptr[u], L.indptr[u + 1]
        i = bisect.bisect_left(L.dst, v, lo, hi)
        return i < hi and L.dst[i] == v

    def node_array(self, dtype: DType, fill=0) -> np.ndarray:
        return _new_table(dtype, fill, self.n, "node_array")

    def edge_array(self, dtype: DType, fill=0) -> np.ndarray:
        return _new_table(dtype, fill, self.m, "edge_array")

    # ----------------------------------------------------------------- internals
    def _lists(self) -> _PyLists:
        if self._py is None:
            w = self.weight.tolist() if self.weight is not None else [1.0] * self.m
            self._py = _PyLists(self.out_indptr.tolist(), self.out_dst.tolist(),
                                self.edge_src.tolist(), w, self.in_indptr.tolist(),
                                self.in_src.tolist(), self.in_eid.tolist())
        return self._py

    def integer_weights(self) -> np.ndarray:
        """The weights as int64, or ArgumentError naming the first fractional one."""
        w = self.weights_or_ones()
        iw = w.astype(np.int64)
        bad = np.flatnonzero(iw != w)
        if bad.size:
            i = int(bad[0])
            raise ArgumentError(
                f"edge {int(self.edge_src[i])}->{int(self.out_dst[i])} has weight "
                f"{float(w[i])!r}, but the kernel declares integer weights",
                hint="use a graph with integer weights, or declare @cs.kernel(weight=cs.f64)")
        return iw

    def with_weight_dtype(self, dtype: DType) -> Graph:
        """A view of this graph whose edges carry weights of ``dtype`` (plain-Python runs)."""
        if not dtype.is_int:
            return self
        view = object.__new__(Graph)
        view.__dict__.update(self.__dict__)
        L = self._lists()
        view._py = _PyLists(L.indptr, L.dst, L.src, self.integer_weights().tolist(),
                            L.in_indptr, L.in_src, L.in_eid)
        return view


def _int_array(x, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.size == 0:
        return np.zeros(0, dtype=np.int64)
    if a.dtype.kind == "f":
        if not np.all(a == np.floor(a)):
            raise ArgumentError(f"{name} holds non-integer vertex ids",
                                hint="vertex ids are integers 0 .. n-1")
    elif a.dtype.kind not in "iu":
        raise ArgumentError(f"{name} must hold integer vertex ids, not {a.dtype}",
                            hint="vertex ids are integers 0 .. n-1")
    a = a.astype(np.int64).ravel()
    if a.size and a.min() < 0:
        raise ArgumentError(f"{name} holds a negative vertex id ({int(a.min())})",
                            hint="vertex ids are integers 0 .. n-1")
    return a


def _new_table(dtype, fill, size: int, what: str) -> np.ndarray:
    if not isinstance(dtype, DType):
        try:
            dtype = from_numpy(dtype)
        except (TypeError, ValueError):
            raise ArgumentError(f"{what}: {dtype!r} is not a cosynth dtype",
                                hint="use cs.i32, cs.i64, cs.f32, cs.f64 or cs.boolean") from None
    try:
        value = fill_value(dtype, fill)
    except TypeError as exc:
        raise ArgumentError(f"{what}: {exc}", hint="give a fill of the table's kind") from None
    return np.full(size, value, dtype=dtype.np)


def _check_graph(g) -> Graph:
    if not isinstance(g, Graph):
        raise GraphError(f"expected a cs.Graph, got {type(g).__name__}",
                         hint="build one with cs.Graph.from_edges, cs.Graph.from_networkx "
                              "or cs.load_graph")
    return g


def _row_order(major, minor, n: int):
    """``np.lexsort((minor, major))`` (stable: ties keep their order), as one stable
    argsort of the key ``major * n + minor`` when that fits in int64 (3x faster)."""
    if (major.size == 0 or not 1 <= n <= 3_000_000_000 or minor.min() < 0
            or minor.max() >= n or major.min() < 0 or major.max() >= n):
        return np.lexsort((minor, major))
    return np.argsort(major * n + minor, kind="stable")
