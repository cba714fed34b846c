"""Storage narrowing of edge weights (``planner.narrow``): the narrowest type every weight
round-trips through exactly, checked on the data; anything that does not fit stays f64."""

from __future__ import annotations

import os

import numpy as np
import pytest

import cosynth as cs
from cosynth.dtypes import f32, f64, i32, i64
from cosynth.loader import load_kernels
from cosynth.planner import load_manifest, make_plan
from cosynth.planner.narrow import reads_weights, weight_choice, weight_storage
from cosynth.planner.workload import no_fpga
from tests.helpers import EXAMPLES, ROOT, example


@pytest.mark.parametrize("d,w,want", [
    (f64, [1.0, 2.0, 255.0], "f32"),           # Kronecker weights
    (f64, [0.5, -3.25, 0.0, 2.0**-20], "f32"),  # dyadic: exact in float32
    (f64, [1.0, 0.1], "f64"),                   # 0.1 is not a float32
    (f64, [1.0, 1e40], "f64"),                  # beyond float32's range
    (f64, [1.0, 2.0**24 + 1], "f64"),           # an integer float32 cannot hold
    (f64, [1.0, float("nan")], "f64"),          # NaN never passes the round trip
    (f32, [0.1, 3.0], "f32"),                   # the kernel reads float32 anyway
    (i64, [1, 255], "i16"),
    (i64, [-32768, 32767], "i16"),
    (i64, [0, 32768], "i32"),
    (i64, [-(2**31), 2**31 - 1], "i32"),
    (i64, [0, 2**31], "f64"),                   # wide, as before the rule
    (i32, [7, 40000], "i32"),
])
def test_the_narrowest_exact_type_is_chosen(d, w, want):
    st = weight_storage(d, np.array(w))
    assert st.name == want
    if want != "f64":  # the legality itself: every weight comes back exactly
        back = np.asarray(w).astype(d.np).astype(st.np).astype(d.np)
        assert np.array_equal(back, np.asarray(w).astype(d.np))


def test_a_graph_without_edges_is_narrow_and_reasons_are_stated():
    assert weight_storage(f64, np.zeros(0)).name == "f32"
    assert "[1, 255]" in weight_storage(i64, np.array([1, 255])).reason
    assert "does not fit" in weight_storage(f64, np.array([0.1])).reason


def test_the_plan_says_which_width_it_chose():
    man = load_manifest(os.path.join(ROOT, "manifests", "pair.yaml"))
    g = cs.Graph.kronecker(6, seed=1)
    src = int(np.argmax(g.out_degrees()))
    for name, want in (("sssp", "f32 (4 bytes per edge)"), ("sssp_int", "i16 (2 bytes")):
        kfn = example("sssp") if name == "sssp" else _sssp_int()
        plan = make_plan(kfn, man, g, {"source": src}, fpga=no_fpga)
        (c,) = [c for c in plan.choices if c.what == "weight storage"]
        assert c.chosen.startswith(want) and "exact" in c.reason
    # fractional weights keep the wide type
    frac = cs.Graph.from_edges(np.array([0, 1]), np.array([1, 2]), np.array([0.1, 2.5]),
                               num_nodes=3, directed=True)
    assert weight_choice(example("sssp").ir, frac)[0].startswith("f64")
    # a kernel that reads no weights has no such choice
    assert not reads_weights(example("bfs").ir)
    assert weight_choice(example("bfs").ir, g) is None


def _sssp_int():
    return load_kernels(os.path.join(EXAMPLES, "sssp.py"))["sssp_int"]


# ------------------------------------------------------------------ state tables
def _weighted(w, n: int = 300, seed: int = 5) -> cs.Graph:
    rng = np.random.default_rng(seed)
    m = len(w)
    return cs.Graph.from_edges(rng.integers(0, n, m), rng.integers(0, n, m),
                               np.asarray(w, dtype=np.float64), num_nodes=n, directed=True)


def _async_sssp(name: str = "sssp"):
    from cosynth.frontend.rewrite import variant
    return variant(load_kernels(os.path.join(EXAMPLES, "sssp.py"))[name].ir, "async")[0]


@pytest.mark.parametrize("name,w,want", [
    ("sssp", [1.0, 255.0, 7.0], "i32"),             # Kronecker weights: 299 * 255 fits
    ("sssp", [1.0, 0.5], "f64"),                     # a fractional weight
    ("sssp", [1.0, -2.0], "f64"),                    # a negative weight
    ("sssp", [1.0, 7_158_278.0], "i32"),             # n * W = 2147483400 < 2**31 - 1
    ("sssp", [1.0, 7_158_279.0], "f64"),             # n * W = 2147483700: one step over
    ("sssp_int", [1, 255], "i32"),
])
def test_the_state_table_is_stored_in_32_bits_only_where_path_sums_fit(name, w, want):
    from cosynth.planner.narrow import state_storage
    k = _async_sssp(name)
    g = _weighted(w * 50)
    got, why = state_storage(k, g)
    assert got == (want if want == "i32" else k.table_map["dist"].dtype.name), why
    if got == "i32":  # the bound stated is the graph's: c + n * W, below 2**31 - 1
        bound = (g.n - 1) * int(max(w)) + int(max(w))
        assert f"<= {bound}" in why and bound < 2**31 - 1


def test_the_plan_says_which_state_width_it_chose():
    man = load_manifest(os.path.join(ROOT, "manifests", "single.yaml"))
    g = cs.Graph.kronecker(10, seed=0)
    plan = make_plan(example("sssp"), man, g, {"source": 0}, fpga=no_fpga)
    assert plan.variant == "async"  # a bucketed frontier's table
    (c,) = [c for c in plan.choices if c.what == "state storage"]
    assert c.chosen.startswith("i32 (4 bytes per vertex)") and "path sum" in c.reason
    # BFS's hybrid: the level frontier's depth table (narrowstate.level_states), depths
    # bounded by c0 + (n + 1) * k = n + 1
    bfs = make_plan(example("bfs"), man, g, {"source": 0}, fpga=no_fpga)
    assert bfs.variant == "hybrid"
    (c,) = [c for c in bfs.choices if c.what == "state storage"]
    assert c.chosen.startswith("i32 (4 bytes per vertex)") and f"<= {g.n + 1}" in c.reason
    assert "level <=" in c.reason and "path sum" not in c.reason  # depths, not sums
