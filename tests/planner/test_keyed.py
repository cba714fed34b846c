"""``planner.workload.keyed``: a bucketed relaxation's frontier runs without pending bytes
when no vertex is expected to be queued twice at one key (every weight a whole multiple
of the smallest positive one, and delta no wider than it); ``choose_delta`` prices the
pending byte's work per vertex visit for the other widths."""

from __future__ import annotations

import os

import numpy as np
import pytest

import cosynth as cs
from cosynth.backends.rtl.costs import fpga_profile
from cosynth.planner import load_manifest, make_plan, workload
from cosynth.planner.stats import GraphStats
from cosynth.planner.workload import keyed
from tests.helpers import ROOT, example


def _stats(weights) -> GraphStats:
    n = len(weights) + 1
    g = cs.Graph.from_edges(np.arange(n - 1), np.arange(1, n), weight=weights, num_nodes=n)
    return GraphStats.of(g)


@pytest.mark.parametrize("weights,delta,want", [
    ([1.0, 2.0, 255.0], 1.0, True),     # Kronecker-like whole weights at delta 1
    ([1.0, 2.0, 255.0], 2.0, False),    # wider than the granule: 2k+1 -> 2k in one bin
    ([2.0, 4.0, 6.0], 2.0, True),       # multiples of 2
    ([2.0, 4.0, 6.0], 1.0, True),       # narrower than the granule
    ([1.5, 3.0, 4.5], 1.5, True),
    ([1.0, 2.5], 1.0, False),           # 2.5 is no multiple of 1
    ([0.0, 1.0, 2.0], 1.0, False),      # a zero weight keeps a vertex's value
    ([1.0, 2.0], float("inf"), False),  # one bin: pending bytes
])
def test_keyed_when_no_vertex_is_queued_twice_at_one_key(weights, delta, want):
    assert keyed(_stats(weights), delta) is want


def test_the_plan_keys_whole_weights_at_their_granule_only(monkeypatch):
    """kron-10's few rounds favour a wide bucket (pending bytes); with rounds priced
    near nothing the planner takes delta 1 on Kronecker's whole weights, keyed, and a
    bucket with pending bytes on fractional weights."""
    single = load_manifest(os.path.join(ROOT, "manifests", "single.yaml"))
    g = cs.Graph.kronecker(10, seed=0)
    src = int(np.argmax(g.out_degrees()))
    p = make_plan(example("sssp"), single, g, {"source": src}, fpga=fpga_profile)
    assert 1.0 < p.predicted["delta"] < np.inf and p.predicted["keyed"] is False
    w = g.weights_or_ones() + 0.25  # 1.25, 2.25, ...: no whole multiples of 1.25
    h = cs.Graph.from_edges(g.edge_src, g.out_dst, weight=w, num_nodes=g.n)
    q = make_plan(example("sssp"), single, h, {"source": src}, fpga=fpga_profile)
    assert 0 < q.predicted["delta"] < np.inf and q.predicted["keyed"] is False
    monkeypatch.setattr(workload, "ROUND_EDGES", 1.0)
    g = cs.Graph.kronecker(10, seed=0)  # measured anew: the planner keeps a graph's work
    p = make_plan(example("sssp"), single, g, {"source": src}, fpga=fpga_profile,
                  variants=("async",))
    assert p.predicted["delta"] == 1.0 and p.predicted["keyed"] is True
