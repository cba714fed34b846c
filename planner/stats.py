"""Graph statistics the cost model needs, measured once per graph.

* sizes, degree skew, and the prefix sums that turn an edge share into a contiguous
  vertex range (``ranges``);
* the *cut*: the fraction of edges whose endpoints land on different blades when the
  vertices are split into contiguous ranges (``cut_fraction``, measured on the graph,
  not assumed);
* an estimate of the number of supersteps of a fixed point: the BFS depth from the
  highest-degree vertex plus one (``levels``);
* the mean degree of an edge's head (``head_degree``, sum of in x out degrees over m):
  what a loop over the edges of each edge's endpoint walks, as in triangle counting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

__all__ = ["GraphStats"]


@dataclass
class GraphStats:
    n: int
    m: int
    max_degree: int
    mean_degree: float
    levels: int
    name: str = ""
    head_degree: float = 0.0  # mean out-degree of an edge's head: sum in*out degree / m
    _graph: object = field(default=None, repr=False, compare=False)
    _cuts: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, g, name: str = "") -> GraphStats:
        deg = g.out_degrees()
        src = int(deg.argmax()) if g.n else 0
        indeg = np.bincount(g.out_dst, minlength=g.n) if g.n else deg
        head = float(np.dot(indeg.astype(np.float64), deg)) / g.m if g.m else 0.0
        return cls(g.n, g.m, int(deg.max(initial=0)), float(deg.mean()) if g.n else 0.0,
                   _levels(g, src), name, head_degree=head, _graph=g)

    @property
    def skew(self) -> float:
        return self.max_degree / self.mean_degree if self.mean_degree else 1.0

    @cached_property
    def _prefix(self) -> np.ndarray:
        return self._graph.out_indptr

    def ranges(self, shares: list[float]) -> list[tuple[int, int]]:
        """Contiguous vertex ranges whose edge counts follow ``shares`` (summing to 1)."""
        n, m = self.n, self.m
        acc = np.cumsum(np.asarray(shares[:-1], dtype=np.float64))  # sequential, as a loop
        cuts = np.searchsorted(self._prefix, acc * m, side="left") if m else \
            np.round(acc * n).astype(np.int64)  # one call: linear in blades, not quadratic
        bounds = [0, *np.minimum(np.maximum.accumulate(np.maximum(cuts, 0)), n).tolist(), n]
        return [(bounds[i], bounds[i + 1]) for i in range(len(shares))]

    def cut_fraction(self, blades: int) -> float:
        """Fraction of edges crossing blades for ``blades`` edge-balanced ranges."""
        if blades <= 1 or self.m == 0:
            return 0.0
        if blades not in self._cuts:
            self._cuts[blades] = self.cut_of(self.ranges([1.0 / blades] * blades))
        return self._cuts[blades]

    def cut_of(self, ranges: list[tuple[int, int]]) -> float:
        if self.m == 0 or len(ranges) <= 1:
            return 0.0
        g = self._graph
        starts = np.array([lo for lo, _ in ranges])
        # each vertex's range once (n binary searches), then two gathers over the edges
        owner = np.searchsorted(starts, np.arange(g.n), side="right")
        return float(np.mean(owner[g.edge_src] != owner[g.out_dst]))

    def ghosts_of(self, ranges: list[tuple[int, int]], out: bool = True, inn: bool = False
                  ) -> list[int]:
        """Each range's ghosts: the distinct vertices outside it that its out-edges reach
        (``out``) or its in-edges come from (``inn``).  Cached per ranges."""
        key = (tuple(map(tuple, ranges)), out, inn)
        if key not in self._cuts:
            g = self._graph
            P = len(ranges)
            if P <= 1 or self.m == 0:
                self._cuts[key] = [0] * P
            else:
                starts = np.array([lo for lo, _ in ranges])
                owner = np.searchsorted(starts, np.arange(g.n), side="right") - 1
                keys = []
                if out:  # (owner of the source, target) of cut edges
                    cut = owner[g.edge_src] != owner[g.out_dst]
                    keys.append(owner[g.edge_src[cut]].astype(np.int64) * g.n + g.out_dst[cut])
                if inn:
                    cut = owner[g.edge_src] != owner[g.out_dst]
                    keys.append(owner[g.out_dst[cut]].astype(np.int64) * g.n + g.edge_src[cut])
                uniq = np.unique(np.concatenate(keys)) if keys else np.zeros(0, np.int64)
                self._cuts[key] = np.bincount(uniq // g.n, minlength=P).tolist()
        return self._cuts[key]

    def ghost_bound(self, P: int, sides: int = 1) -> float:
        """An upper bound of a blade's ghosts among ``P`` edge-balanced blades, cheap
        enough for every P the ILP weighs: its cut edges (per side walked), at most every
        vertex it does not own."""
        if P <= 1:
            return 0.0
        return min(sides * self.cut_fraction(P) * self.m / P, self.n * (1 - 1 / P))

    def edges_in(self, lo: int, hi: int) -> int:
        return int(self._prefix[hi] - self._prefix[lo])

    def as_dict(self) -> dict:
        return {"name": self.name, "n": self.n, "m": self.m, "max_degree": self.max_degree,
                "mean_degree": round(self.mean_degree, 3), "levels": self.levels,
                "head_degree": round(self.head_degree, 3)}


def _levels(g, src: int) -> int:
    if g.n == 0:
        return 1
    import scipy.sparse as sp  # lazy: SciPy is slow to import, only this estimate needs it
    from scipy.sparse.csgraph import breadth_first_order  # lazy, as above
    a = sp.csr_array((np.ones(g.m, dtype=np.int8), g.out_dst, g.out_indptr), shape=(g.n, g.n))
    order, pred = breadth_first_order(a, src, directed=True, return_predecessors=True)
    depth = np.zeros(g.n, dtype=np.int64)
    for v in order[1:]:
        depth[v] = depth[pred[v]] + 1
    return int(depth.max(initial=0)) + 1
