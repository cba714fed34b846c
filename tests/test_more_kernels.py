"""The kernels of ``examples/more`` (cosynth.examples.more): each is traced, matches its
networkx/SciPy reference in the interpreter (in order and reordered), gets a rewrite
report and a plan, and runs on 2 local blades checked against the kernel as written and
the reference; 4 blades and the FPGA co-simulation of the eligible ones run with the slow
set.  ``FPGA`` records, per kernel, whether its edge unit is eligible and why not."""

from __future__ import annotations

import os

import numpy as np
import pytest

import cosynth as cs
from cosynth.backends.rtl import costs
from cosynth.backends.rtl.build import unit_for
from cosynth.check import compare_results
from cosynth.errors import CosynthError
from cosynth.frontend.rewrite import VARIANTS, report, variant
from cosynth.ir.interp import interpret
from cosynth.loader import load_kernels
from cosynth.pipeline import simulate
from cosynth.planner import load_manifest, make_plan
from tests.helpers import EXAMPLES, ROOT, random_graphs

MORE = os.path.join(EXAMPLES, "more")
RACK = load_manifest(os.path.join(ROOT, "manifests", "rack16.yaml"))
PAIR = load_manifest(os.path.join(ROOT, "manifests", "pair.yaml"))
MIXED = load_manifest(os.path.join(ROOT, "manifests", "mixed.yaml"))

# name -> None (its edge unit is eligible) or the reason the FPGA refuses it today
FPGA = {
    "reach": None,  # the guarded boolean set is raised into an or-reduction
    "max_label": None,
    "khop": None,  # the range counter 'level' is a register the host writes per call
    "walks": None,
    "wdegree": "holds f64 values",
    "ppr": "holds f64 values",
    "common_neighbours": "a loop",
    "lp_rounds": None,
    "hits": "holds f64 values",
}
NAMES = sorted(FPGA)


def kernel(name: str) -> cs.KernelFunction:
    return load_kernels(os.path.join(MORE, f"{name}.py"))[name]


def args_for(name: str, g) -> dict:
    if name in ("reach", "khop", "walks"):
        return {"source": int(np.argmax(g.out_degrees())) if g.m else 0}
    if name == "ppr":
        return {"personal": np.linspace(1.0, 2.0, g.n)}
    return {}


def test_there_are_at_least_eight_and_they_ship_in_the_package():
    import cosynth.examples.more as pkg
    assert len(NAMES) >= 8
    here = os.path.dirname(pkg.__file__)
    assert all(os.path.isfile(os.path.join(here, f"{n}.py")) for n in NAMES)
    text = open(os.path.join(ROOT, "pyproject.toml")).read()
    assert '"cosynth.examples.more"' in text


@pytest.mark.parametrize("name", NAMES)
def test_interpreter_matches_the_reference_in_order_and_reordered(name):
    kf = kernel(name)
    k = kf.ir
    checked = 0
    for _, g in random_graphs(6, seed=7, self_loops=False):
        if g.n == 0:
            continue
        a = args_for(name, g)
        bound = kf.bind(g, **a)
        seq = interpret(k, g, bound, vectorize=False)
        try:
            ref = kf.expected(g, bound)
        except CosynthError:  # NoReference for this graph (parallel edges, no edge)
            ref = None
        if ref is not None:
            compare_results(seq, ref, what=name, against="the reference")
            checked += 1
        for vname in VARIANTS:
            kv, done = variant(k, vname)
            exact = all(r.exact for r in done)
            tol = {"rtol": 0.0, "atol": 0.0} if exact else {}
            for seed in (1, 2):
                compare_results(interpret(kv, g, bound, order=seed), seq,
                                what=f"{name} {vname} reordered (seed {seed})", **tol)
            compare_results(interpret(kv, g, bound), seq, what=f"{name} {vname}",
                            **({} if vname != "seq" else tol))
    assert checked >= 3


@pytest.mark.parametrize("name", NAMES)
def test_report_plan_and_fpga_eligibility(name):
    kf = kernel(name)
    reps, _ = report(kf.ir)
    assert any(r.applied for lr in reps for _, r in lr.results), f"no rule applies to {name}"
    g = cs.Graph.kronecker(6, seed=1)
    plan = make_plan(kf, RACK.first(2), g, args_for(name, g), fpga=costs.fpga_profile)
    assert plan.variant and len(plan.blades) >= 1
    why = FPGA[name]
    if why is None:
        unit_for(kf.ir, "par")
    else:
        with pytest.raises(CosynthError, match=why):
            unit_for(kf.ir, "par")


def _simulate(name, man, blades, fpga=None):
    kf = kernel(name)
    g = cs.Graph.kronecker(6, seed=1)
    sim = simulate(kf, man, g, args_for(name, g), blades=blades, timeout=300, fpga=fpga)
    assert sim.checks[0].startswith("blades == IR interpreter: ok (the kernel as written")
    assert "blades == reference: ok" in sim.checks, sim.checks  # examples/more/refs.py
    return sim


@pytest.mark.parametrize("name", NAMES)
def test_two_blades(name):
    _simulate(name, RACK, 2)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_four_blades(name):
    _simulate(name, RACK, 4)


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in NAMES if FPGA[n] is None])
def test_fpga_cosimulation(name):
    for man, blades in ((PAIR, 2), (MIXED, 4)):
        sim = _simulate(name, man, blades, fpga=True)
        assert any(b.device == "fpga" for b in sim.plan.blades)


#: the float kernels an FPGA refuses as written, which run under a fixed-point policy
FIXED = ("hits", "ppr", "wdegree")


@pytest.mark.parametrize("name", FIXED)
def test_float_kernels_on_the_unit_under_a_fixed_point_policy(name):
    """Under Q16.47 (atol 1e-9) the edge unit (Amaranth simulation) computes the float
    kernel's sums on words: within the stated tolerance of the kernel as written and of
    its reference."""
    from cosynth.backends.rtl.sim import run_kernel
    kf = kernel(name)
    with pytest.raises(CosynthError, match=FPGA[name]):
        unit_for(kf.ir, "par")
    fixed = kf.with_fixed("Q16.47,atol=1e-9")
    g = cs.Graph.kronecker(5, seed=2)
    args = args_for(name, g)
    run = run_kernel(fixed, g, args)
    assert run.stats.edges >= g.m
    bound = kf.bind(g, **args)
    for want in (interpret(kf.ir, g, bound), kf.expected(g, bound)):
        compare_results(run.results, want, rtol=0.0, atol=1e-9)
