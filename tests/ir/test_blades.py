"""The in-process multi-blade runner: shards, determinism, failures."""

from __future__ import annotations

import pytest

import cosynth as cs
from cosynth.check import compare_results
from cosynth.errors import KernelRuntimeError
from cosynth.frontend.rewrite import projection, variant
from cosynth.ir.blades import even_shards, run_blades
from cosynth.ir.interp import interpret
from tests.helpers import example, kernel_from_source


def blade_program(name):
    kv, _ = variant(example(name).ir, "async")
    r = projection.apply(kv)
    assert r.applied
    return r.kernel


def test_even_shards():
    assert even_shards(10, 3) == [(0, 3), (3, 7), (7, 10)]
    for n, p in ((2, 4), (7, 3), (100, 8)):
        shards = even_shards(n, p)
        assert shards[0][0] == 0 and shards[-1][1] == n and len(shards) == p
        assert all(a[1] == b[0] for a, b in zip(shards, shards[1:]))
        sizes = [hi - lo for lo, hi in shards]
        assert max(sizes) - min(sizes) <= 1


def test_runs_are_deterministic_and_count_messages():
    g = cs.Graph.kronecker(8, seed=9)
    k = blade_program("cc")
    a = run_blades(k, g, {}, even_shards(g.n, 4))
    b = run_blades(k, g, {}, even_shards(g.n, 4))
    compare_results(a.results, b.results, rtol=0, atol=0)
    assert a.messages == b.messages > 0 and a.bytes == b.bytes
    one = run_blades(k, g, {}, [(0, g.n)])
    assert one.messages == 0
    compare_results(one.results, interpret(example("cc").ir, g, {}), rtol=0, atol=0)


def test_bad_shard_maps_and_non_blade_programs():
    g = cs.Graph.kronecker(5, seed=1)
    k = blade_program("cc")
    with pytest.raises(ValueError, match="tile"):
        run_blades(k, g, {}, [(0, 10), (12, g.n)])
    with pytest.raises(ValueError, match="cover"):
        run_blades(k, g, {}, [(0, 10)])
    with pytest.raises(ValueError, match="not a blade program"):
        run_blades(example("cc").ir, g, {}, [(0, g.n)])


def test_a_failing_blade_stops_the_others(tmp_path):
    kf, _ = kernel_from_source(tmp_path, '''
        @cs.kernel
        def bad(g: cs.Graph) -> cs.NodeArray[cs.i64]:
            d = g.node_array(cs.i64, 0)
            for v in g.nodes():
                d[v] = 10 // (v - 20)
            return d
    ''')
    kv, _ = variant(kf.ir, "par")
    r = projection.apply(kv)
    assert r.applied, r.reason
    g = cs.Graph.kronecker(5, seed=1)  # 32 vertices: vertex 20 lives on blade 2 of 4
    with pytest.raises(KernelRuntimeError, match="blade 2: .*division by zero"):
        run_blades(r.kernel, g, {}, even_shards(g.n, 4))
