"""Exhaustive small graphs for differential checking (the MLIRSynth small set).

``small_digraphs(max_n)`` yields every directed graph on 1..max_n vertices up to
isomorphism; on up to ``loops_n`` vertices self-loops are included too.  Weights are a
deterministic function of the edge, small positive integers, so integer and float
kernels both see weighted graphs.
"""

from __future__ import annotations

import itertools

import numpy as np

import cosynth as cs


def _canonical(n: int, edges: frozenset) -> tuple:
    best = None
    for perm in itertools.permutations(range(n)):
        key = tuple(sorted((perm[a], perm[b]) for a, b in edges))
        if best is None or key < best:
            best = key
    return best


def small_digraphs(max_n: int = 4, loops_n: int = 3):
    for n in range(1, max_n + 1):
        pairs = [(a, b) for a in range(n) for b in range(n) if a != b or n <= loops_n]
        seen = set()
        for mask in range(1 << len(pairs)):
            edges = frozenset(p for i, p in enumerate(pairs) if mask >> i & 1)
            key = _canonical(n, edges)
            if key in seen:
                continue
            seen.add(key)
            src = np.array([a for a, _ in key], dtype=np.int64)
            dst = np.array([b for _, b in key], dtype=np.int64)
            w = ((src * 7 + dst * 3) % 9 + 1).astype(np.float64)
            yield cs.Graph.from_edges(src, dst, w, num_nodes=n, directed=True)


if __name__ == "__main__":  # pragma: no cover
    print(sum(1 for _ in small_digraphs()))
