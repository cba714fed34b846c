"""The planner profiles each variant with the run's bound arguments: a bool argument
that guards an edge loop decides which loops the run walks, so the plan's prediction must
count only those (k-core's ``use_in_edges``)."""

from __future__ import annotations

import os

import cosynth as cs
from cosynth.backends.rtl.costs import fpga_profile
from cosynth.frontend.rewrite import variant
from cosynth.planner import GraphStats, load_manifest, make_plan
from cosynth.planner.workload import profile
from tests.helpers import ROOT, example

SINGLE = os.path.join(ROOT, "manifests", "single.yaml")


def _edges(w) -> float:
    return sum(n.runs * n.edges for n in w.nests)


def test_the_plan_counts_the_edge_loops_its_arguments_walk():
    """With ``use_in_edges=False`` k-core's peel walks out-edges only; with True both
    directions: the planned makespan of the first must be the smaller one, as the profiles
    taken with those arguments say.  Fails when the planner profiles without the arguments
    (both loops counted either way: equal makespans)."""
    man = load_manifest(SINGLE)
    g = cs.Graph.kronecker(11, seed=0)
    kf = example("kcore")
    fixed = {"variant": "par"}
    out_only = make_plan(kf, man, g, {"use_in_edges": False}, fpga=fpga_profile, fixed=fixed)
    both = make_plan(kf, man, g, {"use_in_edges": True}, fpga=fpga_profile, fixed=fixed)
    assert out_only.predicted["makespan_s"] < both.predicted["makespan_s"]
    st = GraphStats.of(g)
    kv, _ = variant(kf.ir, "par")
    w_out = profile(kv, "par", st, kf.bind(g, use_in_edges=False), fpga=fpga_profile)
    w_both = profile(kv, "par", st, kf.bind(g, use_in_edges=True), fpga=fpga_profile)
    assert _edges(w_out) < _edges(w_both)
