"""Frontier schedules of relaxed loops (``frontend.rewrite.frontier``): which loops may run
from a frontier, which may be bucketed, and the Z3 proof that makes buckets useful."""

from __future__ import annotations

import cosynth as cs
from cosynth.frontend.rewrite import variant
from cosynth.frontend.rewrite.frontier import (
    NONNEG_WEIGHTS,
    bucketed,
    frontier_loops,
    frontier_plan,
    relax_order,
)
from cosynth.ir.nodes import Loop
from tests.helpers import example


@cs.kernel
def sssp_minus(g: cs.Graph, source: int) -> cs.NodeArray:
    dist = g.node_array(cs.f64, cs.INF)
    dist[source] = 0.0
    changed = True
    while changed:
        changed = False
        for v in g.nodes():
            for e in g.out_edges(v):
                nd = dist[v] - e.weight
                if nd < dist[e.dst]:
                    dist[e.dst] = nd
                    changed = True
    return dist


@cs.kernel
def two_sweeps(g: cs.Graph) -> cs.NodeArray[cs.i64]:
    label = g.node_array(cs.i64, 0)
    for v in g.nodes():
        label[v] = v
    changed = True
    while changed:
        changed = False
        for v in g.nodes():
            for e in g.out_edges(v):
                if label[v] < label[e.dst]:
                    label[e.dst] = label[v]
                    changed = True
        for v in g.nodes():
            for e in g.in_edges(v):
                if label[v] < label[e.src]:
                    label[e.src] = label[v]
                    changed = True
    return label


def _async(k):
    return variant(k.ir, "async")[0]


def test_relaxed_sssp_and_cc_run_from_a_frontier_bucketed_by_their_min_table():
    for name, table in (("sssp", "dist"), ("cc", "label")):
        kv = _async(example(name))
        (found,) = frontier_loops(kv)
        _, loop, plan = found
        assert plan == {table: "min"} and bucketed(kv, plan)


def test_level_synchronous_bfs_has_no_frontier_loop():
    # its guard reads the scalar level, which the sweep does not own
    assert frontier_loops(_async(example("bfs"))) == []


def test_a_second_loop_writing_the_state_keeps_the_first_off_the_frontier():
    kv = _async(two_sweeps)
    (w,) = [s for s in kv.body if isinstance(s, Loop) and s.kind == "while"]
    first, second = [s for s in w.body if isinstance(s, Loop)]
    assert frontier_plan(kv, first, w) is None and frontier_plan(kv, second, w) is None
    assert frontier_plan(kv, first, None) is None


def test_relax_order_is_proved_for_min_plus_over_nonnegative_weights():
    for name in ("sssp", "sssp_int"):
        k = example("sssp") if name == "sssp" else _int()
        kv = _async(k)
        (_, loop, plan), = frontier_loops(kv)
        law = relax_order(kv, loop, "dist")
        assert law.ok, law.describe()
        assert NONNEG_WEIGHTS in law.policies


def test_relax_order_is_refuted_when_a_contribution_goes_below_the_source():
    kv = _async(sssp_minus)
    (_, loop, plan), = frontier_loops(kv)  # still a legal frontier: the order is free
    law = relax_order(kv, loop, "dist")
    assert law.status == "refuted"


def _int():
    from cosynth.loader import load_kernels
    from tests.helpers import EXAMPLES
    return load_kernels(f"{EXAMPLES}/sssp.py")["sssp_int"]
