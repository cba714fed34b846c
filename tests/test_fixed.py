"""Fixed-point policies (cosynth.fixed): how they are declared (decorator, text for the
CLI), what they refuse (bad formats, no tolerance, values out of range, NaN), and that a
kernel's policy survives its rewrites."""

from __future__ import annotations

import numpy as np
import pytest

import cosynth as cs
from cosynth.errors import ArgumentError
from cosynth.fixed import FixedRangeError, parse_fixed
from cosynth.frontend.rewrite import variant
from tests.helpers import example


def test_declared_in_the_decorator_or_as_text():
    q = cs.fixed("Q16.47", atol=1e-9)
    assert (q.int_bits, q.frac_bits, q.atol, q.rtol) == (16, 47, 1e-9, 0.0)
    assert parse_fixed("Q16.47,atol=1e-9") == q
    assert parse_fixed("q8.20, atol=1e-3, rtol=1e-6") == cs.fixed("Q8.20", atol=1e-3,
                                                                   rtol=1e-6)
    assert parse_fixed(None) is None and parse_fixed(q) is q
    assert parse_fixed(q.as_text()) == q

    @cs.kernel(fixed="Q16.47,atol=1e-9")
    def total(g: cs.Graph) -> cs.NodeArray:
        s = g.node_array(cs.f64, 0.0)
        for v in g.nodes():
            for e in g.out_edges(v):
                s[e.dst] += 0.5
        return s
    assert total.fixed == q and total.ir.fixed == q
    assert total.with_fixed(None).ir.fixed is None
    assert example("pagerank").ir.fixed is None  # no policy unless declared


@pytest.mark.parametrize("text, why", [
    ("Q16.47", "state a finite"),  # a policy states its tolerance
    ("Q40.40,atol=1", "does not fit a 64-bit word"),
    ("16.47,atol=1", "is not Qm.n"),
    ("Q16.47,atol=x", "not a number"),
    ("Q16.47,tol=1", "unknown part"),
])
def test_bad_policies_are_refused_with_the_fix(text, why):
    with pytest.raises(ArgumentError, match=why) as exc:
        parse_fixed(text)
    assert exc.value.hint


def test_encoding_rounds_and_refuses_what_does_not_fit():
    q = cs.fixed("Q4.8", atol=1e-2)
    words = q.encode([0.5, -1.0, 1 / 3, 15.99])
    assert words.tolist() == [128, -256, 85, 4093]
    assert np.allclose(q.decode(words), [0.5, -1.0, 1 / 3, 15.99], atol=2 ** -9)
    with pytest.raises(FixedRangeError, match=r"'rank'\[2\] = 16.0 does not fit .*Q4.8"):
        q.encode([0.0, 1.0, 16.0], "'rank'")
    with pytest.raises(FixedRangeError, match="nan"):
        q.encode(float("nan"), "the scalar 'share'")


def test_the_policy_survives_every_rewrite():
    kf = example("pagerank").with_fixed("Q16.47,atol=1e-9")
    for v in ("par", "async", "pull", "edges"):
        kv, _ = variant(kf.ir, v)
        assert kv.fixed == kf.fixed, v


def test_a_saved_plan_keeps_the_policy(tmp_path):
    """The IR text has no syntax for the policy: the plan file carries it beside the
    programs, and reading the plan puts it back on both (before, `build --plan` lost it and
    refused a fixed-point unit with the float reason)."""
    import os

    from cosynth.backends.rtl.costs import fpga_profile
    from cosynth.planner import PlanError, load_manifest, load_plan, make_plan
    from tests.helpers import ROOT, random_graph

    kf = example("pagerank").with_fixed("Q16.47,atol=1e-9")
    man = load_manifest(os.path.join(ROOT, "manifests", "pair.yaml"))
    g = cs.Graph.from_networkx(random_graph(3, weighted=True))
    plan = make_plan(kf, man, g, {}, fixed={"blades": 2, "fpga": True}, fpga=fpga_profile)
    assert [b.device for b in plan.blades] == ["fpga", "fpga"]
    path = str(tmp_path / "plan.yaml")
    plan.save(path)
    back = load_plan(path)
    assert back.variant_ir.fixed == kf.fixed and back.program.fixed == kf.fixed
    assert back.variant_ir == plan.variant_ir and back.program == plan.program
    assert "\nfixed: Q16.47,atol=1e-09" in open(path).read()

    plain = make_plan(example("pagerank"), man, g, {},
                      fixed={"blades": 2}, fpga=fpga_profile)
    plain.save(path)
    assert "\nfixed:" not in open(path).read() and load_plan(path).program.fixed is None

    text = open(path).read() + "fixed: Q99.1,atol=1\n"
    with open(path, "w") as f:
        f.write(text)
    with pytest.raises(PlanError, match="fixed-point policy that does not parse"):
        load_plan(path)


@pytest.mark.slow
def test_a_reloaded_fixed_point_plan_builds_its_fpga_units(tmp_path):
    """`cosynth build --plan` of a fixed-point kernel on FPGA blades (refused with the float
    reason before the plan carried the policy)."""
    import os

    from cosynth.backends.rtl.costs import fpga_profile
    from cosynth.pipeline import build_from_plan
    from cosynth.planner import load_manifest, load_plan, make_plan
    from tests.helpers import ROOT, random_graph

    kf = example("pagerank").with_fixed("Q16.47,atol=1e-9")
    man = load_manifest(os.path.join(ROOT, "manifests", "pair.yaml"))
    g = cs.Graph.from_networkx(random_graph(3, weighted=True))
    plan = make_plan(kf, man, g, {}, fixed={"blades": 2, "fpga": True}, fpga=fpga_profile)
    plan.save(str(tmp_path / "plan.yaml"))
    build_from_plan(load_plan(str(tmp_path / "plan.yaml")), g, str(tmp_path / "b"))
    assert (tmp_path / "b" / "blade.cpp").is_file()
