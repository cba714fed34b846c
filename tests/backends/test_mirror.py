"""Mirrored edge loops (``frontend/rewrite/mirror.py``, ``backends/cpp/loops.py``): on a
blade whose rows are symmetric, CC's in-edge loop (a copy of its out-edge loop there) is
skipped, so a sweep visits each vertex's edges once; on any other graph it runs.  Results
equal the kernel as written (interpreter) and the reference either way, on 1 and 2
blades, for undirected, directed and multigraphs."""

from __future__ import annotations

import os

import numpy as np
import pytest

import cosynth as cs
from cosynth.backends.cpp.emit import emit_program
from cosynth.frontend.rewrite import variant
from cosynth.pipeline import simulate
from cosynth.planner import load_manifest
from tests.helpers import ROOT, example

RACK = load_manifest(os.path.join(ROOT, "manifests", "rack16.yaml"))


def _run(g, blades):
    sim = simulate(example("cc"), RACK, g, {}, blades=blades, variant="async", timeout=300,
                   fpga=False)
    assert any("IR interpreter: ok" in c for c in sim.checks), sim.checks
    assert any(c.startswith("blades ==") and c.endswith(": ok") and "interpreter" not in c
               for c in sim.checks), sim.checks
    return sim


def _relaxed_nest(sim) -> tuple[int, int]:
    """(edges, vertices) visited by the relaxed nest, summed over the blades."""
    nests = [max(s["nests"].values(), key=lambda x: x["edges"]) for s in sim.stats]
    return sum(x["edges"] for x in nests), sum(x["nodes"] for x in nests)


def _ring(n: int, directed: bool):
    v = np.arange(n)
    return cs.Graph.from_edges(v, (v + 1) % n, num_nodes=n, directed=directed)


def test_the_generated_code_skips_only_cc_s_in_edge_copy():
    cc, _ = variant(example("cc").ir, "async")
    src = emit_program(cc, "cc.py")
    assert src.count("if (!g_mirrored) {") == 1
    assert "const bool g_mirrored = G.mirrored();" in src
    sssp, _ = variant(example("sssp").ir, "async")
    assert "g_mirrored" not in emit_program(sssp, "sssp.py")


def test_a_symmetric_graph_visits_each_edge_once_per_vertex_visit():
    # every vertex of an undirected ring has 2 out- and the same 2 in-edges: a vertex
    # visit reads 2 edges when the in-edge copy is skipped, 4 when it runs
    sim = _run(_ring(96, directed=False), blades=1)
    edges, visits = _relaxed_nest(sim)
    assert visits > 0 and edges == 2 * visits
    assert (sim.results[0] == 0).all()


def test_a_directed_graph_runs_the_in_edge_loop():
    # a directed ring: 1 out- and 1 in-edge per vertex, rows differ, both loops run
    sim = _run(_ring(96, directed=True), blades=1)
    edges, visits = _relaxed_nest(sim)
    assert visits > 0 and edges == 2 * visits


@pytest.mark.parametrize("case", ["kron", "directed-multi", "symmetric-directed-multi"])
def test_results_equal_the_kernel_on_two_blades(case):
    rng = np.random.default_rng(7)
    if case == "kron":
        g = cs.Graph.kronecker(9, seed=3)
    else:
        u, v = rng.integers(0, 300, 500), rng.integers(0, 300, 500)
        u, v = np.concatenate([u, u[:40]]), np.concatenate([v, v[:40]])  # parallel edges
        if case == "symmetric-directed-multi":  # every edge's reverse, as often
            u, v = np.concatenate([u, v]), np.concatenate([v, u])
        g = cs.Graph.from_edges(u, v, num_nodes=320, directed=True)
    sim = _run(g, blades=2)
    edges, _ = _relaxed_nest(sim)
    assert edges > 0
