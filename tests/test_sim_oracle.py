"""``cosynth simulate`` checks the blades against the kernel *as written*: a wrong rewrite
that the blades execute faithfully is caught even without a networkx reference."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest

import cosynth as cs
from cosynth import pipeline
from cosynth.check import SEQ_BUDGET, compare_results, oracle, tolerance
from cosynth.dtypes import i64
from cosynth.errors import MismatchError
from cosynth.frontend.rewrite import variant
from cosynth.frontend.rewrite.core import loops, replace_at
from cosynth.ir.interp import interpret
from cosynth.ir.nodes import EdgeAttr, Loop, Store, Var, replace
from cosynth.loader import load_kernels
from cosynth.planner import load_manifest
from cosynth.planner.stubs import project
from tests.helpers import ROOT, example

_SRC = '''
import cosynth as cs


@cs.kernel
def top_pred(g: cs.Graph) -> cs.NodeArray[cs.i64]:
    best = g.node_array(cs.i64, -1)
    for v in g.nodes():
        for e in g.out_edges(v):
            if v > best[e.dst]:
                best[e.dst] = v
    return best
'''


def _wrong_pull(k):
    """A deliberately wrong push -> pull rewrite: ``best[v] max= e.dst`` over in-edges
    (e.dst is v itself there; the right rewrite reduces e.src)."""
    k, _ = variant(k, "par")
    path, loop = next((p, lp) for p, lp in loops(k) if lp.kind == "nodes")
    inner = loop.body[0]
    red = next(s for s in inner.body if isinstance(s, Store))
    pulled = replace(inner, kind="in_edges", schedule="par", body=(replace(
        red, index=loop_var(loop), value=EdgeAttr(inner.var, "dst")),))
    return replace_at(k, path, [replace(loop, body=(pulled,))])


def loop_var(loop: Loop):
    return Var(loop.var, i64, weak=True)


def test_a_wrong_rewrite_run_faithfully_by_the_blades_is_caught(tmp_path, monkeypatch):
    path = tmp_path / "top_pred.py"
    path.write_text(_SRC)
    kf = load_kernels(str(path))["top_pred"]
    assert kf.reference is None  # no networkx to fall back on
    wrong = _wrong_pull(kf.ir)
    real = pipeline.make_plan

    def planned_with_the_wrong_rewrite(*a, **kw):
        plan = real(*a, **kw)
        return dataclasses.replace(plan, variant_ir=wrong, program=project(wrong))
    monkeypatch.setattr(pipeline, "make_plan", planned_with_the_wrong_rewrite)
    g = cs.Graph.kronecker(6, seed=1)
    man = load_manifest(os.path.join(ROOT, "manifests", "rack16.yaml"))
    sim = pipeline.simulate(kf, man, g, {}, blades=2, check=False, fpga=False)
    # the blades ran the wrong variant faithfully: the old check (blades against the
    # interpreter of the variant they ran) passes ...
    compare_results(sim.results, interpret(wrong, g, {}))
    # ... the kernel as written disagrees, and simulate says so
    with pytest.raises(MismatchError, match="kernel as written"):
        pipeline._check(kf, g, {}, sim)


def test_the_oracle_runs_the_kernel_as_written_within_its_budget():
    kf = example("cc")
    g = cs.Graph.kronecker(7, seed=4)
    kv, done = variant(kf.ir, "async")
    got = oracle(kf.ir, kv, "async", g, {})
    assert got.as_written and got.source == "the kernel as written"
    assert np.array_equal(got.results[0], kf(g))
    # past the budget (here: one loop iteration), the proved variant answers, and says so
    small = oracle(kf.ir, kv, "async", g, {}, budget=1)
    assert not small.as_written and "async variant, vectorised" in small.source
    assert np.array_equal(small.results[0], got.results[0])
    # a graph whose n + m alone exceeds the budget skips the kernel as written at once
    assert g.n + g.m > 10
    assert not oracle(kf.ir, kv, "async", g, {}, budget=10).as_written
    assert SEQ_BUDGET >= 1_000_000


def test_tolerance_is_exact_unless_a_law_was_assumed():
    _, pr = variant(example("pagerank").ir, "par")
    _, cc = variant(example("cc").ir, "par")
    assert tolerance(cc) == {"rtol": 0.0, "atol": 0.0}
    assert tolerance(pr)["rtol"] > 0
    assert tolerance([]) == {"rtol": 0.0, "atol": 0.0}
