"""The blades' ghost lists (``bundle.ghost_lists``, now the bitmap of
``planner.graphcounts``) are the sets the direct definition gives: per shard, the sorted
distinct endpoints of its edges outside its range, plus the node parameters it reads --
on Kronecker, uniform, directed multigraph and edgeless-range graphs, for several P and
both directions, with small chunks."""

import numpy as np
import pytest

import cosynth as cs
from cosynth.backends.cpp.bundle import ghost_lists
from cosynth.planner import graphcounts


def _graphs():
    rng = np.random.default_rng(11)
    yield "kron11", cs.Graph.kronecker(11, seed=5)
    yield "uniform", cs.Graph.uniform(700, 4000, seed=4)
    n, m = 400, 2500  # directed, parallel edges, self-loops, isolated tail vertices
    src, dst = rng.integers(0, n - 30, m), rng.integers(0, n - 30, m)
    yield "directed-multi", cs.Graph.from_edges(src, dst, num_nodes=n)


GRAPHS = list(_graphs())


def _direct(g, shards, out, inn, extra):
    """The definition (the code ghost_lists had): a sorted unique of every endpoint of the
    shard's edge slices and the extras, minus the shard's own range and ids outside
    [0, n)."""
    got = []
    for lo, hi in shards:
        parts = [np.asarray(extra, dtype=np.int64)]
        if out:
            parts.append(g.out_dst[int(g.out_indptr[lo]):int(g.out_indptr[hi])])
        if inn:
            parts.append(g.in_src[int(g.in_indptr[lo]):int(g.in_indptr[hi])])
        cand = np.unique(np.concatenate([np.asarray(x, dtype=np.int64) for x in parts]))
        got.append(cand[((cand < lo) | (cand >= hi)) & (cand >= 0) & (cand < g.n)])
    return got


def _shards(n, P, rng):
    cuts = np.sort(rng.choice(np.arange(1, n), size=P - 1, replace=False)) if P > 1 else []
    b = [0, *map(int, cuts), n]
    return [(b[i], b[i + 1]) for i in range(P)]


@pytest.mark.parametrize("name,g", GRAPHS, ids=[n for n, _ in GRAPHS])
def test_ghost_lists_equal_the_sorted_unique_definition(name, g, monkeypatch):
    rng = np.random.default_rng(3)
    monkeypatch.setattr(graphcounts, "CHUNK", 173)  # many chunks per shard
    for P in (1, 2, 3, 8):
        shards = _shards(g.n, P, rng)
        for out, inn in ((True, False), (False, True), (True, True), (False, False)):
            for extra in ((), (0,), (g.n - 1, 5, -1, g.n + 3)):
                got = ghost_lists(g, shards, out, inn, extra)
                want = _direct(g, shards, out, inn, extra)
                assert len(got) == P
                for a, b in zip(got, want):
                    assert a.dtype == np.int64
                    assert np.array_equal(a, b), (name, P, out, inn, extra)
                    assert np.all(np.diff(a) > 0)  # sorted, distinct


def test_ghost_lists_of_empty_shards_hold_only_the_parameters():
    g = GRAPHS[0][1]
    n = g.n
    shards = [(0, 0), (0, n // 2), (n // 2, n // 2), (n // 2, n)]
    got = ghost_lists(g, shards, True, True, (n - 1,))
    want = _direct(g, shards, True, True, (n - 1,))
    assert [x.tolist() for x in got] == [x.tolist() for x in want]
    assert got[0].tolist() == got[2].tolist() == [n - 1]
    # and their counts are range_counts' ghosts (the planner's figure) on contiguous shards
    full = [(0, n // 2), (n // 2, n)]
    assert [len(x) for x in ghost_lists(g, full, True, True)] == \
        graphcounts.range_counts(g, full, True, True)[1]
