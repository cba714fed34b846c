"""The mirrored-edge-loop analysis (``frontend/rewrite/mirror.py``): which in-edge loops
repeat their vertex's out-edge loop on a symmetric graph, with the Z3 laws that make a
repeated update harmless, and the precise reason when one does not."""

from __future__ import annotations

from dataclasses import replace

from cosynth.frontend.rewrite import variant
from cosynth.frontend.rewrite.mirror import mirror
from cosynth.ir.nodes import Loop
from tests.helpers import example, kernel_from_source


def _edge_loops(k):
    """(the relaxed node loop, its in-edge loop) of ``k``'s first while loop."""
    w = next(s for s in k.body if isinstance(s, Loop) and s.kind == "while")
    par = next(s for s in w.body if isinstance(s, Loop) and s.kind == "nodes")
    inner = next(s for s in par.body if isinstance(s, Loop) and s.kind == "in_edges")
    return par, inner


def _check(kf, name="async"):
    k, _ = variant(kf.ir, name)
    par, inner = _edge_loops(k)
    return mirror(par, inner, k.table_map)


def test_cc_s_in_edge_loop_repeats_its_out_edge_loop_proved_by_z3():
    m = _check(example("cc"))
    assert m.ok, m.why
    assert m.outer is not None and m.outer.kind == "out_edges"
    names = {law.name for law in m.laws}
    assert {"commutative", "associative", "idempotent"} <= names
    assert all(law.status == "proved" and "min on i64" in law.subject for law in m.laws)


def test_not_on_a_loop_run_in_order():
    m = _check(example("cc"), "seq")
    assert not m.ok and "not relaxed" in m.why


def _both_sides(tmp_path, out_body: list[str], in_body: list[str]):
    """A label relaxation whose out- and in-edge loops run the given lines."""
    pad = " " * 20
    src = "\n".join([
        "import cosynth as cs",
        "@cs.kernel",
        "def k(g: cs.Graph) -> cs.NodeArray[cs.i64]:",
        "    x = g.node_array(cs.i64, 0)",
        "    for v in g.nodes():",
        "        x[v] = v",
        "    changed = True",
        "    while changed:",
        "        changed = False",
        "        for v in g.nodes():",
        "            for e in g.out_edges(v):",
        *(pad[:16] + line for line in out_body),
        "            for e in g.in_edges(v):",
        *(pad[:16] + line for line in in_body),
        "    return x"])
    kf, _ = kernel_from_source(tmp_path, src)
    return kf


def test_a_pull_on_the_in_side_is_not_a_copy(tmp_path):
    # out: x[w] min= x[v]; in: x[v] min= x[w] -- different updates on a symmetric row
    kf = _both_sides(tmp_path,
                     ["if x[v] < x[e.dst]:", "    x[e.dst] = x[v]", "    changed = True"],
                     ["if x[e.src] < x[v]:", "    x[v] = x[e.src]", "    changed = True"])
    m = _check(kf)
    assert not m.ok and "same statements" in m.why


def test_an_edge_s_weight_is_not_the_same_on_both_sides(tmp_path):
    kf = _both_sides(tmp_path,
                     ["if x[v] + int(e.weight) < x[e.dst]:", "    x[e.dst] = x[v] + int(e.weight)",
                      "    changed = True"],
                     ["if x[v] + int(e.weight) < x[e.src]:", "    x[e.src] = x[v] + int(e.weight)",
                      "    changed = True"])
    k, _ = variant(kf.ir, "async")
    par, inner = _edge_loops(k)
    m = mirror(replace(par, schedule="async"), inner, k.table_map)  # the analysis alone
    assert not m.ok and "weight" in m.why


def test_a_sum_is_not_harmless_to_repeat():
    # an add reduction would count every edge twice: refused whatever the schedule says
    k, _ = variant(example("cc").ir, "async")
    par, inner = _edge_loops(k)
    (store,) = inner.body
    summed = replace(inner, body=(replace(store, op="add"),))
    body = tuple(summed if s is inner else s for s in par.body)
    par2 = replace(par, body=body)
    m = mirror(par2, summed, k.table_map)
    assert not m.ok and "idempotent" in m.why
