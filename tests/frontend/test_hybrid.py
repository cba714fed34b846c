"""Rule ``hybrid``: push or pull per execution of a frontier loop.  Where it applies, and
the hybrid BFS equals the interpreter's plain BFS and networkx (interpreter and C++)."""

from __future__ import annotations

import os

import numpy as np
import pytest

import cosynth as cs
from cosynth import nxref
from cosynth.frontend.rewrite import hybrid, variant
from cosynth.frontend.rewrite.core import loops
from cosynth.ir.interp import interpret
from cosynth.ir.nodes import If, Loop
from cosynth.pipeline import simulate
from cosynth.planner import load_manifest
from tests.helpers import ROOT, example, random_graphs


def _tried(name):
    kv, _ = variant(example(name).ir, "par")
    return [hybrid.apply(kv, p) for p, loop in loops(kv)
            if hybrid.applies_to(loop) and loop.schedule != "seq"]


def test_bfs_frontier_loop_becomes_a_per_superstep_choice():
    kv, done = variant(example("bfs").ir, "hybrid")
    assert [r.rule for r in done].count("hybrid") == 1
    (loop,) = [s for s in kv.body if isinstance(s, Loop) and s.kind == "while"]
    (choose,) = [s for s in loop.body if isinstance(s, If)]
    pull, push = choose.then[0], choose.orelse[0]
    assert isinstance(pull, Loop) and pull.body[0].kind == "in_edges"
    assert isinstance(push, Loop) and push.body[0].then[0].kind == "out_edges"
    assert "pull when" in done[-1].reason


@pytest.mark.parametrize("name,why", [
    ("bc", "saturate"),  # its backward sweep adds: pull would scan every in-edge
    ("cc", "guard"),  # no vertex guard around the edge loops
    ("sssp", "guard"),
    ("pagerank", "guard"),
])
def test_refused_where_direction_or_saturation_fails(name, why):
    rs = _tried(name)
    assert rs and not any(r.applied for r in rs)
    assert any(why in r.reason for r in rs), [r.reason for r in rs]


def test_hybrid_bfs_interpreted_equals_networkx_on_random_graphs():
    k = example("bfs")
    kv, _ = variant(k.ir, "hybrid")
    graphs = [g for _, g in random_graphs(12, seed=5)] + [cs.Graph.kronecker(8, seed=1)]
    for g in graphs:
        for s in {0, g.n - 1, int(np.argmax(g.out_degrees()))}:
            (got,) = interpret(kv, g, k.bind(g, source=s))
            np.testing.assert_array_equal(got, nxref.bfs(g, s))


def test_hybrid_bfs_blades_equal_interpreter_and_networkx():
    rack = load_manifest(os.path.join(ROOT, "manifests", "rack16.yaml"))
    k = example("bfs")
    for g in (cs.Graph.kronecker(9, seed=3), cs.Graph.from_edges([0, 1, 2], [1, 2, 0],
                                                                   num_nodes=6)):
        for blades in (1, 2):
            sim = simulate(k, rack, g, {"source": 0}, blades=blades, variant="hybrid",
                           threads=2, timeout=120)
            assert len(sim.checks) == 2, sim.checks
            assert sim.checks[0].startswith("blades == IR interpreter: ok (the kernel as")
            assert sim.checks[1] == "blades == networkx: ok"
