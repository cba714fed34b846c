"""The per-vertex arrays a blade allocates for its run (``planner.memory``'s node tables
plus the frontier's or the level queue's bytes per owned vertex) against what the blade
measures: on one blade (no ghosts, no messages) the growth of its peak RSS from the
shard loaded ("graph" mark) to the end of the run ("run" mark) is those arrays."""

import os

import numpy as np
import pytest

import cosynth as cs
from cosynth.pipeline import simulate
from cosynth.planner import load_manifest
from cosynth.planner.memory import FRONTIER_BYTES, LEVEL_BYTES
from cosynth.planner.stats import GraphStats
from cosynth.planner.workload import no_fpga, profile
from tests.helpers import ROOT, example

RACK = load_manifest(os.path.join(ROOT, "manifests", "rack16.yaml"))


@pytest.mark.parametrize("name,variant,term", [("sssp", "async", "frontier"),
                                               ("bfs", "par", "levels")])
def test_run_arrays_per_vertex_match_the_measured_growth(name, variant, term):
    g = cs.Graph.kronecker(17, seed=1)
    src = int(np.argmax(g.out_degrees()))
    sim = simulate(example(name), RACK, g, {"source": src}, blades=1, variant=variant,
                   timeout=300, check="none")
    f = profile(sim.plan.variant_ir, variant, GraphStats.of(g), fpga=no_fpga).memory
    assert getattr(f, term) == (FRONTIER_BYTES if term == "frontier" else LEVEL_BYTES)
    marks = sim.stats[0]["rss_marks"]
    grown = marks["run"] - marks["graph"]
    model = g.n * (f.node_bytes + f.frontier + f.levels +
                   f.private * max(sim.threads - 1, 0))  # per-thread queues
    # the model's tables against the measured growth: within 25% (the 21-byte frontier
    # term this replaced predicted 29 bytes per vertex for SSSP, against about 18.5
    # measured at kron-15; BFS had no level-queue term: 8 against about 19).  kron-17, not
    # 15: the growth also holds a fixed part (code pages the run touches first, about
    # 50-100 KB with libstdc++ linked statically, and malloc's page rounding) that at
    # kron-15's 0.43 MB of tables alone moved SSSP's ratio past 25% on some runs; at
    # kron-17 it is 1.7 MB (measured 15.2-15.8 B per vertex against the model's 13)
    assert abs(model - grown) <= 0.25 * grown, (model, grown)
