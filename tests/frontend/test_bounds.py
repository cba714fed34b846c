"""Range-loop counters carry their bounds into the proofs; integer relaxations proved
under a checked value-bound assumption."""

from __future__ import annotations

import pytest

from cosynth.frontend.rewrite import parallelize, variant
from cosynth.frontend.rewrite.core import get, loops, range_bounds_on_path
from cosynth.ir.printer import print_expr
from tests.helpers import kernel_from_source, random_graphs, same

LEVELS = '''
@cs.kernel
def levels(g: cs.Graph, source: int, k: int) -> cs.NodeArray[cs.i64]:
    depth = g.node_array(cs.i64, cs.INF)
    depth[source] = 0
    for level in range(k):
        for v in g.nodes():
            if depth[v] == level:
                for e in g.out_edges(v):
                    if level + 1 < depth[e.dst]:
                        depth[e.dst] = level + 1
    return depth
'''


def _node_loop(k):
    return next(p for p, lp in loops(k) if lp.kind == "nodes")


def test_node_loop_inside_range_rounds_is_parallel(tmp_path):
    """Without the bounds Z3 finds level = 2**63 - 1, where level + 1 wraps."""
    kf, _ = kernel_from_source(tmp_path, LEVELS)
    k = kf.ir
    path = _node_loop(k)
    assert [print_expr(c) for c, _ in range_bounds_on_path(k, path)] == ["0 <= level",
                                                                          "level < k"]
    r = parallelize.apply(k, path)
    assert r.applied, r.reason
    (law,) = [law for law in r.laws if law.name == "stable read"]
    assert law.status == "proved" and "0 <= level, level < k" in law.detail
    kv, _ = variant(k, "par")
    assert get(kv, path).schedule == "par"
    for _, g in random_graphs(8, seed=21):
        if g.n:
            for rounds in (0, 3, g.n):
                assert same(kf.interpret(g, 0, rounds), kf(g, 0, rounds))


@pytest.mark.parametrize("header,want", [
    ("for level in range(2, k, 3):", ["2 <= level", "level < k"]),
    ("for level in range(k, -1, -1):", ["-1 < level", "level <= k"]),
    ("for level in range(k, 0, step):", []),          # the direction is unknown
    ("for level in range(lim[0]):", []),              # the loop writes its bound
])
def test_range_bounds_hold_only_when_the_loop_cannot_change_them(tmp_path, header, want):
    kf, _ = kernel_from_source(tmp_path, f'''
        @cs.kernel
        def r(g: cs.Graph, k: int, step: int = 1) -> cs.NodeArray[cs.i64]:
            lim = g.node_array(cs.i64, 4)
            {header}
                for v in g.nodes():
                    lim[v] = level
            return lim
        ''')
    k = kf.ir
    assert [print_expr(c) for c, _ in range_bounds_on_path(k, _node_loop(k))] == want
