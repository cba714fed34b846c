"""A peel round's unit call streams only its frontier's edges (``host.stream_filter``):
each vertex's edges once, in the round that removes it, so the rounds stream the sum of
the removed vertices' degrees, not the range's edges once per round (and no in-edges
without ``use_in_edges``: ``host.param_guards``); results equal to the
kernel as written and networkx; the planner (``cost.fpga_nest``, ``Nest.peel_edges``) predicts
the same edges."""

from __future__ import annotations

import os

import numpy as np
import pytest

import cosynth as cs
from cosynth.backends.rtl.costs import fpga_profile
from cosynth.backends.rtl.host import param_guards, stream_filter
from cosynth.backends.rtl.kernel import unit_spec
from cosynth.backends.rtl.sim import run_kernel
from cosynth.frontend.rewrite import variant
from cosynth.ir.interp import interpret
from cosynth.planner import load_manifest
from cosynth.planner.cost import fpga_nest
from cosynth.planner.stats import GraphStats
from cosynth.planner.workload import profile
from tests.helpers import ROOT, example


def _degree_sum(g, lo: int = 0, hi: int | None = None, use_in_edges: bool = False) -> int:
    """Out-degrees (plus in-degrees with ``use_in_edges``) of the vertices [lo, hi): the
    edges the rounds stream (the kernel's out-edge rule, and its in-edge rule when that
    argument is true, each a vertex's edges once)."""
    hi = g.n if hi is None else hi
    d = np.asarray(g.out_degrees())[lo:hi].sum()
    return int(d + (np.asarray(g.in_degrees())[lo:hi].sum() if use_in_edges else 0))


def test_the_stream_filter_is_the_frontier_of_the_peel_only():
    kv, _ = variant(example("kcore").ir, "par")
    spec = unit_spec(kv, "par")
    assert [stream_filter(spec, r) for r in spec.rules] == ["v_frontier", "v_frontier"]
    assert [param_guards(spec, r) for r in spec.rules] == [(), ("use_in_edges",)]
    # the per-vertex peel and BFS's level test (an integer table) have none
    pv, _ = variant(example("kcore").ir, "par", batch=False)
    spec = unit_spec(pv, "par")
    assert [stream_filter(spec, r) for r in spec.rules] == [None] * len(spec.rules)
    kb, _ = variant(example("bfs").ir, "par")
    spec = unit_spec(kb, "par")
    assert all(stream_filter(spec, r) is None for r in spec.rules)


@pytest.mark.parametrize("graph", ["kron", "directed"])
def test_the_rounds_stream_each_removed_vertex_edges_once(graph):
    """Amaranth simulation behind the Python host: edges streamed == the sum of the
    removed vertices' degrees (every vertex is removed once), == interpreter and
    networkx; the planner predicts those edges."""
    kf = example("kcore")
    if graph == "kron":
        g = cs.Graph.kronecker(5, seed=2)
    else:  # directed, simple: the in-edge rule does the work (use_in_edges)
        rng = np.random.default_rng(7)
        n = 24
        pairs = np.unique(rng.integers(0, n, 80) * n + rng.integers(0, n, 80))
        pairs = pairs[pairs // n != pairs % n]
        g = cs.Graph.from_edges(pairs // n, pairs % n, num_nodes=n)
    args = {"use_in_edges": g.directed}
    run = run_kernel(kf, g, args, variant="par")
    bound = kf.bind(g, **args)
    assert np.array_equal(run.results[0], interpret(kf.ir, g, bound)[0])
    assert np.array_equal(run.results[0], kf.expected(g, bound)[0])
    assert run.stats.edges == _degree_sum(g, use_in_edges=g.directed)  # not the range's
    assert run.stats.edges < g.m * run.stats.calls
    # the planner's FPGA edges for the unit's nest: each vertex's edges once per rule
    kv, _ = variant(kf.ir, "par")
    st = GraphStats.of(g)
    w = profile(kv, "par", st, bound, fpga=fpga_profile)
    kind = load_manifest(os.path.join(ROOT, "manifests", "pair.yaml")).kind("cpu-fpga")
    nests = [x for x in w.nests if x.fpga_ok and x.edges > 0]
    assert len(nests) == 1
    assert nests[0].peel_edges * nests[0].runs == pytest.approx((1 + g.directed) * g.m)
    predicted = fpga_nest(w, nests[0], kind, (g.n, g.m), 1.0, 1.0)[0]
    assert predicted == pytest.approx(run.stats.edges, rel=0.25)
