"""Range-loop counters carry their bounds into the proofs; integer relaxations proved
under a checked value-bound assumption."""

from __future__ import annotations

import os

import numpy as np
import pytest

import cosynth as cs
from cosynth import nxref
from cosynth.backends.rtl.build import eligibility
from cosynth.frontend.rewrite import Policy, bounds, parallelize, relax, variant
from cosynth.frontend.rewrite.core import get, loops, range_bounds_on_path
from cosynth.ir.interp import interpret
from cosynth.ir.printer import print_expr
from cosynth.loader import load_kernels
from cosynth.pipeline import build, simulate
from cosynth.planner import load_manifest
from tests.helpers import ROOT, kernel_from_source, random_graphs, same

LEVELS = '''
@cs.kernel
def levels(g: cs.Graph, source: int, k: int) -> cs.NodeArray[cs.i64]:
    depth = g.node_array(cs.i64, cs.INF)
    depth[source] = 0
    for level in range(k):
        for v in g.nodes():
            if depth[v] == level:
                for e in g.out_edges(v):
                    if level + 1 < depth[e.dst]:
                        depth[e.dst] = level + 1
    return depth
'''


def _node_loop(k):
    return next(p for p, lp in loops(k) if lp.kind == "nodes")


def test_node_loop_inside_range_rounds_is_parallel(tmp_path):
    """Without the bounds Z3 finds level = 2**63 - 1, where level + 1 wraps."""
    kf, _ = kernel_from_source(tmp_path, LEVELS)
    k = kf.ir
    path = _node_loop(k)
    assert [print_expr(c) for c, _ in range_bounds_on_path(k, path)] == ["0 <= level",
                                                                          "level < k"]
    r = parallelize.apply(k, path)
    assert r.applied, r.reason
    (law,) = [law for law in r.laws if law.name == "stable read"]
    assert law.status == "proved" and "0 <= level, level < k" in law.detail
    kv, _ = variant(k, "par")
    assert get(kv, path).schedule == "par"
    for _, g in random_graphs(8, seed=21):
        if g.n:
            for rounds in (0, 3, g.n):
                assert same(kf.interpret(g, 0, rounds), kf(g, 0, rounds))


@pytest.mark.parametrize("header,want", [
    ("for level in range(2, k, 3):", ["2 <= level", "level < k"]),
    ("for level in range(k, -1, -1):", ["-1 < level", "level <= k"]),
    ("for level in range(k, 0, step):", []),          # the direction is unknown
    ("for level in range(lim[0]):", []),              # the loop writes its bound
])
def test_range_bounds_hold_only_when_the_loop_cannot_change_them(tmp_path, header, want):
    kf, _ = kernel_from_source(tmp_path, f'''
        @cs.kernel
        def r(g: cs.Graph, k: int, step: int = 1) -> cs.NodeArray[cs.i64]:
            lim = g.node_array(cs.i64, 4)
            {header}
                for v in g.nodes():
                    lim[v] = level
            return lim
        ''')
    k = kf.ir
    assert [print_expr(c) for c, _ in range_bounds_on_path(k, _node_loop(k))] == want


NATURAL_SSSP = '''
@cs.kernel(weight=cs.i64)
def nsssp(g: cs.Graph, source: int) -> cs.NodeArray[cs.i64]:
    dist = g.node_array(cs.i64, cs.INF)
    dist[source] = 0
    changed = True
    while changed:
        changed = False
        for v in g.nodes():
            if dist[v] < cs.i64.max:
                for e in g.out_edges(v):
                    nd = dist[v] + e.weight
                    if nd < dist[e.dst]:
                        dist[e.dst] = nd
                        changed = True
    return dist
'''


def _loop(k, kind):
    return next(p for p, lp in loops(k) if lp.kind == kind)


def _bounded(law) -> bool:
    return any(p.startswith(bounds.POLICY) for p in law.policies)


def test_natural_integer_sssp_relaxes_under_the_value_bound(tmp_path):
    kf, _ = kernel_from_source(tmp_path, NATURAL_SSSP)
    k = kf.ir
    for to in ("async", "bsp"):
        r = relax.apply(k, _loop(k, "while"), to=to)
        assert r.applied, r.reason
        (law,) = [law for law in r.laws if law.name == "monotone"]
        assert law.status == "proved" and _bounded(law)
        assert "without it: refuted" in law.detail  # the wrapping counterexample
        cert = r.certificate()
        assert any(bounds.HYPOTHESIS in p for x in cert["laws"] for p in x["policies"])
        assert bounds.uses_bound([r]) and bounds.uses_bound([cert])
    edge = parallelize.apply(k, _loop(k, "out_edges"))
    assert edge.applied, edge.reason
    assert any(_bounded(law) for law in edge.laws)
    ok, why = eligibility(k)
    assert ok, why
    # without the policy, the natural form is refused as before
    off = relax.apply(k, _loop(k, "while"), Policy(value_bounds=False))
    assert not off.applied and "refuted" in off.reason


def test_natural_integer_sssp_variants_agree_with_networkx(tmp_path):
    kf, _ = kernel_from_source(tmp_path, NATURAL_SSSP)
    k = kf.ir
    for _, g in random_graphs(6, seed=33, weighted=True, int_weights=True):
        if not g.n:
            continue
        want = nxref.sssp(g, 0)
        reach = np.isfinite(want)
        for name in ("async", "par"):
            kv, rewrites = variant(k, name)
            assert bounds.uses_bound(rewrites)
            limit = bounds.check_graph(kv, g)
            got = interpret(kv, g, kf.bind(g, 0))[0]
            bounds.check_result(kv, {"dist": got}, limit)
            assert np.array_equal(got[reach], want[reach].astype(np.int64))
            assert np.all(got[~reach] == np.iinfo(np.int64).max)


def test_saturating_sssp_needs_no_bound():
    kf = load_kernels(os.path.join(ROOT, "examples", "sssp.py"))["sssp_int"]
    _, rewrites = variant(kf.ir, "async")
    assert rewrites and not bounds.uses_bound(rewrites)


def test_graph_and_result_are_checked_against_the_bound(tmp_path):
    kf, _ = kernel_from_source(tmp_path, NATURAL_SSSP)
    k = kf.ir
    g = cs.Graph.from_edges([0, 1, 2], [1, 2, 3], weight=[5.0, 7.0, 2.0])
    assert bounds.check_graph(k, g) == 3 * 7 == bounds.derive_bound(k, g)
    assert bounds.check_graph(k, cs.Graph.from_edges([0], [1])) == 1  # unweighted: 1 each
    with pytest.raises(bounds.BoundViolation, match="edge 1 has the negative weight -7"):
        bounds.check_graph(k, cs.Graph.from_edges([0, 1], [1, 2], weight=[5.0, -7.0]))
    big = float(2 ** 61)
    with pytest.raises(bounds.BoundViolation, match="may reach"):
        bounds.check_graph(k, cs.Graph.from_edges([0, 1, 2], [1, 2, 3], weight=[big] * 3))
    inf = np.iinfo(np.int64).max
    bounds.check_result(k, {"dist": np.array([0, 5, 12, inf])}, 21)
    with pytest.raises(bounds.BoundViolation, match=r"'dist'\[2\] = -30 lies outside \+-21"):
        bounds.check_result(k, {"dist": np.array([0, 5, -30, inf])}, 21)


def test_the_driver_refuses_a_graph_that_breaks_the_bound_before_building(tmp_path):
    kf, _ = kernel_from_source(tmp_path, NATURAL_SSSP)
    man = load_manifest(os.path.join(ROOT, "manifests", "rack16.yaml"))
    g = cs.Graph.from_edges([0, 1, 2], [1, 2, 0], weight=[5.0, -1.0, 2.0])
    with pytest.raises(bounds.BoundViolation, match="negative weight"):
        build(kf, man, g, {"source": 0}, str(tmp_path / "out"), blades=2, variant="async")
    good = cs.Graph.from_edges([0, 1, 2], [1, 2, 0], weight=[5.0, 1.0, 2.0])
    plan, _ = build(kf, man, good, {"source": 0}, str(tmp_path / "ok"), blades=2,
                    variant="async")
    assert bounds.uses_bound(plan.rewrites)
    assert any("policy: value-bound(" in law for r in plan.rewrites for law in r["laws"])


@pytest.mark.slow
def test_natural_integer_sssp_on_cpu_and_fpga_blades(tmp_path):
    """The whole way: planned, compiled, run on 2 blades (CPU, then FPGA units under
    Verilator) with the graph and the result checked against the bound."""

    kf, _ = kernel_from_source(tmp_path, NATURAL_SSSP)
    g = cs.Graph.kronecker(8, seed=4)
    want = nxref.sssp(g, 0)
    reach = np.isfinite(want)
    for man, fpga in ((load_manifest(os.path.join(ROOT, "manifests", "rack16.yaml")), False),
                      (load_manifest(os.path.join(ROOT, "manifests", "pair.yaml")), True)):
        sim = simulate(kf, man, g, {"source": 0}, blades=2, fpga=fpga)
        assert bounds.uses_bound(sim.plan.rewrites)
        (got,) = sim.results
        assert np.array_equal(got[reach], want[reach].astype(np.int64))
