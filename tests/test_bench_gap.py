"""bench/bench_gap.py without running GAP: it skips cleanly when GAPBS_DIR is unset, reads
GAP's report lines, and writes edge lists GAP can read (each undirected edge once)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import cosynth as cs
from tests.helpers import ROOT

sys.path.insert(0, os.path.join(ROOT, "bench"))
import bench_gap  # noqa: E402


def test_skips_with_a_message_without_gapbs_dir():
    env = {k: v for k, v in os.environ.items() if k != "GAPBS_DIR"}
    r = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "bench_gap.py")],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0 and "skipped: set GAPBS_DIR" in r.stdout


def test_reads_gap_report_lines():
    out = ("Trial Time:          0.01000\nBFS Tree has 7 nodes and 9 edges\n"
           "Trial Time:          0.00500\n")
    assert bench_gap.gap_bfs_reached(out) == 7
    assert min(float(x) for x in ["0.01000", "0.00500"]) == 0.005
    comp = "\n3 biggest clusters\n4:10\n0:3\n9:1\nThere are 3 components\n"
    assert bench_gap.gap_components(comp) == (3, [10, 3, 1])
    assert bench_gap.gap_triangles("Trial Time: 1\n42 triangles\n") == 42
    pr = ("    0              0.50000\n    1              0.10000\nTrial Time: 0.1\n"
          "    0              0.50000\n    1              0.10000\nTrial Time: 0.1\n"
          "3:0.25\n1:0.125\n")
    assert bench_gap.gap_pr(pr, 2) == (2, [3, 1])


def test_edge_lists_hold_each_undirected_edge_once(tmp_path):
    g = cs.Graph.kronecker(6, seed=2)
    el, wel = bench_gap.write_edge_lists(g, str(tmp_path / "k6"))
    e = np.loadtxt(el, dtype=np.int64, ndmin=2)
    w = np.loadtxt(wel, dtype=np.int64, ndmin=2)
    assert len(e) == g.m // 2 and np.all(e[:, 0] < e[:, 1])
    assert np.array_equal(w[:, :2], e) and np.all((w[:, 2] >= 1) & (w[:, 2] <= 255))
    back = cs.Graph.from_edges(e[:, 0], e[:, 1], w[:, 2], num_nodes=g.n, directed=False)
    assert np.array_equal(back.out_dst, g.out_dst) and np.array_equal(back.weight, g.weight)


def test_trials_reach_the_least_count_and_the_seconds_within_the_cap():
    p = bench_gap.Trials(least=10, seconds=1.0, most=100)
    assert p.more([]) == 10
    assert p.more([0.005] * 10) == 90  # 5 ms kernels: 1 s needs 200, capped at 100
    assert p.more([0.02] * 10) == 40  # 20 ms: 50 trials make 1 s
    assert p.more([0.5] * 10) == 0  # the least count already holds 5 s
    assert p.more([0.005] * 100) == 0
    assert p.more([2.0] * 3) == 7  # a slow kernel still runs the least count
    with pytest.raises(SystemExit):
        bench_gap.Trials(least=0)
    s = bench_gap.summary([0.3, 0.1, 0.2, 0.9])
    assert s["s"] == 0.1 and s["median_s"] == 0.25 and s["trials"] == [0.3, 0.1, 0.2, 0.9]


def test_reads_the_source_gap_logs():
    out = "Source:               75061\n   td  25374  0.00025\nTrial Time: 0.1\n" \
          "Source:               75061\nTrial Time: 0.1\n"
    assert bench_gap.gap_sources(out) == {75061}
    assert bench_gap.gap_sources("Trial Time: 0.1\n") == set()


def test_pagerank_iterations_are_the_while_loops_runs():
    """After ``rotate`` the pull form runs its contribution nest once before the while:
    the least-run nest (1) is not the iteration count; the count is that of the scipy
    power iteration with the example's stop rule."""
    from cosynth.pipeline import simulate
    from cosynth.planner import load_manifest
    from tests.helpers import example
    from tests.planner.test_prediction_laws import power_iterations
    g = cs.Graph.kronecker(9, seed=0)
    sim = simulate(example("pagerank"), load_manifest(os.path.join(ROOT, "manifests",
                                                                   "single.yaml")),
                   g, {}, blades=1, variant="pull", check=False, threads=1, timeout=300)
    assert min(r["runs"] for r in sim.stats[0]["nests"].values()) == 1
    assert bench_gap.cosynth_iterations(sim) == power_iterations(g) > 1
