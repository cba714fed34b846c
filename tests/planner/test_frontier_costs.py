"""The cost model of frontier steps: the BFS level profile (``GraphStats.level_profile``),
the early exit of a saturating pull step, and the ``hybrid`` choice splitting the
supersteps between its branches, so that the planner itself picks ``hybrid`` for BFS.
Predicted costs are compared, never wall time."""

from __future__ import annotations

import os

import numpy as np
import pytest

import cosynth as cs
from cosynth.backends.rtl.costs import fpga_profile
from cosynth.frontend.rewrite import variant
from cosynth.pipeline import simulate
from cosynth.planner import PLAN_VARIANTS, GraphStats, load_manifest, make_plan
from cosynth.planner.cost import Config, evaluate, predict_nests
from cosynth.planner.workload import no_fpga, profile
from tests.helpers import ROOT, example

SINGLE = os.path.join(ROOT, "manifests", "single.yaml")


def test_level_profile_counted_by_hand():
    """0 -> 1, 0 -> 2, 1 -> 3, 2 -> 3, 3 -> 4, 5 -> 4 (5 unreachable from 0)."""
    src, dst = [0, 0, 1, 2, 3, 5], [1, 2, 3, 3, 4, 4]
    g = cs.Graph.from_edges(src, dst, num_nodes=6)
    st = GraphStats.of(g)  # from the highest-degree vertex: 0 (out-degree 2)
    assert st.levels == 4
    p = st.level_profile
    assert p.push == (2.0, 2.0, 1.0, 0.0)  # out-edges of depth 0, 1, 2, 3
    # in-edges of vertices deeper than L (vertex 5 has none): 6, 4, 2, 0
    assert p.unvisited_in == (6.0, 4.0, 2.0, 0.0)
    # L = 0: 3 and 4 scan all (2 + 2), 1 and 2 stop at their only in-edge (1 + 1)
    # L = 1: 4 scans both; 3 has 2 parents among 2 in-edges: (2 + 1) / (2 + 1) = 1
    # L = 2: 4 has 1 parent (3) among 2 in-edges: (2 + 1) / (1 + 1) = 1.5
    assert p.pull == (6.0, 3.0, 1.5, 0.0)


def test_level_profile_agrees_with_levels_on_kronecker():
    g = cs.Graph.kronecker(10, seed=2)
    st = GraphStats.of(g)
    p = st.level_profile
    assert len(p.push) == len(p.pull) == len(p.unvisited_in) == st.levels
    indeg = np.bincount(g.out_dst, minlength=g.n)
    assert p.unvisited_in[0] == g.m - indeg[int(np.argmax(g.out_degrees()))]
    assert all(a >= b for a, b in zip(p.unvisited_in, p.unvisited_in[1:]))
    # the early exit never visits more than every unvisited vertex's in-edges
    assert all(pl <= u + 1e-9 for pl, u in zip(p.pull, p.unvisited_in))


def _costs(name, scale, man):
    g = cs.Graph.kronecker(scale, seed=0)
    st = GraphStats.of(g, f"kron-{scale}")
    out, work = {}, {}
    for v in ("par", "pull", "hybrid"):
        kv, _ = variant(example(name).ir, v)
        w = work[v] = profile(kv, v, st, fpga=no_fpga)
        out[v] = evaluate(Config(v, (1,), (False,), (1.0,)), w, st, man).makespan
    return out, work, st


def test_early_exit_and_per_superstep_choice_in_the_workload():
    man = load_manifest(SINGLE)
    cost, work, st = _costs("bfs", 12, man)
    p = st.level_profile
    # pull: one nest at every level, with the early exit's edges
    (pull,) = work["pull"].nests
    assert pull.runs == st.levels and pull.edges == pytest.approx(sum(p.pull) / st.levels)
    assert pull.edges * st.levels < st.m  # without the early exit: m at every level
    # hybrid: the counting nest at every level; the branches split the levels
    count, pull_b, push_b = work["hybrid"].nests
    assert count.edges == 0 and count.runs == st.levels
    assert pull_b.runs + push_b.runs == st.levels
    chosen = [L for L in range(st.levels) if p.push[L] * 14 > p.unvisited_in[L]
              and p.width[L] * 24 > st.n]  # Beamer's alpha and beta
    assert pull_b.runs == len(chosen) >= 1 and push_b.runs >= 1  # push first, then pull
    assert pull_b.runs * pull_b.edges == pytest.approx(sum(p.pull[L] for L in chosen))
    # the level queue: the counting and push nests visit the frontier, the pull nest all
    # (the first count passes over every vertex)
    assert count.nodes == pytest.approx((st.n + sum(p.width[1:])) / st.levels)
    others = [L for L in range(st.levels) if L not in chosen]
    assert push_b.nodes == pytest.approx(sum(p.width[L] for L in others) / len(others))
    assert pull_b.nodes == st.n and sum(p.width) <= st.n
    assert work["hybrid"].parallel_edges < min(work["par"].parallel_edges,
                                               work["pull"].parallel_edges)
    assert cost["hybrid"] < cost["pull"] < cost["par"]


def test_no_hybrid_choice_elsewhere_leaves_other_kernels_as_par():
    """Where the rule does not apply, ``hybrid`` is ``par``'s program: the same costs."""
    man = load_manifest(SINGLE)
    cost, work, _ = _costs("sssp", 10, man)
    assert cost["hybrid"] == cost["par"]
    assert "hybrid" in PLAN_VARIANTS


@pytest.mark.parametrize("scale", [12, 13])
def test_planner_picks_hybrid_for_bfs_and_its_run_checks(scale):
    man = load_manifest(SINGLE)
    g = cs.Graph.kronecker(scale, seed=0)
    args = {"source": int(np.argmax(g.out_degrees()))}
    plan = make_plan(example("bfs"), man, g, args, fpga=fpga_profile)
    assert plan.variant == "hybrid"
    (why,) = [c for c in plan.choices if c.what == "variant"]
    assert why.alternative in ("pull", "par", "async") and \
        why.alternative_makespan_s > plan.predicted["makespan_s"]
    if scale == 12:  # the chosen program on a blade equals the interpreter and networkx
        sim = simulate(example("bfs"), man, g, args, blades=1, threads=2, timeout=300)
        assert sim.plan.variant == "hybrid"
        assert [c.split(":")[1].strip().split()[0] for c in sim.checks] == ["ok", "ok"]


def test_hybrid_nests_of_one_line_predicted_as_the_blade_measures_them():
    """The count, pull and push loops share the source line the blade program reports
    them under (summed): the prediction sums them too.  Recorded on this kron-12 run
    (``simulate(bfs, single, kron-12 seed 0, source = highest degree, blades=1)``, the
    nest of line 19): 8 runs, 3641 edges, 15671 vertex visits (the level queue: the
    first count and the pull step over every vertex, the rest over the frontier)."""
    man = load_manifest(SINGLE)
    _, work, st = _costs("bfs", 12, man)
    rows = predict_nests(work["hybrid"], man.kinds[0], 1, 1.0, 1.0)
    (row,) = rows.values()
    assert row["runs"] == 8 == 2 * st.levels
    assert row["edges"] == pytest.approx(3641, rel=0.05)
    assert row["nodes"] == pytest.approx(15671, rel=0.05)
