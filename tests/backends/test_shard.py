"""Data sharded at run time: each blade holds its own vertices, the ghosts its edges touch
and its share of the edges; refresh sends only changed ghost entries (or the whole ghost
set when most changed); messages go in chunks; each blade reads only its own shard file,
checked against the build's content hash."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

import cosynth as cs
from cosynth.backends.cpp.bundle import gather, ghost_lists, read_stats
from cosynth.backends.toolchain import compile_program, mpirun
from cosynth.errors import ToolError
from cosynth.pipeline import build, simulate
from cosynth.planner import load_manifest
from cosynth.planner.cost import blade_fixed
from cosynth.planner.stats import GraphStats
from cosynth.planner.workload import no_fpga, profile
from tests.helpers import ROOT, example

RACK = load_manifest(os.path.join(ROOT, "manifests", "rack16.yaml"))


def _ghosts(g, sim, csr=True, csc=False, extra=()):
    shards = [tuple(s) for s in sim.plan.shards]
    return [len(x) for x in ghost_lists(g, shards, csr, csc, extra)]


def test_two_blades_hold_their_share_and_send_changed_ghosts_only():
    # pull: dist[e.src] is read at the far end of in-edges, the mirrors are read (push
    # SSSP reads dist only at the running vertex: no refresh, ``projection.ghost_reads``)
    g = cs.Graph.kronecker(10, seed=3)
    src = int(np.argmax(g.out_degrees()))  # a vertex with edges: several supersteps
    sim = simulate(example("sssp"), RACK, g, {"source": src}, blades=2, variant="pull",
                   timeout=300)
    assert any("IR interpreter: ok" in c for c in sim.checks)
    st = sim.stats
    assert [s["replicated"] for s in st] == [False, False]
    assert sum(s["owned"] for s in st) == g.n
    # each blade's tables: its own vertices and exactly the ghosts its in-edges touch
    assert [s["ghosts"] for s in st] == _ghosts(g, sim, csr=False, csc=True, extra=(src,))
    for s in st:
        assert s["owned"] + s["ghosts"] < g.n
    assert sum(s["local_edges"] for s in st) == g.m
    # later supersteps change few distances: refresh went sparse at least once
    assert sum(s["sparse"] for s in st) > 0 and sum(s["dense"] for s in st) > 0
    assert all(sum(s["step_bytes"]) == s["bytes"] for s in st)
    # the plan's DRAM: the blade's vertices and ghosts (counted by the planner on the
    # graph, the node parameter aside), its edges
    gs = GraphStats.of(g)
    ranges = [(b.lo, b.hi) for b in sim.plan.blades]
    assert [x + 1 for x in gs.ghosts_of(ranges, False, True)] >= [s["ghosts"] for s in st]
    work = profile(sim.plan.variant_ir, "pull", gs,
                   fpga=no_fpga)
    assert work.sharded
    for b in sim.plan.blades:
        kind = next(k for k in RACK.kinds if k.name == b.kind)
        want = work.blade_dram(g.n, g.m, b.hi - b.lo,
                               gs.ghosts_of(ranges, work.ghost_out, work.ghost_in)[b.blade],
                               b.edges / g.m, threads=kind.cpu_cores) + blade_fixed(kind)
        assert b.dram_bytes == pytest.approx(want)


def _send_sets(g, sim):
    """Per blade, the (bitmap peers, bytes) of its send sets as the runtime keeps them: per
    peer the smaller of a 4-byte id per entry and a bit per owned vertex (whole words)."""
    shards = [tuple(x) for x in sim.plan.shards]
    ghosts = ghost_lists(g, shards, False, True)  # pull: the in-edges' sources
    out = []
    for r, (lo, hi) in enumerate(shards):
        words = (hi - lo + 63) // 64
        bits = nbytes = 0
        for q in range(len(shards)):
            c = 0 if q == r else int(((ghosts[q] >= lo) & (ghosts[q] < hi)).sum())
            bitmap = c * 4 > words * 8
            bits += bitmap
            nbytes += words * 8 if bitmap else c * 4
        out.append((bits, nbytes))
    return out


@pytest.mark.parametrize("graph", ["kron", "sparse"])
def test_each_peers_send_set_is_a_list_or_a_bitmap_and_refresh_is_the_same(graph):
    # kron: most owned vertices are ghosts of most peers (bitmaps); a graph of about one
    # edge per vertex: each peer holds few of them (lists).  Pull BFS (depth[e.src] read
    # at ghosts) refreshes dense at first and sparse later, through both forms; the
    # interpreter checks the result.
    g = cs.Graph.kronecker(9, seed=4) if graph == "kron" else \
        cs.Graph.uniform(65536, 2000, seed=4, weighted=False)
    src = int(np.argmax(g.out_degrees()))
    sim = simulate(example("bfs"), RACK, g, {"source": src}, blades=4, variant="pull",
                   timeout=300)
    assert any("IR interpreter: ok" in c for c in sim.checks)
    got = [(s["send_bitmaps"], s["send_bytes"]) for s in sim.stats]
    assert got == _send_sets(g, sim)
    bitmaps = sum(b for b, _ in got)
    assert bitmaps > 0 if graph == "kron" else bitmaps < 4 * 3
    assert sum(s["sparse"] for s in sim.stats) > 0


def test_pull_pagerank_on_three_blades_reads_in_edge_ghosts():
    g = cs.Graph.kronecker(9, seed=5)
    sim = simulate(example("pagerank"), RACK, g, {}, blades=3, variant="pull", timeout=300)
    assert any("IR interpreter: ok" in c for c in sim.checks)
    assert [s["ghosts"] for s in sim.stats] == _ghosts(g, sim, csr=False, csc=True)


def test_a_tiny_chunk_size_splits_every_message_and_keeps_the_result(monkeypatch):
    monkeypatch.setenv("COSYNTH_CHUNK_BYTES", "24")
    g = cs.Graph.kronecker(9, seed=2)
    sim = simulate(example("cc"), RACK, g, {}, blades=2, variant="async", timeout=300)
    assert any("IR interpreter: ok" in c for c in sim.checks)
    for s in sim.stats:  # no message longer than 24 bytes: many more messages than bytes/24
        assert s["bytes"] > 1000 and s["messages"] >= s["bytes"] // 24


def test_replicated_programs_still_hold_every_vertex():
    g = cs.Graph.kronecker(7, seed=1)
    # TC's merge reads rows of vertices other blades own (k-core was the example here
    # until its peel became rounds, a distributed nest: it is sharded now)
    sim = simulate(example("tc"), RACK, g, {}, blades=2, timeout=300)
    assert any("IR interpreter: ok" in c for c in sim.checks)
    assert all(s["replicated"] and s["ghosts"] == 0 for s in sim.stats)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A 2-blade sssp build directory with its compiled blade (shared by the fault tests;
    each test works on a copy)."""
    base = tmp_path_factory.mktemp("shardfault")
    g = cs.Graph.kronecker(8, seed=1)
    plan, bundle = build(example("sssp"), RACK, g, {"source": 0}, str(base / "b"), blades=2,
                         variant="async")
    binary, _ = compile_program(bundle.source, defines=bundle.defines)
    shutil.copy(binary, os.path.join(bundle.path, "blade"))
    other = cs.Graph.kronecker(8, seed=2)
    _, b2 = build(example("sssp"), RACK, other, {"source": 0}, str(base / "o"), blades=2,
                  variant="async")
    return bundle.path, b2.path


def _run(path):
    return mpirun(os.path.join(path, "blade"), "run.cfg", 2, threads=1, timeout=120,
                  workdir=path, stall=60)


@pytest.mark.parametrize("damage", ["missing", "truncated", "foreign"])
def test_a_bad_shard_file_stops_its_blade_with_the_file_named(built, tmp_path, damage):
    good, other = built
    path = str(tmp_path / "b")
    shutil.copytree(good, path)
    _run(path)  # the copy itself runs
    shard = os.path.join(path, "shards", "graph.1.bin")
    if damage == "missing":
        os.remove(shard)
    elif damage == "truncated":
        with open(shard, "r+b") as f:
            f.truncate(os.path.getsize(shard) - 8)
    else:
        shutil.copy(os.path.join(other, "shards", "graph.1.bin"), shard)
    with pytest.raises(ToolError) as info:
        _run(path)
    msg = str(info.value)
    assert "blade 1" in msg and "shards/graph.1.bin" in msg


def test_four_blades_over_tcp_only(monkeypatch):
    """MPI forced onto TCP between the blades (no shared-memory transport)."""
    monkeypatch.setenv("OMPI_MCA_btl", "tcp,self")
    g = cs.Graph.kronecker(9, seed=7)
    src = int(np.argmax(g.out_degrees()))
    sim = simulate(example("bfs"), RACK, g, {"source": src}, blades=4, timeout=300)
    assert sim.blades == 4
    assert any("IR interpreter: ok" in c for c in sim.checks)
    assert not any(s["replicated"] for s in sim.stats)
    assert np.asarray(sim.results[0]).shape == (g.n,)


def test_a_streamed_plan_maps_each_blades_own_edge_file(tmp_path):
    """The fileserver-streamed layout: each blade maps its own shard file and walks the
    edge arrays in place (header word 12 set, built with int64 ids); the distances equal
    scipy's Dijkstra."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    from cosynth.pipeline import build_from_plan
    from cosynth.planner import make_plan
    g = cs.Graph.kronecker(9, seed=2)
    src = int(np.argmax(g.out_degrees()))
    plan = make_plan(example("sssp"), RACK, g, {"source": src}, fpga=no_fpga,
                     fixed={"streamed": True, "blades": 2, "variant": "async"})
    assert plan.predicted["streamed"] and len(plan.blades) == 2
    bundle = build_from_plan(plan, g, str(tmp_path / "b"))
    assert "COSYNTH_IDX32" not in bundle.defines
    for r in range(2):
        head = np.fromfile(os.path.join(bundle.path, "shards", f"graph.{r}.bin"),
                           dtype=np.int64, count=17, offset=0)[1:]
        assert head[12] == 1
    binary, _ = compile_program(bundle.source, defines=bundle.defines)
    shutil.copy(binary, os.path.join(bundle.path, "blade"))
    _run(bundle.path)
    assert all(s["streamed"] for s in read_stats(bundle))
    got = gather(bundle, g)[0]
    a = csr_matrix((g.weights_or_ones(), g.out_dst, g.out_indptr), shape=(g.n, g.n))
    want = dijkstra(a, indices=src)
    assert np.allclose(got, want, rtol=1e-12, equal_nan=False)
