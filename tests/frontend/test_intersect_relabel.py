"""Ordered intersection and vertex relabelling: where the analyses accept and refuse, and
the C++ merge (with and without the degree relabelling) equals the kernel as written and
networkx, on one and two blades."""

from __future__ import annotations

import os

import numpy as np
import pytest

import cosynth as cs
from cosynth import nxref
from cosynth.backends.cpp.emit import emit_program
from cosynth.frontend.rewrite import projection, variant
from cosynth.frontend.rewrite.intersect import intersection, why_not, why_not_downward
from cosynth.frontend.rewrite.relabel import relabelling
from cosynth.frontend.rewrite.relabel import why_not as relabel_why_not
from cosynth.ir.nodes import Loop
from cosynth.ir.walk import iter_stmts
from cosynth.pipeline import simulate
from cosynth.planner import GraphStats, load_manifest, make_plan
from cosynth.planner.workload import no_fpga
from tests.helpers import ROOT, example, kernel_from_source

SINGLE = os.path.join(ROOT, "manifests", "single.yaml")


def _edge_loops(k):
    return [s for s, _ in iter_stmts(k.body) if isinstance(s, Loop) and s.kind == "out_edges"]


@pytest.mark.parametrize("v", ["par", "edges"])
def test_tc_inner_loop_is_a_merge_with_its_order_test_hoisted(v):
    kv, _ = variant(example("tc").ir, v)
    merges = [m for m in map(intersection, _edge_loops(kv)) if m is not None]
    assert len(merges) == 1
    (m,) = merges
    assert len(m.above) == 1 and not (m.from_ or m.below or m.upto)  # w > v
    assert m.rest is None  # nothing left to test per match


def test_a_loop_without_has_edge_or_with_a_failing_conjunct_is_refused(tmp_path):
    assert "if without else" in why_not(_edge_loops(variant(example("pagerank").ir, "par")[0])[0])
    kf, _ = kernel_from_source(tmp_path, """
        @cs.kernel
        def k(g: cs.Graph) -> int:
            c = 0
            for u in g.nodes():
                for e in g.out_edges(u):
                    if 10 // (e.dst + 1) > 0 and g.has_edge(u, e.dst):
                        c += 1
            return c
        """)
    (loop,) = _edge_loops(kf.ir)
    assert "may fail" in why_not(loop)


def test_a_merge_runs_down_only_with_lower_bounds_and_an_order_free_body(tmp_path):
    """TC's merge (w > v, count and tri reduced with add) runs from the rows' ends down;
    an upper bound, no bound, or a body whose matches' order matters (the last head
    stored into a scalar) keeps the merge from the rows' starts."""
    kv, _ = variant(example("tc").ir, "edges")
    (m,) = [m for m in map(intersection, _edge_loops(kv)) if m is not None]
    assert why_not_downward(kv, m) == ""
    kf, _ = kernel_from_source(tmp_path, """
        @cs.kernel
        def k(g: cs.Graph) -> tuple:
            c = 0
            last = 0
            for u in g.nodes():
                for e in g.out_edges(u):
                    v = e.dst
                    for f in g.out_edges(v):
                        if f.dst < v and g.has_edge(u, f.dst):
                            c += 1
                    for f in g.out_edges(v):
                        if g.has_edge(u, f.dst):
                            c += 1
                    for f in g.out_edges(v):
                        if f.dst > v and g.has_edge(u, f.dst):
                            last = f.dst
            return c, last
        """)
    below, free, stored = (intersection(s) for s in _edge_loops(kf.ir)[1:])
    assert "upper bound" in why_not_downward(kf.ir, below)
    assert "no lower bound" in why_not_downward(kf.ir, free)
    assert "order may matter" in why_not_downward(kf.ir, stored)
    assert "last" in why_not_downward(kf.ir, stored)


def test_relabelling_accepts_tc_and_pagerank_refuses_id_dependent_kernels():
    assert relabelling(variant(example("tc").ir, "edges")[0]).kind == "clique count"
    pr = relabelling(variant(example("pagerank").ir, "par")[0])
    assert pr.kind == "equivariant" and not pr.exact  # float sums reordered
    assert "vertex id" in relabel_why_not(example("bfs").ir)  # its source
    cc = load_kernel_more("lp_rounds")
    assert "used as a value" in relabel_why_not(cc.ir)  # labels are vertex ids


def load_kernel_more(name):
    from cosynth.loader import load_kernels
    return load_kernels(os.path.join(ROOT, "examples", "more", f"{name}.py"))[name]


def test_an_order_test_that_does_not_chain_every_vertex_is_refused(tmp_path):
    kf, _ = kernel_from_source(tmp_path, """
        @cs.kernel
        def k(g: cs.Graph) -> int:
            c = 0
            for u in g.nodes():
                for e in g.out_edges(u):
                    if e.dst > u:
                        for f in g.out_edges(e.dst):
                            if g.has_edge(u, f.dst):
                                c += 1
            return c
        """)
    assert "chain" in relabel_why_not(kf.ir)  # w is not ordered: wedges counted twice


def test_generated_merge_walks_sorted_rows():
    kv, _ = variant(example("tc").ir, "edges")
    src = emit_program(projection.apply(kv).kernel, "examples/tc.py")
    assert "ordered intersection" in src and "std::upper_bound" not in src
    # w > v only, and the body's reductions commute: from the rows' ends down, no search
    assert "from their ends down" in src and "gallop(" not in src
    assert "G.has_edge(" not in src
    assert "u_w = t__" in src and "G.edge_dst(u_f)" not in src  # the head, read once
    # tri[w]: the head is a vertex of the whole graph, indexed without a look-up
    assert "G.local_at(u_w" not in src and "(u_w - G.glo)" in src
    # the work per edge is a row: dynamic chunks, not equal shares of edges
    assert "omp for schedule(dynamic, 64)" in src
    # tri's per-thread copy is found once per thread (in the parallel region), not by a
    # call to omp_get_thread_num per triangle
    assert src.count("omp_get_thread_num()") == 1
    assert "u_tri__my = u_tri__pp[omp_get_thread_num()]" in src
    assert "red_add(&u_tri__my[" in src
    assert 'cfg.i64("relabel")' in src and "unrelabel(u_tri" in src


def test_merge_work_is_smaller_in_degree_order_and_symmetry_is_measured():
    g = cs.Graph.kronecker(10, seed=0)
    st = GraphStats.of(g)
    assert st.symmetric
    assert st.merge_work("degree") < st.merge_work("id")
    d = cs.Graph.from_edges([0, 1], [1, 2], num_nodes=3)
    assert not GraphStats.of(d).symmetric


def test_planner_relabels_tc_on_one_blade_only():
    g = cs.Graph.kronecker(10, seed=0)
    kf = example("tc")
    one = make_plan(kf, load_manifest(SINGLE), g, fpga=no_fpga)
    (c,) = [c for c in one.choices if c.what == "relabel"]
    assert c.chosen == "degree order"
    two = make_plan(kf, load_manifest(os.path.join(ROOT, "manifests", "pair.yaml")), g,
                    fpga=no_fpga, fixed={"blades": 2})
    (c,) = [c for c in two.choices if c.what == "relabel"]
    assert c.chosen == "as given" and "2 blades" in c.reason
    pr = make_plan(example("pagerank"), load_manifest(SINGLE), g, fpga=no_fpga)
    assert not [c for c in pr.choices if c.what == "relabel"]


@pytest.mark.parametrize("blades,manifest", [(1, "single.yaml"), (2, "pair.yaml"),
                                              (4, "rack16.yaml")])
def test_tc_merge_equals_interpreter_and_networkx(blades, manifest):
    g = cs.Graph.kronecker(9, seed=3)
    sim = simulate(example("tc"), load_manifest(os.path.join(ROOT, "manifests", manifest)), g,
                   {}, blades=blades, threads=2, timeout=300)
    assert "blades == networkx: ok" in sim.checks
    assert any("IR interpreter: ok" in c for c in sim.checks)
    relabelled = any(c.what == "relabel" and c.chosen == "degree order"
                     for c in sim.plan.choices)
    assert relabelled == (blades == 1)
    count, tri = sim.results
    want_count, want_tri = nxref.tc(g)
    assert int(count) == want_count
    np.testing.assert_array_equal(tri, want_tri)


def test_pull_gather_accumulates_in_a_register_and_stays_exact():
    kv, _ = variant(example("pagerank").ir, "pull")
    src = emit_program(projection.apply(kv).kernel, "examples/pagerank.py")
    assert "gathered in a register" in src
    g = cs.Graph.kronecker(9, seed=2)
    for blades, manifest in ((1, "single.yaml"), (2, "pair.yaml"), (4, "rack16.yaml")):
        sim = simulate(example("pagerank"), load_manifest(os.path.join(ROOT, "manifests",
                                                                       manifest)),
                       g, {}, blades=blades, variant="pull", threads=2, timeout=300)
        assert any("IR interpreter: ok" in c for c in sim.checks), sim.checks


PR_PULL = """
    @cs.kernel
    def prpull(g: cs.Graph, alpha: float = 0.85, iters: int = 12) -> cs.NodeArray:
        n = g.num_nodes()
        rank = g.node_array(cs.f64, 1.0 / n)
        acc = g.node_array(cs.f64, 0.0)
        for it in range(iters):
            for u in g.nodes():
                acc[u] = 0.0
                for e in g.in_edges(u):
                    acc[u] += rank[e.src] / g.out_degree(e.src)
            for v in g.nodes():
                rank[v] = (1.0 - alpha) / n + alpha * acc[v]
        return rank
    """


def test_contrib_precomputes_a_pull_division_exactly(tmp_path):
    from cosynth.ir.interp import interpret
    from tests.helpers import random_graphs, same
    kf, _ = kernel_from_source(tmp_path, PR_PULL)
    kv, done = variant(kf.ir, "par")
    assert [r.rule for r in done].count("contrib") == 1 and done[-1].exact
    for _, g in random_graphs(6, seed=3):
        args = kf.bind(g)
        assert same(interpret(kv, g, args), interpret(kf.ir, g, args))  # bit for bit
    sim = simulate(kf, load_manifest(os.path.join(ROOT, "manifests", "pair.yaml")),
                   cs.Graph.kronecker(8, seed=1), {}, blades=2, variant="par", threads=1,
                   timeout=300)
    assert any("IR interpreter: ok" in c for c in sim.checks), sim.checks


def test_contrib_refuses_a_guarded_or_written_source(tmp_path):
    from cosynth.frontend.rewrite import contrib
    from cosynth.frontend.rewrite.core import loops
    src = PR_PULL.replace("acc[u] += rank[e.src] / g.out_degree(e.src)",
                          "acc[u] += rank[e.src] / g.out_degree(e.src)\n"
                          "                    rank[u] = 0.5")
    kf, _ = kernel_from_source(tmp_path, src)
    kv, done = variant(kf.ir, "seq")
    for p, loop in loops(kv):
        if contrib.applies_to(loop):
            r = contrib.apply(kv, p)
            assert not r.applied
