"""Rule ``rotate``: a while's map loop moves to the end of the previous iteration (plus a
copy before the while) and fuses with its new and old neighbours; the kernel computes
the same values bit for bit, and the rule refuses what would change them."""

from __future__ import annotations

import pytest

from cosynth.frontend.rewrite import rotate, variant
from cosynth.frontend.rewrite.core import loops
from cosynth.ir.interp import interpret
from cosynth.ir.nodes import Loop, Store
from cosynth.ir.walk import iter_stmts
from tests.helpers import example, kernel_from_source, random_graphs, same

SMOOTH = """
    @cs.kernel
    def smooth(g: cs.Graph, rounds: int = 4) -> cs.NodeArray:
        x = g.node_array(cs.f64, 1.0)
        y = g.node_array(cs.f64, 0.0)
        h = g.node_array(cs.f64, 0.0)
        r = 0
        while r < rounds:
            for v in g.nodes():
                y[v] = 0.0
            for v in g.nodes():
                h[v] = x[v] * 0.5 + 1.0 if g.out_degree(v) > 0 else 0.25
            for v in g.nodes():
                for e in g.out_edges(v):
                    y[e.dst] += h[v] / g.out_degree(v)
            for v in g.nodes():
                x[v] = y[v] / (1.0 + g.out_degree(v))
            r += 1
        return x
    """

MAP_H = "                h[v] = x[v] * 0.5 + 1.0 if g.out_degree(v) > 0 else 0.25\n"


def _while(k) -> Loop:
    return next(s for s, _ in iter_stmts(k.body) if isinstance(s, Loop) and s.kind == "while")


def _node_loops(body) -> list[Loop]:
    return [s for s in body if isinstance(s, Loop) and s.kind == "nodes"]


def _stores(loop) -> set:
    return {s.table for s, _ in iter_stmts(loop.body) if isinstance(s, Store)}


def _map_path(k, table: str):
    return next(p for p, loop in loops(k) if loop.kind == "nodes" and _stores(loop) == {table})


def test_pagerank_pull_makes_two_passes_an_iteration():
    """The contribution pass joins the update of the previous iteration (and runs once
    before the while); the reset joins the gather.  Without the rule the pull form makes
    four passes an iteration."""
    k = example("pagerank").ir
    before, _ = variant(k, "pull", rotate_maps=False)
    after, done = variant(k, "pull")
    assert len(_node_loops(_while(before).body)) == 4
    assert [r.rule for r in done].count("rotate") == 1
    gather, update = _node_loops(_while(after).body)
    assert any(s.kind == "in_edges" for s, _ in iter_stmts(gather.body)
               if isinstance(s, Loop))
    assert _stores(gather) == {"contrib", "dangling"}
    assert {"rank", "share_v"} <= _stores(update)
    prologue = [s for s in after.body if isinstance(s, Loop) and s.kind == "nodes"]
    assert len(prologue) == 1 and _stores(prologue[0]) == {"share_v"}


def test_pagerank_pull_rotated_equals_unrotated_bit_for_bit():
    k = example("pagerank")
    before, _ = variant(k.ir, "pull", rotate_maps=False)
    after, _ = variant(k.ir, "pull")
    for _, g in random_graphs(8, seed=17):
        args = k.bind(g)
        assert same(interpret(after, g, args), interpret(before, g, args))


def test_rotated_map_equals_the_kernel_as_written(tmp_path):
    """On the sequential kernel: the map moves after the update it reads, fuses with it,
    and the reset and the push scatter it separated stay apart (the scatter writes other
    vertices' entries)."""
    kf, _ = kernel_from_source(tmp_path, SMOOTH)
    k = kf.ir
    r = rotate.apply(k, _map_path(k, "h"))
    assert r.applied, r.reason
    body = _while(r.kernel).body
    assert [_stores(s) for s in _node_loops(body)] == [{"y"}, {"y"}, {"x", "h"}]
    for _, g in random_graphs(8, seed=5):
        for rounds in (0, 1, 3):
            args = kf.bind(g, rounds=rounds)
            assert same(interpret(r.kernel, g, args), interpret(k, g, args))


@pytest.mark.parametrize("old,new,why", [
    ("return x", "return x, h", "result"),
    ("            r += 1\n", "            r += 1\n        for v in g.nodes():\n"
     "            x[v] += h[v]\n", "read outside"),
    ("                y[v] = 0.0\n", "                y[v] = 0.0\n                x[v] = 1.0\n",
     "written before it"),
    (MAP_H, MAP_H.replace("0.25", "float(g.out_degree(v) // 2)"), "may fail"),
])
def test_rotate_refuses_what_would_change_the_result(tmp_path, old, new, why):
    src = SMOOTH.replace(old, new)
    if "return x, h" in new:
        src = src.replace("-> cs.NodeArray", "-> tuple")
    assert src != SMOOTH
    kf, _ = kernel_from_source(tmp_path, src)
    r = rotate.apply(kf.ir, _map_path(kf.ir, "h"))
    assert not r.applied and why in r.reason, r.reason
