"""Relaxed loops run from a frontier (``backends/cpp/frontier.py``): only the vertices whose
state changed run, lowest bucket first when the plan gives a bucket width; the result
equals the kernel as written (interpreter) and the reference on 1, 2 and 4 blades, for
f64 and i64 weights, with the planner's delta and with others."""

from __future__ import annotations

import os

import numpy as np
import pytest

import cosynth as cs
from cosynth import spref
from cosynth.pipeline import simulate
from cosynth.planner import load_manifest, workload
from tests.helpers import EXAMPLES, ROOT, example

RACK = load_manifest(os.path.join(ROOT, "manifests", "rack16.yaml"))


def _int():
    from cosynth.loader import load_kernels
    return load_kernels(f"{EXAMPLES}/sssp.py")["sssp_int"]


def _checked(sim):
    assert any("IR interpreter: ok" in c for c in sim.checks), sim.checks


def _visits(sim) -> tuple[int, int]:
    """(vertex visits, runs) of the relaxed nest, over all blades (the blades' own count)."""
    nests = [x for s in sim.stats for x in s["nests"].values()]
    return sum(x["nodes"] for x in nests), max(x["runs"] for x in nests)


def _cfg(workdir) -> str:
    for root, _, files in os.walk(workdir):
        if "run.cfg" in files:
            with open(os.path.join(root, "run.cfg")) as f:
                return f.read()
    raise AssertionError("no run.cfg")


@pytest.mark.parametrize("blades", [1, 2, 4])
def test_sssp_runs_bucketed_from_a_frontier_on_1_2_4_blades(blades, tmp_path):
    g = cs.Graph.kronecker(10, seed=1)
    src = int(np.argmax(g.out_degrees()))
    sim = simulate(example("sssp"), RACK, g, {"source": src}, blades=blades,
                   variant="async", timeout=300, workdir=str(tmp_path))
    _checked(sim)
    np.testing.assert_array_equal(sim.results[0], spref.sssp(g, src))
    delta = sim.plan.predicted["delta"]  # the planner's bucket width, from the weights
    assert 0 < delta < np.inf
    assert f"sched.delta={float(delta)!r}" in _cfg(tmp_path)
    # the frontier: far fewer vertex visits than a sweep over every vertex per run
    visits, runs = _visits(sim)
    assert runs >= 2 and 0 < visits < g.n * runs / 1.5


@pytest.mark.parametrize("delta,blades", [(1.0, 2), (7.5, 4), (1000.0, 1)])
def test_any_bucket_width_gives_the_same_distances(delta, blades, monkeypatch):
    monkeypatch.setattr(workload, "choose_delta", lambda *a: delta)
    g = cs.Graph.kronecker(9, seed=4)
    src = int(np.argmax(g.out_degrees()))
    sim = simulate(example("sssp"), RACK, g, {"source": src}, blades=blades,
                   variant="async", timeout=300)
    assert sim.plan.predicted["delta"] == delta
    _checked(sim)
    np.testing.assert_array_equal(sim.results[0], spref.sssp(g, src))


@pytest.mark.parametrize("blades", [1, 2])
def test_integer_weights_run_bucketed(blades):
    g = cs.Graph.kronecker(10, seed=2)
    src = int(np.argmax(g.out_degrees()))
    sim = simulate(_int(), RACK, g, {"source": src}, blades=blades, variant="async",
                   timeout=300, fpga=False)
    _checked(sim)
    assert 0 < sim.plan.predicted["delta"] < np.inf


@pytest.mark.parametrize("blades", [1, 2, 4])
def test_cc_runs_from_a_frontier_on_1_2_4_blades(blades):
    g = cs.Graph.kronecker(10, seed=5)
    sim = simulate(example("cc"), RACK, g, {}, blades=blades, variant="async", timeout=300)
    _checked(sim)
    assert "delta" not in sim.plan.predicted  # label propagation keeps one bin


def test_a_source_without_edges_drains_at_once():
    g = cs.Graph.from_edges([0, 1, 2], [1, 2, 0], weight=[1.0, 2.0, 3.0], num_nodes=5)
    sim = simulate(example("sssp"), RACK, g, {"source": 4}, blades=2, variant="async",
                   timeout=300)
    _checked(sim)
    assert np.isinf(sim.results[0][:4]).all() and sim.results[0][4] == 0.0


@pytest.mark.parametrize("blades", [1, 2, 4])
def test_hybrid_bfs_pull_tests_a_neighbour_bitmap_on_1_2_4_blades(blades, tmp_path):
    k = cs.Graph.kronecker(10, seed=6)
    loops = np.arange(0, k.n, 7)  # self-loops: tested on the entry, not the bitmap
    g = cs.Graph.from_edges(np.concatenate([k.edge_src, loops]),
                            np.concatenate([k.out_dst, loops]), num_nodes=k.n)
    src = int(np.argmax(g.out_degrees()))
    sim = simulate(example("bfs"), RACK, g, {"source": src}, blades=blades,
                   variant="hybrid", timeout=300, workdir=str(tmp_path))
    _checked(sim)
    np.testing.assert_array_equal(sim.results[0], spref.bfs(g, src))
    cpp = next(os.path.join(r, "blade.cpp") for r, _, f in os.walk(tmp_path) if "blade.cpp" in f)
    with open(cpp) as f:
        assert "std::vector<uint64_t> bm__" in f.read()


def test_the_bitmap_guard_is_only_for_saturating_pull_steps():
    from cosynth.backends.cpp.emit import emit_program
    from cosynth.frontend.rewrite import variant
    from cosynth.frontend.rewrite.projection import apply as project
    for name, v, want in (("bfs", "hybrid", True), ("bfs", "pull", True),
                          ("sssp", "pull", False), ("cc", "async", False)):
        kv, _ = variant(example(name).ir, v)
        assert ("uint64_t> bm__" in emit_program(project(kv, ()).kernel)) == want, name


@pytest.mark.parametrize("name,blades", [("sssp", 1), ("sssp", 2), ("cc", 1), ("cc", 4)])
def test_a_sweep_shares_its_rounds_between_more_threads_than_cores(name, blades):
    """Three OpenMP threads per blade (more than this machine's cores): the threads agree
    on every round, read each other's offered bins and run their own small bins alone;
    the result is the interpreter's and the reference's."""
    g = cs.Graph.kronecker(11, seed=7)
    src = int(np.argmax(g.out_degrees()))
    args = {"source": src} if name == "sssp" else {}
    sim = simulate(example(name), RACK, g, args, blades=blades, variant="async",
                   timeout=300, threads=3)
    _checked(sim)
    if name == "sssp":
        np.testing.assert_array_equal(sim.results[0], spref.sssp(g, src))


def test_the_first_sweep_leaves_out_vertices_at_infinity():
    """Bucketed SSSP whose source reaches a path of five vertices, beside a Kronecker
    graph it cannot reach: the vertices at +inf are not queued (their contributions stay
    +inf: ``relax_order``), so the sweep visits the path only, not every vertex."""
    k = cs.Graph.kronecker(10, seed=3)
    n = k.n + 5
    src = np.concatenate([k.edge_src, np.arange(k.n, n - 1)])
    dst = np.concatenate([k.out_dst, np.arange(k.n + 1, n)])
    w = np.concatenate([k.weights_or_ones(), np.full(4, 2.0)])
    g = cs.Graph.from_edges(src, dst, weight=w, num_nodes=n)
    sim = simulate(example("sssp"), RACK, g, {"source": k.n}, blades=1, variant="async",
                   timeout=300, threads=2)
    _checked(sim)
    assert 0 < sim.plan.predicted["delta"] < np.inf
    np.testing.assert_array_equal(sim.results[0][k.n:], [0.0, 2.0, 4.0, 6.0, 8.0])
    visits, _ = _visits(sim)
    assert 5 <= visits <= 10, visits


def test_only_a_proved_relax_order_leaves_the_top_out():
    """SSSP and CC prove ``relax_order`` (CC's contribution is the vertex's own label);
    ``dist[v] - w`` refutes it and queues every vertex in the first sweep."""
    from cosynth.backends.cpp.emit import emit_program
    from cosynth.frontend.rewrite import variant
    from cosynth.frontend.rewrite.projection import apply as project
    from tests.frontend.test_frontier import sssp_minus
    for k, want in ((example("sssp"), True), (example("cc"), True), (sssp_minus, False)):
        kv, _ = variant(k.ir, "async")
        text = emit_program(project(kv, ()).kernel)
        assert "Frontier fr__" in text
        assert ("true, [&](int64_t l) { return u_" in text) == want, k.ir.name
