"""A guarded scalar reduction in a parallel node loop is emitted as a select of its value
and the reduction's identity, not as a branch (``stmts._select_reduction``), only where
the value cannot fail and reads the loop's own vertex; the compiled blades equal the
kernel as written."""

from __future__ import annotations

import os

import networkx as nx

import cosynth as cs
from cosynth.backends.cpp.emit import emit_program
from cosynth.frontend.rewrite import projection, variant
from cosynth.pipeline import simulate
from cosynth.planner import load_manifest
from tests.helpers import ROOT, example, kernel_from_source

SELECT = "a select, not a branch"

GUARDED = """
    @cs.kernel
    def guarded(g: cs.Graph) -> tuple:
        x = g.node_array(cs.f64, 0.0)
        for v in g.nodes():
            x[v] = 1.0 / (1.0 + v)
        s = 0.0
        lo = 1e300
        q = 0
        for v in g.nodes():
            if g.out_degree(v) == 0:
                s += x[v]
            if g.in_degree(v) > 1:
                lo = min(lo, x[v] * 2.0)
            if g.out_degree(v) > 0:
                q += 100 // g.out_degree(v)
        return s, lo, q
    """


def _cpp(kf, v: str) -> str:
    kv, _ = variant(kf.ir, v)
    return emit_program(projection.apply(kv).kernel, "guarded.py")


def test_only_a_value_that_cannot_fail_is_evaluated_unguarded(tmp_path):
    src = _cpp(example("pagerank"), "pull")
    assert src.count(SELECT) == 1  # the dangling sum
    assert "if (((int64_t)(G.out_deg[(u_v - G.glo)]) == (int64_t)(INT64_C(0))))" not in src
    kf, _ = kernel_from_source(tmp_path, GUARDED)
    src = _cpp(kf, "par")
    assert src.count(SELECT) == 2  # s and lo; q's // may fail (by zero): still a branch
    assert "if (((int64_t)(G.out_deg[(u_v - G.glo)]) > (int64_t)(INT64_C(0))))" in src


def test_selected_reductions_equal_the_interpreter(tmp_path):
    kf, _ = kernel_from_source(tmp_path, GUARDED)
    man = load_manifest(os.path.join(ROOT, "manifests", "single.yaml"))
    G = nx.gnp_random_graph(60, 0.05, seed=7, directed=True)
    for g in (cs.Graph.from_networkx(G), cs.Graph.kronecker(8, seed=2)):
        sim = simulate(kf, man, g, {}, blades=1, variant="par", threads=2, timeout=300)
        assert any("IR interpreter: ok" in c for c in sim.checks), sim.checks
