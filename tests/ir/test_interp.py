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
    k, path = kernel_from_source(tmp_path, "@cs.kernel\ndef bad(g: cs.Graph) -> int:\n    "
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
