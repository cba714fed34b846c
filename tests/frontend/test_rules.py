"""Each rule on the seven examples and on kernels built to test it: applied where the
laws hold, refused (with the reason and the counterexample) where they do not."""

from __future__ import annotations

import numpy as np
import pytest

import cosynth as cs
from cosynth.check import compare_results
from cosynth.frontend.rewrite import (
    apply_rule,
    direction,
    edge_centric,
    fusion,
    parallelize,
    projection,
    relax,
    report,
    variant,
)
from cosynth.frontend.rewrite.core import loop_label, loops
from cosynth.frontend.rewrite.laws import Policy
from cosynth.ir.interp import interpret
from cosynth.ir.printer import print_kernel
from tests.helpers import ALGORITHMS, example, kernel_from_source


def find(k, text):
    for path, loop in loops(k):
        if text in loop_label(loop):
            return path
    raise AssertionError(f"no loop '{text}' in\n{print_kernel(k)}")


def test_sssp_relaxes_to_async_and_bsp_with_monotonicity_proof():
    k = example("sssp").ir
    for to in ("async", "bsp"):
        r = relax.apply(k, find(k, "while changed"), to=to)
        assert r.applied, r.reason
        assert f"for v in nodes() @{to}" in print_kernel(r.kernel)
        names = {law.name for law in r.laws}
        assert {"commutative", "associative", "idempotent", "monotone"} <= names
        mono = next(law for law in r.laws if law.name == "monotone")
        assert mono.status == "proved" and "IEEE 754" in mono.detail


def test_pagerank_sum_must_not_become_asynchronous():
    k = example("pagerank").ir
    r = relax.apply(k, find(k, "while not done"))
    assert not r.applied
    assert "idempotent" in r.reason and "counterexample" in r.reason
    # ...but its loops are independent, so they run in parallel (bulk-synchronously)
    par, steps = variant(k, "par")
    assert print_kernel(par).count("@par") == 4


def test_pagerank_float_sums_refused_without_the_policy():
    k = example("pagerank").ir
    r = parallelize.apply(k, find(k, "line 27"), Policy(reassociate_float_sums=False))
    assert not r.applied and "associative" in r.reason


def test_bfs_frontier_loop_is_parallel_by_a_stable_read_proof():
    k = example("bfs").ir
    r = parallelize.apply(k, find(k, "for v in nodes()"))
    assert r.applied, r.reason
    law = next(x for x in r.laws if x.name == "stable read")
    assert law.status == "proved" and "counter-bound(level" in " ".join(law.policies)
    assert not relax.apply(k, find(k, "while active")).applied  # level makes it no fixpoint


def test_kcore_peeling_sweep_is_refused_with_a_counterexample():
    k = example("kcore").ir
    r = parallelize.apply(k, find(k, "line 34"))
    assert not r.applied
    law = next(x for x in r.laws if x.name == "stable read")
    assert law.status == "refuted" and law.counterexample


LAST_WRITER = '''
    @cs.kernel
    def copy(g: cs.Graph) -> cs.NodeArray:
        d = g.node_array(cs.f64, 0.0)
        for v in g.nodes():
            d[v] = v * 1.0
        for v in g.nodes():
            for e in g.out_edges(v):
                d[e.dst] = d[v]
        return d
'''


def test_last_writer_wins_must_not_change_direction(tmp_path):
    kf, _ = kernel_from_source(tmp_path, LAST_WRITER)
    k = kf.ir
    path = find(k, "line 7")
    r = direction.apply(k, path)
    assert not r.applied and "last writer" in r.reason
    r = parallelize.apply(k, path)
    assert not r.applied and "last writer" in r.reason
    # edge-centric over out-edges keeps every operation in place: legal, and exact
    r = edge_centric.apply(k, path)
    assert r.applied
    g = cs.Graph.kronecker(6, seed=1)
    assert np.array_equal(interpret(r.kernel, g, {})[0], kf(g))


def test_direction_round_trip_and_pull_form():
    k, _ = variant(example("bfs").ir, "par")
    path = find(k, "for v in nodes()")
    pull = direction.apply(k, path)
    assert pull.applied
    text = print_kernel(pull.kernel)
    assert "for e in in_edges(u) @par" in text and "if depth[e.src] == level" in text
    push = direction.apply(pull.kernel, path)
    assert push.applied and "out_edges" in print_kernel(push.kernel)
    g = cs.Graph.kronecker(7, seed=4)
    want = interpret(k, g, {"source": 1})
    for kk in (pull.kernel, push.kernel):
        compare_results(interpret(kk, g, {"source": 1}), want, rtol=0, atol=0)


def test_edge_centric_round_trip_is_the_identity():
    k = example("tc").ir
    path = find(k, "for u in nodes()")
    r = edge_centric.apply(k, path)
    assert r.applied and "for e in edges() @seq" in print_kernel(r.kernel)
    back = edge_centric.apply(r.kernel, path)
    assert back.applied
    assert "out_edges(v) @seq" in print_kernel(back.kernel)
    g = cs.Graph.uniform(40, 120, seed=3)
    for kk in (r.kernel, back.kernel):
        compare_results(interpret(kk, g, {}), interpret(k, g, {}), rtol=0, atol=0)


def test_fission_then_fusion_restores_the_loop():
    k, _ = variant(example("pagerank").ir, "par")
    path = find(k, "line 23")
    split = fusion.fission(k, path)
    assert split.applied
    fused = fusion.fuse(split.kernel, path)
    assert fused.applied
    assert print_kernel(fused.kernel) == print_kernel(k)
    # the rank update cannot be fused with the contribution loop before it
    r = fusion.fuse(k, find(k, "line 27"))
    assert not r.applied


FUSABLE = '''
    @cs.kernel
    def two(g: cs.Graph) -> tuple:
        a = g.node_array(cs.i64, 0)
        b = g.node_array(cs.i64, 0)
        for v in g.nodes():
            a[v] = g.out_degree(v)
        for v in g.nodes():
            b[v] = a[v] * 2
        for v in g.nodes():
            for e in g.out_edges(v):
                a[e.dst] += b[v]
        return a, b
'''


def test_fusion_legality(tmp_path):
    kf, _ = kernel_from_source(tmp_path, FUSABLE)
    k = kf.ir
    ok = fusion.fuse(k, find(k, "line 6"))
    assert ok.applied, ok.reason  # b[v] reads a[v]: the same iteration's entry
    bad = fusion.fuse(k, find(k, "line 8"))
    assert not bad.applied and ("'a'" in bad.reason or "'b'" in bad.reason)
    g = cs.Graph.kronecker(6, seed=2)
    compare_results(interpret(ok.kernel, g, {}), kf(g), rtol=0, atol=0)


def test_projection_builds_one_blade_program():
    k, _ = variant(example("sssp").ir, "async")
    r = projection.apply(k)
    assert r.applied
    text = print_kernel(r.kernel)
    for line in ("shard_lo: i64 shard", "for v in nodes(shard_lo, shard_hi) @async",
                 "exchange dist min -> changed__part",
                 "allreduce changed__part or", "changed or= changed__part"):
        assert line in text
    # push: dist is read at the running (owned) vertex only, so its mirrors are never read
    assert "refresh dist" not in text and "no refresh of dist" in r.reason
    assert not projection.apply(r.kernel).applied  # already a blade program
    assert not projection.apply(example("sssp").ir).applied  # nothing parallel yet


@pytest.mark.parametrize("name, kept", [("sssp", {"dist"}), ("bfs", {"depth"}),
                                        ("pagerank", {"share_v"})])
def test_projection_refreshes_exactly_the_tables_read_at_ghosts(name, kept):
    """Pull variants read the far end of an in-edge (``dist[e.src]``, a ghost): their
    tables keep their refresh; PageRank's push-side ``contrib`` and ``rank``, read only at
    the owned vertex, lose theirs.  Both blade programs equal the kernel on 3 blades."""
    from cosynth.ir.blades import run_blades
    from cosynth.ir.nodes import Refresh
    from cosynth.ir.walk import iter_stmts
    from cosynth.planner.stubs import project
    k, _ = variant(example(name).ir, "pull")
    prog = project(k)
    assert {s.table for s, _ in iter_stmts(prog.body) if isinstance(s, Refresh)} == kept
    assert projection.ghost_reads(prog) >= kept
    push, _ = variant(example(name).ir, "bsp" if name == "pagerank" else "async")
    pprog = project(push)
    assert not any(isinstance(s, Refresh) for s, _ in iter_stmts(pprog.body))
    g = cs.Graph.kronecker(7, seed=4, weighted=name == "sssp")
    kf = example(name)
    args = {"source": 3} if name != "pagerank" else {}
    bound = kf.bind(g, **args)
    for p in (prog, pprog):
        run = run_blades(p, g, bound, [(0, 40), (40, 90), (90, g.n)])
        assert p is prog or not any(c.kind == "refresh" for c in run.collectives)
        compare_results(run.results, kf(g, **args), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ALGORITHMS)
def test_every_rule_has_a_verdict_on_every_loop(name):
    k = example(name).ir
    loops_report, proj = report(k)
    assert loops_report
    for lr in loops_report:
        for rule, r in lr.results:
            assert r.reason, f"{name} {rule} at {lr.label} gave no reason"
    assert proj.reason


def test_rules_are_pure():
    k = example("cc").ir
    before = print_kernel(k)
    for path, _ in loops(k):
        for rule in ("parallelize", "relax", "direction", "edge_centric", "fission"):
            try:
                apply_rule(rule, k, path)
            except TypeError:
                pass
    assert print_kernel(k) == before
