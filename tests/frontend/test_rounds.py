"""Rule ``rounds``: k-core's sequential peel sweep runs as frontier rounds (select the
eligible vertices, then all their edge loops in one loop), proved with Z3, equal to the
kernel as written and to networkx; sweeps whose firings are not monotone, not
self-disabling or order dependent are refused with the law that failed."""

from __future__ import annotations

import numpy as np
import pytest

import cosynth as cs
from cosynth.errors import NoReference
from cosynth.frontend.rewrite import report, rounds, variant
from cosynth.frontend.rewrite.core import loops
from cosynth.ir.interp import interpret
from cosynth.ir.printer import print_kernel
from tests.helpers import example


def _peel_loop(k):
    """The path of the node loop directly inside a ``while changed`` loop."""
    for path, loop in loops(k):
        if loop.kind == "while" and loop.cond is not None and \
                getattr(loop.cond, "table", None) == "changed":
            for i, s in enumerate(loop.body):
                if getattr(s, "kind", None) == "nodes":
                    return path + (("body", i),)
    raise AssertionError("no peel sweep")


def test_kcore_peel_becomes_select_and_expand_rounds():
    k = example("kcore").ir
    r = rounds.apply(k, _peel_loop(k))
    assert r.applied, r.reason
    laws = {law.name: law for law in r.laws}
    for name in ("guard stays enabled", "own effects disable the guard",
                 "effects independent of order", "commutative", "associative"):
        assert laws[name].ok, laws[name].describe()
    # deg[v] add= -1 wraps at the minimum: proved under the named no-wrap assumption, and
    # the exact refutation is kept in the certificate
    enabled = laws["guard stays enabled"]
    assert enabled.policies == (rounds.NO_WRAP,)
    assert "without it: refuted" in enabled.detail
    assert laws["own effects disable the guard"].status == "proved"
    assert laws["effects independent of order"].status == "proved"
    text = print_kernel(r.kernel)
    assert "v_frontier: node bool" in text
    assert """      for v in nodes() @seq:
        private v_frontier_sel: bool
        v_frontier_sel := not removed[v] and deg[v] <= k
        v_frontier[v] = v_frontier_sel
        if v_frontier_sel:
          removed[v] = True
          core[v] = k
          remaining add= -1
          changed or= True
      for v in nodes() @seq:
        if v_frontier[v]:
          for e in out_edges(v) @seq:
            deg[e.dst] add= -1
          if use_in_edges:
            for e in in_edges(v) @seq:
              deg[e.src] add= -1""" in text
    # the planner's variants batch it (and parallelise both loops); batch=False does not
    kv, done = variant(k, "par")
    assert "rounds" in [x.rule for x in done] and "v_frontier" in kv.table_map
    kv, done = variant(k, "par", batch=False)
    assert "rounds" not in [x.rule for x in done] and "v_frontier" not in kv.table_map


def _graphs():
    yield cs.Graph.kronecker(7, seed=3)
    yield cs.Graph.uniform(60, 400, seed=4)
    rng = np.random.default_rng(5)
    for n in (1, 2, 9, 40):  # directed, no self-loops: networkx counts in + out degree
        m = 3 * n
        src, dst = rng.integers(0, n, m), rng.integers(0, n, m)
        pairs = np.unique(src * n + dst)  # simple: networkx keeps no parallel edges
        pairs = pairs[pairs // n != pairs % n]
        yield cs.Graph.from_edges(pairs // n, pairs % n, num_nodes=n)


def test_rounds_equal_the_sweep_as_written_and_networkx():
    kf = example("kcore")
    batched = {name: variant(kf.ir, name)[0] for name in ("par", "async", "seq")}
    assert "v_frontier" not in batched["seq"].table_map
    checked = 0
    for g in _graphs():
        args = kf.bind(g, use_in_edges=g.directed)
        want = interpret(kf.ir, g, args)[0]
        for name in ("par", "async"):
            got = interpret(batched[name], g, args)[0]
            scalar = interpret(batched[name], g, args, vectorize=False)[0]
            assert np.array_equal(got, want) and np.array_equal(scalar, want), name
        try:
            ref = kf.expected(g, args)[0]  # networkx core_number (its own graph rules)
        except NoReference:
            continue
        assert np.array_equal(np.asarray(ref), want)
        checked += 1
    assert checked >= 4


PEEL = '''
import cosynth as cs

@cs.kernel
def peel(g: cs.Graph) -> cs.NodeArray[cs.i64]:
    deg = g.node_array(cs.i64, 0)
    core = g.node_array(cs.i64, 0)
    removed = g.node_array(cs.boolean, False)
    for v in g.nodes():
        deg[v] = g.out_degree(v)
    k = 3
    changed = True
    while changed:
        changed = False
        for v in g.nodes():
            if GUARD:
                BODY
                changed = True
                for e in g.out_edges(v):
                    EDGE
    return core
'''


def _kernel(tmp_path, guard="not removed[v] and deg[v] <= k",
            body="removed[v] = True\n                core[v] = k",
            edge="deg[e.dst] -= 1"):
    from cosynth.loader import load_kernels
    src = PEEL.replace("GUARD", guard).replace("BODY", body).replace("EDGE", edge)
    p = tmp_path / f"peel{abs(hash((guard, body, edge)))}.py"
    p.write_text(src)
    return load_kernels(str(p))["peel"].ir


def test_a_well_formed_peel_of_ones_own_applies(tmp_path):
    k = _kernel(tmp_path)
    r = rounds.apply(k, _peel_loop(k))
    assert r.applied, r.reason


@pytest.mark.parametrize("guard, body, edge, law", [
    # equality: a decrement can step over k, disabling another vertex's guard
    ("not removed[v] and deg[v] == k", None, None, "guard stays enabled"),
    # nothing the vertex stores turns its own guard off: it would fire every round
    ("deg[v] <= k", "core[v] = k", None, "own effects disable the guard"),
    # the value stored depends on how many neighbours fired before it
    (None, "removed[v] = True\n                core[v] = deg[v]", None,
     "effects independent of order"),
])
def test_a_sweep_that_is_not_a_monotone_firing_system_is_refused(tmp_path, guard, body,
                                                                  edge, law):
    kw = {k: v for k, v in (("guard", guard), ("body", body), ("edge", edge)) if v}
    k = _kernel(tmp_path, **kw)
    r = rounds.apply(k, _peel_loop(k))
    assert not r.applied
    assert f"not a monotone self-disabling firing system: {law}" in r.reason, r.reason
    failed = [x for x in r.laws if not x.ok]
    assert failed and failed[0].name == law and failed[0].status == "refuted"
    assert failed[0].counterexample


def test_plain_stores_at_other_vertices_and_other_shapes_are_refused(tmp_path):
    k = _kernel(tmp_path, edge="removed[e.dst] = True")
    r = rounds.apply(k, _peel_loop(k))
    assert not r.applied and "stores (not reduces) into 'removed'" in r.reason
    k = _kernel(tmp_path, edge="deg[e.dst] -= 2")  # fine: any decrement
    assert rounds.apply(k, _peel_loop(k)).applied
    # an if inside the edge loop is the Z3 proofs' business: skipping neighbours already
    # removed depends on whether they fired earlier in the sweep (refuted), skipping
    # self-loops does not
    k = _kernel(tmp_path, edge="if not removed[e.dst]:\n                        deg[e.dst] -= 1")
    r = rounds.apply(k, _peel_loop(k))
    assert not r.applied and "effects independent of order" in r.reason, r.reason
    k = _kernel(tmp_path, edge="if e.dst != v:\n                        deg[e.dst] -= 1")
    r = rounds.apply(k, _peel_loop(k))
    assert r.applied, r.reason
    # not inside a change-flag fixed point: BFS's level loop is refused with the reason
    bfs = example("bfs").ir
    path = [p for p, lp in loops(bfs) if lp.kind == "nodes" and lp.schedule == "seq"][-1]
    r = rounds.apply(bfs, path)
    assert not r.applied and ("while" in r.reason or "if guard" in r.reason), r.reason


def test_the_rewrite_report_lists_the_rule_for_the_peel():
    reps, _ = report(example("kcore").ir)
    said = {lr.label: dict(lr.results) for lr in reps}
    peel = [v for lbl, v in said.items() if "line 34" in lbl][0]
    assert peel["rounds"].applied
    first = [v for lbl, v in said.items() if "line 19" in lbl][0]
    assert not first["rounds"].applied
    assert "not directly inside a sequential while loop" in first["rounds"].reason
