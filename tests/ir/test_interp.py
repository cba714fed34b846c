"""The interpreter implements the documented IR semantics, and reports runtime errors
with the kernel's source line."""

from __future__ import annotations

import math

import numpy as np
import pytest

import cosynth as cs
from cosynth.errors import KernelRuntimeError
from tests.helpers import kernel_from_source


@pytest.fixture(scope="module")
def g():
    return cs.Graph.from_edges([0, 1, 2, 2], [1, 2, 0, 3], weight=[1, 2, 3, 4], num_nodes=5)


def run(tmp_path, g, src, *args, **kw):
    k, path = kernel_from_source(tmp_path, src)
    return k, k.interpret(g, *args, **kw), path


def test_integer_semantics_match_python_floor_and_numpy_wrap(tmp_path, g):
    k, out, _ = run(tmp_path, g, '''
        @cs.kernel
        def ints(g: cs.Graph) -> tuple:
            a = g.node_array(cs.i64, 0)
            b = g.node_array(cs.i32, 0)
            a[0] = -7 // 2
            a[1] = -7 % 3
            a[2] = 7 // -2
            a[3] = abs(-5) + (2 ** 10)
            b[0] = cs.i32(2147483647) + cs.i32(1)
            b[1] = cs.i32(-2147483648) * cs.i32(-1)
            b[2] = int(-3.9)
            return a, b
    ''')
    a, b = out
    assert a.tolist()[:4] == [-4, 2, -4, 1029]
    assert b.tolist()[:3] == [-2147483648, -2147483648, -3]
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pa, pb = k(g)
    assert np.array_equal(a, pa) and np.array_equal(b, pb)


def test_float_division_by_zero_is_ieee(tmp_path, g):
    _, out, _ = run(tmp_path, g, '''
        @cs.kernel
        def fdiv(g: cs.Graph) -> cs.NodeArray:
            d = g.node_array(cs.f64, 0.0)
            z = 0.0
            d[0] = 1.0 / z
            d[1] = -1.0 / z
            d[2] = z / z
            return d
    ''')
    assert out[0] == math.inf and out[1] == -math.inf and math.isnan(out[2])


@pytest.mark.parametrize("body,msg,line", [
    ("x = 0\n    for v in g.nodes():\n        x += 1 // (v - v)\n    return x",
     "integer division by zero", 5),
    ("d = g.node_array(cs.i64, 0)\n    d[g.num_nodes()] = 1\n    return d",
     "vertex 5 is out of range for table 'd'", 4),
    ("x = 0\n    for e in g.out_edges(g.num_nodes() + 2):\n        x += 1\n    return x",
     "vertex 7 is out of range", 4),
    ("x = 0\n    while x < 10:\n        x = x * 1\n    return x",
     "still running after 1000 iterations", 4),
    ("x = 2\n    y = x ** (0 - 1)\n    return y", "negative power", 4),
    ("x = 1.0e300\n    y = int(x * x)\n    return y", "out of range", 4),
])
def test_runtime_errors_name_the_line(tmp_path, g, body, msg, line):
    k, path = kernel_from_source(tmp_path, "@cs.kernel\ndef bad(g: cs.Graph):\n    "
                                 + body + "\n")
    with pytest.raises(KernelRuntimeError) as info:
        k.interpret(g, while_limit=1000)
    assert msg in info.value.message
    assert info.value.loc.file == path and info.value.loc.line == line + 1


def test_in_edges_see_the_same_edge_ids_and_weights(tmp_path, g):
    k, out, _ = run(tmp_path, g, '''
        @cs.kernel
        def ids(g: cs.Graph) -> tuple:
            a = g.edge_array(cs.f64, 0.0)
            b = g.edge_array(cs.f64, 0.0)
            for v in g.nodes():
                for e in g.out_edges(v):
                    a[e.id] = e.weight * 10.0 + e.src
                for e in g.in_edges(v):
                    b[e.id] = e.weight * 10.0 + e.src
            return a, b
    ''')
    assert np.array_equal(out[0], out[1])
    assert sorted(out[0].tolist()) == [10.0, 21.0, 32.0, 42.0]


def test_flags_are_set_only_when_the_entry_changes(tmp_path, g):
    _, out, _ = run(tmp_path, g, '''
        @cs.kernel
        def flags(g: cs.Graph) -> tuple:
            d = g.node_array(cs.f64, 5.0)
            lowered = False
            raised = False
            for v in g.nodes():
                x = 5.0
                if x < d[v]:
                    d[v] = x
                    lowered = True
                if 9.0 > d[v]:
                    d[v] = 9.0
                    raised = True
            return lowered, raised
    ''')
    assert out == (False, True)


# ---------------------------------------------------------------- the reordering oracle
def _with_schedule(k, kind: str, schedule: str):
    """``k`` with its outermost loop of ``kind`` given ``schedule`` (no proof: a test's
    deliberate rewrite)."""
    from cosynth.frontend.rewrite.core import loops, replace_at
    from cosynth.ir.nodes import replace
    path, loop = next((p, lp) for p, lp in loops(k) if lp.kind == kind)
    return replace_at(k, path, [replace(loop, schedule=schedule)])


_ORDER_SRC = '''
    @cs.kernel
    def order(g: cs.Graph) -> cs.NodeArray[cs.i64]:
        seen = g.node_array(cs.i64, -1)
        t = 0
        for v in g.nodes():
            seen[v] = t
            t += 1
        return seen
'''


def test_par_loops_run_in_seeded_random_orders(tmp_path):
    # the order a par loop ran in is observable through a counter it should not have:
    # program order without a seed, a permutation per seed, the same one for the same seed
    g = cs.Graph.from_edges([0], [1], num_nodes=12)
    k, _ = kernel_from_source(tmp_path, _ORDER_SRC)
    from cosynth.ir.interp import interpret
    from cosynth.ir.nodes import Loop
    kp = _with_schedule(k.ir, "nodes", "par")
    assert any(isinstance(s, Loop) and s.schedule == "par" for s in kp.body)
    plain = interpret(kp, g, {}, vectorize=False)[0]
    assert plain.tolist() == list(range(12))
    runs = [interpret(kp, g, {}, order=seed)[0] for seed in range(4)]
    for r in runs:
        assert sorted(r.tolist()) == list(range(12))
    assert len({tuple(r.tolist()) for r in runs}) == 4
    assert np.array_equal(interpret(kp, g, {}, order=2)[0], runs[2])
    # a seq loop keeps program order under every seed
    assert interpret(k.ir, g, {}, order=3)[0].tolist() == list(range(12))


def test_async_reads_see_a_prefix_of_other_iterations_writes(tmp_path):
    # every iteration reads a[0], which iteration 0 sets: in an async loop a read may miss
    # that write (stale) or see it; an iteration always sees its own writes
    g = cs.Graph.from_edges([0], [1], num_nodes=10)
    k, _ = kernel_from_source(tmp_path, '''
        @cs.kernel
        def stale(g: cs.Graph) -> tuple:
            a = g.node_array(cs.i64, 0)
            b = g.node_array(cs.i64, 0)
            for v in g.nodes():
                if v == 0:
                    a[v] = 7
                b[v] = a[0]
            return a, b
    ''')
    from cosynth.ir.interp import interpret
    ka = _with_schedule(k.ir, "nodes", "async")
    kp = _with_schedule(k.ir, "nodes", "par")
    seen = set()
    for seed in range(20):
        a, b = interpret(ka, g, {}, order=seed)
        assert a[0] == 7 and b[0] == 7  # its own write
        assert set(b.tolist()) <= {0, 7}
        seen |= set(b[1:].tolist())
    assert seen == {0, 7}
    # in a par loop iterations are atomic: b[0] sees its own write, the rest either
    assert all(interpret(kp, g, {}, order=s)[1][0] == 7 for s in range(5))


def test_reads_once_seen_are_not_unseen(tmp_path):
    # an iteration reading the same entry twice never sees it go back to an older value
    g = cs.Graph.from_edges([0], [1], num_nodes=8)
    k, _ = kernel_from_source(tmp_path, '''
        @cs.kernel
        def twice(g: cs.Graph) -> tuple:
            a = g.node_array(cs.i64, 0)
            x = g.node_array(cs.i64, 0)
            y = g.node_array(cs.i64, 0)
            for v in g.nodes():
                a[v] = v + 1
                x[v] = a[0] + a[1] + a[2] + a[3]
                y[v] = a[0] + a[1] + a[2] + a[3]
            return x, y
    ''')
    from cosynth.ir.interp import interpret
    ka = _with_schedule(k.ir, "nodes", "async")
    for seed in range(30):
        x, y = interpret(ka, g, {}, order=seed)
        assert np.all(y >= x)


def test_reordering_is_refused_for_blade_programs(g):
    from cosynth.ir.interp import interpret
    from tests.helpers import example
    with pytest.raises(ValueError, match="whole kernels"):
        interpret(example("cc").ir, g, {}, blade=object(), order=1)
