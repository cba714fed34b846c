"""The seven example algorithms: plain Python == IR interpreter == networkx.

Plain Python and the interpreter must agree exactly (same operations in the same order);
networkx within cosynth.check's stated tolerance (rtol 1e-9, atol 1e-12) for floats and
exactly for integers.  Each algorithm runs on 24 random graphs (directed and undirected,
weighted and unweighted, with isolated vertices and, where meaningful, self-loops) and on
a Kronecker graph.
"""

from __future__ import annotations

import numpy as np
import pytest

import cosynth as cs
from cosynth.check import compare_results
from tests.helpers import example, random_graphs, same

N_RANDOM = 24


def run_all_three(k, g, **args):
    plain = k(g, **args)
    interp = k.interpret(g, **args)
    assert same(plain, interp), f"plain Python and interpreter differ: {plain} vs {interp}"
    compare_results(interp, k.expected(g, k.bind(g, **args)), against="networkx")
    return interp


def _source(g, i):
    return i % g.n


@pytest.mark.parametrize("name", ["bfs", "sssp"])
def test_traversals_random(name):
    k = example(name)
    kinds = set()
    for i, g in random_graphs(N_RANDOM, seed=1):
        kinds.add((g.directed, g.weight is not None))
        run_all_three(k, g, source=_source(g, i))
    assert len(kinds) == 4  # every combination of directed/weighted was exercised


def test_pagerank_random():
    k = example("pagerank")
    for _, g in random_graphs(N_RANDOM, seed=2):
        run_all_three(k, g)
    # a graph where every vertex dangles except one, and a non-default damping
    g = cs.Graph.from_edges([0, 0, 0], [1, 2, 3], num_nodes=6)
    run_all_three(k, g, alpha=0.5)


def test_cc_random():
    k = example("cc")
    for _, g in random_graphs(N_RANDOM, seed=3):
        labels = run_all_three(k, g)
        assert np.all(labels <= np.arange(g.n))


@pytest.mark.parametrize("normalized", [False, True])
def test_bc_random(normalized):
    k = example("bc")
    for _, g in random_graphs(N_RANDOM, seed=4 + normalized, max_n=18):
        run_all_three(k, g, normalized=normalized, undirected=not g.directed)


def test_tc_random():
    k = example("tc")
    for _, g in random_graphs(N_RANDOM, seed=6, directed=False):
        count, per = run_all_three(k, g)
        assert count * 3 == per.sum()


def test_kcore_random():
    k = example("kcore")
    for _, g in random_graphs(N_RANDOM, seed=7, self_loops=False):
        run_all_three(k, g, use_in_edges=g.directed)


@pytest.mark.parametrize("name,args", [
    ("bfs", {"source": 5}), ("sssp", {"source": 5}), ("pagerank", {}), ("cc", {}),
    ("tc", {}), ("kcore", {}), ("bc", {"undirected": True}),
])
def test_kronecker(name, args):
    scale = 6 if name == "bc" else 9
    g = cs.Graph.kronecker(scale, seed=11)
    run_all_three(example(name), g, **args)


def test_tc_on_directed_graph_has_no_networkx_reference_but_plain_equals_interpreter():
    from cosynth.nxref import NoReference
    k = example("tc")
    g = cs.Graph.from_edges([0, 1, 2, 0], [1, 2, 0, 2], directed=True)
    assert same(k(g), k.interpret(g))
    with pytest.raises(NoReference, match="undirected"):
        k.expected(g, {})


def test_sssp_integer_weight_kernel():
    """@cs.kernel(weight=cs.i64): e.weight is an integer in both runs."""
    import textwrap

    from tests.helpers import ROOT  # noqa: F401
    src = textwrap.dedent('''
        import cosynth as cs

        @cs.kernel(weight=cs.i64)
        def isssp(g: cs.Graph, source: int) -> cs.NodeArray[cs.i64]:
            dist = g.node_array(cs.i64, cs.INF)
            dist[source] = 0
            changed = True
            while changed:
                changed = False
                for e in g.edges():
                    if dist[e.src] != cs.i64.max:
                        nd = dist[e.src] + e.weight
                        if nd < dist[e.dst]:
                            dist[e.dst] = nd
                            changed = True
            return dist
    ''')
    import pathlib
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        p = pathlib.Path(d) / "isssp.py"
        p.write_text(src)
        from cosynth.loader import load_kernels
        k = load_kernels(str(p))["isssp"]
        g = cs.Graph.kronecker(7, seed=3)
        a, b = k(g, 0), k.interpret(g, 0)
        assert a.dtype == np.int64 and same(a, b)
        from cosynth.nxref import sssp
        want = sssp(g, 0)
        reach = np.isfinite(want)
        assert np.array_equal(a[reach], want[reach].astype(np.int64))
        assert np.all(a[~reach] == np.iinfo(np.int64).max)
        frac = cs.Graph.from_edges([0], [1], weight=[0.5])
        with pytest.raises(cs.CosynthError, match="integer weights"):
            k.interpret(frac, 0)
