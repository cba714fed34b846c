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
    # lowest label first, in bins of doubling width (tests/backends/test_label_buckets.py)
    assert sim.plan.predicted["delta"] == 1.0 and sim.plan.predicted["logkeys"] is True


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


@pytest.mark.parametrize("blades,threads", [(1, 3), (2, 2)])
def test_a_keyed_frontier_runs_each_reached_vertex_once_at_the_weights_granule(
        blades, threads, monkeypatch, tmp_path):
    """Kronecker weights are whole numbers from 1: at delta 1 (the planner's choice on
    kron-18, forced here on kron-10) the plan keys the frontier (``sched.keyed=1``: no
    pending byte; an entry runs when its vertex's key is still the bin's).  Every value a
    vertex takes is a whole number, so no vertex is queued twice at one key: one blade's
    sweep runs each reached vertex exactly once, and the distances are the
    interpreter's and scipy's."""
    monkeypatch.setattr(workload, "choose_delta", lambda *a: 1.0)
    g = cs.Graph.kronecker(10, seed=6)
    src = int(np.argmax(g.out_degrees()))
    sim = simulate(example("sssp"), RACK, g, {"source": src}, blades=blades,
                   variant="async", timeout=300, threads=threads, workdir=str(tmp_path))
    _checked(sim)
    want = spref.sssp(g, src)
    np.testing.assert_array_equal(sim.results[0], want)
    assert sim.plan.predicted["delta"] == 1.0 and sim.plan.predicted["keyed"] is True
    assert "sched.keyed=1" in _cfg(tmp_path)
    if blades == 1:
        assert _visits(sim)[0] == int(np.isfinite(want).sum())


@pytest.mark.parametrize("delta,blades", [(4.0, 1), (7.5, 2), (64.0, 4)])
def test_a_keyed_frontier_wider_than_the_granule_runs_some_vertices_twice_and_agrees(
        delta, blades, monkeypatch, tmp_path):
    """Forced keyed at widths where a vertex may fall twice within one bucket before it
    runs: its stale entries (key below the bin's) are dropped and its repeated ones run
    again, both legal; three threads per blade; the interpreter and scipy agree."""
    monkeypatch.setattr(workload, "choose_delta", lambda *a: delta)
    monkeypatch.setattr(workload, "keyed", lambda st, d: True)
    g = cs.Graph.kronecker(10, seed=8)
    src = int(np.argmax(g.out_degrees()))
    sim = simulate(example("sssp"), RACK, g, {"source": src}, blades=blades,
                   variant="async", timeout=300, threads=3, workdir=str(tmp_path))
    _checked(sim)
    np.testing.assert_array_equal(sim.results[0], spref.sssp(g, src))
    assert "sched.keyed=1" in _cfg(tmp_path)


def test_the_prefetch_ahead_is_bounded_once_per_row():
    """The relaxation's prefetch reads the edge ``kAhead`` positions on; the row tests once
    that its last edge's look-ahead stays inside the blade's edge arrays (``end + kAhead
    <= G.ehi``, or ``G.cend`` for in-edges) and every edge of such a row prefetches
    without a test of its own; no per-edge bound is left."""
    import re

    from cosynth.backends.cpp.emit import emit_program
    from cosynth.frontend.rewrite import variant
    from cosynth.frontend.rewrite.projection import apply as project
    for name, kinds in (("sssp", {"out"}), ("cc", {"out", "in"})):
        kv, _ = variant(example(name).ir, "async")
        text = emit_program(project(kv, ()).kernel)
        decl = re.findall(r"const bool (of__\d+)__pf = G\.(out|in)_end\(\1\) \+ "
                          r"Frontier::kAhead <= G\.(ehi|cend);", text)
        assert {k for _, k, _ in decl} == kinds, name
        assert all((k, e) in (("out", "ehi"), ("in", "cend")) for _, k, e in decl)
        hints = [ln for ln in text.splitlines() if "__builtin_prefetch" in ln]
        assert len(hints) == len(decl)
        assert all(re.match(r"\s*if \(of__\d+__pf\) \{ __builtin_prefetch", h) for h in hints)
        assert not re.search(r"Frontier::kAhead < ", text), name


def test_the_own_vertex_reads_the_bitmap_only_when_no_store_precedes_its_tests():
    """``bitmap._own_bit_exact``: BFS's pull step stores ``depth[u]`` only as the last
    statement of its saturating edge loop (which ends right after it), so the own vertex
    is tested on the bitmap too; a store into ``depth[u]`` before the edge loop (or one
    not last in the edge loop's body) keeps the own vertex's test on the entry."""
    from dataclasses import replace

    from cosynth.backends.cpp.bitmap import _own_bit_exact
    from cosynth.backends.cpp.emit import emit_program
    from cosynth.frontend.rewrite import variant
    from cosynth.ir.nodes import Const, Loop, Store
    from cosynth.ir.walk import iter_stmts
    kv, _ = variant(example("bfs").ir, "pull")
    assert "G.glo) ? " not in emit_program(kv)  # no own test left in the pull step
    node = next(x for x, _ in iter_stmts(kv.body) if isinstance(x, Loop) and
                x.kind == "nodes" and any(isinstance(y, Loop) and y.kind == "in_edges"
                                          for y, _ in iter_stmts(x.body)))
    edge = next(y for y, _ in iter_stmts(node.body) if isinstance(y, Loop) and
                y.kind == "in_edges")
    assert _own_bit_exact(node, edge, "depth")
    store = next(y for y, _ in iter_stmts(edge.body) if isinstance(y, Store))
    before = Store("depth", store.index, Const(2 ** 40, store.value.dtype), "min")
    early = replace(node, body=(before,) + tuple(node.body))
    assert not _own_bit_exact(early, edge, "depth")
    late = replace(edge, body=tuple(edge.body) + (before,))
    assert not _own_bit_exact(replace(node, body=tuple(
        late if y is edge else y for y in node.body)), late, "depth")
