"""Edge weights stored narrow in the shard (``planner.narrow``, ``bundle.write_shards``):
the file holds the type its header's word 14 names, padded to 8 bytes, the blade is built
for that type and widens on load; results equal the kernel as written and networkx on the
narrow path and on the wide one (a graph whose weights do not fit keeps float64)."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

import cosynth as cs
from cosynth.backends.cpp.bundle import OMIT, write_shards
from cosynth.backends.toolchain import mpirun
from cosynth.errors import ToolError
from cosynth.loader import load_kernels
from cosynth.pipeline import simulate
from cosynth.planner import load_manifest
from tests.helpers import EXAMPLES, ROOT

PAIR = load_manifest(os.path.join(ROOT, "manifests", "pair.yaml"))
KERNELS = load_kernels(os.path.join(EXAMPLES, "sssp.py"))


def _graph(weights: str, seed: int = 3) -> cs.Graph:
    """A directed random graph with an odd number of edges (so a narrow block needs its
    padding) and weights: ``kron`` 1..255 integers, ``frac`` not float32-exact, ``big``
    integers beyond int16, ``huge`` integers beyond int32."""
    rng = np.random.default_rng(seed)
    n, m = 300, 2001
    src, dst = rng.integers(0, n, m), rng.integers(0, n, m)
    w = {"kron": rng.integers(1, 256, m).astype(np.float64),
         "frac": np.round(rng.uniform(0.1, 10.0, m), 3),
         "big": rng.integers(1, 100_000, m).astype(np.float64),
         "huge": rng.integers(1, 2**40, m).astype(np.float64)}[weights]
    return cs.Graph.from_edges(src, dst, w, num_nodes=n, directed=True)


def _read_weights(path: str):
    """(word 14, the CSR weight block) of a shard written without src/degree arrays."""
    raw = open(path, "rb").read()
    assert raw[:8] == b"CSYNSHD2"
    h = np.frombuffer(raw, np.int64, 16, 8)
    nrange, omit = int(h[3] - h[2]), int(h[13])
    at = 8 + 16 * 8
    indptr = np.frombuffer(raw, np.int64, nrange + 1, at)
    ne = int(indptr[-1] - indptr[0])
    at += 8 * (nrange + 1) + 8 * ne * (1 + (not omit & OMIT["src"][0]))
    dt = {0: np.float64, 1: np.float32, 2: np.int32, 3: np.int16}[int(h[14])]
    w = np.frombuffer(raw, dt, ne, at)
    pad = raw[at + w.nbytes: at + w.nbytes + (-w.nbytes % 8)]
    assert pad == bytes(len(pad))
    return int(h[14]), w, (at + w.nbytes + len(pad)) % 8


@pytest.mark.parametrize("dtype,weights,code", [
    (cs.f64, "kron", 1), (cs.f64, "frac", 0),
    (cs.i64, "kron", 3), (cs.i64, "big", 2), (cs.i64, "huge", 0),
])
def test_the_shard_stores_the_narrowest_exact_type(tmp_path, dtype, weights, code):
    g = _graph(weights)
    omit = sum(b for name, (b, _) in OMIT.items() if name != "w")
    _, _, store = write_shards(str(tmp_path), g, [(0, 150), (150, 300)], False, False,
                               dtype.is_int, omit=omit, weight_dtype=dtype)
    want = g.integer_weights() if dtype.is_int else g.weights_or_ones()
    got = []
    for r in range(2):
        c, w, aligned = _read_weights(str(tmp_path / f"graph.{r}.bin"))
        assert c == code and aligned == 0
        got.append(w)
    # widened to the kernel's type, the stored weights are the graph's, exactly
    assert np.array_equal(np.concatenate(got).astype(dtype.np), want.astype(dtype.np))
    assert store.name == {0: "f64", 1: "f32", 2: "i32", 3: "i16"}[code]


@pytest.mark.parametrize("kernel,weights,variant,define", [
    ("sssp", "kron", "async", "COSYNTH_WEIGHT=float"),
    ("sssp", "frac", "async", None),
    pytest.param("sssp", "kron", "pull", "COSYNTH_WEIGHT=float",  # CSC weights, padded
                 marks=pytest.mark.slow),
    ("sssp_int", "kron", "async", "COSYNTH_WEIGHT=int16_t"),
    pytest.param("sssp_int", "big", "async", "COSYNTH_WEIGHT=int32_t",
                 marks=pytest.mark.slow),
])
def test_narrow_and_wide_weights_equal_the_kernel_as_written(tmp_path, kernel, weights,
                                                             variant, define):
    g = _graph(weights)
    sim = simulate(KERNELS[kernel], PAIR, g, {"source": 0}, blades=2, variant=variant,
                   workdir=str(tmp_path), timeout=300)
    assert any("IR interpreter: ok" in c for c in sim.checks)
    assert any("networkx: ok" in c or "scipy: ok" in c for c in sim.checks)
    make = open(tmp_path / "build" / "Makefile").read()
    if define is None:
        assert "COSYNTH_WEIGHT" not in make
    else:
        assert f"-D{define}" in make


@pytest.mark.slow
def test_a_blade_built_for_another_weight_type_refuses_the_shard(tmp_path):
    """The narrow build's binary on a wide shard stops, naming both types (the header's
    word 14 is checked, never reinterpreted)."""
    simulate(KERNELS["sssp"], PAIR, _graph("kron"), {"source": 0}, blades=1,
             workdir=str(tmp_path / "narrow"), timeout=300)
    simulate(KERNELS["sssp"], PAIR, _graph("frac"), {"source": 0}, blades=1,
             workdir=str(tmp_path / "wide"), timeout=300)
    wide = tmp_path / "wide" / "build"
    shutil.copy(tmp_path / "narrow" / "build" / "blade", wide / "blade")
    with pytest.raises(ToolError) as err:
        mpirun(str(wide / "blade"), "run.cfg", 1, threads=1, timeout=120, workdir=str(wide))
    assert "stores edge weights as float64" in str(err.value)
    assert "built for float32" in str(err.value)
