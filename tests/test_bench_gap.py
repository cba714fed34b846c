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


def _pr_output(top: dict, sweeps: int) -> str:
    """``pr -l -a``'s output for one trial: a line per sweep, the time, the top scores."""
    steps = "".join(f"{i:5d}{0.5 / (i + 1):21.5f}\n" for i in range(sweeps))
    return steps + "Trial Time:          0.00100\n" + \
        "".join(f"{v}:{s:g}\n" for v, s in top.items())


def _top(x: np.ndarray, k: int = 5, scale: float = 1.0) -> dict:
    return {int(v): float(np.float32(x[v] * scale)) for v in np.argsort(-x, kind="stable")[:k]}


def _old_rank_rule(top: list, ours: np.ndarray) -> bool:
    """The check this replaced: GAP's first vertex ours, its top 5 within our top 10."""
    ours_top = np.argsort(-ours, kind="stable")[:10].tolist()
    return top[0] == ours_top[0] and set(top) <= set(ours_top)


def test_gap_model_is_a_gauss_seidel_sweep_in_vertex_order():
    """One sweep of the model equals the sweep written out vertex by vertex (new scores of
    lower ids visible at once, no dangling share), and a graph whose scores are all equal
    (a cycle) stays at 1/n."""
    g = cs.Graph.kronecker(6, seed=1)
    n, d = g.n, bench_gap.PR_DAMP
    deg = np.diff(g.out_indptr)
    x = np.full(n, 1.0 / n)
    for _ in range(2):
        for u in range(n):  # the graph is symmetric: in-neighbours are out-neighbours
            nb = g.out_dst[g.out_indptr[u]:g.out_indptr[u + 1]]
            x[u] = (1 - d) / n + d * sum(x[v] / deg[v] for v in nb if v != u)
    np.testing.assert_allclose(bench_gap.gap_pr_model(g, 2), x, rtol=1e-12)
    ring = cs.Graph.from_edges(np.arange(40), (np.arange(40) + 1) % 40, num_nodes=40,
                               directed=False)
    np.testing.assert_allclose(bench_gap.gap_pr_model(ring, 3), 1 / 40, rtol=1e-12)


def test_pagerank_check_passes_by_score_where_the_rank_rule_failed():
    """Near-ties and exact ties reorder between the two formulations and with GAP's
    threads: the rank rule fails, the scores agree."""
    from cosynth import spref
    # one GAP sweep on kron-11: its top 5 holds vertex 52, outside the example's top 10
    g = cs.Graph.kronecker(11, seed=0)
    model = bench_gap.gap_pr_model(g, 1)
    top = _top(model)
    assert not _old_rank_rule(list(top), spref.pagerank(g))
    got = bench_gap.check_gap_pagerank(g, _pr_output(top, 1), threads=1)
    assert got["gap_sweeps_checked"] == 1 and got["gap_top_rel_err"] <= 5e-6
    # a cycle: every score ties, GAP may print any five vertices
    ring = cs.Graph.from_edges(np.arange(40), (np.arange(40) + 1) % 40, num_nodes=40,
                               directed=False)
    top = {v: float(np.float32(1 / 40)) for v in (33, 7, 20, 12, 25)}
    assert not _old_rank_rule(list(top), spref.pagerank(ring))
    bench_gap.check_gap_pagerank(ring, _pr_output(top, 4), threads=1)


def test_pagerank_check_fails_on_other_scores():
    """It must fail: the example's own scores (dangling rank spread, Jacobi) are not GAP's;
    a graph with a missing edge; a score 1% off at one thread (within the threads'
    tolerance at two); at two threads a score 3% beyond the Jacobi model's distance."""
    from cosynth import spref
    g = cs.Graph.kronecker(10, seed=0)
    model = bench_gap.gap_pr_model(g, 2)
    with pytest.raises(AssertionError, match="not the same PageRank"):
        bench_gap.check_gap_pagerank(g, _pr_output(_top(spref.pagerank(g)), 2), threads=1)
    und = g.edge_src < g.out_dst
    hub = int(np.argmax(model))
    cut = und & ((g.edge_src == hub) | (g.out_dst == hub))
    cut[np.flatnonzero(cut)[1:]] = False  # one edge of the top vertex
    other = cs.Graph.from_edges(g.edge_src[und & ~cut], g.out_dst[und & ~cut],
                                num_nodes=g.n, directed=False)
    with pytest.raises(AssertionError, match=f"vertex {hub} "):
        bench_gap.check_gap_pagerank(g, _pr_output(_top(bench_gap.gap_pr_model(other, 2)),
                                                   2), threads=1)
    off = _pr_output(_top(model) | {hub: float(np.float32(model[hub] * 1.01))}, 2)
    with pytest.raises(AssertionError, match="1.00% off"):
        bench_gap.check_gap_pagerank(g, off, threads=1)
    bench_gap.check_gap_pagerank(g, off, threads=2)
    # at two threads: as far as Jacobi's reads take it, plus 2%; 3% beyond that fails
    spread = abs(bench_gap.gap_pr_model(g, 2, jacobi=True)[hub] / model[hub] - 1)
    assert spread > 0.01
    ok = _pr_output(_top(model) | {hub: float(np.float32(model[hub] * (1 - spread)))}, 2)
    bench_gap.check_gap_pagerank(g, ok, threads=2)
    off3 = _pr_output(_top(model) | {hub: float(np.float32(model[hub] * (1 + spread + 0.03)))},
                      2)
    with pytest.raises(AssertionError, match="at 2 thread"):
        bench_gap.check_gap_pagerank(g, off3, threads=2)


@pytest.mark.skipif(not os.path.exists(os.path.join(os.environ.get("GAPBS_DIR", "/nonexistent"),
                                                    "pr")),
                    reason="GAPBS_DIR unset or GAP's pr not built")
@pytest.mark.parametrize("threads", [1, 2])
def test_gap_pr_itself_passes_the_score_check(tmp_path, threads):
    """GAP's own pr on kron-11 (one sweep, and to its tolerance) agrees with the model
    score by score; after one sweep its top 5 fails the old rank rule."""
    from cosynth import spref
    g = cs.Graph.kronecker(11, seed=0)
    el, _ = bench_gap.write_edge_lists(g, str(tmp_path / "k11"))
    for extra in (["-i", "1"], ["-i", "100", "-t", str(g.n * bench_gap.TOL)]):
        r = subprocess.run([os.path.join(os.environ["GAPBS_DIR"], "pr"), "-f", el, "-s",
                            "-n", "1", "-a", "-l", *extra], capture_output=True, text=True,
                           env=dict(os.environ, OMP_NUM_THREADS=str(threads)), timeout=120)
        assert r.returncode == 0, r.stderr
        bench_gap.check_gap_pagerank(g, r.stdout, threads)
        if extra[1] == "1":
            assert not _old_rank_rule(list(bench_gap.gap_pr_scores(r.stdout)[1]),
                                      spref.pagerank(g))
