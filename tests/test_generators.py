"""The vectorised Kronecker generator and graph builder give the graphs of their plain
formulations (the goldens and differential tests depend on exact graphs for a seed)."""

import numpy as np
import pytest

import cosynth as cs
from cosynth import generators
from cosynth.graph import _row_order


def _plain_kronecker(scale, edge_factor, seed, weighted):
    """The textbook R-MAT loop with ``np.unique`` (the formulation before vectorising)."""
    rng = np.random.default_rng(seed)
    n, m = 1 << scale, edge_factor << scale
    src, dst = np.zeros(m, dtype=np.int64), np.zeros(m, dtype=np.int64)
    ab = 0.57 + 0.19
    for bit in range(scale):
        ii = rng.random(m) > ab
        jj = rng.random(m) > np.where(ii, 0.19 / (1.0 - ab), 0.57 / ab)
        src |= ii.astype(np.int64) << bit
        dst |= jj.astype(np.int64) << bit
    perm = rng.permutation(n)
    src, dst = perm[src], perm[dst]
    keep = src != dst
    key = np.unique(np.minimum(src, dst)[keep] * n + np.maximum(src, dst)[keep])
    w = rng.integers(1, 256, size=key.size).astype(np.float64) if weighted else None
    return key // n, key % n, w, n


@pytest.mark.parametrize("scale,edge_factor,seed,weighted",
                         [(1, 16, 0, True), (4, 16, 3, False), (9, 16, 0, True),
                          (11, 8, 5, True), (6, 1, 2, True)])
def test_kronecker_equals_plain_formulation(scale, edge_factor, seed, weighted):
    got = generators.kronecker(scale, edge_factor, seed=seed, weighted=weighted)
    want = _plain_kronecker(scale, edge_factor, seed, weighted)
    assert got[3] == want[3]
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    assert (got[2] is None) == (want[2] is None)
    if weighted:
        assert np.array_equal(got[2], want[2])


def test_row_order_is_lexsort_with_parallel_edges():
    rng = np.random.default_rng(1)
    for n in (1, 2, 7, 300):
        src, dst = rng.integers(0, n, 5000), rng.integers(0, n, 5000)  # many repeats
        assert np.array_equal(_row_order(src, dst, n), np.lexsort((dst, src)))
    assert _row_order(np.zeros(0, np.int64), np.zeros(0, np.int64), 0).size == 0


def test_graph_layout_unchanged_on_a_multigraph():
    src, dst = [2, 0, 2, 1, 0, 2], [1, 1, 1, 0, 2, 1]
    g = cs.Graph.from_edges(src, dst, weight=[1, 2, 3, 4, 5, 6], num_nodes=3)
    assert g.edge_src.tolist() == [0, 0, 1, 2, 2, 2]
    assert g.out_dst.tolist() == [1, 2, 0, 1, 1, 1]
    assert g.weight.tolist() == [2, 5, 4, 1, 3, 6]  # parallel edges keep their order
    assert g.in_eid.tolist() == [2, 0, 3, 4, 5, 1]
