"""A bucketed relaxation's state table stored in 32 bits (``frontend.rewrite.narrowstate``,
``planner.narrow.state_storage``, the runtime's ``Narrow32``): the build defines
``COSYNTH_STATE32`` exactly when the graph passes the check, the table, its outbox and
mirror are ``state_t<...>``, and the results equal the kernel as written and the scipy /
networkx reference either way (exchange and refresh included, on 2 blades)."""

from __future__ import annotations

import os

import numpy as np
import pytest

import cosynth as cs
from cosynth.loader import load_kernels
from cosynth.pipeline import simulate
from cosynth.planner import load_manifest
from tests.helpers import EXAMPLES, ROOT

PAIR = load_manifest(os.path.join(ROOT, "manifests", "pair.yaml"))
KERNELS = load_kernels(os.path.join(EXAMPLES, "sssp.py"))


def _graph(weights: str, seed: int = 3) -> cs.Graph:
    """A directed random graph: ``kron`` weights 1..255, ``frac`` fractional ones,
    ``long`` whole weights up to 10**7, whose bound (n - 1) * W passes 2**31 - 1 on 300
    vertices (so the check keeps the table wide)."""
    rng = np.random.default_rng(seed)
    n, m = 300, 2001
    src, dst = rng.integers(0, n, m), rng.integers(0, n, m)
    w = {"kron": rng.integers(1, 256, m).astype(np.float64),
         "frac": np.round(rng.uniform(0.1, 10.0, m), 3),
         "long": rng.integers(1, 10_000_000, m).astype(np.float64)}[weights]
    return cs.Graph.from_edges(src, dst, w, num_nodes=n, directed=True)


@pytest.mark.parametrize("kernel,weights,blades,narrow", [
    ("sssp", "kron", 2, True),
    pytest.param("sssp_int", "kron", 2, True, marks=pytest.mark.slow),
    pytest.param("sssp", "frac", 2, False, marks=pytest.mark.slow),
    pytest.param("sssp", "long", 1, False, marks=pytest.mark.slow),
])
def test_a_narrow_state_table_equals_the_kernel_as_written(tmp_path, kernel, weights,
                                                           blades, narrow):
    sim = simulate(KERNELS[kernel], PAIR, _graph(weights), {"source": 0}, blades=blades,
                   variant="async", workdir=str(tmp_path), timeout=300)
    assert any("IR interpreter: ok" in c for c in sim.checks)
    assert any("networkx: ok" in c or "scipy: ok" in c for c in sim.checks)
    build = tmp_path / "build"
    assert "std::vector<state_t<" in open(build / "blade.cpp").read()
    assert ("-DCOSYNTH_STATE32" in open(build / "Makefile").read()) == narrow


@pytest.mark.parametrize("graph,blades", [("kron", 2), ("directed", 1)])
def test_a_narrow_level_table_equals_the_kernel_as_written(tmp_path, graph, blades):
    """BFS's hybrid: the level frontier's depth table in 32 bits (``levels.level_bound``):
    the build defines ``COSYNTH_STATE32``, the pull step's saturation test compares codes,
    and the depths (unreached vertices: the i64 top, written back wide) equal the
    interpreter and networkx, with the exchange and refresh of 2 blades and 2 threads."""
    g = cs.Graph.kronecker(9, seed=1) if graph == "kron" else _graph("kron")
    kf = load_kernels(os.path.join(EXAMPLES, "bfs.py"))["bfs"]
    src = int(g.out_degrees().argmax())
    sim = simulate(kf, PAIR, g, {"source": src}, blades=blades, variant="hybrid",
                   threads=2, workdir=str(tmp_path), timeout=300)
    assert any("IR interpreter: ok" in c for c in sim.checks), sim.checks
    assert any("networkx: ok" in c or "scipy: ok" in c for c in sim.checks), sim.checks
    build = tmp_path / "build"
    text = open(build / "blade.cpp").read()
    assert "std::vector<state_t<int64_t>> u_depth" in text and "state_below(" in text
    assert "-DCOSYNTH_STATE32" in open(build / "Makefile").read()
    depth = np.asarray(sim.results[0])
    top = depth == np.iinfo(np.int64).max
    assert (depth[~top] >= 0).all() and (depth[~top] <= g.n).all()
    assert top.any() or graph != "kron"  # kron-9 has isolated vertices
