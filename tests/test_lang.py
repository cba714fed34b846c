"""Binding arguments: every wrong call is refused with the parameter's name."""

from __future__ import annotations

import numpy as np
import pytest

import cosynth as cs
from cosynth.errors import ArgumentError, GraphError
from tests.helpers import example, kernel_from_source


@pytest.fixture(scope="module")
def g():
    return cs.Graph.kronecker(5, seed=1)


def test_source_out_of_range_is_refused_in_both_runs(g):
    k = example("sssp")
    for run in (k, k.interpret):
        with pytest.raises(ArgumentError, match="is not a vertex of the graph, which has 32"):
            run(g, 32)
        with pytest.raises(ArgumentError, match="is not a vertex"):
            run(g, -1)


@pytest.mark.parametrize("args,kwargs,msg", [
    ((), {}, "needs a value for 'source'"),
    ((1, 2), {}, "takes 1 argument after the graph, but 2 were given"),
    ((), {"source": 1, "target": 2}, "has no parameter 'target'"),
    ((1,), {"source": 1}, "given twice"),
    ((1.5,), {}, "must be an int"),
    ((True,), {}, "must be an int"),
    (("3",), {}, "must be an int"),
])
def test_bad_calls(g, args, kwargs, msg):
    with pytest.raises(ArgumentError, match=msg):
        example("bfs").bind(g, *args, **kwargs)


def test_defaults_and_conversions(g):
    k = example("pagerank")
    b = k.bind(g)
    assert b == {"alpha": 0.85, "tol": 1e-6, "max_iter": 100}
    assert k.bind(g, alpha=1)["alpha"] == 1.0 and isinstance(k.bind(g, alpha=1)["alpha"], float)
    with pytest.raises(ArgumentError, match="must be a number"):
        k.bind(g, alpha="x")
    with pytest.raises(ArgumentError, match="must be a bool"):
        example("bc").bind(g, normalized=1)


def test_node_array_parameters(tmp_path, g):
    k, _ = kernel_from_source(tmp_path, '''
        @cs.kernel
        def shift(g: cs.Graph, base: cs.NodeArray[cs.f64], by: float) -> cs.NodeArray:
            out = g.node_array(cs.f64, 0.0)
            for v in g.nodes():
                out[v] = base[v] + by
            return out
    ''')
    base = np.arange(g.n, dtype=np.int64)
    assert np.array_equal(k(g, base, 1.0), k.interpret(g, base, 1.0))
    assert np.array_equal(k.interpret(g, base, 1.0), base + 1.0)
    with pytest.raises(ArgumentError, match="one entry per vertex"):
        k(g, np.zeros(3), 1.0)
    with pytest.raises(ArgumentError, match="holds f64 values; the kernel declares i64"):
        k2, _ = kernel_from_source(tmp_path, '''
            @cs.kernel
            def ident(g: cs.Graph, base: cs.NodeArray[cs.i64]) -> cs.NodeArray[cs.i64]:
                out = g.node_array(cs.i64, 0)
                for v in g.nodes():
                    out[v] = base[v]
                return out
        ''')
        k2(g, np.zeros(g.n))


def test_graph_must_be_a_cs_graph():
    with pytest.raises(GraphError, match="expected a cs.Graph"):
        example("cc")([[0, 1]])


def test_plain_call_does_not_modify_input_arrays(tmp_path, g):
    base = np.ones(g.n)
    k, _ = kernel_from_source(tmp_path, '''
        @cs.kernel
        def total(g: cs.Graph, base: cs.NodeArray[cs.f64]) -> float:
            s = 0.0
            for v in g.nodes():
                s += base[v]
            return s
    ''')
    assert k(g, base) == k.interpret(g, base) == g.n
    assert np.all(base == 1.0)
