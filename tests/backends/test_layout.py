"""The degree-ordered layout (``backends/cpp/layout.py``): the relabel rule for the whole
graph, the line-granular cache model the planner chooses it by, and the blade's results
under the user's ids."""

from __future__ import annotations

import os

import numpy as np

import cosynth as cs
from cosynth.backends.cpp import layout
from cosynth.backends.cpp.emit import emit_program
from cosynth.backends.toolchain import mpirun
from cosynth.frontend.rewrite import projection, variant
from cosynth.frontend.rewrite.relabel import relabelling, why_not
from cosynth.pipeline import simulate
from cosynth.planner import GraphStats, load_manifest, make_plan
from cosynth.planner.workload import no_fpga
from tests.helpers import ROOT, example

SINGLE = os.path.join(ROOT, "manifests", "single.yaml")


def _small_cache(tmp_path, l2: int = 1024, llc: int = 4096) -> str:
    """single.yaml with caches small enough that kron-10's tables leave them."""
    with open(SINGLE) as f:
        text = f.read()
    path = os.path.join(tmp_path, "small.yaml")
    with open(path, "w") as f:
        f.write(text + f"calibration:\n  workstation:\n    l2_bytes: {l2}\n"
                f"    cache_bytes: {llc}\n")
    return path


def test_whole_graph_renaming_admits_an_in_edge_gather():
    pull = variant(example("pagerank").ir, "pull")[0]
    assert relabelling(pull) is None and "in-edge" in why_not(pull)  # run-time renaming
    r = relabelling(pull, whole_graph=True)
    assert r.kind == "equivariant" and not r.exact  # float sums reordered
    assert "vertex id" in why_not(example("bfs").ir, whole_graph=True)  # its source
    assert layout.FILE and not layout.chosen(None)
    src = emit_program(projection.apply(pull).kernel, "examples/pagerank.py")
    clock = src.index("const double t_start")
    assert 0 <= src.index("read_layout(cfg, n)") < clock  # read before the clock
    assert src.index("unrelabel(u_rank, relabel__p)") > src.index("const double t_total")


def test_line_model_prefers_degree_order_only_on_skewed_degrees():
    st = GraphStats.of(cs.Graph.kronecker(12, seed=0))
    for groups in (16, 64, 256):
        by_id, by_deg = (st.line_hit_share(groups, 8, o) for o in ("id", "degree"))
        assert 0.0 < by_id < by_deg < 1.0
    assert st.line_hit_share(10**6, 8, "id") == 1.0
    n = 4096  # a cycle: every vertex equally hot, the numbering cannot matter
    ring = GraphStats.of(cs.Graph.from_edges(np.arange(n), (np.arange(n) + 1) % n))
    a, b = (ring.line_hit_share(64, 8, o) for o in ("id", "degree"))
    assert abs(a - b) < 1e-9 and abs(a - 64 * 8 / n) < 0.05


def test_planner_chooses_the_layout_only_when_the_table_leaves_the_cache(tmp_path):
    g = cs.Graph.kronecker(10, seed=0)
    pr = example("pagerank")
    fits = make_plan(pr, load_manifest(SINGLE), g, fpga=no_fpga)
    (c,) = [c for c in fits.choices if c.what == "layout"]
    assert c.chosen == "as given" and "no gain" in c.reason
    small = make_plan(pr, load_manifest(_small_cache(tmp_path)), g, fpga=no_fpga)
    (c,) = [c for c in small.choices if c.what == "layout"]
    assert c.chosen == "degree order" and "miss L2" in c.reason
    bfs = make_plan(example("bfs"), load_manifest(_small_cache(tmp_path)), g,
                    {"source": 0}, fpga=no_fpga)
    assert [c.chosen for c in bfs.choices if c.what == "layout"] in ([], ["as given"])


def test_degree_layout_equals_the_interpreter_under_the_users_ids(tmp_path):
    """Kron (symmetric) and a skewed directed graph: the planner's layout run equals the
    interpreter; the shards really are renamed (without the map-back the blade's result is
    the permuted vector)."""
    man = load_manifest(_small_cache(tmp_path))
    rng = np.random.default_rng(7)
    n = 600
    src = rng.integers(0, n, 6000)
    dst = np.minimum(rng.zipf(1.6, 6000), n) - 1  # a few very hot targets
    directed = cs.Graph.from_edges(src, dst, num_nodes=n, dedupe=True)
    for i, g in enumerate((cs.Graph.kronecker(10, seed=1), directed)):
        work = os.path.join(tmp_path, f"w{i}")
        os.makedirs(work)
        sim = simulate(example("pagerank"), man, g, {}, blades=1, threads=2, timeout=300,
                       workdir=work)
        assert any(c.what == "layout" and c.chosen == "degree order"
                   for c in sim.plan.choices)
        assert any("IR interpreter: ok" in c for c in sim.checks), sim.checks
        build = os.path.join(work, "build")
        p = np.fromfile(os.path.join(build, "shards", layout.FILE), dtype=np.int64)
        np.testing.assert_array_equal(p, layout.degree_order(g))
        assert not np.array_equal(p, np.arange(g.n))
        with open(os.path.join(build, "run.cfg")) as f:
            cfg = [ln for ln in f.read().splitlines() if not ln.startswith("layout=")]
        with open(os.path.join(build, "raw.cfg"), "w") as f:
            f.write("\n".join(cfg) + "\n")
        mpirun(os.path.join(build, "blade"), "raw.cfg", 1, threads=2, timeout=300,
               workdir=build)
        raw = np.fromfile(os.path.join(build, "out", "result0.rank0.bin"), dtype=np.float64)
        (rank,) = sim.results
        assert not np.allclose(raw, rank)
        np.testing.assert_allclose(raw[p], rank, rtol=1e-9, atol=1e-15)
