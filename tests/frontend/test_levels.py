"""Level frontiers (``frontend/rewrite/levels``): which while loops' guarded loops may run
over the vertices changed in the previous iteration, with the Z3 obligations proved or
refuted, and the hybrid's counts taken from that queue."""

from __future__ import annotations

import pytest

from cosynth.frontend.rewrite import hybrid, variant
from cosynth.frontend.rewrite.levels import level_frontier
from cosynth.frontend.rewrite.projection import apply as project
from cosynth.ir.nodes import Loop
from tests.helpers import example, kernel_from_source


def _whiles(k):
    return [s for s in k.body if isinstance(s, Loop) and s.kind == "while"]


def _lf(k):
    (w,) = _whiles(k)
    return level_frontier(k, w)


@pytest.mark.parametrize("projected", [False, True])
def test_hybrid_bfs_runs_from_a_level_queue_with_counts(projected):
    kv, _ = variant(example("bfs").ir, "hybrid")
    k = project(kv, ()).kernel if projected else kv
    lf = _lf(k)
    assert lf is not None and (lf.table, lf.counter) == ("depth", "level")
    assert lf.fill.value == 2 ** 63 - 1
    assert len(lf.laws) == 6 and all(law.status == "proved" for law in lf.laws), \
        [law.describe() for law in lf.laws]
    # every queued vertex passes the next guard; the entry check may sum the first counts
    assert "pass the next guard" in lf.laws[-1].subject
    assert lf.passes and lf.first_counts
    part = "__part" if projected else ""
    assert lf.push_count == (f"push_edges{part}", f"push_vertices{part}")
    assert lf.pull_count == f"pull_edges{part}"
    assert lf.first  # nothing writes depth before the push loop in an iteration
    # the guarded loop is the hybrid's push branch; both branches are clean
    (push,) = lf.loops
    assert push.body[0].then[0].kind == "out_edges"
    assert len(lf.clean) == 3  # the counting loop, pull, push


def test_plain_bfs_runs_from_a_level_queue_without_counts():
    kv, _ = variant(example("bfs").ir, "par")
    lf = _lf(project(kv, ()).kernel)
    assert lf is not None and lf.count is None and lf.push_count is None
    assert lf.passes and not lf.first_counts  # no counting loop to sum


@pytest.mark.parametrize("name,v", [("bfs", "pull"), ("sssp", "par"), ("cc", "par"),
                                    ("pagerank", "pull"), ("sssp", "async")])
def test_no_level_frontier_without_a_guard_on_a_counter(name, v):
    """The pull form has no guard at the vertex; SSSP, CC and PageRank guard nothing by a
    counter."""
    kv, _ = variant(example(name).ir, v)
    assert all(level_frontier(kv, w) is None for w in _whiles(kv))


SKIP = """
import cosynth as cs
@cs.kernel
def f(g: cs.Graph, source: int) -> cs.NodeArray[cs.i64]:
    depth = g.node_array(cs.i64, cs.INF)
    depth[source] = 0
    level = 0
    active = True
    while active:
        active = False
        for v in g.nodes():
            if depth[v] == level:
                for e in g.out_edges(v):
                    nd = level + 2
                    if nd < depth[e.dst]:
                        depth[e.dst] = nd
                        active = True
        level += 1
    return depth
"""

PLAIN = SKIP.replace("nd = level + 2", "nd = level + 1").replace(
    "        level += 1", "        depth[source] = 0\n        level += 1")


def test_a_write_that_breaks_the_invariant_is_refuted(tmp_path):
    """``depth[e.dst] min= level + 2``: an entry two levels ahead is not ``<= level + 1``
    and not the fill value, so it could hold the guard's value later without having
    changed in the iteration before: Z3 finds the counterexample."""
    from cosynth.frontend.rewrite.levels import _check
    kf = kernel_from_source(tmp_path, SKIP, "f")[0]
    kv, _ = variant(kf.ir, "par")
    assert _lf(kv) is None
    (w,) = _whiles(kv)
    loop = next(s for s in w.body if isinstance(s, Loop))
    import cosynth.frontend.rewrite.levels as levels
    seen = []
    orig = levels._prove
    try:
        levels._prove = lambda *a: seen.extend(orig(*a)) or seen
        assert _check(kv, w, loop, "depth", "level") is None
    finally:
        levels._prove = orig
    assert any(law.status == "refuted" and "keeps the invariant" in law.subject
               for law in seen), [law.describe() for law in seen]


def test_a_plain_store_of_the_table_in_the_while_refuses(tmp_path):
    kf = kernel_from_source(tmp_path, PLAIN, "f")[0]
    kv, _ = variant(kf.ir, "par")
    assert _lf(kv) is None


def test_choice_reads_alpha_and_beta():
    kv, _ = variant(example("bfs").ir, "hybrid")
    (w,) = _whiles(kv)
    (choose,) = [s for s in w.body if hybrid.choice(s) is not None]
    assert hybrid.choice(choose)[0] == hybrid.ALPHA
    assert hybrid.beta_of(choose) == hybrid.BETA


TWO = SKIP.replace("nd = level + 2", "nd = level + 1").replace("level += 1", "level += 2")


@pytest.mark.parametrize("v", ["hybrid", "par"])
def test_changed_entries_that_fail_the_next_guard_are_refuted(v, tmp_path):
    """``level += 2`` with ``min= level + 1``: the queue is still exact (an entry changed
    to ``c + 1`` fails the guard ``== c + 2``, and the vertices that pass it are among
    the changed ones: none), but the queued vertices do not pass the next guard, so the
    passes over the queue must keep testing it: Z3 refutes ``passes`` (an entry above
    ``c + 1`` changed to ``c + 1``)."""
    kf = kernel_from_source(tmp_path, TWO, "f")[0]
    kv, _ = variant(kf.ir, v)
    lf = _lf(project(kv, ()).kernel)
    assert lf is not None and all(law.ok for law in lf.laws[:-1])
    last = lf.laws[-1]
    assert "pass the next guard" in last.subject and last.status == "refuted"
    cex = {k: int(x) for k, x in last.counterexample.items()}
    assert cex["x"] > cex["c"] + 1, last.describe()
    assert not lf.passes
    assert lf.first_counts == (v == "hybrid")


@pytest.mark.parametrize("projected", [False, True])
def test_the_entries_stored_since_the_fill_are_the_points(projected):
    """BFS: between ``depth``'s fill and the while loop only ``depth[source] = 0`` writes
    it, and nothing writes ``source`` after: the entry check may take every other entry
    as the fill value (``points``)."""
    kv, _ = variant(example("bfs").ir, "hybrid")
    lf = _lf(project(kv, ()).kernel if projected else kv)
    assert [p.name for p in lf.points] == ["source"]


MOVED = """
import cosynth as cs
@cs.kernel
def f(g: cs.Graph, source: int) -> cs.NodeArray[cs.i64]:
    depth = g.node_array(cs.i64, cs.INF)
    s = source
    depth[s] = 0
    s = 0
    level = 0
    active = True
    while active:
        active = False
        for v in g.nodes():
            if depth[v] == level:
                for e in g.out_edges(v):
                    nd = level + 1
                    if nd < depth[e.dst]:
                        depth[e.dst] = nd
                        active = True
        level += 1
    return depth
"""
LOOPED = MOVED.replace("    s = 0\n", "    for v in g.nodes():\n        if v == s:\n"
                       "            depth[v] = 0\n")


@pytest.mark.parametrize("src,points", [(MOVED, None), (LOOPED, None),
                                        (MOVED.replace("    s = 0\n", ""), ["s"])])
def test_points_only_when_each_stored_index_is_its_value_at_the_loop(src, points, tmp_path):
    """``s = 0`` after ``depth[s] = 0``: the index at the while loop is not the stored
    one; a node loop that stores into ``depth``: not a point store.  Either way the
    entry check reads every entry (``points`` None); without them, ``s`` is the point."""
    kf = kernel_from_source(tmp_path, src, "f")[0]
    kv, _ = variant(kf.ir, "hybrid")
    lf = _lf(kv)
    assert lf is not None
    got = None if lf.points is None else [p.table if hasattr(p, "table") else p.name
                                          for p in lf.points]
    assert got == points
