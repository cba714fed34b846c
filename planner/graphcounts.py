"""The counts over a graph that ``planner.stats`` needs, linear in its size.

Every function here reads the graph's own CSR (``out_indptr``/``out_dst``) and CSC
(``in_indptr``/``in_src``) arrays, which ``cs.Graph`` builds once, and costs O(n + m)
vectorised numpy per call -- no sort of the m edges, no hash of edge keys, no sparse
matrix transposed again.  They replace code that did (kron-22: 4 M vertices, 67 M edges,
where a hashed ``np.unique`` of the cut edges alone took minutes per range set).

* ``range_counts``: per contiguous vertex range, its cut edges and its *ghosts* (the
  distinct vertices outside it that its out-edges reach and/or its in-edges come from).
  A range's out-edges are one slice of the CSR arrays (its in-edges one slice of the
  CSC ones), so a range's ghosts are the marked entries of one n-byte bitmap:
  O(m) for all ranges plus O(n) per range (a SIMD count of n bytes).
  ``range_ghosts`` returns the same sets (the blades' ghost lists, sorted).
* ``depths``: BFS depth of every vertex from a source, top-down, one gather of the
  frontier's rows per level (each edge read once in all).
* ``relaxation``: a level-synchronous relaxation (min-plus over the weights, or
  min-label propagation over both directions) that walks only the rows of the vertices
  the previous round changed (a worklist, as the C++ backend runs it), scattered with
  ``np.minimum.at``; a round that walks more than ``DENSE`` of the edges pulls over
  every row instead (a gather and ``np.minimum.reduceat``, O(m) at a few times less per
  edge than the scatter).  The same rounds, edges and fixed point as the whole-graph
  sweep it replaces, in O(edges visited) for the sparse rounds.
* ``symmetric``: the graph has every edge's reverse as many times: CSR row u equals
  CSC column u for every u (both are sorted by the other endpoint), O(m), no sort.

Work is done in chunks of at most ``CHUNK`` edges so that a pass over a large frontier
holds a few hundred MiB at most, whatever the graph's size.
"""

from __future__ import annotations

import numpy as np

__all__ = ["range_counts", "range_ghosts", "depths", "relaxation", "symmetric", "CHUNK"]

#: the most edges one vectorised step gathers at a time (8 M: ~200 MiB of temporaries)
CHUNK = 1 << 23


def range_counts(g, ranges, out: bool = True, inn: bool = False
                 ) -> tuple[list[int], list[int]]:
    """(cut edges, ghosts) of each range of ``ranges`` ((lo, hi) pairs, sorted by lo;
    range ``p`` owns ``[lo_p, lo_{p+1})``, the last one up to n, as the blades' shards
    do): its out-edges whose head it does not own, and the distinct vertices it does not
    own that its out-edges reach (``out``) or its in-edges come from (``inn``).

    >>> import cosynth as cs
    >>> g = cs.Graph.from_edges([0, 0, 1, 2], [1, 2, 2, 3])
    >>> range_counts(g, [(0, 2), (2, 4)])
    ([2, 0], [1, 0])
    >>> range_counts(g, [(0, 2), (2, 4)], out=True, inn=True)
    ([2, 0], [1, 2])
    """
    P, n = len(ranges), g.n
    starts = [int(lo) for lo, _ in ranges]
    owned = list(zip(starts, [*starts[1:], n]))
    cut, ghosts = [0] * P, [0] * P
    if P <= 1 or g.m == 0:
        return cut, ghosts
    for p, (c, mark) in enumerate(_marks(g, owned, out, inn, count_cut=True)):
        cut[p] = c
        ghosts[p] = int(np.count_nonzero(mark)) if mark is not None else 0
    return cut, ghosts


def range_ghosts(g, ranges, out: bool = True, inn: bool = False,
                 extra=()) -> list[np.ndarray]:
    """Each range's ghosts as a sorted int64 array: the vertices outside ``[lo, hi)``
    that its out-edges reach (``out``), its in-edges come from (``inn``) or ``extra``
    names (ids outside ``[0, n)`` ignored) -- the sets ``range_counts`` counts, from the
    same bitmap (O(m) for all ranges plus O(n) per range; the blades' ghost lists).

    >>> import cosynth as cs
    >>> g = cs.Graph.from_edges([0, 0, 1, 2], [1, 2, 2, 3])
    >>> [x.tolist() for x in range_ghosts(g, [(0, 2), (2, 4)], inn=True, extra=(0, 9))]
    [[2], [0, 1]]
    """
    extra = np.asarray(extra, dtype=np.int64)
    extra = extra[(extra >= 0) & (extra < g.n)]
    got = []
    for (lo, hi), (_, mark) in zip(ranges, _marks(g, ranges, out, inn, count_cut=False)):
        if mark is None:
            mark = np.zeros(g.n, dtype=bool)
        ext = extra[(extra < lo) | (extra >= hi)]
        if ext.size:
            mark[ext] = True
        got.append(np.flatnonzero(mark).astype(np.int64))
    return got


def _marks(g, ranges, out: bool, inn: bool, count_cut: bool):
    """Per ``(lo, hi)`` of ``ranges``: (its out-edges whose head is outside it, when
    ``count_cut``; an n-byte bitmap of the vertices outside it that its out-edges reach
    (``out``) or its in-edges come from (``inn``), None when neither).  A range's edges
    are one CSR (CSC) slice, walked in chunks of ``CHUNK``; the bitmap is one array
    reused (cleared) from range to range: read it before asking for the next."""
    mark = np.zeros(g.n, dtype=bool) if (out or inn) else None
    # (indptr, heads, count the cut, mark the ghosts): the out-edges are walked for the
    # cut, marked only when they make ghosts
    sides = ([(g.out_indptr, g.out_dst, count_cut, out)] if (count_cut or out) else []) + \
        ([(g.in_indptr, g.in_src, False, True)] if inn else [])
    for lo, hi in ranges:
        lo, hi = int(lo), int(hi)
        cut = 0
        if mark is not None:
            mark[:] = False
        for indptr, heads, counted, marked in (sides if hi > lo and g.m else []):
            a, b = int(indptr[lo]), int(indptr[hi])
            for c in range(a, b, CHUNK):
                t = heads[c:min(b, c + CHUNK)]
                away = t[(t < lo) | (t >= hi)]
                if counted:
                    cut += int(away.size)
                if marked:
                    mark[away] = True
        yield cut, mark


def _rows(indptr: np.ndarray, verts: np.ndarray):
    """The rows of ``verts`` in a CSR/CSC (``indptr``), in chunks of at most ``CHUNK``
    entries (a row longer than that alone): yields (the row's vertex per entry, the
    entry's position)."""
    if verts.size == 0:
        return
    first = indptr[verts]
    deg = indptr[verts + 1] - first
    csum = np.cumsum(deg)
    start = 0
    while start < verts.size:
        base = int(csum[start - 1]) if start else 0
        end = max(int(np.searchsorted(csum, base + CHUNK, side="right")), start + 1)
        d = deg[start:end]
        total = int(csum[end - 1]) - base
        if total:
            # entry j of row i sits at first_i + j: the row starts repeated plus a ramp
            # that restarts at each row
            pos = np.repeat(first[start:end] - (csum[start:end] - d - base), d) + \
                np.arange(total, dtype=np.int64)
            yield np.repeat(verts[start:end], d), pos
        start = end


def depths(g, src) -> np.ndarray:
    """BFS depth of every vertex from ``src`` (a vertex or an array of them; -1:
    unreachable) along the out-edges, one frontier at a time.

    >>> import cosynth as cs
    >>> depths(cs.Graph.from_edges([0, 1, 3], [1, 2, 0]), 0).tolist()
    [0, 1, 2, -1]
    """
    depth = np.full(g.n, -1, dtype=np.int64)
    if g.n == 0:
        return depth
    depth[src] = 0
    frontier = np.unique(np.atleast_1d(np.asarray(src, dtype=np.int64)))
    level = 0
    while frontier.size:
        level += 1
        found = np.zeros(g.n, dtype=bool)
        for _, pos in _rows(g.out_indptr, frontier):
            found[g.out_dst[pos]] = True
        found &= depth < 0
        frontier = np.flatnonzero(found)
        depth[frontier] = level
    return depth


def relaxation(g, src: int | None) -> tuple[int, float, np.ndarray]:
    """(rounds, edges visited by a worklist, fixed point) of a level-synchronous
    relaxation: min-plus from ``src`` over the weights (clamped at 0; none: 0), or
    (``src`` None) min-label propagation from every vertex's own id over both edge
    directions.  A round relaxes the edges of the vertices the previous round changed
    (the first: ``src``, or every vertex), each candidate computed from the values as
    the round began (Jacobi); the last round changes nothing.  The worklist's first
    sweep visits every vertex's edges, later ones those of the changed vertices.

    >>> import cosynth as cs
    >>> g = cs.Graph.from_edges([0, 1, 0], [1, 2, 2], weight=[1.0, 1.0, 5.0])
    >>> r, e, val = relaxation(g, 0)
    >>> r, e, val.tolist()
    (3, 4.0, [0.0, 1.0, 2.0])
    """
    n = g.n
    outdeg = np.diff(g.out_indptr)
    labels = src is None
    visits = outdeg + (np.diff(g.in_indptr) if labels else 0)
    w = None if labels or g.weight is None else \
        np.maximum(np.asarray(g.weight, dtype=np.float64), 0.0) + 0.0
    if labels:
        val, active = np.arange(n, dtype=np.float64), np.ones(n, dtype=bool)
    else:
        val = np.full(n, np.inf)
        val[src] = 0.0
        active = np.zeros(n, dtype=bool)
        active[src] = True
    # a symmetric graph's in-side repeats the out-side's candidates exactly: left out
    both = labels and not symmetric(g)
    sides = [(g.out_indptr, g.out_dst, w)] + ([(g.in_indptr, g.in_src, None)] if both else [])
    # the same candidates pulled: the out-side's at each head over its in-edges (CSC;
    # weights in CSC order, gathered once, when a round first pulls), the in-side's at
    # each tail over its out-edges (CSR)
    pulls = [(g.in_indptr, g.in_src, w is not None)] + \
        ([(g.out_indptr, g.out_dst, False)] if both else [])
    w_csc = None
    m = float(visits.sum())
    rounds, edges = 0, m
    while active.any():
        step = float(visits[active].sum())
        if rounds:
            edges += step
        rounds += 1
        best = val.copy()
        if step > DENSE * m:
            for indptr, tails, weighted in pulls:
                if weighted and w_csc is None:
                    w_csc = w[g.in_eid]
                _pull(best, val, indptr, tails, w_csc if weighted else None)
        else:
            verts = np.flatnonzero(active)
            for indptr, heads, wts in sides:
                for tails, pos in _rows(indptr, verts):
                    cand = val[tails]
                    if wts is not None:
                        cand += wts[pos]
                    np.minimum.at(best, heads[pos], cand)
        active = best < val
        val = best
    return rounds, edges, val


#: a relaxation round that walks more than this share of the edges pulls over all of them
#: (``_pull``: a gather and a segmented minimum, O(m) with a small constant) instead of
#: scattering its rows' candidates (``np.minimum.at``, several times slower per edge)
DENSE = 0.25


def _pull(best: np.ndarray, val: np.ndarray, indptr: np.ndarray, tails: np.ndarray,
          wts: np.ndarray | None) -> None:
    """``best[v] = min(best[v], min over the row of v of val[tail] (+ its weight))`` for
    every vertex, rows of ``indptr`` in blocks of at most ``CHUNK`` entries.

    The same minimum as the worklist's scatter of the changed vertices' candidates: a
    tail the previous round did not change offered its value (plus the weight) when it
    last changed, and a value only goes down, so its candidate is no lower than the
    head's value now and leaves the minimum as it is."""
    n = len(indptr) - 1
    v = 0
    while v < n:
        end = max(int(np.searchsorted(indptr, indptr[v] + CHUNK, side="right")) - 1, v + 1)
        end = min(end, n)
        a, b = int(indptr[v]), int(indptr[end])
        if b > a:
            cand = val[tails[a:b]]
            if wts is not None:
                cand += wts[a:b]
            starts = indptr[v:end] - a
            full = np.flatnonzero(np.diff(indptr[v:end + 1]))  # rows with an entry
            # reduceat over the nonempty rows' starts: each segment runs to the next
            # nonempty row's start (the empty ones between hold no entry), the last to b
            low = np.minimum.reduceat(cand, starts[full])
            rows = best[v:end]
            rows[full] = np.minimum(rows[full], low)
        v = end


def symmetric(g) -> bool:
    """Every edge u -> v has its reverse v -> u, as many times: each vertex's out-row
    (sorted by head) equals its in-row (sorted by tail).

    >>> import cosynth as cs
    >>> symmetric(cs.Graph.from_edges([0, 1], [1, 0])), symmetric(cs.Graph.from_edges([0], [1]))
    (True, False)
    """
    return bool(np.array_equal(g.out_indptr, g.in_indptr)
                and np.array_equal(g.out_dst, g.in_src))
