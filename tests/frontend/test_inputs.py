"""Input checking consistent with the policies: NaN refused in every float input while
the nan-free policy (assumed by every proof) holds; return annotations checked at trace
time against the returned tables."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

import cosynth as cs
from cosynth.errors import ArgumentError, KernelError
from tests.helpers import kernel_from_source

SPREAD = '''
@cs.kernel
def spread(g: cs.Graph, init: cs.NodeArray[cs.f64], scale: float = 1.0) -> cs.NodeArray:
    x = g.node_array(cs.f64, cs.INF)
    for v in g.nodes():
        x[v] = init[v] * scale
    changed = True
    while changed:
        changed = False
        for v in g.nodes():
            for e in g.out_edges(v):
                if x[v] < x[e.dst]:
                    x[e.dst] = x[v]
                    changed = True
    return x
'''


def _path3():
    return cs.Graph.from_networkx(nx.path_graph(3, create_using=nx.DiGraph))


def test_nan_in_a_node_array_is_refused_with_name_and_index(tmp_path):
    kf, _ = kernel_from_source(tmp_path, SPREAD)
    g = _path3()
    init = np.array([1.0, math.nan, 0.0])
    for run in (kf, kf.interpret):
        with pytest.raises(ArgumentError) as info:
            run(g, init)
        assert "'init'[1] is NaN" in info.value.message
        assert "nan-free" in info.value.message
    assert list(kf.interpret(g, np.array([1.0, math.inf, 0.0]))) == [1.0, 1.0, 0.0]


def test_nan_in_a_float_scalar_is_refused(tmp_path):
    kf, _ = kernel_from_source(tmp_path, SPREAD)
    with pytest.raises(ArgumentError, match="'scale' is NaN"):
        kf.interpret(_path3(), np.zeros(3), math.nan)
    with pytest.raises(ArgumentError, match="'scale' is NaN"):
        kf.bind(_path3(), np.zeros(3), scale=np.float32("nan"))


def test_the_binding_can_drop_the_nan_check_for_the_as_written_semantics(tmp_path):
    kf, _ = kernel_from_source(tmp_path, SPREAD)
    bound = cs.lang.bind_args(kf.ir, _path3(), (np.array([math.nan, 1.0, 0.0]),), {},
                              nan_free=False)
    assert math.isnan(bound["init"][0])


def test_nan_weights_are_refused_by_the_graph():
    G = nx.DiGraph()
    G.add_edge(0, 1, weight=math.nan)
    with pytest.raises(cs.errors.ArgumentError, match="edge 0 has a non-finite weight"):
        cs.Graph.from_networkx(G)


@pytest.mark.parametrize("ann,ret,msg", [
    ("cs.NodeArray[cs.i64]", "x", "'x' is a node table of f64, but the return annotation "
                                  "'cs.NodeArray[cs.i64]' declares a node table of i64"),
    ("cs.EdgeArray[cs.f64]", "x", "'x' is a node table of f64"),
    ("int", "total", "'total' is a f64 scalar, but the return annotation 'int'"),
    ("cs.i32", "count", "'count' is a i64 scalar"),
    ("tuple[cs.NodeArray[cs.f64], int]", "x, total", "'total' is a f64 scalar"),
    ("tuple[cs.NodeArray[cs.f64], float, int]", "x, total",
     "returns 2 value(s) but its annotation"),
    ("cs.NodeArray[cs.f64]", "x, total", "returns 2 values but its annotation"),
])
def test_a_return_annotation_contradicted_by_the_result_is_refused(tmp_path, ann, ret, msg):
    kf, path = kernel_from_source(tmp_path, f'''
        @cs.kernel
        def k(g: cs.Graph) -> {ann}:
            x = g.node_array(cs.f64, 0.0)
            total = 0.0
            count = 0
            for v in g.nodes():
                x[v] = 1.5
                total += 1.5
                count += 1
            return {ret}
        ''')
    with pytest.raises(KernelError) as info:
        _ = kf.ir
    assert msg in info.value.message, info.value.format()
    assert info.value.loc.file == path and info.value.loc.line == 11  # the return line


@pytest.mark.parametrize("ann,ret", [
    ("cs.NodeArray[cs.f64]", "x"), ("cs.NodeArray", "y"), ("cs.NodeArray", "x"),
    ("'cs.NodeArray[cs.i64]'", "y"), ("float", "total"), ("int", "count"),
    ("cs.i64", "count"), ("tuple", "x, y"), ("tuple[cs.NodeArray[cs.f64], int]", "x, count"),
    ("np.ndarray", "x"),
])
def test_matching_or_unchecked_return_annotations_are_accepted(tmp_path, ann, ret):
    kf, _ = kernel_from_source(tmp_path, f'''
        import numpy as np
        import cosynth as cs
        @cs.kernel
        def k(g: cs.Graph) -> {ann}:
            x = g.node_array(cs.f64, 0.0)
            y = g.node_array(cs.i64, 0)
            total = 0.0
            count = 0
            for v in g.nodes():
                x[v] = 1.5
                total += 1.5
                count += 1
            return {ret}
        ''')
    assert kf.ir.returns
