"""Level frontiers in the blade program (``backends/cpp/sparse.py``): the hybrid BFS runs
its push steps and counts from the queue of vertices changed in the previous superstep and
equals the kernel as written (interpreter) and the reference on 1, 2 and 4 blades; when the
invariant does not hold on entering the while loop, every superstep scans all vertices and
the result is still the interpreter's."""

from __future__ import annotations

import os

import numpy as np
import pytest

import cosynth as cs
from cosynth import spref
from cosynth.pipeline import simulate
from cosynth.planner import load_manifest
from tests.helpers import ROOT, example, kernel_from_source

RACK = load_manifest(os.path.join(ROOT, "manifests", "rack16.yaml"))


def _cpp(workdir) -> str:
    path = next(os.path.join(r, "blade.cpp") for r, _, f in os.walk(workdir) if "blade.cpp" in f)
    with open(path) as f:
        return f.read()


def _checked(sim):
    assert any("IR interpreter: ok" in c for c in sim.checks), sim.checks


@pytest.mark.parametrize("blades", [1, 2, 4])
def test_hybrid_bfs_runs_from_the_level_queue_on_1_2_4_blades(blades, tmp_path):
    g = cs.Graph.kronecker(11, seed=4)
    src = int(np.argmax(g.out_degrees()))
    sim = simulate(example("bfs"), RACK, g, {"source": src}, blades=blades,
                   variant="hybrid", timeout=300, workdir=str(tmp_path))
    _checked(sim)
    np.testing.assert_array_equal(sim.results[0], spref.bfs(g, src))
    cpp = _cpp(tmp_path)
    assert "LevelQueue lq__" in cpp and ".counts) {" in cpp and ".push_own(" in cpp
    # the queue: far fewer vertex visits than a pass over every vertex per nest run
    nests = [x for s in sim.stats for x in s["nests"].values()]
    visits, runs = sum(x["nodes"] for x in nests), max(x["runs"] for x in nests)
    assert runs >= 6 and 0 < visits < g.n * runs / 2


def test_hybrid_bfs_from_a_vertex_without_edges(tmp_path):
    g = cs.Graph.from_edges([0, 1, 2], [1, 2, 3], num_nodes=6)
    sim = simulate(example("bfs"), RACK, g, {"source": 5}, blades=2, variant="hybrid",
                   timeout=120, workdir=str(tmp_path))
    _checked(sim)
    np.testing.assert_array_equal(sim.results[0], spref.bfs(g, 5))


ENTRY = """
import cosynth as cs
@cs.kernel
def f(g: cs.Graph, source: int, other: int) -> cs.NodeArray[cs.i64]:
    depth = g.node_array(cs.i64, cs.INF)
    depth[source] = 0
    depth[other] = 2
    level = 0
    active = True
    while active:
        active = False
        for v in g.nodes():
            if depth[v] == level:
                for e in g.out_edges(v):
                    nd = level + 1
                    if nd < depth[e.dst]:
                        depth[e.dst] = nd
                        active = True
        level += 1
    return depth
"""


@pytest.mark.parametrize("blades", [1, 2])
def test_entry_that_breaks_the_invariant_scans_every_vertex(blades, tmp_path):
    """``depth[other] = 2`` before the loop: ``other`` holds the guard at level 2 without
    having changed in level 1, so the queue would miss it (and 6, 7 stay unreached); the
    entry check sees the invariant fail and every superstep scans all vertices."""
    kf = kernel_from_source(tmp_path, ENTRY, "f")[0]
    g = cs.Graph.from_edges([0, 1, 5, 6], [1, 2, 6, 7], num_nodes=8)
    sim = simulate(kf, RACK, g, {"source": 0, "other": 5}, blades=blades, variant="hybrid",
                   timeout=120, workdir=str(tmp_path / "run"))
    _checked(sim)
    assert "LevelQueue lq__" in _cpp(tmp_path / "run")
    got = sim.results[0]
    assert got[5] == 2 and got[6] == 3 and got[7] == 4 and got[2] == 2
