"""Seeded synthetic graphs: Graph500 Kronecker (R-MAT) and uniform random.

Both follow the GAP benchmark suite: the graph is undirected, self-loops and repeated
edges are removed ("squished"), and weights, when asked for, are integers drawn uniformly
from 1..255 (stored as float64).  The same arguments always give the same graph.

Each generator returns the edge list ``(src, dst, weights or None, n)`` of an undirected
graph (every edge once, ``src < dst``); ``Graph.kronecker`` and ``Graph.uniform`` build the
graph from it, so this module needs nothing of ``cosynth.graph``.
"""

from __future__ import annotations

import numpy as np

from .errors import ArgumentError

__all__ = ["kronecker", "uniform"]

_A, _B, _C = 0.57, 0.19, 0.19


def kronecker(scale: int, edge_factor: int = 16, *, seed: int = 0,
              weighted: bool = True) -> tuple:
    """Graph500 R-MAT: ``edge_factor * 2**scale`` edges over ``2**scale`` vertices.

    The vertex labels are permuted at random as the Graph500 reference generator does,
    so that vertex ids carry no locality.
    """
    if not 1 <= scale <= 30:
        raise ArgumentError(f"Kronecker scale {scale} is out of range",
                            hint="use a scale from 1 to 30 (2**scale vertices)")
    if not 1 <= edge_factor <= 1024:
        raise ArgumentError(f"edge factor {edge_factor} is out of range",
                            hint="use an edge factor from 1 to 1024 (Graph500 uses 16)")
    rng = np.random.default_rng(seed)
    n = 1 << scale
    m = edge_factor * n
    # one quadrant draw per bit and edge, in the reference generator's order; the bit
    # planes accumulate in place in 32-bit words (scale <= 30) to halve the traffic
    src = np.zeros(m, dtype=np.uint32)
    dst = np.zeros(m, dtype=np.uint32)
    ab = _A + _B
    col_cut = np.array([_A / ab, _C / (1.0 - ab)])  # column threshold per row half
    draw, ii, jj = np.empty(m), np.empty(m, dtype=bool), np.empty(m, dtype=bool)
    plane = np.empty(m, dtype=np.uint32)
    for bit in range(scale):
        np.greater(rng.random(out=draw), ab, out=ii)
        cut = col_cut[ii.view(np.uint8)]
        np.greater(rng.random(out=draw), cut, out=jj)
        np.left_shift(ii, bit, out=plane, dtype=np.uint32, casting="unsafe")
        src |= plane
        np.left_shift(jj, bit, out=plane, dtype=np.uint32, casting="unsafe")
        dst |= plane
    del draw, ii, jj, plane
    perm = rng.permutation(n)
    src, dst = perm[src], perm[dst]
    return _squish(n, src, dst, rng, weighted)


def uniform(n: int, m: int, *, seed: int = 0, weighted: bool = True) -> tuple:
    """An undirected graph with exactly ``m`` distinct non-loop edges, chosen uniformly."""
    if n < 1:
        raise ArgumentError(f"uniform graph needs at least one vertex, got n={n}",
                            hint="use uniform:N:M with N >= 1")
    most = n * (n - 1) // 2
    if not 0 <= m <= most:
        raise ArgumentError(f"uniform graph with {n} vertices can have 0..{most} edges, not {m}",
                            hint=f"use M <= {most}")
    rng = np.random.default_rng(seed)
    keys = np.zeros(0, dtype=np.int64)
    while keys.size < m:
        need = m - keys.size
        a = rng.integers(0, n, size=2 * need + 16)
        b = rng.integers(0, n, size=2 * need + 16)
        ok = a != b
        lo, hi = np.minimum(a[ok], b[ok]), np.maximum(a[ok], b[ok])
        cand = np.concatenate([keys, lo * n + hi])
        _, first = np.unique(cand, return_index=True)
        keys = cand[np.sort(first)][:m]
    src, dst = keys // n, keys % n
    w = rng.integers(1, 256, size=m).astype(np.float64) if weighted else None
    return src, dst, w, n


def _squish(n: int, src, dst, rng, weighted: bool) -> tuple:
    keep = src != dst
    lo = np.minimum(src[keep], dst[keep])
    hi = np.maximum(src[keep], dst[keep])
    key = _sorted_distinct(lo * n + hi)
    u, v = key // n, key % n
    w = rng.integers(1, 256, size=key.size).astype(np.float64) if weighted else None
    return u, v, w, n


def _sorted_distinct(key):
    """``np.unique(key)`` for an int64 array: sorted, each value once (a sort and a
    neighbour comparison; numpy's hash-based ``unique`` is many times slower here)."""
    key = np.sort(key)
    if key.size == 0:
        return key
    keep = np.empty(key.size, dtype=bool)
    keep[0] = True
    np.not_equal(key[1:], key[:-1], out=keep[1:])
    return key[keep]
