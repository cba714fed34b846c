"""Graph statistics the cost model needs, measured once per graph.

* sizes, degree skew, and the prefix sums that turn an edge share into a contiguous
  vertex range (``ranges``);
* the *cut*: the fraction of edges whose endpoints land on different blades when the
  vertices are split into contiguous ranges (``cut_fraction``, measured on the graph,
  not assumed);
* an estimate of the number of supersteps of a fixed point: the BFS depth from the
  highest-degree vertex plus one (``levels``);
* the mean degree of an edge's head (``head_degree``, sum of in x out degrees over m):
  what a loop over the edges of each edge's endpoint walks, as in triangle counting;
* the *level profile* of that BFS (``LevelProfile``): per level, the edges a push step
  visits (the frontier's out-edges), the in-edges of the vertices still unvisited (what
  the ``hybrid`` rule's test compares) and the in-edges a pull step with early exit
  visits (an unvisited vertex stops at its first parent, a visited one scans nothing).
  A frontier kernel's source is an argument; the profile from the highest-degree vertex
  stands for it (the planner's estimate, not a measurement of the run);
* the rounds of the two other fixed points the examples spell, computed only when a
  kernel asks (``relax_rounds``): a *weighted* min-plus relaxation (SSSP) takes one round
  per edge of the longest shortest path, counted in hops -- the depth of the shortest-path
  tree from the highest-degree vertex, plus the round that finds nothing to change; with
  unit weights this is ``levels``, with spread weights deeper (a light detour of many
  hops beats a heavy direct edge); a *label* propagation (CC's min-label, both
  directions) takes the hop eccentricity of each weak component's smallest vertex, plus
  one.  These are the rounds of a level-synchronous sweep; an in-place sweep may finish
  sooner (the planner's estimate; calibration measures the runs);
* the edges a *worklist* sweep of those fixed points visits in all (``worklist_edges``):
  the C++ backend's ``async`` node loop runs every vertex in its first sweep and then
  only the vertices whose entry changed since the last sweep began; counted by running
  the relaxation level-synchronously with a frontier of the changed vertices (an
  in-place sweep changes about as many entries, in fewer sweeps).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from cosynth.planner import graphcounts

__all__ = ["GraphStats", "LevelProfile", "row_miss_share"]


@dataclass(frozen=True)
class LevelProfile:
    """Per BFS level ``L`` (0 .. levels - 1, the supersteps of a level-synchronous BFS):

    * ``push[L]``: out-edges of the vertices at depth ``L`` (a push step's edges);
    * ``unvisited_in[L]``: in-edges of the vertices deeper than ``L`` or unreachable
      (the ``hybrid`` rule's ``pull_edges`` count at that superstep);
    * ``pull[L]``: in-edges a pull step with early exit visits: all of those of the
      vertices deeper than ``L + 1`` (and unreachable ones), and for a vertex at depth
      ``L + 1`` with ``d`` in-edges of which ``k`` come from level ``L`` the expected
      position of its first parent, ``(d + 1) / (k + 1)`` (parents in random order).

    Invariant: all three tuples have one entry per level; ``sum(push)`` is the number of
    edges leaving reachable vertices."""

    push: tuple[float, ...] = ()
    unvisited_in: tuple[float, ...] = ()
    pull: tuple[float, ...] = ()
    width: tuple[float, ...] = ()  # vertices at depth L (the frontier's size)

    def as_dict(self) -> dict:
        return {"push": [round(x) for x in self.push],
                "unvisited_in": [round(x) for x in self.unvisited_in],
                "pull": [round(x) for x in self.pull],
                "width": [round(x) for x in self.width]}


@dataclass
class GraphStats:
    n: int
    m: int
    max_degree: int
    mean_degree: float
    levels: int
    name: str = ""
    head_degree: float = 0.0  # mean out-degree of an edge's head: sum in*out degree / m
    level_profile: LevelProfile = field(default_factory=LevelProfile)
    _graph: object = field(default=None, repr=False, compare=False)
    _cuts: dict = field(default_factory=dict, repr=False, compare=False)
    _merge: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, g, name: str = "") -> GraphStats:
        """The statistics of ``g``, measured once per graph object: a second call (the
        next plan, variant or blade count on the same graph, the run's comparison)
        shares the first one's measurements, the costly counts included (the ghosts of
        a range set, the relaxations), under its own ``name``.  A graph is not changed
        after it is built (``cs.Graph``); one whose arrays were replaced is measured
        anew."""
        key = (g.out_dst, g.weight)
        hit = _MEASURED.get(g)
        if hit is not None and len(hit[0]) == len(key) and \
                all(a is b for a, b in zip(hit[0], key)):
            return replace(hit[1], name=name)
        deg = g.out_degrees()
        src = int(deg.argmax()) if g.n else 0
        indeg = np.diff(g.in_indptr) if g.n else deg
        head = float(np.dot(indeg.astype(np.float64), deg)) / g.m if g.m else 0.0
        depth = graphcounts.depths(g, src)
        levels = int(depth[depth >= 0].max(initial=0)) + 1 if g.n else 1
        out = cls(g.n, g.m, int(deg.max(initial=0)), float(deg.mean()) if g.n else 0.0,
                  levels, name, head_degree=head,
                  level_profile=_profile(g, depth, levels, deg, indeg), _graph=g)
        try:
            _MEASURED[g] = (key, out)
        except TypeError:  # not weakly referable: measured per call
            pass
        return out

    @cached_property
    def _ref_rates(self) -> np.ndarray | None:
        """Each vertex's share of the references along edges (its in-degree / m: what a
        random reference along an edge reads), descending; None without the graph."""
        g = self._graph
        if g is None or not self.m or not self.n:
            return None
        deg = np.diff(g.in_indptr).astype(np.float64)
        return np.sort(deg[deg > 0])[::-1] / deg.sum()

    def hot_share(self, k: float) -> float:
        """The share of references along edges that hit an LRU cache of ``k`` vertices'
        entries, by Che's approximation (independent references at each vertex's rate
        p_i, its share of in-edges: the cache holds an entry for a characteristic time T
        with sum_i (1 - exp(-p_i T)) = k, and a reference to i hits with probability
        1 - exp(-p_i T)).  Uniform rates give k / n, the plain share of the data; on a
        power-law graph the hot vertices' entries stay cached and take most of the
        reads.  Without the graph: k / n."""
        p = self._ref_rates
        if p is None:
            return min(1.0, k / self.n) if self.n else 1.0
        if k <= 0:
            return 0.0
        if k >= len(p):
            return 1.0
        key = ("che", int(k))
        if key not in self._cuts:
            self._cuts[key] = _che(p, k)
        return self._cuts[key]

    def line_hit_share(self, groups: float, per_group: int, order: str) -> float:
        """The share of references along edges that hit an LRU cache of ``groups``
        cache-line groups, each holding the entries of ``per_group`` consecutively
        numbered vertices, when the vertices are numbered by ``order`` (``"id"`` as given,
        ``"degree"`` by ascending degree, ties by id: the layout ``bundle`` writes).  Che's
        approximation as in ``hot_share``, over groups: a group's rate is the sum of its
        vertices' (their in-degree shares).  A cache holds lines, not entries: a hot
        vertex numbered among cold ones brings them in with it, so the share depends on
        the numbering -- what a degree-ordered layout improves (``cost.layout_choice``).
        Without the graph: the uniform share."""
        g = self._graph
        if g is None or not self.m or not self.n:
            return min(1.0, groups * per_group / self.n) if self.n else 1.0
        key = ("lines", order, int(groups), int(per_group))
        if key not in self._cuts:
            deg = np.diff(g.in_indptr).astype(np.float64)
            if order == "degree":
                deg = deg[np.argsort(deg, kind="stable")]
            pad = (-deg.size) % per_group
            rates = np.concatenate([deg, np.zeros(pad)]).reshape(-1, per_group).sum(1)
            rates = rates[rates > 0] / deg.sum()
            self._cuts[key] = 1.0 if groups >= rates.size else \
                0.0 if groups <= 0 else _che(rates, groups)
        return self._cuts[key]

    def numbering(self, order: str) -> np.ndarray | None:
        """The user's vertex ids in the order a blade numbers (and a node loop scans)
        them: ``"id"`` as given, ``"degree"`` by ascending in-degree, ties by id (the
        layout ``backends.cpp.layout.degree_order`` writes); None without the graph."""
        g = self._graph
        if g is None:
            return None
        if order != "degree":
            return np.arange(self.n, dtype=np.int64)
        key = ("numbering", order)
        if key not in self._cuts:
            self._cuts[key] = np.argsort(np.diff(g.in_indptr), kind="stable")
        return self._cuts[key]

    def scan_changes(self, leave: np.ndarray, order: str) -> float:
        """Over all the runs of a node loop that scans the vertices in ``order``
        (``numbering``), how often a per-vertex flag differs from the previous vertex's
        along the scan, when the flag is "vertex ``v`` left before this run" and
        ``leave[v]`` is the run index at which ``v`` left: two neighbours in the scan
        ``a, b`` differ at the runs ``r`` with ``min < r <= max`` of their indices,
        ``|leave[a] - leave[b]|`` of them; the sum over neighbouring pairs.  A branch on
        such a flag mispredicts about once per change (``cost.flip_seconds``)."""
        seq = self.numbering(order)
        if seq is None or seq.size < 2:
            return 0.0
        return float(np.abs(np.diff(leave[seq])).sum())

    @cached_property
    def symmetric(self) -> bool:
        """Every edge u -> v has its reverse v -> u (as many times)."""
        g = self._graph
        if g is None or not self.m:
            return True
        return graphcounts.symmetric(g)

    def merge_work(self, order: str) -> float:
        """Row entries an ordered intersection (``u < v < w``: merge the rows of ``u`` and
        ``v`` above ``v``) walks when the vertices are numbered by ``order``: ``"id"`` as
        given, ``"degree"`` by ascending degree.  With ``d+(x)`` the neighbours of ``x``
        numbered above it, the sum over edges ``u < v`` of ``d+(u) + d+(v)`` (each merge
        walks at most the parts of both rows above ``v``)."""
        key = self._merge.get(order)
        if key is None:
            g = self._graph
            deg = g.out_degrees()
            rank = np.arange(self.n) if order == "id" else \
                np.argsort(np.argsort(deg, kind="stable"), kind="stable")
            s, d = rank[g.edge_src], rank[g.out_dst]
            up = s < d
            dplus = np.bincount(s[up], minlength=self.n).astype(np.float64)
            key = float(dplus[s[up]].sum() + dplus[d[up]].sum())
            self._merge[order] = key
        return key

    def merge_walk(self, order: str, down: bool) -> float:
        """Entries of ``v``'s row the emitted merge (``backends.cpp.intersect``) walks
        over all edges ``u < v`` when it intersects the rows of ``u`` and ``v`` above
        ``v`` (``merge_work``'s shape; the rows in ``order``), counted exactly on the
        graph, as the blade counts them (``nest_done``'s edges):

        * from the rows' starts (``down`` False): the kept part of ``v``'s row, ``d+(v)``;
        * from their ends down (``down``): ``u``'s row drives from its end down to its
          smallest head ``t`` above ``v``; ``v``'s row is walked down to its largest
          entry at or below ``t`` -- the entries above ``t`` plus that one, plus one more
          when it is ``t`` (a match steps below it); 1 when ``u`` has no head above ``v``.

        The walk down stops at the last head, so it is not ``d+(v)``: on kron-16..20 in
        degree order 0.89 / 0.90 of it, and ``merge_work`` (both rows' kept parts) 0.53 /
        0.56 at kron-16 / 18 -- the ratio a calibrated law fitted at kron-11..13 carried
        to kron-20 (TC's count 17% low there).  Cached on the stats."""
        key = self._merge.get(("walk", order, down))
        if key is None:
            g, n = self._graph, self.n
            deg = g.out_degrees()
            rank = np.arange(n, dtype=np.int64) if order == "id" else \
                np.argsort(np.argsort(deg, kind="stable"), kind="stable").astype(np.int64)
            s, d = rank[g.edge_src], rank[g.out_dst]
            up = s < d
            if not down:
                key = float(np.bincount(s[up], minlength=n)[d[up]].sum())
            else:
                rows = np.sort(s * n + d)  # every row sorted, rows in order
                ptr = np.searchsorted(rows, np.arange(n + 1, dtype=np.int64) * n)
                u, v = np.divmod(rows, n)
                up = u < v
                u, v = u[up], v[up]  # the edges u < v in key order: sorted searches
                at = np.searchsorted(rows, rows[up], side="right")  # u's first head > v
                has = at < ptr[u + 1]
                u, v, at = u[has], v[has], at[has]
                q = np.sort(v * n + rows[at] - u * n)  # (v, t): only sums are taken
                below = np.searchsorted(rows, q, side="right")  # v's entries <= t
                match = rows[below - 1] == q
                key = float((~has).sum() + ptr[v + 1].sum() - below.sum() + q.size +
                            match.sum())
            self._merge[("walk", order, down)] = key
        return key

    def row_line_rates(self, order: str, down: bool) -> tuple[tuple[float, float], ...]:
        """How often the merges of an ordered intersection (``merge_walk``'s walks: per
        edge ``u < v``, part of ``v``'s row, at an index the outer edge loaded) read each
        64-byte line of the rows, as (references per run, lines referenced that often)
        pairs -- the input of ``row_miss_share``.  A walk of L 4-byte entries touches
        ``1 + (L - 1) // 16`` lines of its row, counted from where it starts (the row's
        end when ``down``, else the kept part's start); a row's lines near that end are
        read by every walk into it, the far ones by the long walks only; walking down,
        the merge also reads the row's first entry (``backends.cpp.intersect``: the
        walk's sentinel), so that line is read by every walk too.  Cached."""
        key = ("lines", order, down)
        hit = self._merge.get(key)
        if hit is not None:
            return hit
        v, walk, deg = _merge_walks(self._graph, self.n, order, down)
        lines = 1 + (walk - 1) // 16
        row = 1 + (np.maximum(deg, 1) - 1) // 16  # lines of each row
        base = np.concatenate(([0], np.cumsum(row)))
        diff = np.bincount(base[v], minlength=base[-1] + 1) - \
            np.bincount(base[v] + np.minimum(lines, row[v]), minlength=base[-1] + 1)
        rate = np.cumsum(diff)[:-1]
        if down:  # the walk's sentinel: every merge reads the row's smallest entry too
            into = np.bincount(v, minlength=self.n)
            hit = np.flatnonzero(into)
            rate[base[hit] + row[hit] - 1] = into[hit]
        vals, counts = np.unique(rate[rate > 0], return_counts=True)
        out = tuple(zip(vals.astype(float).tolist(), counts.astype(float).tolist()))
        self._merge[key] = out
        return out

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
        """Fraction of edges whose endpoints lie in different ranges (``ranges`` sorted
        by lo, contiguous).  Cached per ranges, measured with their out-ghosts."""
        if self.m == 0 or len(ranges) <= 1:
            return 0.0
        return sum(self._range_counts(ranges, True, False)[0]) / self.m

    def ghosts_of(self, ranges: list[tuple[int, int]], out: bool = True, inn: bool = False
                  ) -> list[int]:
        """Each range's ghosts: the distinct vertices outside it that its out-edges reach
        (``out``) or its in-edges come from (``inn``).  Cached per ranges."""
        return self._range_counts(ranges, out, inn)[1]

    def _range_counts(self, ranges, out: bool, inn: bool) -> tuple[list[int], list[int]]:
        """``graphcounts.range_counts`` of these ranges, measured once (O(m + P n))."""
        key = (tuple(map(tuple, ranges)), out, inn)
        if key not in self._cuts:
            self._cuts[key] = graphcounts.range_counts(self._graph, ranges, out, inn)
        return self._cuts[key]

    def ghost_bound(self, P: int, sides: int = 1) -> float:
        """An upper bound of a blade's ghosts among ``P`` edge-balanced blades, cheap
        enough for every P the ILP weighs: its cut edges (per side walked), at most every
        vertex it does not own."""
        if P <= 1:
            return 0.0
        return min(sides * self.cut_fraction(P) * self.m / P, self.n * (1 - 1 / P))

    def relax_rounds(self, kind: str) -> int:
        """Estimated rounds of a fixed point of ``kind``: ``"levels"`` (a frontier
        BFS: ``levels``), ``"weighted"`` (a min-plus relaxation over the edge weights)
        or ``"labels"`` (min-label propagation over both edge directions); see the
        module docstring.  Cached; without the graph, ``levels``."""
        if kind == "levels" or self._graph is None or self.n == 0:
            return self.levels
        if kind not in ("weighted", "labels"):
            raise ValueError(f"unknown fixed point kind {kind!r}")
        return self._relaxed(kind)[0]

    def _relaxed(self, kind: str) -> tuple[int, float]:
        key = ("relax", kind)
        if key not in self._cuts:
            g = self._graph
            src = int(g.out_degrees().argmax()) if kind == "weighted" else None
            rounds, edges, val = graphcounts.relaxation(g, src)
            self._cuts[key] = (rounds, edges)
            self._cuts[("values", kind)] = val
        return self._cuts[key]

    def bucket_work(self, delta: float) -> tuple[float, float, float]:
        """(edges, vertex visits, rounds) of a bucketed (delta-stepping) min-plus
        relaxation from the highest-degree vertex, draining bins of width ``delta``
        lowest first (``backends/cpp/frontier.py``); ``delta`` = inf is one bin.

        A law fitted to the runs, not a simulation: with ``L = P(w < delta)`` the share
        of *light* edges (measured on the graph's weights), a bucket takes
        ``1 + H * L`` rounds (``H``: ``relax_rounds``, the hop depth a chain of light
        edges may need) and re-relaxes ``5 * L`` of its edges (kron-18, weights 1..255:
        delta 8/32 measured 1.15/1.64 x the reachable edges, the law says 1.14/1.61;
        rounds 83/34, the law 86/40); ``D / delta + 1`` buckets (``D``: the largest
        finite distance); every vertex is visited once (the first sweep queues them all;
        a reached vertex runs from the bin of its distance, not from its first one), and
        again for every re-relaxation.  Capped by the worklist's own count
        (``worklist_edges``) and its rounds at delta = inf."""
        if self._graph is None or self.n == 0:
            return float(self.m), float(self.n), 1.0
        rounds_inf, edges_inf = self._relaxed("weighted")
        val = self._cuts[("values", "weighted")]
        g = self._graph
        finite = np.isfinite(val)
        far = float(val[finite].max(initial=0.0))
        outdeg = np.diff(g.out_indptr)
        reach_e = float(outdeg[finite].sum())
        reach_v = float(finite.sum())
        again = reach_v / max(reach_e, 1.0)  # vertex visits beyond the first, per edge
        if not np.isfinite(delta):
            return edges_inf, self.n + again * max(edges_inf - reach_e, 0.0), \
                float(rounds_inf)
        light = self.light_share(delta)
        edges = min(reach_e * (1.0 + 5.0 * light), edges_inf)
        rounds = (far / delta + 1.0) * (1.0 + rounds_inf * light)
        return edges, self.n + again * (edges - reach_e), rounds

    def supersteps(self, kind: str, ranges: list[tuple[int, int]],
                   sweeps: tuple[int, ...] | None = None, walk: bool = True) -> int | None:
        """Runs of the while loop of a relaxed fixed point of ``kind`` (``"weighted"``:
        min-plus from the highest-degree vertex; ``"labels"``) on blades holding the
        contiguous vertex ``ranges``: each run, every blade sweeps its range, then an
        exchange applies the contributions that crossed to their owners.  ``sweeps[b]``
        = 0 (default): blade b runs from a frontier, draining its queue to the local fixed
        point, so a value crosses one blade boundary per run; g > 0: one in-place pass
        whose writes later granules of size g see in the same pass (1: a CPU worklist
        in vertex order; an FPGA interval unit: its interval).  The runs are counted on
        the fixed point itself (``_exchange_runs``: when each final value arrives), not
        taken as BFS levels: kron-16 SSSP 2, 8, 10 and CC 2, 4, 4 runs on 1, 2, 4 blades,
        measured and counted alike.  Cached; without the graph, ``relax_rounds``.
        ``walk=False``: None when the count needs the walk and it is not cached (the
        planner's choice: the walk of one range set took 14-30 s for CC on kron-18)."""
        if self._graph is None or self.n == 0 or kind not in ("weighted", "labels"):
            return self.relax_rounds(kind) if kind != "weighted" or self._graph is None \
                else self.relax_rounds(kind)
        sweeps = tuple(sweeps) if sweeps is not None else (0,) * len(ranges)
        key = ("steps", kind, tuple(map(tuple, ranges)), sweeps)
        if key not in self._cuts and sweeps == (0,):
            # one blade draining its frontier: every value is final after the first sweep
            # and a second run confirms it; one run when nothing moves (no fixed point to
            # walk: the counting below takes 20 s at kron-20)
            self._cuts[key] = 2 if self._moves(kind) else 1
        if key not in self._cuts:
            if not walk:
                return None
            self._relaxed(kind)
            g = self._graph
            starts = np.array([lo for lo, _ in ranges])
            owner = np.clip(np.searchsorted(starts, np.arange(g.n), side="right") - 1, 0,
                            len(ranges) - 1)
            src = int(g.out_degrees().argmax()) if kind == "weighted" else None
            self._cuts[key] = _exchange_runs(g, kind, self._cuts[("values", kind)], src,
                                             owner, np.asarray(sweeps, dtype=np.int64))
        return self._cuts[key]

    def _moves(self, kind: str) -> bool:
        """Whether a relaxed fixed point of ``kind`` changes any value: a label moves
        along any edge between two vertices (the larger takes the smaller); a distance
        when the source has an edge to another vertex."""
        g = self._graph
        if kind == "labels":
            return bool(np.any(g.edge_src != g.out_dst))
        src = int(g.out_degrees().argmax())
        row = g.out_dst[g.out_indptr[src]:g.out_indptr[src + 1]]
        return bool(np.any(row != src))

    def light_share(self, delta: float) -> float:
        """The share of edges lighter than ``delta`` (on at most 2**20 sampled weights)."""
        w = self.weight_sample()
        return float(np.searchsorted(w, delta, side="left")) / max(len(w), 1)

    def weight_sample(self) -> np.ndarray:
        """Sorted weights of every k-th edge (at most 2**20 of them; unit weights when
        the graph has none)."""
        key = ("weights",)
        if key not in self._cuts:
            g = self._graph
            w = np.ones(g.m) if g.weight is None else np.asarray(g.weight, dtype=np.float64)
            self._cuts[key] = np.sort(w[::max(1, g.m >> 20)])
        return self._cuts[key]

    def worklist_edges(self, kind: str) -> float:
        """Edges a worklist relaxation of ``kind`` (``"weighted"`` or ``"labels"``)
        visits over the whole fixed point (see the module docstring); ``m`` per round
        times ``relax_rounds`` without the graph."""
        if self._graph is None or self.n == 0 or kind not in ("weighted", "labels"):
            return float(self.m) * self.relax_rounds(kind)
        return self._relaxed(kind)[1]

    def edges_in(self, lo: int, hi: int) -> int:
        return int(self._prefix[hi] - self._prefix[lo])

    def as_dict(self) -> dict:
        return {"name": self.name, "n": self.n, "m": self.m, "max_degree": self.max_degree,
                "mean_degree": round(self.mean_degree, 3), "levels": self.levels,
                "head_degree": round(self.head_degree, 3)}


def _profile(g, depth: np.ndarray, levels: int, deg: np.ndarray, indeg: np.ndarray
             ) -> LevelProfile:
    """The ``LevelProfile`` of a BFS whose depths are ``depth`` (see there)."""
    if g.n == 0:
        return LevelProfile((0.0,), (0.0,), (0.0,), (0.0,))
    d = np.where(depth < 0, levels + 1, depth)  # unreachable: deeper than every level
    push = np.bincount(d, weights=deg.astype(np.float64), minlength=levels + 2)[:levels]
    in_at = np.bincount(d, weights=indeg.astype(np.float64), minlength=levels + 2)
    deeper = np.cumsum(in_at[::-1])[::-1]  # deeper[L]: in-edges of vertices at depth >= L
    unvisited = deeper[1:levels + 1]
    # parents: in-edges from the level just above; the first is met after (d+1)/(k+1)
    src_d, dst_d = d[g.edge_src], d[g.out_dst]
    k = np.bincount(g.out_dst[dst_d == src_d + 1], minlength=g.n).astype(np.float64)
    first = np.where(k > 0, (indeg + 1) / (k + 1), indeg).astype(np.float64)
    first_at = np.bincount(d, weights=first, minlength=levels + 2)
    pull = deeper[2:levels + 2] + first_at[1:levels + 1]
    width = np.bincount(d, minlength=levels + 2)[:levels]
    return LevelProfile(tuple(map(float, push)), tuple(map(float, unvisited)),
                        tuple(map(float, pull)), tuple(map(float, width)))


#: graph -> ((its arrays measured), its GraphStats): ``GraphStats.of`` measures a graph once
_MEASURED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _exchange_runs(g, kind: str, val: np.ndarray, src: int | None, owner: np.ndarray,
                   sweep: np.ndarray) -> int:
    """Runs of a relaxed fixed point's while loop on range-sharded blades (see
    ``GraphStats.supersteps``): the time each vertex's final value is set, in half-steps
    (run j's sweep is 2j - 1, its exchange 2j; the start is 0), propagated over the edges
    that carry final values (tight edges of the shortest-path DAG; every edge of a
    component for labels), then the last run that changes something plus the one that
    confirms it.  ``sweep[b]``: 0 when blade b drains its queue to its local fixed point
    each run (a frontier), else the granule of its one in-place pass (a vertex sees an
    earlier granule's writes of the same pass: 1 in vertex order, an interval unit's
    interval)."""
    n = g.n
    s, d = g.edge_src.astype(np.int64), g.out_dst.astype(np.int64)
    if kind == "weighted":
        w = np.zeros(g.m) if g.weight is None else \
            np.maximum(np.asarray(g.weight, dtype=np.float64), 0.0)
        tight = np.isfinite(val[s]) & (val[s] + w == val[d])
        s, d = s[tight], d[tight]
        t = np.full(n, np.inf)
        t[src] = 0.0
    else:
        s, d = np.concatenate([s, d]), np.concatenate([d, s])
        t = np.where(val == np.arange(n), 0.0, np.inf)
    if len(s) == 0:
        return 1
    order = np.argsort(s, kind="stable")
    s, d = s[order], d[order]
    indptr = np.searchsorted(s, np.arange(n + 1))
    cross = owner[s] != owner[d]
    gran = sweep[owner[s]]
    ahead = np.where(gran > 0, s // np.maximum(gran, 1) < d // np.maximum(gran, 1), True)
    done = np.zeros(n, dtype=bool)
    level = 0
    while True:
        todo = ~done & (t == level)
        if not todo.any():
            rest = t[~done & np.isfinite(t)]
            if rest.size == 0:
                break
            level = int(rest.min())
            continue
        frontier = np.flatnonzero(todo)
        while frontier.size:  # the vertices set at this time, closed over free edges
            done[frontier] = True
            cnt = indptr[frontier + 1] - indptr[frontier]
            idx = np.repeat(indptr[frontier] - np.cumsum(cnt) + cnt, cnt) + np.arange(cnt.sum())
            odd = level % 2 == 1
            if odd:  # set by a sweep: same sweep if drained or a later granule, else next
                cand = np.where(cross[idx], level + 1,
                                np.where((gran[idx] == 0) | ahead[idx], level, level + 2))
            else:  # set by an exchange (or at the start): the next sweep / its exchange
                cand = np.where(cross[idx], level + 2, level + 1)
            hd = d[idx]
            for c in (level + 2, level + 1):
                sel = hd[(cand == c)]
                t[sel] = np.minimum(t[sel], c)
            now = np.unique(hd[(cand == level) & (t[hd] > level)])
            t[now] = level
            frontier = now[~done[now]]
        level += 1
    changed = np.isfinite(t) & (t > 0)
    last = int(t[changed].max()) if changed.any() else 0
    return (last + 1) // 2 + 1


def _merge_walks(g, n: int, order: str, down: bool):
    """Per edge ``u < v`` of ``g`` numbered by ``order``: ``v``, the entries of ``v``'s
    row its merge walks (``GraphStats.merge_walk``'s count, edge by edge), and every
    vertex's degree in that numbering."""
    deg = g.out_degrees()
    rank = np.arange(n, dtype=np.int64) if order == "id" else \
        np.argsort(np.argsort(deg, kind="stable"), kind="stable").astype(np.int64)
    s, d = rank[g.edge_src], rank[g.out_dst]
    ranked = np.zeros(n, dtype=np.int64)
    ranked[rank] = deg
    if not down:
        up = s < d
        dplus = np.bincount(s[up], minlength=n)
        return d[up], np.maximum(dplus[d[up]], 1), ranked
    rows = np.sort(s * n + d)
    ptr = np.searchsorted(rows, np.arange(n + 1, dtype=np.int64) * n)
    u, v = np.divmod(rows, n)
    up = u < v
    u, v = u[up], v[up]
    at = np.searchsorted(rows, rows[up], side="right")
    has = at < ptr[u + 1]
    walk = np.ones(len(u), dtype=np.int64)  # no head above v: one entry
    q = v[has] * n + rows[at[has]] - u[has] * n
    below = np.searchsorted(rows, q, side="right")
    walk[has] = ptr[v[has] + 1] - below + 1 + (rows[below - 1] == q)
    return v, walk, ranked


def row_miss_share(rates, cache_lines: float) -> float:
    """Of the line references ``rates`` ((references per run, lines) pairs:
    ``GraphStats.row_line_rates``), the share that misses an LRU cache of
    ``cache_lines`` lines, by Che's approximation as in ``_che`` (each line kept for a
    characteristic time T with sum over lines of (1 - exp(-rate T)) = the cache's lines;
    a reference misses with probability exp(-rate T)).  0 when every line fits."""
    if not rates:
        return 0.0
    r = np.array([x for x, _ in rates], dtype=np.float64)
    c = np.array([y for _, y in rates], dtype=np.float64)
    if cache_lines >= c.sum():
        return 0.0
    if cache_lines <= 0:
        return 1.0
    lo, hi = 0.0, 1.0 / r.max()
    while np.dot(c, -np.expm1(-r * hi)) < cache_lines:
        hi *= 2.0
    for _ in range(60):
        t = 0.5 * (lo + hi)
        if np.dot(c, -np.expm1(-r * t)) < cache_lines:
            lo = t
        else:
            hi = t
    return float(np.dot(c * r, np.exp(-r * hi)) / np.dot(c, r))


def _che(p: np.ndarray, k: float) -> float:
    """Che's approximation: the hit share of an LRU cache of ``k`` items referenced
    independently at rates ``p`` (summing to 1): the characteristic time T solves
    sum_i (1 - exp(-p_i T)) = k, and item i hits with probability 1 - exp(-p_i T)."""
    lo, hi = 0.0, 1.0
    while np.sum(-np.expm1(-p * hi)) < k:  # bracket T
        hi *= 2.0
    for _ in range(60):
        t = 0.5 * (lo + hi)
        if np.sum(-np.expm1(-p * t)) < k:
            lo = t
        else:
            hi = t
    return float(np.dot(p, -np.expm1(-p * hi)))
