"""32-bit storage of a bucketed relaxation's state table (``frontend.rewrite.narrowstate``):
which tables the argument covers, the per-iteration law (Z3 for integer tables, interval
arithmetic for f64 ones) and the constants the other writes store."""

from __future__ import annotations

import os

import pytest

from cosynth.frontend.rewrite import variant
from cosynth.frontend.rewrite.frontier import frontier_loops
from cosynth.frontend.rewrite.narrowstate import (
    INTEGER_WEIGHTS,
    constants,
    float_steps,
    int32_steps,
    narrow_states,
)
from cosynth.ir.nodes import Loop
from cosynth.loader import load_kernels
from tests.frontend.test_frontier import sssp_minus
from tests.helpers import EXAMPLES, example


def _sssp_int():
    return load_kernels(os.path.join(EXAMPLES, "sssp.py"))["sssp_int"]


#: SSSP-shaped kernels whose contribution is the expression
_STEPS = {"two_weights": "dist[v] + e.weight + e.weight",
          "plus_three": "dist[v] + (e.weight + 3.0)",
          "doubled": "dist[v] + e.weight * 2.0", "half": "dist[v] + e.weight + 0.5",
          "not_own": "e.weight + 1.0"}
_SOURCE = """
import cosynth as cs


@cs.kernel
def {name}(g: cs.Graph, source: int) -> cs.NodeArray:
    dist = g.node_array(cs.f64, cs.INF)
    dist[source] = 0.0
    changed = True
    while changed:
        changed = False
        for v in g.nodes():
            for e in g.out_edges(v):
                nd = {expr}
                if nd < dist[e.dst]:
                    dist[e.dst] = nd
                    changed = True
    return dist
"""


@pytest.fixture(scope="module")
def relax(tmp_path_factory):
    path = tmp_path_factory.mktemp("steps") / "steps.py"
    path.write_text("".join(_SOURCE.format(name=n, expr=x) for n, x in _STEPS.items()))
    return load_kernels(str(path))


def _async(k):
    return variant(k.ir, "async")[0]


def _loop(k):
    """The node loop inside the while loop and the table it reduces into (the law reads
    only the loop, whatever its schedule)."""
    w = next(s for s in k.body if isinstance(s, Loop) and s.kind == "while")
    return next(s for s in w.body if isinstance(s, Loop) and s.kind == "nodes"), "dist"


def test_sssp_float_and_integer_tables_may_be_stored_in_32_bits():
    f = narrow_states(_async(example("sssp")))
    assert set(f) == {"dist"} and f["dist"].consts == (0.0,) and f["dist"].step == (1, 0)
    assert f["dist"].law.ok and "interval arithmetic" in f["dist"].law.detail
    assert INTEGER_WEIGHTS in f["dist"].law.policies
    i = narrow_states(_async(_sssp_int()))
    assert set(i) == {"dist"} and i["dist"].law.status == "proved"
    assert "Z3" in i["dist"].law.detail


def test_the_integer_law_is_z3s():
    k = _async(_sssp_int())
    loop, table = _loop(k)
    assert int32_steps(k, loop, table).status == "proved"


def test_the_interval_law_refuses_what_it_cannot_bound(relax):
    # two weights per step: proved, with the step 2 * W
    k = relax["two_weights"].ir
    loop, table = _loop(k)
    law, step = float_steps(k, loop, table)
    assert law.ok and step == (2, 0)
    # a constant step: 1 * W + 3
    k = relax["plus_three"].ir
    assert float_steps(k, *_loop(k))[1] == (1, 3)
    # a product, a fractional constant and a value not grown from the own entry: refused
    for name in ("doubled", "half", "not_own"):
        k = relax[name].ir
        law, _ = float_steps(k, *_loop(k))
        assert not law.ok, law.describe()


def test_a_table_started_from_a_non_constant_or_a_decreasing_step_stays_wide():
    cc = _async(example("cc"))
    (_, loop, plan), = frontier_loops(cc)
    assert constants(cc, loop, next(iter(plan))) is None  # label[v] = v
    assert narrow_states(cc) == {}
    assert narrow_states(_async(sssp_minus)) == {}  # dist[v] - w: no relax order
