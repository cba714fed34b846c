"""Runs of a relaxed fixed point's while loop on sharded blades (``GraphStats.supersteps``,
``workload.at_blades``): counted on the fixed point, equal to what the blades measure."""

from __future__ import annotations

import os

import numpy as np
import pytest

import cosynth as cs
from cosynth.loader import load_kernels
from cosynth.pipeline import simulate
from cosynth.planner import load_manifest
from cosynth.planner.stats import GraphStats
from tests.helpers import EXAMPLES, ROOT

RACK = load_manifest(os.path.join(ROOT, "manifests", "rack16.yaml"))


def test_one_blade_drains_in_one_run_and_confirms_in_another():
    g = cs.Graph.kronecker(10, seed=1)
    st = GraphStats.of(g)
    assert st.supersteps("weighted", [(0, g.n)]) == 2
    assert st.supersteps("labels", [(0, g.n)]) == 2
    # an in-place pass in vertex order needs more runs than draining to the fixed point
    assert st.supersteps("weighted", [(0, g.n)], (1,)) > 2


@pytest.mark.parametrize("kind", ["weighted", "labels"])
def test_the_one_blade_shortcut_equals_the_count_on_the_fixed_point(kind):
    """One blade draining its frontier is answered without walking the fixed point; the
    walk (``_exchange_runs``) gives the same, with and without something to move."""
    from cosynth.planner.stats import _exchange_runs
    lonely = cs.Graph.from_edges([0, 1], [0, 2], weight=[1.0, 1.0], num_nodes=3)
    for g in (cs.Graph.kronecker(9, seed=3), lonely):
        st = GraphStats.of(g)
        st._relaxed(kind)
        src = int(g.out_degrees().argmax()) if kind == "weighted" else None
        walked = _exchange_runs(g, kind, st._cuts[("values", kind)], src,
                                np.zeros(g.n, dtype=np.int64), np.zeros(1, dtype=np.int64))
        assert st.supersteps(kind, [(0, g.n)]) == walked


def test_a_path_across_blades_crosses_one_boundary_per_run():
    """0 -> 1 -> 2 -> 3 with vertices on alternating blades: three crossings, the last
    one's value arrives at the third exchange, a fourth run confirms."""
    g = cs.Graph.from_edges([0, 1, 2], [1, 2, 3], weight=[1.0, 1.0, 1.0], num_nodes=4)
    st = GraphStats.of(g)
    ranges = [(0, 1), (1, 2), (2, 3), (3, 4)]
    assert st.supersteps("weighted", ranges) == 4
    assert st.supersteps("weighted", [(0, 2), (2, 4)]) == 3


@pytest.mark.parametrize("name,blades", [("sssp_int", 2), ("sssp_int", 4), ("cc", 2),
                                         ("cc", 4)])
def test_planned_runs_equal_the_measured_runs(name, blades):
    g = cs.Graph.kronecker(12, seed=1)
    k = load_kernels(f"{EXAMPLES}/{'cc' if name == 'cc' else 'sssp'}.py")[name]
    args = {} if name == "cc" else {"source": int(np.argmax(g.out_degrees()))}
    sim = simulate(k, RACK, g, args, blades=blades, variant="async", timeout=300,
                   fpga=False, threads=1)
    rows = [r for b in sim.predicted for r in b["nests"] if r["measured_runs"] > 1]
    assert rows
    for r in rows:
        assert r["predicted_runs"] == r["measured_runs"], r
