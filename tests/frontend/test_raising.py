"""The raised shapes: each idiom of ``frontend/raising.py``'s table traced into its
reduction, compared with a golden IR file (``tests/golden/raising/<shape>.ir``), and run
by the interpreter against the plain Python kernel.

Regenerate after an intended change with
``pytest tests/frontend/test_raising.py --update-golden`` and review the diff.
"""

from __future__ import annotations

import os

import networkx as nx
import numpy as np
import pytest

import cosynth as cs
from cosynth.backends.rtl.build import eligibility
from cosynth.frontend.rewrite import variant
from cosynth.ir.nodes import Store
from cosynth.ir.printer import print_kernel
from cosynth.ir.walk import iter_stmts
from tests.helpers import kernel_from_source, random_graphs, same

GOLDEN = os.path.join(os.path.dirname(os.path.dirname(__file__)), "golden", "raising")

# shape -> (table dtype and fill, the update inside the edge loop, the reduction expected)
# ``x`` is the entry updated (t[e.dst]), ``val`` the contribution, ``changed`` the flag.
SHAPES = {
    "min_call": ("cs.i64, cs.INF", "t[e.dst] = min(t[e.dst], val)", "min"),
    "min_call_swapped": ("cs.i64, cs.INF", "t[e.dst] = min(val, t[e.dst])", "min"),
    "max_call": ("cs.i64, 0", "t[e.dst] = max(t[e.dst], val)", "max"),
    "add_aug": ("cs.i64, 0", "t[e.dst] += val", "add"),
    "sub_aug": ("cs.i64, 0", "t[e.dst] -= val", "add"),
    "add_expr": ("cs.i64, 0", "t[e.dst] = val + t[e.dst]", "add"),
    "or_bits": ("cs.boolean, False", "t[e.dst] |= bval", "or"),
    "and_bits": ("cs.boolean, True", "t[e.dst] &= bval", "and"),
    "or_bool": ("cs.boolean, False", "t[e.dst] = t[e.dst] or bval", "or"),
    "and_bool": ("cs.boolean, True", "t[e.dst] = bval and t[e.dst]", "and"),
    "guard_min": ("cs.i64, cs.INF", "if val < t[e.dst]:\n    t[e.dst] = val\n    changed = True",
                  "min"),
    "guard_min_old": ("cs.i64, cs.INF", "if t[e.dst] > val:\n    t[e.dst] = val", "min"),
    "guard_max": ("cs.i64, 0", "if val > t[e.dst]:\n    t[e.dst] = val\n    changed = True",
                  "max"),
    "guard_max_old": ("cs.i64, 0", "if t[e.dst] < val:\n    t[e.dst] = val", "max"),
    "guard_set_flag": ("cs.boolean, False",
                       "if not t[e.dst]:\n    t[e.dst] = True\n    changed = True", "or"),
    "guard_set": ("cs.boolean, False", "if not t[e.dst]:\n    t[e.dst] = True", "or"),
    "guard_set_eq": ("cs.boolean, False",
                     "if t[e.dst] == False:\n    changed = True\n    t[e.dst] = True", "or"),
    "guard_set_value": ("cs.boolean, False", "if not t[e.dst]:\n    t[e.dst] = bval", "or"),
    "guard_clear_flag": ("cs.boolean, True",
                         "if t[e.dst]:\n    t[e.dst] = False\n    changed = True", "and"),
    "guard_clear": ("cs.boolean, True", "if t[e.dst]:\n    t[e.dst] = False", "and"),
    "guard_clear_ne": ("cs.boolean, True",
                       "if t[e.dst] != False:\n    t[e.dst] = bval", "and"),
}


def _source(shape: str) -> str:
    fill, update, _ = SHAPES[shape]
    body = "\n".join("            " + line for line in update.splitlines())
    return f'''
import cosynth as cs


@cs.kernel(weight=cs.i64)
def {shape}(g: cs.Graph, source: int):
    t = g.node_array({fill})
    changed = False
    for v in g.nodes():
        for e in g.out_edges(v):
            val = e.weight + v
            bval = (v + e.dst) % 3 == 0
{body}
    return t, changed
'''


def _stores(k):
    return [s for s, _ in iter_stmts(k.body) if isinstance(s, Store) and s.table == "t"]


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_raised_shape_golden_and_semantics(tmp_path, shape, update_golden):
    kf, _ = kernel_from_source(tmp_path, _source(shape))
    k = kf.ir
    (st,) = _stores(k)
    assert st.op == SHAPES[shape][2], print_kernel(k)
    assert ("changed = True" in SHAPES[shape][1]) == (st.flag == "changed")
    text = print_kernel(k)
    path = os.path.join(GOLDEN, f"{shape}.ir")
    if update_golden or not os.path.exists(path):
        os.makedirs(GOLDEN, exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    with open(path) as f:
        assert text == f.read(), f"{path} differs (--update-golden after reviewing)"
    # the reduction means what the Python says, flag included
    for _, g in random_graphs(6, seed=14, int_weights=True, weighted=True):
        if g.n:
            assert same(kf.interpret(g, 0), kf(g, 0)), shape


def test_guarded_bool_with_a_flag_and_a_non_constant_value_is_not_raised(tmp_path):
    """``if not t[x]: t[x] = b; f = True`` sets f even when b is False (nothing changed):
    an ``or= b -> f`` would not, so it stays an if."""
    kf, _ = kernel_from_source(tmp_path, _source("guard_set_value").replace(
        "t[e.dst] = bval", "t[e.dst] = bval\n                changed = True"))
    (st,) = _stores(kf.ir)
    assert st.op is None
    for _, g in random_graphs(4, seed=3, int_weights=True, weighted=True):
        if g.n:
            assert same(kf.interpret(g, 0), kf(g, 0))


REACH = '''
@cs.kernel
def reach(g: cs.Graph, source: int) -> cs.NodeArray[cs.boolean]:
    seen = g.node_array(cs.boolean, False)
    seen[source] = True
    changed = True
    while changed:
        changed = False
        for v in g.nodes():
            if seen[v]:
                for e in g.out_edges(v):
                    if not seen[e.dst]:
                        seen[e.dst] = True
                        changed = True
    return seen
'''


def test_reachability_over_booleans_is_relaxed_and_fpga_eligible(tmp_path):

    kf, _ = kernel_from_source(tmp_path, REACH)
    k = kf.ir
    (st,) = [s for s, _ in iter_stmts(k.body) if isinstance(s, Store) and s.table == "seen"
             and s.op is not None]
    assert (st.op, st.flag) == ("or", "changed")
    kv, rewrites = variant(k, "async")
    assert any(r.rule == "relax" for r in rewrites)
    ok, sites = eligibility(k)
    assert ok, sites
    G = nx.gnm_random_graph(40, 80, seed=5, directed=True)
    g = cs.Graph.from_networkx(G)
    want = np.zeros(40, dtype=bool)
    want[list(nx.descendants(G, 0) | {0})] = True
    assert (kf.interpret(g, 0) == want).all()
