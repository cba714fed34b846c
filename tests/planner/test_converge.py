"""Issue 17 item 6, supersteps counted from the kernel: a convergence loop (a ``while``
that stops on a value its body computes) runs as often as the kernel itself runs it on
the graph (``planner.converge``), a whole number, not a law fitted through whole numbers
(PageRank, stop21 quiet: 3.54 / 2.50 / 1.48 iterations predicted at kron-16 / 18 / 20,
3 / 2 / 1 run)."""

from __future__ import annotations

import os

import pytest

import cosynth as cs
from cosynth.frontend.rewrite import variant as make_variant
from cosynth.ir.nodes import Loop
from cosynth.ir.walk import iter_stmts
from cosynth.loader import load_kernels
from cosynth.planner import converge
from cosynth.planner.calibration import apply_laws, workload_key
from cosynth.planner.stats import GraphStats
from cosynth.planner.workload import OTHER_LOOP_ITERATIONS, no_fpga, profile
from tests.helpers import EXAMPLES
from tests.planner.test_prediction_laws import power_iterations


def _pagerank():
    return load_kernels(os.path.join(EXAMPLES, "pagerank.py"))["pagerank"]


@pytest.mark.parametrize("variant", ["par", "pull", "edges"])
def test_a_convergence_loop_runs_as_often_as_the_kernel_runs_it(variant):
    """On kron-11 and kron-14 (6 and 4 iterations by scipy's power iteration with the
    kernel's stop rule) every nest inside PageRank's while loop runs that many times,
    in every variant, and is not marked guessed; with a tolerance 100 times tighter, more.
    Fails if the count is ignored (``OTHER_LOOP_ITERATIONS`` = 20) or off by one."""
    k = _pagerank()
    kv, _ = make_variant(k.ir, variant)
    for scale in (11, 14):
        g = cs.Graph.kronecker(scale, seed=0)
        st = GraphStats.of(g, f"kron:{scale}")
        for tol in (1e-6, 1e-8):
            want = power_iterations(g, tol=tol)
            assert want != OTHER_LOOP_ITERATIONS
            w = profile(kv, variant, st, k.bind(g, tol=tol), fpga=no_fpga)
            inside = [n for n in w.nests if n.line in (23, 27, 32) and n.runs > 1.5]
            assert inside and all(n.runs == want for n in inside), (scale, tol, want,
                                                                     [n.runs for n in w.nests])
            assert not any(n.runs_guessed for n in w.nests)


def test_the_count_is_the_kernels_own_stopping_test():
    """Generic: a kernel of another shape (halve every value until their sum drops below
    ``tol``) is counted by its own test: sum = n / 2**k < tol first at k = floor(log2(n /
    tol)) + 1; and ``max_iter`` in PageRank's test caps the count."""

    @cs.kernel
    def halve(g: cs.Graph, tol: float = 1e-3) -> cs.NodeArray:
        x = g.node_array(cs.f64, 1.0)
        done = False
        while not done:
            s = 0.0
            for v in g.nodes():
                x[v] = x[v] / 2.0
                s += x[v]
            done = s < tol
        return x

    g = cs.Graph.kronecker(8, seed=0)
    st = GraphStats.of(g, "kron:8")
    for tol in (1e-3, 1e-6):
        w = profile(make_variant(halve.ir, "par")[0], "par", st, halve.bind(g, tol=tol),
                    fpga=no_fpga)
        want = 1
        while g.n / 2.0 ** want >= tol:
            want += 1
        assert [n.runs for n in w.nests] == [float(want)]
    k = _pagerank()
    w = profile(make_variant(k.ir, "par")[0], "par", st, k.bind(g, max_iter=2), fpga=no_fpga)
    assert max(n.runs for n in w.nests) == 2.0


def test_over_the_budget_the_loop_keeps_its_guess(monkeypatch):
    """A loop the count cannot afford (the lane budget below one iteration's lanes:
    ``while_limit`` 1, PageRank runs 6 at kron-11) or a run without its arguments is not
    counted: the nests keep ``OTHER_LOOP_ITERATIONS`` and are marked guessed (a calibrated
    ``log`` law replaces them)."""
    k = _pagerank()
    kv, _ = make_variant(k.ir, "par")
    g = cs.Graph.kronecker(11, seed=0)
    monkeypatch.setattr(converge, "LANE_BUDGET", 1.0)
    w = profile(kv, "par", GraphStats.of(g, "kron:11"), k.bind(g), fpga=no_fpga)
    inside = [n for n in w.nests if n.runs > 1.5]
    assert inside and all(n.runs == OTHER_LOOP_ITERATIONS and n.runs_guessed for n in inside)
    monkeypatch.undo()
    w = profile(kv, "par", GraphStats.of(cs.Graph.kronecker(10, seed=0), "kron:10"), {},
                fpga=no_fpga)
    assert all(n.runs_guessed for n in w.nests if n.runs > 1.5)


def test_a_counted_loop_keeps_its_count_over_a_calibrated_log_law():
    """A calibrated manifest's ``log`` law of a convergence loop (fitted to whole numbers:
    3.54 at kron-16 where 3 run) gives way to the count; the line's work per run stays
    the law's (its edges law scales with the runs).  Fails if the law's runs are taken."""
    k = _pagerank()
    kv, _ = make_variant(k.ir, "pull")
    g = cs.Graph.kronecker(11, seed=0)
    st = GraphStats.of(g, "kron:11")
    bound = k.bind(g)
    want = power_iterations(g)
    lines = {n.line for n in profile(kv, "pull", st, bound, fpga=no_fpga).nests}
    one = {"base": "model", "r": 1.0, "b": 0.0, "ref_m": float(st.m)}
    law = {"base": "log", "r": want + 0.54, "b": 0.0, "ref_m": float(st.m)}
    laws = {workload_key(kv, "pull"): {"nests": {
        line: {"runs": law if line != 27 else one, "edges": one, "nodes": one, "cost": 1.0}
        for line in lines}}}
    w = profile(kv, "pull", st, bound, laws=laws, fpga=no_fpga)
    static = profile(kv, "pull", st, bound, fpga=no_fpga)
    for a, b in zip(w.nests, static.nests):
        assert a.calibrated and a.runs == b.runs and a.edges == pytest.approx(b.edges)
    assert max(n.runs for n in w.nests) == want
    # not counted (no arguments): the law's 6.54 runs
    w = profile(kv, "pull", st, {}, fpga=no_fpga)
    assert apply_laws(w, kv, laws, st)
    assert max(n.runs for n in w.nests) == pytest.approx(want + 0.54)


def test_the_count_is_cached_per_graph_and_shared_by_the_variants():
    """Counted once per graph and arguments: a second variant reuses the first's count
    (the loops are named by source position, which rewrites keep)."""
    k = _pagerank()
    g = cs.Graph.kronecker(10, seed=0)
    st = GraphStats.of(g, "kron:10")
    bound = k.bind(g)
    profile(make_variant(k.ir, "par")[0], "par", st, bound, fpga=no_fpga)
    got = [key for key in st._cuts if key and key[0] == "converge"]
    assert len(got) == 1
    kv, _ = make_variant(k.ir, "pull")
    loops = [s for s, _ in iter_stmts(kv.body) if isinstance(s, Loop) and s.kind == "while"]
    assert converge.count_seconds(kv, loops, st, bound) is not None
    profile(kv, "pull", st, bound, fpga=no_fpga)
    assert [key for key in st._cuts if key and key[0] == "converge"] == got


def test_calibration_fits_a_counted_loop_as_the_model():
    """``cosynth calibrate`` profiles with the run's arguments, so the loop is counted on
    each calibration graph and its runs law is the model's count (``base: model``, r =
    1 when the blades ran that many), not a ``log`` law through whole numbers.  Fails if
    the calibration's profile is not counted (then the law is ``log``)."""
    from cosynth.calibrate import line_laws
    from tests.planner.test_prediction_laws import MACHINE
    k = _pagerank()
    kv, _ = make_variant(k.ir, "pull")
    samples = []
    for s in (8, 9, 10):
        g = cs.Graph.kronecker(s, seed=0)
        st = GraphStats.of(g, f"kron:{s}")
        w = profile(kv, "pull", st, k.bind(g), fpga=no_fpga)
        its = power_iterations(g)  # what the blades run: the share loop once, the rest
        measured: dict[int, dict] = {}  # ``its`` times, each visiting the model's work
        for n in w.nests:
            runs = 1 if n.line == 27 else its
            rec = measured.setdefault(n.line, {"runs": 0, "edges": 0, "nodes": 0,
                                               "seconds": 0.0, "fpga": False})
            rec["runs"] += runs
            rec["edges"] += runs * n.edges
            rec["nodes"] += runs * n.nodes
            rec["seconds"] += runs * (1e-6 + (n.edges + n.nodes) * 1e-9)
        samples.append((st, w, measured))
    laws = line_laws(samples, 1, MACHINE)
    looped = [line for line in laws if line != 27]
    assert looped
    for line in looped:
        assert laws[line]["runs"]["base"] == "model"
        assert laws[line]["runs"]["r"] == pytest.approx(1.0)


def test_a_loop_repeated_by_another_loop_is_not_counted():
    """The budgets bound the run only when the loops around the nests are top-level while
    loops: examples/bc.py runs a BFS (its ``while active``) inside a sequential loop over
    every source vertex (n sweeps), so it is not run, whatever the graph; PageRank's
    forms are.  Fails if ``bounded`` lets bc through (a plan would interpret n BFSs)."""
    bc = load_kernels(os.path.join(EXAMPLES, "bc.py"))["bc"]
    k = _pagerank()
    for v in ("par", "pull", "edges"):
        assert not converge.bounded(make_variant(bc.ir, v)[0])
        assert converge.bounded(make_variant(k.ir, v)[0])
    g = cs.Graph.kronecker(8, seed=0)
    st = GraphStats.of(g, "kron:8")
    kv, _ = make_variant(bc.ir, "par")
    loops = [s for s, _ in iter_stmts(kv.body) if isinstance(s, Loop) and s.kind == "while"]
    assert converge.convergence_runs(kv, loops, st, bc.bind(g)) == {}
    assert converge.count_seconds(kv, loops, st, bc.bind(g)) is None  # never run
