"""planner.graphcounts: the linear-time counts equal the direct (sorting, hashing,
whole-graph sweeping) definitions they replaced, on random, Kronecker, directed,
weighted and multi-edge graphs; ``GraphStats.of`` measures a graph once."""

import numpy as np
import pytest

import cosynth as cs
from cosynth.planner import graphcounts
from cosynth.planner.stats import GraphStats


def _graphs():
    rng = np.random.default_rng(7)
    yield "kron10", cs.Graph.kronecker(10, seed=3)
    yield "uniform", cs.Graph.uniform(500, 3000, seed=2)
    n, m = 300, 2000  # directed, with parallel edges and self-loops, and isolated vertices
    src, dst = rng.integers(0, n - 20, m), rng.integers(0, n - 20, m)
    yield "directed-multi", cs.Graph.from_edges(src, dst, rng.integers(0, 9, m) * 0.5,
                                                num_nodes=n)
    yield "unweighted", cs.Graph.from_edges(src[:400], dst[:400], num_nodes=n)


GRAPHS = list(_graphs())


def _owner(g, ranges):
    starts = np.array([lo for lo, _ in ranges])
    return np.searchsorted(starts, np.arange(g.n), side="right") - 1


def _ghosts_direct(g, ranges, out, inn):
    """The definition: distinct (owner of my end, other end) pairs of cut edges."""
    owner = _owner(g, ranges)
    cut = owner[g.edge_src] != owner[g.out_dst]
    keys = []
    if out:
        keys.append(owner[g.edge_src[cut]] * g.n + g.out_dst[cut])
    if inn:
        keys.append(owner[g.out_dst[cut]] * g.n + g.edge_src[cut])
    uniq = np.unique(np.concatenate(keys))
    return np.bincount(uniq // g.n, minlength=len(ranges)).tolist(), int(cut.sum())


def _relaxation_direct(g, src):
    """The whole-graph sweep: every round, every edge into every vertex, masked to the
    tails the previous round changed (Jacobi)."""
    n = g.n
    labels = src is None
    w = np.zeros(g.m) if labels or g.weight is None else np.maximum(g.weight, 0.0) + 0.0
    tails = np.concatenate([g.edge_src, g.out_dst]) if labels else g.edge_src
    heads = np.concatenate([g.out_dst, g.edge_src]) if labels else g.out_dst
    wts = np.concatenate([w, w]) if labels else w
    visits = np.diff(g.out_indptr) + (np.diff(g.in_indptr) if labels else 0)
    if labels:
        val, active = np.arange(n, dtype=np.float64), np.ones(n, bool)
    else:
        val = np.full(n, np.inf)
        val[src] = 0.0
        active = np.zeros(n, bool)
        active[src] = True
    rounds, edges = 0, float(visits.sum())
    while active.any():
        if rounds:
            edges += float(visits[active].sum())
        rounds += 1
        best = val.copy()
        on = active[tails]
        np.minimum.at(best, heads[on], val[tails[on]] + wts[on])
        active = best < val
        val = best
    return rounds, edges, val


def _depths_direct(g, src):
    import networkx as nx
    G = nx.DiGraph()
    G.add_nodes_from(range(g.n))
    G.add_edges_from(zip(g.edge_src.tolist(), g.out_dst.tolist()))
    d = np.full(g.n, -1)
    for v, k in nx.single_source_shortest_path_length(G, src).items():
        d[v] = k
    return d


@pytest.mark.parametrize("name,g", GRAPHS, ids=[n for n, _ in GRAPHS])
def test_range_counts_are_the_distinct_cut_endpoints_per_range(name, g):
    rng = np.random.default_rng(1)
    for P in (2, 3, 8):
        cuts = np.sort(rng.choice(np.arange(1, g.n), P - 1, replace=False))
        bounds = [0, *cuts.tolist(), g.n]
        ranges = [(bounds[i], bounds[i + 1]) for i in range(P)]
        for out, inn in ((True, False), (False, True), (True, True)):
            want, cut = _ghosts_direct(g, ranges, out, inn)
            got_cut, got = graphcounts.range_counts(g, ranges, out, inn)
            assert got == want, (P, out, inn)
            assert sum(got_cut) == cut


def test_range_counts_chunks_and_empty_ranges(monkeypatch):
    g = GRAPHS[0][1]
    ranges = [(0, 0), (0, 300), (300, 300), (300, g.n)]  # empty ranges own nothing
    want = _ghosts_direct(g, ranges, True, True)
    monkeypatch.setattr(graphcounts, "CHUNK", 97)  # many chunks per range
    got_cut, got = graphcounts.range_counts(g, ranges, True, True)
    assert (got, sum(got_cut)) == want
    assert got[0] == got[2] == 0


@pytest.mark.parametrize("name,g", GRAPHS, ids=[n for n, _ in GRAPHS])
def test_relaxation_walks_the_worklist_of_the_whole_graph_sweep(name, g, monkeypatch):
    src = int(np.argmax(np.diff(g.out_indptr)))
    monkeypatch.setattr(graphcounts, "CHUNK", 211)
    for s in (src, None):
        r, e, val = graphcounts.relaxation(g, s)
        r0, e0, val0 = _relaxation_direct(g, s)
        assert (r, e) == (r0, e0)
        assert np.array_equal(val, val0)


def test_relaxation_reaches_scipys_distances_and_components():
    import scipy.sparse as sp
    from scipy.sparse import csgraph
    g = cs.Graph.kronecker(9, seed=5)
    src = int(np.argmax(g.out_degrees()))
    _, _, dist = graphcounts.relaxation(g, src)
    a = sp.csr_array((g.weight, g.out_dst, g.out_indptr), shape=(g.n, g.n))
    assert np.allclose(dist, csgraph.dijkstra(a, indices=src))
    _, _, lab = graphcounts.relaxation(g, None)
    _, comp = csgraph.connected_components(a, directed=True, connection="weak")
    for c in np.unique(comp):  # every vertex carries its component's smallest id
        members = np.flatnonzero(comp == c)
        assert (lab[members] == members.min()).all()


@pytest.mark.parametrize("name,g", GRAPHS, ids=[n for n, _ in GRAPHS])
def test_depths_are_bfs_hops(name, g):
    src = int(np.argmax(np.diff(g.out_indptr)))
    assert np.array_equal(graphcounts.depths(g, src), _depths_direct(g, src))


def test_symmetric_without_sorting():
    for _, g in GRAPHS:
        n = np.int64(g.n)
        fwd = np.sort(g.edge_src * n + g.out_dst)
        bwd = np.sort(g.out_dst * n + g.edge_src)
        assert graphcounts.symmetric(g) == bool(np.array_equal(fwd, bwd))
    assert graphcounts.symmetric(GRAPHS[0][1])
    assert not graphcounts.symmetric(GRAPHS[2][1])
    # the same pairs, but one of them twice one way: not symmetric
    assert not graphcounts.symmetric(cs.Graph.from_edges([0, 0, 1], [1, 1, 0]))


def test_graph_stats_measure_a_graph_once():
    g = cs.Graph.kronecker(8, seed=2)
    a = GraphStats.of(g, "first")
    a.ghosts_of([(0, 100), (100, g.n)])
    b = GraphStats.of(g, "second")
    assert (a.name, b.name) == ("first", "second")
    assert b._cuts is a._cuts  # the measured counts are shared, not redone
    assert b.as_dict() == {**a.as_dict(), "name": "second"}
    other = cs.Graph.kronecker(8, seed=2)  # an equal but different graph: measured anew
    c = GraphStats.of(other)
    assert c._cuts is not a._cuts and c.levels == a.levels


def test_depths_count_a_vertex_reached_by_hundreds_of_frontier_edges():
    """256 frontier vertices all pointing at one sink: found at depth 2 (a BFS over an
    int8 sparse product wrapped 256 in-edges to 0 and found it a level late, or never:
    kron-18 from its hub measured 6 levels for the true 5)."""
    mids = np.arange(1, 257)
    src = np.concatenate([np.zeros(256, np.int64), mids, [257]])
    dst = np.concatenate([mids, np.full(256, 257), [258]])
    g = cs.Graph.from_edges(src, dst)
    d = graphcounts.depths(g, 0)
    assert d[257] == 2 and d[258] == 3
    assert GraphStats.of(g).levels == 4
