"""cs.Graph: CSR/CSC invariants, constructors, conversions and generators."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

import cosynth as cs
from cosynth.errors import ArgumentError


def check_invariants(g: cs.Graph):
    assert g.out_indptr[0] == 0 and g.out_indptr[-1] == g.m
    assert g.in_indptr[0] == 0 and g.in_indptr[-1] == g.m
    for v in range(g.n):
        row = g.out_dst[g.out_indptr[v]:g.out_indptr[v + 1]]
        assert np.all(np.diff(row) >= 0), "rows are sorted by destination"
        assert np.all(g.edge_src[g.out_indptr[v]:g.out_indptr[v + 1]] == v)
    # the in-edge view names the same edges by the same ids
    for v in range(g.n):
        ids = g.in_eid[g.in_indptr[v]:g.in_indptr[v + 1]]
        assert np.all(g.out_dst[ids] == v)
        assert np.all(g.edge_src[ids] == g.in_src[g.in_indptr[v]:g.in_indptr[v + 1]])
    assert sorted(g.in_eid.tolist()) == list(range(g.m))


def test_from_edges_directed_and_kernel_methods():
    g = cs.Graph.from_edges([2, 0, 0, 1], [0, 2, 1, 2], weight=[1.0, 2.0, 3.0, 4.0])
    check_invariants(g)
    assert (g.num_nodes(), g.num_edges()) == (3, 4)
    assert [(e.src, e.dst, e.weight) for e in g.out_edges(0)] == [(0, 1, 3.0), (0, 2, 2.0)]
    assert sorted((e.src, e.weight) for e in g.in_edges(2)) == [(0, 2.0), (1, 4.0)]
    assert [e.id for e in g.edges()] == [0, 1, 2, 3]
    assert g.has_edge(0, 2) and not g.has_edge(2, 1)
    assert g.out_degree(0) == 2 and g.in_degree(0) == 1
    assert list(g.nodes()) == [0, 1, 2]
    a = g.node_array(cs.i32, cs.INF)
    assert a.dtype == np.int32 and a[0] == np.iinfo(np.int32).max
    assert g.edge_array(cs.boolean, True).all()


def test_undirected_stores_both_directions_and_self_loop_once():
    g = cs.Graph.from_edges([0, 1, 2], [1, 2, 2], directed=False)
    check_invariants(g)
    assert g.m == 5  # 0-1 twice, 1-2 twice, the loop 2-2 once
    G = g.to_networkx()
    assert not G.is_directed() and G.number_of_edges() == 3


def test_isolated_vertices_and_empty_graph():
    g = cs.Graph.from_edges([0], [1], num_nodes=5)
    assert g.n == 5 and g.out_degree(4) == 0
    e = cs.Graph.from_edges([], [], num_nodes=3)
    assert e.n == 3 and e.m == 0
    check_invariants(e)


def test_dedupe():
    g = cs.Graph.from_edges([0, 0, 1, 1], [1, 1, 0, 1], weight=[5, 6, 7, 8], directed=False,
                            dedupe=True)
    assert g.m == 2 and sorted(g.weight.tolist()) == [5.0, 5.0]


def test_networkx_round_trip_keeps_labels_and_weights():
    G = nx.DiGraph()
    G.add_edge("a", "b", weight=2.5)
    G.add_edge("b", "c")
    G.add_node("z")
    g = cs.Graph.from_networkx(G)
    assert g.labels == ["a", "b", "c", "z"] and g.n == 4
    assert sorted(g.weight.tolist()) == [1.0, 2.5]
    H = g.to_networkx()
    assert H[0][1]["weight"] == 2.5 and H.number_of_nodes() == 4
    assert cs.Graph.from_networkx(G, weight=None).weight is None


@pytest.mark.parametrize("args,msg", [
    (([0, -1], [1, 2]), "negative vertex id"),
    (([0, 1], [1]), "src has 2 entries but dst has 1"),
    (([0.5], [1]), "non-integer vertex ids"),
    ((["a"], [1]), "must hold integer vertex ids"),
])
def test_from_edges_errors(args, msg):
    with pytest.raises(ArgumentError, match=msg):
        cs.Graph.from_edges(*args)


def test_from_edges_more_errors():
    with pytest.raises(ArgumentError, match="num_nodes=2 but an edge names vertex 4"):
        cs.Graph.from_edges([0], [4], num_nodes=2)
    with pytest.raises(ArgumentError, match="weight has 1 entries for 2 edges"):
        cs.Graph.from_edges([0, 1], [1, 0], weight=[1.0])
    with pytest.raises(ArgumentError, match="non-finite weight"):
        cs.Graph.from_edges([0], [1], weight=[np.nan])


def test_integer_weights():
    g = cs.Graph.from_edges([0, 1], [1, 2], weight=[3.0, 4.0])
    assert g.integer_weights().tolist() == [3, 4]
    with pytest.raises(ArgumentError, match="has weight 0.5"):
        cs.Graph.from_edges([0], [1], weight=[0.5]).integer_weights()


def test_kronecker_is_deterministic_graph500_shaped():
    a = cs.Graph.kronecker(10, seed=7)
    b = cs.Graph.kronecker(10, seed=7)
    c = cs.Graph.kronecker(10, seed=8)
    assert np.array_equal(a.out_dst, b.out_dst) and np.array_equal(a.weight, b.weight)
    assert not np.array_equal(a.out_dst, c.out_dst)
    check_invariants(a)
    assert a.n == 1024 and not a.directed
    assert not np.any(a.edge_src == a.out_dst)  # squished: no self-loops
    G = a.to_networkx()
    assert G.number_of_edges() * 2 == a.m  # symmetric, no duplicates
    assert a.weight.min() >= 1 and a.weight.max() <= 255
    assert np.all(a.weight == np.round(a.weight))
    deg = a.out_degrees()
    assert deg.max() > 20 * max(1.0, np.median(deg))  # R-MAT skew
    assert 0.5 * 16 * 1024 < a.m / 2 <= 16 * 1024


def test_uniform_has_exactly_m_edges():
    g = cs.Graph.uniform(100, 300, seed=3)
    assert g.m == 600 and g.to_networkx().number_of_edges() == 300
    with pytest.raises(ArgumentError, match="can have 0..6 edges"):
        cs.Graph.uniform(4, 7)


def test_generator_argument_errors():
    with pytest.raises(ArgumentError, match="scale 0 is out of range"):
        cs.Graph.kronecker(0)
    with pytest.raises(ArgumentError, match="at least one vertex"):
        cs.Graph.uniform(0, 0)
