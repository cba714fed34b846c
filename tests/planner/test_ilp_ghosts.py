"""The ILP's DRAM constraint counts a blade as the plan's memory model does: the fullest
of P edge-balanced blades, its ghosts counted on the graph at the bytes a ghost costs at
P blades (``planner.memory.Footprint.per_ghost(n, m, P)``), not the cut-edge bound at a
2-blade message size, which overstated a blade's ghosts and refused plans that fit."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest

import cosynth as cs
from cosynth.frontend.rewrite import variant
from cosynth.planner import PLAN_VARIANTS, load_manifest
from cosynth.planner.ilp import solve
from cosynth.planner.memory import id_bytes
from cosynth.planner.partition import Problem
from cosynth.planner.stats import GraphStats
from cosynth.planner.workload import no_fpga, profile
from tests.helpers import ROOT, example

G = cs.Graph.kronecker(12, seed=1)
STATS = GraphStats.of(G, "kron-12")


def _problem(name: str, dram: float | None = None) -> Problem:
    """``name``'s plan variants on eight identical CPU blades (rack16's CPU kind)."""
    man = load_manifest(os.path.join(ROOT, "manifests", "rack16.yaml"))
    kind = replace(man.kinds[0], count=8)
    if dram is not None:
        kind = replace(kind, dram_bytes=dram)
    work = {}
    for v in PLAN_VARIANTS:
        kv, _ = variant(example(name).ir, v)
        work[v] = profile(kv, v, STATS, fpga=no_fpga)
    return Problem(replace(man, kinds=(kind,)), STATS, work)


def _ilp_dram(p: Problem, fixed: dict) -> tuple[str, float, object]:
    """(variant, the per-blade bytes the ILP's DRAM constraint gives the chosen variant
    at its solution, the plan's estimate): the constraint's left side evaluated with the
    solver's values."""
    prob = p.build(fixed)
    res = solve(prob, "cbc", 20)
    assert res.status == "optimal"
    res.objective = res.objective * p.t_ref
    cfg = p.decode(res)
    c = prob.constraints[f"dram_0_{cfg.variant}"]
    # pulp keeps `lhs <= cap` as `lhs - cap <= 0`, in GiB
    lhs = sum(coef * res.values[var.name] for var, coef in c.items()) + c.constant + \
        p.man.kinds[0].dram_bytes / 2**30
    est = p.solve("cbc", 20, fixed).estimate
    assert est.config == cfg
    return cfg.variant, lhs * 2**30, est


@pytest.mark.parametrize("name", ["sssp", "cc"])
def test_ilp_dram_at_8_blades_is_the_plans(name):
    p = _problem(name)
    v, ilp, est = _ilp_dram(p, {"blades": 8})
    wl, st = p.work[v], p.stats
    assert wl.sharded and (wl.ghost_out or wl.ghost_in)
    ghosts = st.ghosts_of(est.ranges, wl.ghost_out, wl.ghost_in)
    assert max(ghosts) < st.ghost_bound(8, int(wl.ghost_out) + int(wl.ghost_in))
    # the ILP's figure is the plan's largest blade: memory.py's bytes for its range,
    # ghosts (at 8 blades' bytes per ghost) and edges, plus the process
    assert ilp == pytest.approx(max(b["dram"] for b in est.per_blade), rel=1e-9)
    top = max(range(8), key=lambda r: est.per_blade[r]["dram"])
    lo, hi = est.ranges[top]
    assert est.per_blade[top]["dram_data"] == pytest.approx(wl.memory.blade_bytes(
        st.n, st.m, hi - lo, ghosts[top], st.edges_in(lo, hi) / st.m, sharded=True,
        blades=8), rel=1e-12)
    # every ghost's bytes but a send-list id (kron at 8 blades: the send sets are bitmaps)
    each = wl.memory.per_ghost(st.n, st.m, 8) - id_bytes(st.n, st.m, False)
    assert p.excess(wl, 8) >= ghosts[top] * each * 0.9


def test_a_plan_the_old_ghost_bound_refused_is_found():
    name = "sssp"
    roomy = _problem(name)
    v, _, est = _ilp_dram(roomy, {"blades": 8})
    wl, st = roomy.work[v], roomy.stats
    need = max(b["dram"] for b in est.per_blade)
    # the old term: the cut-edge ghost bound at a 2-blade message, in place of the
    # plan's ghosts
    ghosts = max(st.ghosts_of(est.ranges, wl.ghost_out, wl.ghost_in))
    old = need - ghosts * wl.memory.per_ghost(st.n, st.m, 8) + \
        st.ghost_bound(8, int(wl.ghost_out) + int(wl.ghost_in)) * \
        wl.memory.per_ghost(st.n, st.m, 2)
    assert old > need * 1.003
    cap = (need + old) / 2  # room for the plan, not for the old bound
    tight = _problem(name, dram=cap)
    # the same plan (streaming the edges would free room another way)
    out = tight.solve("cbc", 20, {"blades": 8, "variant": v, "streamed": est.config.streamed})
    assert out.solve.status == "optimal", out.violations
    assert not out.estimate.violations
    assert max(b["dram"] for b in out.estimate.per_blade) <= cap


@pytest.mark.slow  # two cluster64 solves (and re-solves): 20 s at load 11
def test_a_plan_whose_ranges_overflow_is_solved_again(monkeypatch):
    """cluster64 with DRAM for an eighth of PageRank's data per blade.  The ILP counts a
    blade's ghosts and range excess linearly (``excess``, at equal shares); a plan whose
    exact ranges need more than that linear figure is caught by ``evaluate`` and solved
    again with that much less DRAM.  The linear figure happens to be exact enough on
    today's graphs that the first plan fits, so the test makes the ILP's figure short on
    purpose (``excess`` counts no ghosts): the first plan must then overflow (else the
    evaluation no longer sees what the ILP leaves out) and ``solve`` must return a plan
    whose every blade fits."""
    from cosynth.backends.rtl.costs import fpga_profile
    from cosynth.planner import _workloads
    from cosynth.planner.cost import blade_fixed
    g = cs.Graph.kronecker(12, seed=0)
    stats = GraphStats.of(g)
    man = load_manifest(os.path.join(ROOT, "manifests", "cluster64.yaml"))
    work, _ = _workloads(example("pagerank").ir, stats, fpga=fpga_profile)
    one = min(w.blade_dram(stats.n, stats.m, stats.n, 0, 1.0) for w in work.values())
    man = replace(man, kinds=tuple(replace(k, dram_bytes=blade_fixed(k) + one / 8)
                                   for k in man.kinds))
    monkeypatch.setattr(Problem, "excess", lambda self, wl, P: 0.0)
    monkeypatch.setattr(Problem, "RETRIES", 0)
    first = Problem(man, stats, work).solve("cbc", 20)
    assert any("DRAM" in v for v in first.estimate.violations)
    monkeypatch.setattr(Problem, "RETRIES", 3)
    p = Problem(man, stats, work)
    out = p.solve("cbc", 20)
    assert out.solve.status == "optimal" and not out.estimate.violations
    assert p._margin and all(b["dram"] <= man.kinds[0].dram_bytes
                             for b in out.estimate.per_blade)
