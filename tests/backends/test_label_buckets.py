"""A label fixed point (``examples/cc.py``: min-label propagation) whose frontier the
planner buckets by label in bins of doubling width (``planner.workload.
choose_label_delta``, the runtime's ``Frontier::logkeys``): the least label floods its
component first, so each vertex runs about once, and the labels equal the kernel as
written (interpreter) and the reference, on 1 and 2 blades."""

from __future__ import annotations

import os

import numpy as np
import pytest

import cosynth as cs
from cosynth.pipeline import simulate
from cosynth.planner import load_manifest, workload
from tests.helpers import ROOT, example

RACK = load_manifest(os.path.join(ROOT, "manifests", "rack16.yaml"))
SINGLE = load_manifest(os.path.join(ROOT, "manifests", "single.yaml"))


def _checked(sim):
    assert any("IR interpreter: ok" in c for c in sim.checks), sim.checks
    assert any(("networkx" in c or "scipy" in c) and "ok" in c for c in sim.checks), sim.checks


def _visits(sim) -> int:
    """Vertex visits of the relaxed nest (examples/cc.py line 20) over all blades (the
    blades' own count)."""
    return sum(s["nests"]["20"]["nodes"] for s in sim.stats)


def _reversed_path(n: int) -> cs.Graph:
    """0 - (n-1) - (n-2) - ... - 1, undirected: in vertex order each vertex runs before
    the least label (0) reaches it, so an in-place sweep in vertex order carries 0 one
    hop back per pass; lowest label first carries it along in one."""
    a = np.array([0] + list(range(n - 1, 1, -1)))
    b = np.array(list(range(n - 1, 0, -1)))
    return cs.Graph.from_edges(np.concatenate([a, b]), np.concatenate([b, a]), num_nodes=n,
                               directed=False)


@pytest.mark.parametrize("blades", [1, 2])
def test_lowest_label_first_runs_each_vertex_once(blades, monkeypatch):
    g = _reversed_path(300)
    monkeypatch.setattr(workload, "ROUND_EDGES", 1.0)  # rounds priced near nothing
    monkeypatch.setattr(workload, "choose_label_delta", lambda *a: 1.0)
    sim = simulate(example("cc"), RACK, g, {}, blades=blades, variant="async", timeout=300)
    assert sim.plan.predicted["delta"] == 1.0 and sim.plan.predicted["keyed"] is False
    assert sim.plan.predicted["logkeys"] is True
    _checked(sim)
    assert (sim.results[0] == 0).all()
    bucketed = _visits(sim)
    monkeypatch.setattr(workload, "choose_label_delta", lambda *a: None)
    sim = simulate(example("cc"), RACK, g, {}, blades=blades, variant="async", timeout=300)
    assert "delta" not in sim.plan.predicted
    _checked(sim)
    one_bin = _visits(sim)
    assert one_bin >= g.n * 1.5 and bucketed < one_bin, (bucketed, one_bin)
    if blades == 1:  # on 2 blades each blade's own least label floods its half first,
        # and 0 floods the far half again after the exchange (about 2n either way)
        assert bucketed <= g.n * 1.1, (bucketed, one_bin)


def test_the_planner_buckets_labels_lowest_first():
    """kron-14: bins of doubling width from 1 (15 bins for 16,384 labels), chosen by the
    model's edges and rounds against one bin."""
    from cosynth.backends.rtl.costs import fpga_profile
    from cosynth.planner import make_plan
    p = make_plan(example("cc"), SINGLE, cs.Graph.kronecker(14, seed=0), {},
                  fpga=fpga_profile)
    assert p.predicted["delta"] == 1.0 and p.predicted["keyed"] is False
    assert p.predicted["logkeys"] is True


# a slow case: the default suite's cold CI run was 541 s of its 480
@pytest.mark.parametrize("blades", [1, pytest.param(2, marks=pytest.mark.slow)])
def test_kron_labels_bucketed_by_the_planner_equal_the_kernel(blades):
    g = cs.Graph.kronecker(14, seed=3)
    sim = simulate(example("cc"), RACK, g, {}, blades=blades, variant="async", timeout=300)
    assert sim.plan.predicted["delta"] == 1.0 and sim.plan.predicted["logkeys"] is True
    _checked(sim)
    if blades == 1:  # each vertex about once (on 2 blades the far half runs again)
        assert _visits(sim) <= g.n * 1.1
