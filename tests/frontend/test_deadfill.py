"""Rule ``deadfill``: a whole-table fill whose every entry is stored again before any read
is dropped; the kernel computes the same values bit for bit, and the rule refuses a fill
some read could see."""

from __future__ import annotations

import pytest

from cosynth.frontend.rewrite import VARIANTS, deadfill, variant
from cosynth.ir.interp import interpret
from cosynth.ir.nodes import Alloc
from tests.helpers import example, kernel_from_source, random_graphs, same

GATHER = """
    @cs.kernel
    def gather(g: cs.Graph, rounds: int = 3) -> cs.NodeArray:
        x = g.node_array(cs.f64, 1.0)
        y = g.node_array(cs.f64, 7.0)
        r = 0
        while r < rounds:
            for v in g.nodes():
                y[v] = 0.0
                for e in g.in_edges(v):
                    y[v] += x[e.src]
            for v in g.nodes():
                x[v] = 0.5 * y[v] + 1.0
            r += 1
        return x
    """

RESET = "                y[v] = 0.0\n"


def _fills(k) -> list[str]:
    return [s.table for s in k.body if isinstance(s, Alloc)]


def _fill_path(k, table: str):
    return (("body", next(i for i, s in enumerate(k.body)
                          if isinstance(s, Alloc) and s.table == table)),)


def test_fill_overwritten_in_the_while_is_dropped_and_values_stay(tmp_path):
    """Case (b): the while's first loop stores y[v] before reading it; a while that runs
    zero times never reads y."""
    kf, _ = kernel_from_source(tmp_path, GATHER)
    k = kf.ir
    r = deadfill.apply(k, _fill_path(k, "y"))
    assert r.applied, r.reason
    assert _fills(r.kernel) == ["x"]
    assert not deadfill.apply(k, _fill_path(k, "x")).applied  # x is read first
    for _, g in random_graphs(8, seed=23):
        for rounds in (0, 1, 3):
            args = kf.bind(g, rounds=rounds)
            assert same(interpret(r.kernel, g, args), interpret(k, g, args))


def test_fill_before_an_overwriting_loop_may_be_a_result(tmp_path):
    """Case (a): no while in between, so the table may even be returned."""
    src = """
    @cs.kernel
    def label(g: cs.Graph) -> cs.NodeArray:
        lab = g.node_array(cs.i64, 0)
        for v in g.nodes():
            lab[v] = v * 2
            if g.out_degree(v) > 0:
                lab[v] += 1
        return lab
    """
    kf, _ = kernel_from_source(tmp_path, src)
    r = deadfill.apply(kf.ir, _fill_path(kf.ir, "lab"))
    assert r.applied, r.reason
    for _, g in random_graphs(6, seed=3):
        args = kf.bind(g)
        assert same(interpret(r.kernel, g, args), interpret(kf.ir, g, args))


@pytest.mark.parametrize("old,new,why", [
    (RESET, "                y[v] = y[v] * 0.5\n", "does not store 'y[v]' unconditionally"),
    (RESET, "                if g.out_degree(v) > 0:\n                    y[v] = 0.0\n",
     "does not store 'y[v]' unconditionally"),
    ("y[v] += x[e.src]", "y[v] += x[e.src] + y[e.src]", "reads 'y' at another entry"),
    ("y[v] += x[e.src]", "y[e.src] += x[v]", "stores into 'y' at another entry"),
    ("            r += 1\n", "            r += 1\n        for v in g.nodes():\n"
     "            x[v] += y[v]\n", "read after the while loop"),
    ("return x", "return x, y", "is a result"),
])
def test_deadfill_refuses_a_fill_some_read_can_see(tmp_path, old, new, why):
    src = GATHER.replace(old, new)
    if "return x, y" in new:
        src = src.replace("-> cs.NodeArray", "-> tuple")
    assert src != GATHER
    kf, _ = kernel_from_source(tmp_path, src)
    r = deadfill.apply(kf.ir, _fill_path(kf.ir, "y"))
    assert not r.applied and why in r.reason, r.reason


def test_pagerank_contribution_fill_is_dropped_in_every_parallel_variant():
    """PageRank's ``contrib[:] = 0.0`` is dead in every variant (the per-iteration reset
    stores each entry first), so the timed region loses one pass over the table; the
    rank fill, which the first iteration reads, stays."""
    kf = example("pagerank")
    graphs = list(random_graphs(4, seed=31))
    for name in VARIANTS:
        k, done = variant(kf.ir, name)
        dropped = [r for r in done if r.rule == "deadfill"]
        assert _fills(k) == (["rank", "contrib"] if name == "seq" else ["rank"]), name
        assert len(dropped) == (0 if name == "seq" else 1), name
        if name in ("bsp", "pull"):
            for _, g in graphs:
                args = kf.bind(g)
                assert same(interpret(k, g, args),
                            interpret(variant(kf.ir, name, dead_fills=False)[0], g, args))
