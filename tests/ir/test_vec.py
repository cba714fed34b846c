"""Vectorised execution of parallel loops matches the scalar interpreter, including
bsp snapshots, short-circuit evaluation and runtime errors with the kernel's line."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import cosynth as cs
from cosynth.errors import KernelRuntimeError
from cosynth.frontend.rewrite import variant
from cosynth.frontend.rewrite.core import loops, replace_at
from cosynth.ir.interp import interpret
from cosynth.ir.nodes import Loop
from cosynth.ir.vec import vectorizable
from tests.helpers import kernel_from_source

PATH = cs.Graph.from_edges([0, 1, 2, 3], [1, 2, 3, 4], num_nodes=5)


def with_schedule(k, schedule):
    for path, loop in loops(k):
        if isinstance(loop, Loop) and loop.is_data_loop:
            k = replace_at(k, path, [replace(loop, schedule=schedule)])
    return k


def test_bsp_sweep_reads_the_state_before_it(tmp_path):
    kf, _ = kernel_from_source(tmp_path, '''
        @cs.kernel
        def hop(g: cs.Graph) -> cs.NodeArray[cs.i64]:
            d = g.node_array(cs.i64, 100)
            d[0] = 0
            for v in g.nodes():
                for e in g.out_edges(v):
                    d[e.dst] = min(d[e.dst], d[v] + 1)
            return d
    ''')
    seq = interpret(kf.ir, PATH, {})[0]
    assert seq.tolist() == [0, 1, 2, 3, 4]  # in order, one sweep walks the whole path
    bsp = with_schedule(kf.ir, "bsp")
    for vec in (False, True):
        assert interpret(bsp, PATH, {}, vectorize=vec)[0].tolist() == [0, 1, 100, 100, 100]


def test_vectorised_variants_equal_scalar_on_kronecker():
    from tests.helpers import example
    g = cs.Graph.kronecker(9, seed=5)
    for name, args in (("bfs", {"source": 2}), ("cc", {}), ("tc", {}), ("kcore", {})):
        kf = example(name)
        kv, _ = variant(kf.ir, "pull")
        a = interpret(kv, g, kf.bind(g, **args), vectorize=False)
        b = interpret(kv, g, kf.bind(g, **args))
        for x, y in zip(a, b):
            assert np.array_equal(np.asarray(x), np.asarray(y)), name


def par_kernel(tmp_path, body):
    kf, path = kernel_from_source(tmp_path, "@cs.kernel\ndef k(g: cs.Graph) -> "
                                  "cs.NodeArray[cs.i64]:\n    d = g.node_array(cs.i64, 1)\n"
                                  "    for v in g.nodes():\n" + body + "\n    return d\n")
    k = with_schedule(kf.ir, "par")
    assert vectorizable(next(lp for _, lp in loops(k))) == ""
    return k, path


def test_short_circuit_and_protects_the_right_side(tmp_path):
    k, _ = par_kernel(tmp_path, "        if v > 0 and g.out_degree(v - 1) == 1:\n"
                                "            d[v] = 7")
    for vec in (False, True):
        assert interpret(k, PATH, {}, vectorize=vec)[0].tolist() == [1, 7, 7, 7, 7]


@pytest.mark.parametrize("body,msg", [
    ("        d[v] = 5 // (v - v)", "integer division by zero"),
    ("        d[v] = d[v + 1]", "vertex 5 is out of range for table 'd'"),
])
def test_runtime_errors_in_vector_loops_name_the_line(tmp_path, body, msg):
    k, path = par_kernel(tmp_path, body)
    for vec in (False, True):
        with pytest.raises(KernelRuntimeError) as info:
            interpret(k, PATH, {}, vectorize=vec)
        assert msg in info.value.message
        assert info.value.loc.file == path and info.value.loc.line == 6


def test_sequential_nests_are_not_vectorised():
    from tests.helpers import example
    k = example("sssp").ir
    assert all(vectorizable(lp) for _, lp in loops(k))  # every loop is seq: each says why


def test_worklist_restarts_when_the_state_is_reset(tmp_path):
    """Three identical SSSP fixed points in a row, the distances reset in between.  The
    source keeps its value 0 across the reset, so value tracking alone would skip it and
    nothing would propagate: the worklist must notice that entries moved against min."""
    kf, _ = kernel_from_source(tmp_path, '''
        @cs.kernel
        def multi(g: cs.Graph) -> cs.NodeArray:
            total = g.node_array(cs.f64, 0.0)
            for r in range(3):
                dist = g.node_array(cs.f64, cs.INF)
                dist[0] = 0.0 + r * 0.0
                changed = True
                while changed:
                    changed = False
                    for v in g.nodes():
                        for e in g.out_edges(v):
                            nd = dist[v] + e.weight
                            if nd < dist[e.dst]:
                                dist[e.dst] = nd
                                changed = True
                for v in g.nodes():
                    if dist[v] < cs.INF:
                        total[v] += dist[v]
            return total
    ''')
    kv, steps = variant(kf.ir, "async")
    assert any(r.rule == "relax" for r in steps)
    from cosynth.ir.vec import _worklist_plan

    class C:  # the plan only needs the kernel and its tables
        k = kv
        tables = kv.table_map
    relaxed = [lp for _, lp in loops(kv) if lp.kind == "nodes" and lp.schedule == "async"]
    assert _worklist_plan(C, relaxed[0]) == {"dist": "min"}
    g = cs.Graph.kronecker(7, seed=8)
    want = kf(g)
    assert np.allclose(interpret(kv, g, {}), want, rtol=0, atol=0)
